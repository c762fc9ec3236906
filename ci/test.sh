#!/usr/bin/env bash
# Builds lbharness and runs every test suite (unit, property, fuzz-corpus replay, integration),
# twice: in the `dev` build, then in the `asan` build (ASan + UBSan, halting on the first
# error), which replays the fuzz corpora under the sanitizers too.
# Usage: ci/test.sh            (installs missing Debian packages first)
#        LBH_PRESETS=dev ci/test.sh     one build only
set -euo pipefail
cd "$(dirname "$0")/.."

ci/install-deps.sh
presets="${LBH_PRESETS:-${LBH_PRESET:-dev asan}}"
# Sanitizer findings end the test that made them, with a stack trace.
export ASAN_OPTIONS="${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=0:detect_leaks=1:strict_string_checks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
total_start=$(date +%s)
for preset in $presets; do
  start=$(date +%s)
  cmake --preset "$preset"
  cmake --build --preset "$preset"
  built=$(date +%s)
  ctest --preset "$preset" -j2
  end=$(date +%s)
  echo "ci/test.sh: $preset: build $((built - start)) s, tests $((end - built)) s"
done
echo "ci/test.sh: all presets ($presets) passed in $(( $(date +%s) - total_start )) s"
