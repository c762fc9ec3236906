#!/usr/bin/env bash
# The main job: lb itself replays the incidents behind lbharness against mockserver backends.
#   1. lb -c judges the incident configurations (and a broken one) exactly as haproxy -c does
#   2. OPTIONS answered 500 by every app: every server DOWN, "no server available", HAProxy's 503;
#      the apps are fixed live and come back UP; requests show where they went
#   3. a removed container (SYNs dropped): Layer4 timeout, check duration: 2001ms
#   4. a slow backend: Layer7 timeout, check duration: 2001ms
#   5. the same incidents on simulated time, and lb vs real haproxy side by side
#   6. the seed scenarios through the runner, lbharness, on lb and real haproxy, with an HTML report
# Usage: ci/demo.sh        (installs missing Debian packages, builds quietly, runs; < 1 min warm)
# Uses ports 18080-18083 on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

ci/install-deps.sh >/dev/null
bin=build/release
lb="$bin/lb/lb"
mockserver="$bin/mockserver/mockserver"
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

bold() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
ok() { printf '   \033[32m✓\033[0m %s\n' "$*"; summary+=("✓ $*"); }
bad() { printf '   \033[31m✗\033[0m %s\n' "$*"; summary+=("✗ $*"); failed=1; }
summary=()
failed=0

printf 'building lb, mockserver and the tests (release; log in %s/build.log) ... ' "$work"
if cmake --preset release >"$work/build.log" 2>&1 &&
   cmake --build --preset release --target lb mockserver lbharness unit_tests integration_tests >>"$work/build.log" 2>&1; then
  echo done
else
  echo failed; tail -40 "$work/build.log"; exit 1
fi

# Starts mockserver in the background and waits (bounded) for its "ready" line.
start_mockserver() {
  local out="$1"; shift
  "$mockserver" "$@" >"$out" 2>&1 &
  pids+=("$!")
  mock_pid=$!
  for _ in $(seq 100); do grep -q '^ready' "$out" && return 0; sleep 0.05; done
  echo "mockserver did not become ready:"; cat "$out"; exit 1
}
stop_mockserver() { kill "$mock_pid" 2>/dev/null || true; wait "$mock_pid" 2>/dev/null || true; }
# Starts lb on a config, its log (stdout) and its stderr copies both shown as they happen.
start_lb() {
  local name="$1" cfg="$2"
  printf '$ lb -db -f %s\n' "$cfg"
  "$lb" -db --announce -f "$cfg" > >(tee "$work/$name.log" | sed -u -e '/^listening /d' -e '/^ready$/d' -e 's/^/   log | /') \
    2>"$work/$name.err" &
  pids+=("$!")
  lb_pid=$!
  for _ in $(seq 100); do grep -q '^ready$' "$work/$name.log" 2>/dev/null && return 0; sleep 0.05; done
  echo "lb did not start:"; cat "$work/$name.err"; exit 1
}
stop_lb() { kill "$lb_pid" 2>/dev/null || true; wait "$lb_pid" 2>/dev/null || true; }
# Waits up to $3 seconds for a line matching $2 in log $1.
wait_for() {
  local deadline=$((SECONDS + $3))
  while ((SECONDS < deadline)); do grep -q -- "$2" "$work/$1.log" 2>/dev/null && return 0; sleep 0.05; done
  return 1
}
expect_line() {  # name pattern seconds description: the description, then lb's line itself
  if wait_for "$1" "$2" "$3"; then
    ok "$4"
    grep -m1 -- "$2" "$work/$1.log" | sed 's/^/      /'
  else bad "$4 (no line matching '$2')"; fi
}

bold "1. lb -c judges configurations as haproxy -c does"
for cfg in examples/incidents/*.cfg; do printf '$ lb -c -f %s\n' "$cfg"; "$lb" -c -f "$cfg" || true; done
printf '$ lb -c -f examples/broken.cfg\n'
"$lb" -c -f examples/broken.cfg 2>&1 | sed 's/^/   /' || true
if command -v haproxy >/dev/null; then
  echo "   --- haproxy -c on the same file:"
  haproxy -c -f examples/broken.cfg 2>&1 | grep -v NOTICE | sed 's/^/   /' || true
fi

bold "2. every app answers OPTIONS with 500 (option httpchk's default check)"
start_mockserver "$work/apps.out" --admin 127.0.0.1:18099 \
  --listen app1=127.0.0.1:18081 --listen app2=127.0.0.1:18082 --listen app3=127.0.0.1:18083 \
  --rule 'app1: method=OPTIONS -> status 500' --rule 'app2: method=OPTIONS -> status 500' \
  --rule 'app3: method=OPTIONS -> status 500'
start_lb options500 examples/incidents/options-500.cfg
expect_line options500 'be_server/app1 is DOWN, reason: Layer7 wrong status, code: 500' 5 \
  "OPTIONS-500: Server be_server/app1 is DOWN, reason: Layer7 wrong status, code: 500"
expect_line options500 'backend be_server has no server available!' 5 "OPTIONS-500: backend be_server has no server available!"
printf '$ curl -si http://127.0.0.1:18080/\n'
reply=$(curl -si -H 'Connection: close' http://127.0.0.1:18080/ || true)
printf '%s\n' "$reply" | sed 's/^/   /'
if grep -q 'No server is available to handle this request.' <<<"$reply"; then ok "clients get HAProxy's 503 page"; else bad "no 503 page"; fi
echo "   --- the apps are fixed (their rules removed through mockserver's control API):"
for a in app1 app2 app3; do curl -s -X PUT -d '[]' "127.0.0.1:18099/v1/listeners/$a/rules" >/dev/null; done
expect_line options500 'be_server/app3 is UP' 5 "after rise=2 passing checks every server is UP again"
for i in 1 2 3 4; do printf '$ curl http://127.0.0.1:18080/  -> %s\n' "$(curl -s -H 'Connection: close' http://127.0.0.1:18080/)"; done
sleep 0.2
if grep -q 'be_server/app1 .* 200 ' "$work/options500.log" && grep -q 'be_server/app2 .* 200 ' "$work/options500.log"; then
  ok "requests are spread over the servers again (httplog lines show be_server/appN)"
else bad "no httplog line for app1/app2"; fi
stop_lb
stop_mockserver

bold "3. a removed container: its address drops SYNs"
start_mockserver "$work/removed.out" \
  --listen app1=127.0.0.1:18081 --listen app2=127.0.0.1:18082 --listen app3=127.0.0.1:18083 --fault app3=blackhole
start_lb removed examples/incidents/removed-container.cfg
expect_line removed 'be_server/app3 is DOWN, reason: Layer4 timeout, check duration: 200[0-9]ms' 8 \
  "removed container: app3 is DOWN with a Layer4 timeout"
stop_lb
stop_mockserver

bold "4. a slow backend: the check is answered too late"
start_mockserver "$work/slow.out" \
  --listen app1=127.0.0.1:18081 --listen app2=127.0.0.1:18082 --fault app2=hang
start_lb slow examples/incidents/slow-backend.cfg
expect_line slow 'be_server/app2 is DOWN, reason: Layer7 timeout, check duration: 200[0-9]ms' 8 \
  "slow backend: app2 is DOWN with a Layer7 timeout"
stop_lb
stop_mockserver

bold "5. on simulated time, and against real haproxy"
if "$bin/tests/unit_tests" --gtest_brief=1 --gtest_filter='EngineOnSimTime.*:*EngineVsHaproxy*' >"$work/sim.txt" 2>&1; then
  ok "on simulated time: the incidents in milliseconds, 60 haproxy captures line for line ($(grep -E '^\[  PASSED' "$work/sim.txt" | sed 's/\[  PASSED  \] //'))"
else bad "simulated-time tests failed"; tail -20 "$work/sim.txt"; fi
if command -v haproxy >/dev/null; then
  if "$bin/tests/integration_tests" --gtest_brief=1 --gtest_filter='Differential.*' >"$work/diff.txt" 2>&1; then
    ok "lb and haproxy side by side: same DOWN/UP lines, same routing, same replies and httplog lines"
  else bad "lb differs from haproxy"; tail -30 "$work/diff.txt"; fi
fi

bold "6. the seed incidents as scenario files, through lbharness"
seeds=(scenarios/options-500.yaml scenarios/slow-backend.yaml scenarios/removed-container.yaml scenarios/killed-backend.yaml
       scenarios/recreated-container.yaml scenarios/recreated-container-resolvers.yaml)
target=lb
if command -v haproxy >/dev/null; then target=diff; fi
report="$PWD/$bin/report.html"
printf '$ lbharness run --target %s -j 4 --report %s %s\n' "$target" "$report" "${seeds[*]}"
if "$bin/harness/lbharness" run --target "$target" -j 4 --report "$report" "${seeds[@]}" | sed 's/^/   /'; then
  ok "lbharness: the ${#seeds[@]} seed scenarios pass on $target (report: $report)"
else bad "lbharness: a seed scenario failed on $target (report: $report)"; fi

bold "Summary"
printf '   %s\n' "${summary[@]}"
exit "$failed"
