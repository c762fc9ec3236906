#!/usr/bin/env bash
# Fuzzes one target for a bounded time with libFuzzer (clang-14), starting from its seed corpus.
# Usage: ci/fuzz.sh TARGET SECONDS      e.g. ci/fuzz.sh config 60
# Targets: the fuzz/*_fuzz.cpp names without the suffix (config, check_response, mock_spec, request,
# dns_message, dns_resolution, runtime_api, server_state).
# New inputs go to build/fuzz/corpus-TARGET (the seed corpus is never modified); crashes to
# fuzz/crashes/. Prints libFuzzer's final stats, including exec/s.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:?usage: ci/fuzz.sh TARGET SECONDS}"
seconds="${2:?usage: ci/fuzz.sh TARGET SECONDS}"
[[ -f "fuzz/${target}_fuzz.cpp" ]] || { echo "ci/fuzz.sh: no such target: fuzz/${target}_fuzz.cpp" >&2; exit 2; }

ci/install-deps.sh
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz --target "${target}_fuzz"
work="build/fuzz/corpus-${target}"
mkdir -p "$work" fuzz/crashes
"build/fuzz/fuzz/${target}_fuzz" "$work" "fuzz/corpus/${target}" \
  -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
  -artifact_prefix=fuzz/crashes/ -print_final_stats=1
