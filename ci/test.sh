#!/usr/bin/env bash
# Builds lbharness and runs every test suite: unit, property, fuzz-corpus replay, integration.
# Usage: ci/test.sh            (installs missing Debian packages first)
set -euo pipefail
cd "$(dirname "$0")/.."

ci/install-deps.sh
preset="${LBH_PRESET:-dev}"
cmake --preset "$preset"
cmake --build --preset "$preset"
ctest --preset "$preset" -j2
