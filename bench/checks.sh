#!/usr/bin/env bash
# CPU cost of health checking: N servers (default 1000) with `option httpchk` and `check inter
# 1s`, all pointing at one mockserver, for DURATION seconds under lb and then under haproxy
# (nbthread 1), once both have started. Prints the CPU seconds (user + system) of each, their
# context switches (with perf), and the ratio lb/haproxy (goal <= 1.0x).
# Usage: bench/checks.sh        SERVERS=1000 DURATION=30 bench/checks.sh
set -euo pipefail
cd "$(dirname "$0")/.."

SERVERS=${SERVERS:-1000}
DURATION=${DURATION:-30}
LB=${LB:-build/release/lb/lb}
MOCKSERVER=${MOCKSERVER:-build/release/mockserver/mockserver}
command -v haproxy >/dev/null || ci/install-deps.sh
if [[ ! -x "$LB" || ! -x "$MOCKSERVER" ]]; then
  cmake --preset release >/dev/null
  cmake --build --preset release --target lb mockserver
fi

source bench/common.sh

"$MOCKSERVER" --listen s1=127.0.0.1:0 --journal-limit 0 >"$tmp/mock.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q '^ready$' "$tmp/mock.out" && break; sleep 0.05; done
mock_port=$(awk '/^listening s1/ { n = split($3, a, ":"); print a[n] }' "$tmp/mock.out")

config() {
  printf 'global\n    nbthread 1\n    maxconn 4000\ndefaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n    timeout check 1s\n'
  printf 'frontend fe\n    bind 127.0.0.1:%s\n    default_backend be\nbackend be\n    option httpchk GET /health\n' "$1"
  for i in $(seq "$SERVERS"); do printf '    server s%d 127.0.0.1:%s check inter 1s\n' "$i" "$mock_port"; done
}
cpu_seconds() { awk '{ printf "%.2f", ($14 + $15) / '"$(getconf CLK_TCK)"' }' "/proc/$1/stat"; }
WARMUP=${WARMUP:-3}

measure() {  # name command...: CPU seconds over DURATION, after WARMUP seconds of start-up
  local name=$1; shift
  "$@" >"$tmp/$name.out" 2>&1 &
  local pid=$!
  pids+=($pid)
  sleep "$WARMUP"
  local before after
  before=$(cpu_seconds "$pid")
  if command -v perf >/dev/null && perf stat -e context-switches -p "$pid" -o "$tmp/$name.perf" -- sleep "$DURATION" 2>/dev/null; then
    :
  else
    sleep "$DURATION"
  fi
  after=$(cpu_seconds "$pid")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  awk -v a="$before" -v b="$after" 'BEGIN { printf "%.2f", b - a }'
}
switches() { awk '/context-switches/ { gsub(",", "", $1); print $1 }' "$tmp/$1.perf" 2>/dev/null || echo "?"; }

config "$(free_port)" >"$tmp/lb.cfg"
config "$(free_port)" >"$tmp/haproxy.cfg"
echo "$SERVERS servers, option httpchk, inter 1s, ${DURATION}s each after ${WARMUP}s of start-up"
lb_cpu=$(measure lb "$LB" -db -q -f "$tmp/lb.cfg")
hx_cpu=$(measure haproxy haproxy -db -q -f "$tmp/haproxy.cfg")
checks=$((SERVERS * DURATION))
printf '  lb       %8s CPU s  %8s context switches (%s checks)\n' "$lb_cpu" "$(switches lb)" "$checks"
printf '  haproxy  %8s CPU s  %8s context switches\n' "$hx_cpu" "$(switches haproxy)"
awk -v a="$lb_cpu" -v b="$hx_cpu" 'BEGIN { if (b > 0) printf "ratio lb/haproxy: %.2fx\n", a / b; else print "ratio: n/a" }'
