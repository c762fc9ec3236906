# Sourced by the bench scripts: a scratch directory and background processes that go away with
# the script, and a free loopback port.
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# Waits until the proxy on port $1 answers HTTP (any status).
wait_http() { for _ in $(seq 200); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.05; done; return 1; }
# wrk's figures in its output file $1: requests, non-2xx/3xx answers, socket errors (connect +
# read + write + timeout)
wrk_requests() { awk '/requests in/ { print $1 }' "$1"; }
wrk_non2xx() { awk '/Non-2xx or 3xx responses:/ { print $5 }' "$1" | grep . || echo 0; }
wrk_socket_errors() { awk '/Socket errors:/ { gsub(",", ""); print $4 + $6 + $8 + $10 }' "$1" | grep . || echo 0; }
