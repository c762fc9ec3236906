#!/usr/bin/env bash
# Flapping soak: wrk through lb, then through haproxy (nbthread 1, the same config), while four
# mockserver backends misbehave on the same timeline in both runs (a fresh mockserver each run):
#   s1 refuses connections 3 s of every 8 s, s2 hangs requests 3 s of every 11 s, s3 resets
#   requests 2 s of every 13 s and 1 request in 200 besides, s4 answers 200 after 0-2 ms.
# Each proxy gets ROUNDS rounds of wrk -t1 -cCONNS for ROUND_SECONDS (default 6 x 10 s = 60 s).
# Prints, for each: requests, non-2xx answers, socket errors, DOWN transitions logged, whether it
# was still running at the end, and the failed exchanges of its log by status and termination
# state (`option dontlog-normal` logs only those); RSS and open fds after the first round (the
# first 100k+ requests) and after the last, each taken once the round's connections have ended.
# Goals: lb fails no more requests than haproxy in the same timeline, never crashes, and its RSS
# and fds are flat from the first round to the last.
# PAIRS runs of lb then haproxy, alternating, are summed: where a check meets each fault window
# moves from run to run, so more pairs give a fairer comparison (RSS and fds: the first pair's).
# Usage: bench/soak.sh           ROUNDS=6 ROUND_SECONDS=10 CONNS=50 PAIRS=1 bench/soak.sh
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-6}
ROUND_SECONDS=${ROUND_SECONDS:-10}
CONNS=${CONNS:-50}
PAIRS=${PAIRS:-1}
LB=${LB:-build/release/lb/lb}
MOCKSERVER=${MOCKSERVER:-build/release/mockserver/mockserver}
for v in ROUNDS ROUND_SECONDS CONNS PAIRS; do
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || { echo "bench/soak.sh: $v must be a positive whole number, not '${!v}'" >&2; exit 2; }
done
if ! command -v wrk >/dev/null || ! command -v haproxy >/dev/null; then LBH_WITH_BENCH=1 ci/install-deps.sh; fi
HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)
if [[ ! -x "$LB" || ! -x "$MOCKSERVER" ]]; then
  cmake --preset release >/dev/null
  cmake --build --preset release --target lb mockserver
fi

source bench/common.sh

start_mockserver() {  # a fresh timeline for each proxy's run; sets mock_pid and ports[s1..s4]
  "$MOCKSERVER" --journal-limit 0 --timeline-start first-connection \
    --listen s1=127.0.0.1:0 --listen s2=127.0.0.1:0 --listen s3=127.0.0.1:0 --listen s4=127.0.0.1:0 \
    --rule 's1: flap=8000/3000 -> refuse' \
    --rule 's2: flap=11000/3000/4000 -> hang' \
    --rule 's3: flap=13000/2000/7000 -> reset' \
    --rule 's3: probability=0.005 seed=7 -> reset' \
    --rule 's4: -> status 200 delay=1 jitter=1' >"$tmp/mock.out" 2>&1 &
  mock_pid=$!
  pids+=($mock_pid)
  for _ in $(seq 400); do grep -q '^ready$' "$tmp/mock.out" && break; sleep 0.05; done
  declare -gA ports=()
  for s in s1 s2 s3 s4; do
    ports[$s]=$(awk -v s="$s" '$1 == "listening" && $2 == s { n = split($3, a, ":"); print a[n] }' "$tmp/mock.out")
    [[ -n "${ports[$s]}" ]] || {
      cat "$tmp/mock.out"
      echo "bench/soak.sh: mockserver did not start ($(kill -0 "$mock_pid" 2>/dev/null && echo running || echo exited))" >&2
      exit 1
    }
  done
}

config() {  # PORT: the same file for both proxies
  cat <<CFG
global
    nbthread 1
    maxconn 4000
    log stdout format raw local0
defaults
    mode http
    log global
    option httplog
    option dontlog-normal
    retries 3
    option redispatch
    timeout connect 500ms
    timeout client 10s
    timeout server 1s
    timeout check 500ms
frontend fe
    bind 127.0.0.1:$1
    default_backend be
backend be
    option httpchk GET /health
    default-server check inter 200ms fall 2 rise 2
    server s1 127.0.0.1:${ports[s1]}
    server s2 127.0.0.1:${ports[s2]}
    server s3 127.0.0.1:${ports[s3]}
    server s4 127.0.0.1:${ports[s4]}
CFG
}

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo gone; }
fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }

declare -A total fail non2xx sockerr downs alive rss_first rss_last fds_first fds_last
for name in lb haproxy; do total[$name]=0 non2xx[$name]=0 sockerr[$name]=0 downs[$name]=0 alive[$name]=yes; done
soak() {  # NAME PAIR COMMAND...
  local name=$1 pair=$2; shift 2
  start_mockserver
  local port
  port=$(free_port)
  config "$port" >"$tmp/$name.cfg"
  local out="$tmp/$name.$pair.out"
  "$@" -db -f "$tmp/$name.cfg" >"$out" 2>&1 &
  local pid=$!
  pids+=($pid)
  wait_http "$port" || { cat "$out"; echo "bench/soak.sh: $name did not start" >&2; exit 1; }
  for round in $(seq "$ROUNDS"); do
    wrk -t1 -c"$CONNS" -d"${ROUND_SECONDS}s" "http://127.0.0.1:$port/" >"$tmp/$name.$round.wrk" 2>&1 || true
    local r n e
    r=$(wrk_requests "$tmp/$name.$round.wrk") n=$(wrk_non2xx "$tmp/$name.$round.wrk") e=$(wrk_socket_errors "$tmp/$name.$round.wrk")
    total[$name]=$((total[$name] + ${r:-0})) non2xx[$name]=$((non2xx[$name] + n)) sockerr[$name]=$((sockerr[$name] + e))
    sleep 1.5  # `timeout server` 1s: every request of the round has ended, held ones too
    printf '  %-8s pair %d round %d: %8s requests %6s non-2xx %6s socket errors   RSS %8s kB  fds %4s\n' \
      "$name" "$pair" "$round" "${r:-0}" "$n" "$e" "$(rss_kb "$pid")" "$(fds "$pid")"
    if ((pair == 1 && round == 1)); then rss_first[$name]=$(rss_kb "$pid") fds_first[$name]=$(fds "$pid"); fi
  done
  if ((pair == 1)); then rss_last[$name]=$(rss_kb "$pid") fds_last[$name]=$(fds "$pid"); fi
  kill -0 "$pid" 2>/dev/null || alive[$name]=no
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  kill "$mock_pid" 2>/dev/null || true
  wait "$mock_pid" 2>/dev/null || true
  downs[$name]=$((downs[$name] + $(grep -c '^Server .* is DOWN' "$out" || true)))  # the log's lines, not stderr's copies
  fail[$name]=$((non2xx[$name] + sockerr[$name]))
}

echo "flapping soak: $PAIRS x (lb, haproxy), each $ROUNDS x ${ROUND_SECONDS}s of wrk -t1 -c$CONNS, backends flapping"
for pair in $(seq "$PAIRS"); do
  soak lb "$pair" "$LB"
  soak haproxy "$pair" "$HAPROXY"
done
for name in lb haproxy; do
  printf '%-8s %9s requests %7s failed (%s non-2xx, %s socket errors) %4s DOWN transitions  running at the end: %s\n' \
    "$name" "${total[$name]}" "${fail[$name]}" "${non2xx[$name]}" "${sockerr[$name]}" "${downs[$name]}" "${alive[$name]}"
  printf '         RSS %s kB -> %s kB, open fds %s -> %s (after round 1 -> after round %d)\n' \
    "${rss_first[$name]}" "${rss_last[$name]}" "${fds_first[$name]}" "${fds_last[$name]}" "$ROUNDS"
done
for name in lb haproxy; do
  echo "$name: failed exchanges in its log, by status and termination state"
  awk '$3 == "fe" { n[$6 " " $10]++ } END { for (k in n) printf "    %7d  %s\n", n[k], k }' "$tmp/$name".*.out | sort -rn | head -12
done
awk -v lf="${fail[lb]}" -v lt="${total[lb]}" -v hf="${fail[haproxy]}" -v ht="${total[haproxy]}" 'BEGIN {
  lr = lt > 0 ? lf / lt : 1; hr = ht > 0 ? hf / ht : 1
  printf "failed share: lb %.4f%%, haproxy %.4f%% (goal: lb <= haproxy): %s\n", 100 * lr, 100 * hr, (lr <= hr ? "met" : "NOT met") }'
