#!/usr/bin/env bash
# The legacy reload under load, lb against haproxy: wrk opens a new connection for every request
# (`Connection: close`, so that the accept queues are never empty) while the proxy is replaced
# TAKEOVERS times by a new process started with `-sf OLDPID`, one every INTERVAL seconds. Prints,
# for each proxy, the requests, the non-2xx answers and wrk's socket errors (connections refused
# or reset on the way). Goal: lb loses none.
# Usage: bench/takeover.sh          DURATION=20 TAKEOVERS=10 INTERVAL=1.5 CONNS=20 bench/takeover.sh
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-20}
TAKEOVERS=${TAKEOVERS:-10}
INTERVAL=${INTERVAL:-1.5}
CONNS=${CONNS:-20}
LB=${LB:-build/release/lb/lb}
MOCKSERVER=${MOCKSERVER:-build/release/mockserver/mockserver}
for v in DURATION TAKEOVERS CONNS; do
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || { echo "bench/takeover.sh: $v must be a positive whole number, not '${!v}'" >&2; exit 2; }
done
[[ "$INTERVAL" =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "bench/takeover.sh: INTERVAL must be a number of seconds, not '$INTERVAL'" >&2; exit 2; }
if ! command -v wrk >/dev/null || ! command -v haproxy >/dev/null; then LBH_WITH_BENCH=1 ci/install-deps.sh; fi
HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)
if [[ ! -x "$LB" || ! -x "$MOCKSERVER" ]]; then
  cmake --preset release >/dev/null
  cmake --build --preset release --target lb mockserver
fi

source bench/common.sh

"$MOCKSERVER" --journal-limit 0 --listen s1=127.0.0.1:0 --rule 's1: -> status 200 body=ok' >"$tmp/mock.out" 2>&1 &
pids+=($!)
for _ in $(seq 400); do grep -qs '^ready$' "$tmp/mock.out" && break; sleep 0.05; done
mock_port=$(awk '$1 == "listening" && $2 == "s1" { n = split($3, a, ":"); print a[n] }' "$tmp/mock.out")
[[ -n "$mock_port" ]] || { cat "$tmp/mock.out"; echo "bench/takeover.sh: mockserver did not start" >&2; exit 1; }

declare -A requests non2xx sockerr exited
takeover() {  # NAME BINARY
  local name=$1 bin=$2 port pid next
  port=$(free_port)
  cat >"$tmp/$name.cfg" <<CFG
global
    nbthread 1
    maxconn 4000
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:$port
    default_backend be
backend be
    server s1 127.0.0.1:$mock_port
CFG
  "$bin" -db -q -f "$tmp/$name.cfg" >"$tmp/$name.0.out" 2>&1 &
  pid=$!
  pids+=($pid)
  wait_http "$port" || { cat "$tmp/$name.0.out"; echo "bench/takeover.sh: $name did not start" >&2; exit 1; }
  wrk -t1 -c"$CONNS" -d"${DURATION}s" -H "Connection: close" "http://127.0.0.1:$port/" >"$tmp/$name.wrk" 2>&1 &
  local wrk_pid=$!
  exited[$name]=0
  for i in $(seq "$TAKEOVERS"); do
    sleep "$INTERVAL"
    "$bin" -db -q -f "$tmp/$name.cfg" -sf "$pid" >"$tmp/$name.$i.out" 2>&1 &
    next=$!
    pids+=($next)
    # The old process finishes what it has and exits 0.
    if wait "$pid" 2>/dev/null; then exited[$name]=$((exited[$name] + 1)); fi
    pid=$next
  done
  wait "$wrk_pid" || true
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  requests[$name]=$(wrk_requests "$tmp/$name.wrk")
  non2xx[$name]=$(wrk_non2xx "$tmp/$name.wrk")
  sockerr[$name]=$(wrk_socket_errors "$tmp/$name.wrk")
}

echo "-sf takeover under load: $TAKEOVERS takeovers, one every ${INTERVAL}s, under wrk -t1 -c$CONNS -d${DURATION}s (Connection: close)"
takeover lb "$LB"
takeover haproxy "$HAPROXY"
for name in lb haproxy; do
  printf '%-8s %8s requests %6s non-2xx %6s socket errors   %s of %s old processes exited 0\n' \
    "$name" "${requests[$name]:-?}" "${non2xx[$name]}" "${sockerr[$name]}" "${exited[$name]}" "$TAKEOVERS"
done
lost=$((non2xx[lb] + sockerr[lb]))
echo "lb lost $lost requests over $TAKEOVERS takeovers (goal: 0): $([[ $lost -eq 0 ]] && echo met || echo NOT met)"
