#!/usr/bin/env bash
# Fuzzes one target, a list of targets, or every target, for a bounded time each with libFuzzer
# (clang-14, ASan + UBSan), starting from its seed corpus and its dictionary.
# Usage: ci/fuzz.sh TARGETS SECONDS [JOBS]
#   ci/fuzz.sh config 60                 one target for 60 s
#   ci/fuzz.sh request,response 600      two targets, one after the other
#   ci/fuzz.sh all 3600 2                every target for an hour, two at a time
# Targets: the fuzz/*_fuzz.cpp names without the suffix (config, check_response, mock_spec,
# request, response, dns_message, dns_resolution, runtime_api, master_cli, server_state, scenario).
# JOBS (default 1) targets run at once, each on one core, at the lowest CPU priority so that a
# build or a test run beside them keeps its speed.
# New inputs go to build/fuzz/corpus-TARGET (the seed corpus is never modified); crashes to
# fuzz/crashes/ (add them to fuzz/corpus/TARGET/ once fixed: ctest replays that corpus).
# Each run's log is build/fuzz/TARGET.log and its line of the table build/fuzz/TARGET.result, so
# the figures of finished targets survive an interrupted run. The table gives runs, exec/s,
# edges (cov) and crashes per target.
set -euo pipefail
cd "$(dirname "$0")/.."
usage="usage: ci/fuzz.sh TARGET[,TARGET...]|all SECONDS [JOBS]"
target="${1:?$usage}"
seconds="${2:?$usage}"
jobs="${3:-1}"
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "ci/fuzz.sh: SECONDS must be a whole number, not '$seconds'" >&2; exit 2; }
[[ "$jobs" =~ ^[1-9][0-9]*$ ]] || { echo "ci/fuzz.sh: JOBS must be a positive whole number, not '$jobs'" >&2; exit 2; }

targets=()
if [[ "$target" == all ]]; then
  for f in fuzz/*_fuzz.cpp; do t="${f#fuzz/}"; targets+=("${t%_fuzz.cpp}"); done
else
  IFS=, read -ra targets <<<"$target"
  for t in "${targets[@]}"; do
    [[ -f "fuzz/${t}_fuzz.cpp" ]] || { echo "ci/fuzz.sh: no such target: fuzz/${t}_fuzz.cpp" >&2; exit 2; }
  done
fi

ci/install-deps.sh
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz --target "${targets[@]/%/_fuzz}"
mkdir -p fuzz/crashes

# Runs one target and writes its line of the table; the exit status is the fuzzer's.
fuzz_one() {
  local t="$1" work="build/fuzz/corpus-$1" log="build/fuzz/$1.log" dict=() rc runs speed edges
  mkdir -p "$work"
  [[ -f "fuzz/dict/${t}.dict" ]] && dict=(-dict="fuzz/dict/${t}.dict")
  echo "ci/fuzz.sh: ${t} for ${seconds} s (log: ${log})"
  set +e
  nice -n 19 "build/fuzz/fuzz/${t}_fuzz" "$work" "fuzz/corpus/${t}" "${dict[@]}" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -artifact_prefix="fuzz/crashes/${t}-" -print_final_stats=1 >"$log" 2>&1
  rc=$?
  set -e
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  edges=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  [[ $rc -ne 0 ]] && tail -40 "$log"
  printf '%-16s %8ss %12s runs %8s exec/s %7s edges  %s\n' "$t" "$seconds" "${runs:-?}" "${speed:-?}" "${edges:-?}" \
    "$([[ $rc -eq 0 ]] && echo '0 crashes' || echo "FAILED (exit $rc, see $log)")" >"build/fuzz/${t}.result"
  return $rc
}

failed=0
running=0
for t in "${targets[@]}"; do
  rm -f "build/fuzz/${t}.result"
  if (( running == jobs )); then wait -n || failed=1; running=$((running - 1)); fi
  fuzz_one "$t" &
  running=$((running + 1))
done
while (( running > 0 )); do wait -n || failed=1; running=$((running - 1)); done
echo "target           time         runs     exec/s     edges  result"
for t in "${targets[@]}"; do cat "build/fuzz/${t}.result"; done
exit $failed
