#!/usr/bin/env bash
# Compares mockserver (plain 200 rule) with nginx (`return 200`, one worker) under the same wrk
# load on loopback, in one run. Prints req/s and p99 latency of each and the ratio.
# Usage: bench/mockserver.sh            (builds the release preset's mockserver when missing)
#   MOCKSERVER=path/to/mockserver  WRK_ARGS="-t1 -c50 -d5s"  ROUNDS=2  bench/mockserver.sh
set -euo pipefail
cd "$(dirname "$0")/.."

WRK_ARGS=${WRK_ARGS:-"-t1 -c50 -d5s"}
MOCKSERVER=${MOCKSERVER:-build/release/mockserver/mockserver}

if ! command -v wrk >/dev/null || { ! command -v nginx >/dev/null && [[ ! -x /usr/sbin/nginx ]]; }; then
  LBH_WITH_BENCH=1 ci/install-deps.sh
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if [[ ! -x "$MOCKSERVER" ]]; then
  cmake --preset release >/dev/null
  cmake --build --preset release --target mockserver
fi

source bench/common.sh

# --- mockserver: one listener, one static 200 rule, journal off (nginx logs nothing either)
"$MOCKSERVER" --listen s1=127.0.0.1:0 --rule 's1: -> status 200 body=ok' --journal-limit 0 \
  >"$tmp/mock.out" 2>"$tmp/mock.err" &
pids+=($!)
for _ in $(seq 100); do grep -q '^ready$' "$tmp/mock.out" && break; sleep 0.05; done
grep -q '^ready$' "$tmp/mock.out" || { cat "$tmp/mock.err"; echo "mockserver did not start" >&2; exit 1; }
mock_port=$(awk '/^listening s1/ { n = split($3, a, ":"); print a[n] }' "$tmp/mock.out")

# --- nginx: own prefix and config, one worker, no logs, `return 200`
nginx_port=$(free_port)
mkdir -p "$tmp/nginx/logs"
cat >"$tmp/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/logs/error.log crit;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $tmp/nginx/body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  server {
    listen 127.0.0.1:$nginx_port;
    location / { return 200 "ok"; }
  }
}
CONF
"$NGINX" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" 2>"$tmp/nginx.err" &
pids+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$nginx_port/" >/dev/null && break; sleep 0.05; done
curl -sf "http://127.0.0.1:$nginx_port/" >/dev/null || { cat "$tmp/nginx.err"; echo "nginx did not start" >&2; exit 1; }

# wrk prints "Requests/sec: N" and, with --latency, "99% X" (us/ms/s units). The two servers
# alternate over ROUNDS rounds and each keeps its best round: on a shared host that cancels
# most of the noise of whatever else runs meanwhile.
ROUNDS=${ROUNDS:-2}
run_wrk() { wrk $WRK_ARGS --latency "http://127.0.0.1:$1/" >"$tmp/$2.wrk"; }
rps() { awk '/^Requests\/sec:/ { print $2 }' "$tmp/$1.wrk"; }
p99() { awk '$1 == "99%" { print $2 }' "$tmp/$1.wrk"; }

curl -sf "http://127.0.0.1:$mock_port/" | grep -q ok
best_mock=0 best_nginx=0 p99_mock="" p99_nginx=""
echo "wrk $WRK_ARGS, $ROUNDS round(s), best of each"
for round in $(seq "$ROUNDS"); do
  order=(mock nginx)
  if ((round % 2 == 0)); then order=(nginx mock); fi
  for who in "${order[@]}"; do
    if [[ $who == mock ]]; then run_wrk "$mock_port" mock; else run_wrk "$nginx_port" nginx; fi
    r=$(rps "$who")
    printf '  round %d %-10s %12s req/s   p99 %s\n' "$round" "$who" "$r" "$(p99 "$who")"
    if [[ $who == mock ]] && awk -v a="$r" -v b="$best_mock" 'BEGIN { exit !(a > b) }'; then
      best_mock=$r p99_mock=$(p99 mock)
    fi
    if [[ $who == nginx ]] && awk -v a="$r" -v b="$best_nginx" 'BEGIN { exit !(a > b) }'; then
      best_nginx=$r p99_nginx=$(p99 nginx)
    fi
  done
done

# An empty or zero nginx result (wrk failed) must not divide by zero.
ratio=$(awk -v a="$best_mock" -v b="$best_nginx" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b; else printf "n/a" }')
printf '%-11s %12s req/s   p99 %s\n' mockserver "$best_mock" "$p99_mock"
printf '%-11s %12s req/s   p99 %s\n' nginx "$best_nginx" "$p99_nginx"
echo "ratio mockserver/nginx: ${ratio}x"
