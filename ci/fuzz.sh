#!/usr/bin/env bash
# Fuzzes one target, or every target in turn, for a bounded time with libFuzzer (clang-14,
# ASan + UBSan), starting from its seed corpus and its dictionary.
# Usage: ci/fuzz.sh TARGET SECONDS      e.g. ci/fuzz.sh config 60
#        ci/fuzz.sh all SECONDS         every target, SECONDS each, then a summary table
# Targets: the fuzz/*_fuzz.cpp names without the suffix (config, check_response, mock_spec,
# request, response, dns_message, dns_resolution, runtime_api, server_state, scenario).
# New inputs go to build/fuzz/corpus-TARGET (the seed corpus is never modified); crashes to
# fuzz/crashes/ (add them to fuzz/corpus/TARGET/ once fixed: ctest replays that corpus).
# Each run's log is build/fuzz/TARGET.log; the summary gives runs, exec/s, edges (cov) and
# crashes per target.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:?usage: ci/fuzz.sh TARGET|all SECONDS}"
seconds="${2:?usage: ci/fuzz.sh TARGET|all SECONDS}"
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "ci/fuzz.sh: SECONDS must be a whole number, not '$seconds'" >&2; exit 2; }

targets=()
if [[ "$target" == all ]]; then
  for f in fuzz/*_fuzz.cpp; do t="${f#fuzz/}"; targets+=("${t%_fuzz.cpp}"); done
else
  [[ -f "fuzz/${target}_fuzz.cpp" ]] || { echo "ci/fuzz.sh: no such target: fuzz/${target}_fuzz.cpp" >&2; exit 2; }
  targets=("$target")
fi

ci/install-deps.sh
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz --target "${targets[@]/%/_fuzz}"
mkdir -p fuzz/crashes
summary=()
failed=0
for t in "${targets[@]}"; do
  work="build/fuzz/corpus-${t}"
  mkdir -p "$work"
  dict=()
  [[ -f "fuzz/dict/${t}.dict" ]] && dict=(-dict="fuzz/dict/${t}.dict")
  log="build/fuzz/${t}.log"
  echo "ci/fuzz.sh: ${t} for ${seconds} s (log: ${log})"
  set +e
  "build/fuzz/fuzz/${t}_fuzz" "$work" "fuzz/corpus/${t}" "${dict[@]}" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -artifact_prefix="fuzz/crashes/${t}-" -print_final_stats=1 >"$log" 2>&1
  rc=$?
  set -e
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  edges=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  [[ $rc -ne 0 ]] && failed=1 && tail -40 "$log"
  summary+=("$(printf '%-16s %8ss %12s runs %8s exec/s %7s edges  %s' "$t" "$seconds" "${runs:-?}" "${speed:-?}" "${edges:-?}" \
    "$([[ $rc -eq 0 ]] && echo '0 crashes' || echo "FAILED (exit $rc, see $log)")")")
done
printf '%s\n' "target           time         runs     exec/s     edges  result" "${summary[@]}"
exit $failed
