#!/usr/bin/env bash
# lb against haproxy (nbthread 1) as an HTTP proxy in front of the same nginx `return 200`, in one
# run: wrk with 50 and 400 connections, the two proxies alternating over ROUNDS rounds, best round
# of each. Prints req/s and p99 of each and the ratios lb/haproxy (goal: req/s >= 1.0x, p99 <= 1.0x).
# Then lb's RSS and open fds before and after N_REQUESTS requests (goal: flat).
# Usage: bench/proxy.sh     (installs wrk and nginx when missing; builds the release lb)
#   DURATION=5s ROUNDS=2 N_REQUESTS=1000000 bench/proxy.sh
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-5s}
ROUNDS=${ROUNDS:-2}
N_REQUESTS=${N_REQUESTS:-1000000}
LB=${LB:-build/release/lb/lb}

if ! command -v wrk >/dev/null || { ! command -v nginx >/dev/null && [[ ! -x /usr/sbin/nginx ]]; } ||
   ! command -v haproxy >/dev/null; then
  LBH_WITH_BENCH=1 ci/install-deps.sh
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)
if [[ ! -x "$LB" ]]; then
  cmake --preset release >/dev/null
  cmake --build --preset release --target lb
fi

source bench/common.sh

# --- nginx: one worker, no logs, `return 200`
nginx_port=$(free_port)
mkdir -p "$tmp/nginx/logs"
cat >"$tmp/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/logs/error.log crit;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000000;
  client_body_temp_path $tmp/nginx/body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  server { listen 127.0.0.1:$nginx_port; location / { return 200 "ok"; } }
}
CONF
"$NGINX" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" 2>"$tmp/nginx.err" &
pids+=($!)
wait_http "$nginx_port" || { cat "$tmp/nginx.err"; echo "nginx did not start" >&2; exit 1; }

# --- the same proxy config for both: no logging (neither logs in the hot path), keep-alive
proxy_cfg() {
  cat <<CFG
global
    nbthread 1
    maxconn 4000
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:$1
    default_backend be
backend be
    server n1 127.0.0.1:$nginx_port
CFG
}
hx_port=$(free_port)
lb_port=$(free_port)
proxy_cfg "$hx_port" >"$tmp/haproxy.cfg"
proxy_cfg "$lb_port" >"$tmp/lb.cfg"
"$HAPROXY" -db -f "$tmp/haproxy.cfg" >"$tmp/haproxy.out" 2>&1 &
pids+=($!)
"$LB" -db -q -f "$tmp/lb.cfg" >"$tmp/lb.out" 2>&1 &
lb_pid=$!
pids+=($lb_pid)
wait_http "$hx_port" || { cat "$tmp/haproxy.out"; exit 1; }
wait_http "$lb_port" || { cat "$tmp/lb.out"; exit 1; }

rps() { awk '/^Requests\/sec:/ { print $2 }' "$1"; }
p99_us() {  # wrk's "99% 1.23ms" in microseconds
  awk '$1 == "99%" { v = $2; u = 1;
    if (v ~ /us$/) { sub(/us$/, "", v) } else if (v ~ /ms$/) { sub(/ms$/, "", v); u = 1000 } else if (v ~ /s$/) { sub(/s$/, "", v); u = 1000000 }
    printf "%.0f", v * u }' "$1"
}
better() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 > b + 0) }'; }

for conns in 50 400; do
  declare -A best_rps=([lb]=0 [haproxy]=0) best_p99=([lb]=0 [haproxy]=0)
  echo "wrk -t1 -c$conns -d$DURATION, $ROUNDS round(s), best of each"
  for round in $(seq "$ROUNDS"); do
    order=(lb haproxy)
    ((round % 2 == 0)) && order=(haproxy lb)
    for who in "${order[@]}"; do
      port=$lb_port
      [[ $who == haproxy ]] && port=$hx_port
      wrk -t1 -c"$conns" -d"$DURATION" --latency "http://127.0.0.1:$port/" >"$tmp/$who.wrk"
      r=$(rps "$tmp/$who.wrk") p=$(p99_us "$tmp/$who.wrk")
      printf '  round %d %-8s %12s req/s   p99 %8s us\n' "$round" "$who" "$r" "$p"
      if better "$r" "${best_rps[$who]}"; then best_rps[$who]=$r best_p99[$who]=$p; fi
    done
  done
  awk -v c="$conns" -v lr="${best_rps[lb]}" -v hr="${best_rps[haproxy]}" -v lp="${best_p99[lb]}" -v hp="${best_p99[haproxy]}" 'BEGIN {
    printf "  -c%d  lb %s req/s p99 %s us | haproxy %s req/s p99 %s us | req/s ratio %.2fx, p99 ratio %.2fx\n",
      c, lr, lp, hr, hp, (hr > 0 ? lr / hr : 0), (hp > 0 ? lp / hp : 0) }'
done

# --- memory and descriptors of lb, before and after N_REQUESTS requests
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$lb_pid/status"; }
fds() { ls "/proc/$lb_pid/fd" | wc -l; }
before_rss=$(rss_kb) before_fds=$(fds)
# Rounds of 10 s until N_REQUESTS requests have gone through (at most 30 rounds).
done_requests=0
for _ in $(seq 30); do
  wrk -t1 -c50 -d10s "http://127.0.0.1:$lb_port/" >"$tmp/soak.wrk" || true
  done_requests=$((done_requests + $(awk '/requests in/ { print $1 }' "$tmp/soak.wrk")))
  ((done_requests >= N_REQUESTS)) && break
done
after_rss=$(rss_kb) after_fds=$(fds)
echo "lb after $done_requests requests: RSS ${before_rss} kB -> ${after_rss} kB, open fds ${before_fds} -> ${after_fds}"
