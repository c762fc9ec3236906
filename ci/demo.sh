#!/usr/bin/env bash
# The main job: replays the incidents behind lbharness with what is built today.
#   1. lb -c judges the incident configurations (and a broken one) exactly as haproxy -c does
#   2. mockserver shows the three mission faults to curl: 500 on OPTIONS, hang, refuse
#   3. real HAProxy against mockserver reproduces the OPTIONS-500 incident in ~2 s
#   4. lb's check engine replays the incidents on simulated time
# Usage: ci/demo.sh        (installs missing Debian packages, builds, runs; ~1 min after the build)
set -euo pipefail
cd "$(dirname "$0")/.."

ci/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target lb mockserver unit_tests
bin=build/release
lb="$bin/lb/lb"
mockserver="$bin/mockserver/mockserver"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@" || true; }

pids=()
work=$(mktemp -d)
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Starts mockserver in the background and waits (bounded) for its "ready" line.
start_mockserver() {
  local out="$1"; shift
  "$mockserver" "$@" >"$out" 2>&1 &
  pids+=("$!")
  for _ in $(seq 100); do grep -q '^ready' "$out" && return 0; sleep 0.05; done
  echo "mockserver did not become ready:"; cat "$out"; exit 1
}
port_of() { awk -v n="$2" '$1 == "listening" && $2 == n { split($3, a, ":"); print a[length(a)] }' "$1"; }

step "1. lb -c judges configurations as haproxy -c does"
for cfg in examples/incidents/*.cfg; do run "$lb" -c -f "$cfg"; done
run "$lb" -c -f examples/broken.cfg
if command -v haproxy >/dev/null; then
  echo "--- the same file through haproxy -c, for comparison:"
  haproxy -c -f examples/broken.cfg 2>&1 | grep -v NOTICE || true
fi

step "2. mockserver: the three mission faults, seen by curl"
start_mockserver "$work/faults.out" \
  --listen app1=127.0.0.1:0 --rule 'app1: method=OPTIONS -> status 500' \
  --listen app2=127.0.0.1:0 --fault app2=hang \
  --listen app3=127.0.0.1:0 --fault app3=refuse
cat "$work/faults.out"
p1=$(port_of "$work/faults.out" app1); p2=$(port_of "$work/faults.out" app2); p3=$(port_of "$work/faults.out" app3)
echo "--- app1: HAProxy's default check (OPTIONS / HTTP/1.0) gets 500, a GET gets 200"
run curl -s -o /dev/null -w 'OPTIONS -> %{http_code}\n' -X OPTIONS -0 "http://127.0.0.1:$p1/"
run curl -s -o /dev/null -w 'GET     -> %{http_code}\n' "http://127.0.0.1:$p1/"
echo "--- app2: accepts, reads the request, never answers (curl gives up after 2.5 s)"
start=$(date +%s%N)
curl -s -m 2.5 "http://127.0.0.1:$p2/" >/dev/null && echo "answered?!" || echo "curl exit $? after $(( ($(date +%s%N) - start) / 1000000 )) ms: no answer"
echo "--- app3: connection refused"
curl -s "http://127.0.0.1:$p3/" >/dev/null && echo "answered?!" || echo "curl exit $? (7 = connection refused)"

step "3. real HAProxy 2.6 against mockserver: the OPTIONS-500 incident"
if command -v haproxy >/dev/null; then
  start_mockserver "$work/apps.out" \
    --listen app1=127.0.0.1:18081 --listen app2=127.0.0.1:18082 --listen app3=127.0.0.1:18083 \
    --rule 'app1: method=OPTIONS -> status 500' --rule 'app2: method=OPTIONS -> status 500' \
    --rule 'app3: method=OPTIONS -> status 500'
  printf '$ haproxy -db -f examples/incidents/options-500.cfg   (3 s)\n'
  timeout 3 haproxy -db -f examples/incidents/options-500.cfg >"$work/haproxy.out" 2>&1 || true
  grep -E 'is DOWN|no server available' "$work/haproxy.out" || { echo "no DOWN line?"; cat "$work/haproxy.out"; }
else
  echo "haproxy is not installed; skipping (apt-get install haproxy)"
fi

step "4. the incidents on simulated time, through lb's check engine"
run "$bin/tests/unit_tests" --gtest_brief=0 --gtest_filter='EngineOnSimTime.*'
echo "--- and 60 scenarios captured from real HAProxy 2.6.12, replayed on simulated time: same log lines"
run "$bin/tests/unit_tests" --gtest_brief=1 --gtest_filter='*EngineVsHaproxy*'
echo
echo "Done. Next: the lb runtime and the lbharness scenario runner (see README)."
