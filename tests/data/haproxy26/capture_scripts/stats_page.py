#!/usr/bin/env python3
"""Capture haproxy 2.6 statistics over HTTP (stats page CSV/JSON/typed/HTML, auth,
admin form, and the Prometheus exporter), byte for byte.

python3, stdlib only.  Usage:

    python3 stats_page.py [--out DIR] [--only RUN[,RUN...]] [--list] [--screenshot]

DIR defaults to ../stats (next to this folder).  A full run deletes the old
DIR/*.http first, then rewrites DIR/cases.tsv, DIR/session_logs.txt and the configs.
--only runs some runs (base, admin, track) and still rewrites cases.tsv from what ran
(so use it with --out elsewhere, for experiments).  --screenshot also renders two
captured HTML pages with /usr/bin/chromium (headless) into DIR/*.png.

What it does
------------
* Threaded python http.server backends (HTTP/1.0) on 127.0.0.1:43101 (s1), 43103 (s3),
  43104 (s4, backup) and 43105 (s5, no `check`) answer `GET /health` -> 200 "OK\\n",
  `GET /` -> 200 "hello\\n", anything else -> 404 "not found\\n".  Nothing ever listens
  on 43102, so s2 is DOWN (Layer4 connection refused).  The s1 backend is stopped and
  restarted in the `admin` run to catch the transient "UP 1/2" / "DOWN 1/2" states.
* Each RUN is a fresh `timeout 300 /usr/sbin/haproxy -db -f /tmp/lbh-statspage/haproxy.cfg`
  (CONFIG below; run `track` uses CONFIG_TRACK = CONFIG + a tracking backend).
  haproxy's stdout (`log stdout format raw local0`: the httplog lines and the
  server state messages) and stderr ([WARNING]/[ALERT] lines) are read line by line
  and stamped.
* Every case opens a fresh TCP connection, sends the exact request bytes and reads
  until EOF (mode `close`: every request carries `Connection: close`, or is HTTP/1.0),
  or until the connection has been quiet for 1 s (mode `keepalive`).  The raw
  response (status line, headers, chunked framing, body) is written to DIR/<case>.http.
* After the response the script waits 0.3 s and attributes the log lines that arrived
  since the request was sent to that case.
* Read-only dumps that caught a health check in flight (check_status `* L7OK`) are
  retried up to 10 times (column `attempts`) so the fixtures do not depend on that
  1 ms race.
* State changes are made through the admin stats socket
  /tmp/lbh-statspage/admin.sock (rows with port `sock`; the reply is in the
  `status` column, no file) or through the admin form (POST on 127.0.0.1:43082).
* Before the first capture of a run the script waits for the checks to settle and
  sends traffic through `fe` (127.0.0.1:43080): 6 x `GET /` and 1 x `GET /nope`
  (404), then waits 2.5 s so that the per-second rates are back to 0.

Ports: 43080 fe, 43081 `listen stats` (stats uri /stats, refresh 5s, and
`/metrics` -> prometheus-exporter), 43082 `listen stats_admin` (auth admin:secret,
`stats admin if TRUE`), 43101-43105 backends.  All on 127.0.0.1.

Output: DIR/<case>.http, DIR/cases.tsv (columns: case run port mode pre request
response_file bytes status eof attempts log_stdout log_stderr), DIR/session_logs.txt,
DIR/haproxy.cfg, DIR/haproxy_track.cfg.  DIR/README.md (hand-written) has the facts.
Escaping in `request` and the log columns: backslash -> `\\\\`, LF -> `\\n`,
CR -> `\\r`, TAB -> `\\t`.  Log lines are joined with ` | `; the pid in
`[WARNING]  (1234) :` is replaced by the literal `PID`.
"""
import argparse
import base64
import http.server
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

HAPROXY = "/usr/sbin/haproxy"
RUNDIR = "/tmp/lbh-statspage"
SOCK = RUNDIR + "/admin.sock"
FE = 43080
STATS = 43081
ADMIN = 43082
BACKEND_PORTS = {"s1": 43101, "s3": 43103, "s4": 43104, "s5": 43105}   # s2 = 43102: never listens

CONFIG = """global
    stats socket /tmp/lbh-statspage/admin.sock level admin
    log stdout format raw local0
defaults
    log global
    mode http
    option httplog
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:43080
    default_backend apps
backend apps
    balance roundrobin
    option httpchk GET /health
    default-server inter 500ms fall 2 rise 2
    server s1 127.0.0.1:43101 check
    server s2 127.0.0.1:43102 check
    server s3 127.0.0.1:43103 check weight 2
    server s4 127.0.0.1:43104 check backup
    server s5 127.0.0.1:43105
backend empty
listen stats
    bind 127.0.0.1:43081
    stats enable
    stats uri /stats
    stats refresh 5s
    http-request use-service prometheus-exporter if { path /metrics }
listen stats_admin
    bind 127.0.0.1:43082
    stats enable
    stats uri /stats
    stats refresh 5s
    stats auth admin:secret
    stats admin if TRUE
"""

CONFIG_TRACK = CONFIG + """backend trk
    server t1 127.0.0.1:43101 track apps/s1
"""

PID_RE = re.compile(r"^(\[[A-Z]+\]\s+)\(\d+\)")
IN_PROGRESS = re.compile(rb"(,|>|\"| )\* (UNK|INI|SOCKERR|L4OK|L4TOUT|L4CON|L6OK|L6TOUT|L6RSP|"
                         rb"L7OK|L7OKC|L7TOUT|L7RSP|L7STS|PROCERR|PROCTOUT|PROCOK)")

AUTH_OK = "Basic " + base64.b64encode(b"admin:secret").decode()
AUTH_BAD = "Basic " + base64.b64encode(b"admin:wrong").decode()

# --------------------------------------------------------------------------- backends


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def do_GET(self):
        if self.path == "/health":
            code, body = 200, b"OK\n"
        elif self.path == "/":
            code, body = 200, b"hello\n"
        else:
            code, body = 404, b"not found\n"
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_HEAD = do_GET

    def log_message(self, *a):
        pass


class QuietServer(http.server.ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


class Backends:
    def __init__(self):
        self.servers = {}

    def start(self, name):
        srv = QuietServer(("127.0.0.1", BACKEND_PORTS[name]), Handler)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        self.servers[name] = srv

    def stop(self, name):
        srv = self.servers.pop(name)
        srv.shutdown()
        srv.server_close()

    def close(self):
        for n in list(self.servers):
            self.stop(n)


# --------------------------------------------------------------------------- haproxy


class Haproxy:
    def __init__(self, config, log):
        self.log = log
        os.makedirs(RUNDIR, exist_ok=True)
        if os.path.exists(SOCK):
            os.unlink(SOCK)
        cfg = os.path.join(RUNDIR, "haproxy.cfg")
        with open(cfg, "w") as f:
            f.write(config)
        self.lock = threading.Lock()
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(["timeout", "300", HAPROXY, "-db", "-f", cfg],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.readers = [threading.Thread(target=self._reader, args=(self.proc.stdout, "stdout"), daemon=True),
                        threading.Thread(target=self._reader, args=(self.proc.stderr, "stderr"), daemon=True)]
        for r in self.readers:
            r.start()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(SOCK)
                s.close()
                # (no probe of the HTTP ports: an empty connection counts as a 400
                # <BADREQ> in the frontend's counters and logs)
                return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("haproxy did not open its sockets")

    def _reader(self, pipe, chan):
        for raw in iter(pipe.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self.lock:
                self.log.append((time.monotonic() - self.t0, chan, PID_RE.sub(r"\1(PID)", line)))

    def now(self):
        return time.monotonic() - self.t0

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # timeout(1) forwards it to haproxy
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for r in self.readers:
            r.join(2)


# --------------------------------------------------------------------------- I/O


def http_exchange(port, req, mode="close"):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    out = b""
    eof = False
    try:
        s.sendall(req)
        s.settimeout(5.0 if mode == "close" else 1.0)
        while True:
            try:
                d = s.recv(65536)
            except socket.timeout:
                break
            if not d:
                eof = True
                break
            out += d
    finally:
        s.close()
    return out, eof


def sock_cmd(cmd):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(SOCK)
    s.sendall(cmd.encode())
    out = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
    s.close()
    return out


def dechunk(resp):
    head, _, body = resp.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" not in head.lower():
        return body
    out = b""
    while body:
        line, _, rest = body.partition(b"\r\n")
        n = int(line.split(b";")[0], 16)
        if n == 0:
            break
        out += rest[:n]
        body = rest[n + 2:]
    return out


def csv_status():
    """{svname: status} of the apps/trk servers from `show stat` on the admin socket (used to
    wait for states; the socket does not touch the HTTP proxies' counters)."""
    st = {}
    for line in sock_cmd("show stat\n").decode().splitlines():
        f = line.split(",")
        if len(f) > 20 and f[0] in ("apps", "trk"):
            st[f[1]] = f[17]
    return st


def wait_for(pred, timeout=10.0, step=0.02):
    t = time.monotonic() + timeout
    while time.monotonic() < t:
        v = pred()
        if v:
            return v
        time.sleep(step)
    raise RuntimeError("condition not reached")


def esc(b):
    if isinstance(b, bytes):
        b = b.decode("latin-1")
    return b.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")


def req(method, path, port=STATS, auth=None, body=None, version="HTTP/1.1", close=True, extra=""):
    h = "%s %s %s\r\nHost: 127.0.0.1:%d\r\n" % (method, path, version, port)
    if auth:
        h += "Authorization: %s\r\n" % auth
    h += extra
    if body is not None:
        h += "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n" % len(body)
    if close and version == "HTTP/1.1":
        h += "Connection: close\r\n"
    h += "\r\n"
    return (h + (body or "")).encode()


# --------------------------------------------------------------------------- runner


class Run:
    def __init__(self, name, config, out, rows, session):
        self.name, self.out, self.rows, self.session = name, out, rows, session
        self.log = []
        self.marks = []
        self.be = Backends()
        for n in BACKEND_PORTS:
            self.be.start(n)
        time.sleep(0.2)
        self.hp = Haproxy(config, self.log)

    def _new_logs(self, i0):
        with self.hp.lock:
            new = self.log[i0:]
        return ([l for _, ch, l in new if ch == "stdout"], [l for _, ch, l in new if ch == "stderr"])

    def http(self, case, request, pre, port=STATS, mode="close", retry=True, wait=0.3, check=None,
             save=True):
        """check: optional predicate on the raw response; the capture is retried until it holds."""
        with self.hp.lock:
            i0 = len(self.log)
        self.marks.append((self.hp.now(), case))
        attempts = 0
        while True:
            attempts += 1
            data, eof = http_exchange(port, request, mode)
            bad = (retry and IN_PROGRESS.search(data)) or (check and not check(data))
            if not bad or attempts >= 10:
                break
            time.sleep(0.05)
        time.sleep(wait)
        outs, errs = self._new_logs(i0)
        fname = case + ".http" if save else ""
        if save:
            with open(os.path.join(self.out, fname), "wb") as f:
                f.write(data)
        status = data.split(b"\r\n", 1)[0].decode("latin-1")
        self.rows.append([case, self.name, str(port), mode, pre, esc(request), fname, str(len(data)), status,
                          "yes" if eof else "no", str(attempts), esc(" | ".join(outs)), esc(" | ".join(errs))])
        return data

    def sock(self, case, cmds, pre, wait=0.3):
        with self.hp.lock:
            i0 = len(self.log)
        self.marks.append((self.hp.now(), case))
        replies = [sock_cmd(c) for c in cmds]
        time.sleep(wait)
        outs, errs = self._new_logs(i0)
        self.rows.append([case, self.name, "sock", "socket", pre, esc("".join(cmds)), "", str(sum(map(len, replies))),
                          esc(b"".join(replies)), "yes", "1", esc(" | ".join(outs)), esc(" | ".join(errs))])

    def settle_and_traffic(self):
        # every checked server has had at least 2 checks (inter 500ms), s2 is DOWN
        time.sleep(1.5)
        wait_for(lambda: csv_status().get("s2") == "DOWN" and csv_status().get("s1") == "UP")
        with self.hp.lock:
            i0 = len(self.log)
        self.marks.append((self.hp.now(), "traffic"))
        codes = []
        for path in ["/"] * 6 + ["/nope"]:
            r, _ = http_exchange(FE, req("GET", path, port=FE))
            codes.append(r.split(b"\r\n", 1)[0].decode())
        time.sleep(0.3)
        outs, errs = self._new_logs(i0)
        self.rows.append(["%s_traffic" % self.name, self.name, str(FE), "close", "settled",
                          esc(req("GET", "/", port=FE)) + " (x6), then the same with /nope", "",
                          "", " ; ".join(codes), "yes", "1", esc(" | ".join(outs)), esc(" | ".join(errs))])
        time.sleep(2.5)  # rates (per second, 2 periods) back to 0

    def close(self):
        self.hp.stop()
        self.be.close()
        self.session.append("=== run %s" % self.name)
        ev = [(t, "%8.3f %s %s" % (t, ch, l)) for t, ch, l in self.log]
        ev += [(t, "%8.3f >>> case %s" % (t, n)) for t, n in self.marks]
        self.session.extend(l for _, l in sorted(ev, key=lambda x: x[0]))


SETTLED = "settled: s1 UP, s2 DOWN (refused), s3 UP (weight 2), s4 backup UP, s5 no check; 7 requests sent through fe"


def run_base(out, rows, session):
    r = Run("base", CONFIG, out, rows, session)
    try:
        r.settle_and_traffic()
        P = SETTLED
        r.http("r01_csv", req("GET", "/stats;csv"), P)
        r.http("r02_csv_norefresh", req("GET", "/stats;csv;norefresh"), P)
        r.http("r03_csv_http10", req("GET", "/stats;csv", version="HTTP/1.0"), P)
        r.http("r04_csv_keepalive", req("GET", "/stats;csv", close=False), P, mode="keepalive")
        r.http("r05_json", req("GET", "/stats;json"), P)
        r.http("r06_typed", req("GET", "/stats;typed"), P)
        r.http("r07_json_schema", req("GET", "/stats;json-schema"), P)
        r.http("r08_html", req("GET", "/stats"), P)
        r.http("r09_html_up", req("GET", "/stats;up"), P)
        r.http("r10_html_norefresh", req("GET", "/stats;norefresh"), P)
        r.http("r11_csv_up", req("GET", "/stats;csv;up"), P)
        r.http("r12_csv_no_maint", req("GET", "/stats;csv;no-maint"), P)
        r.http("r13_csv_scope_app", req("GET", "/stats;csv?scope=app"), P)
        r.http("r14_html_scope_apps", req("GET", "/stats?scope=apps"), P)
        r.http("r15_head_html", req("HEAD", "/stats"), P)
        r.http("r16_post_no_admin", req("POST", "/stats", body="s=s1&action=maint&b=%233"), P)
        r.http("r17_html_st_deny", req("GET", "/stats;st=DENY"), P)
        r.http("r18_prefix_statsx_csv", req("GET", "/statsx;csv"), P)
        r.http("r19_put_stats", req("PUT", "/stats", body=""), P)
        r.http("r20_not_stats_uri", req("GET", "/"), P)
        r.http("r21_html_http10", req("GET", "/stats", version="HTTP/1.0"), P)
        r.http("p01_metrics", req("GET", "/metrics"), P)
        r.http("p02_metrics_scope_server", req("GET", "/metrics?scope=server"), P)
        r.http("p03_metrics_scope_backend", req("GET", "/metrics?scope=backend"), P)
        r.http("p04_metrics_scope_frontend", req("GET", "/metrics?scope=frontend"), P)
        r.http("p05_metrics_scope_global", req("GET", "/metrics?scope=global"), P)
        r.http("p06_metrics_scope_empty", req("GET", "/metrics?scope="), P)
        r.http("p07_metrics_no_maint", req("GET", "/metrics?no-maint"), P)
        r.http("p08_metrics_scope_bogus", req("GET", "/metrics?scope=foo"), P)
        r.http("p09_metrics_scope_listener", req("GET", "/metrics?scope=listener"), P)
        r.http("p10_metrics_scope_front_back", req("GET", "/metrics?scope=frontend&scope=backend"), P)
        r.http("p11_metrics_head", req("HEAD", "/metrics"), P)
        r.http("p12_metrics_http10_global", req("GET", "/metrics?scope=global", version="HTTP/1.0"), P)
    finally:
        r.close()


def run_admin(out, rows, session):
    r = Run("admin", CONFIG, out, rows, session)
    A = ADMIN
    try:
        r.settle_and_traffic()
        P = SETTLED
        r.http("a01_auth_none", req("GET", "/stats", port=A), P, port=A)
        r.http("a02_auth_wrong", req("GET", "/stats", port=A, auth=AUTH_BAD), P, port=A)
        page = r.http("a03_auth_html", req("GET", "/stats", port=A, auth=AUTH_OK), P, port=A)
        m = re.search(rb'name="b" value="(#\d+)"', dechunk(page))
        b = m.group(1).decode().replace("#", "%23") if m else "%233"
        r.http("a04_auth_csv", req("GET", "/stats;csv", port=A, auth=AUTH_OK), P, port=A)
        r.http("a05_post_no_auth", req("POST", "/stats", port=A, body="s=s1&action=maint&b=" + b), P, port=A)
        r.http("a06_post_maint_s1", req("POST", "/stats", port=A, auth=AUTH_OK, body="s=s1&action=maint&b=" + b),
               P, port=A, retry=False)
        S1M = "s1 MAINT (admin form), rest as settled"
        r.http("a07_html_st_done", req("GET", "/stats;st=DONE", port=A, auth=AUTH_OK), S1M, port=A)
        r.http("a08_csv_s1_maint", req("GET", "/stats;csv", port=A, auth=AUTH_OK), S1M, port=A)
        r.http("a09_post_ready_s1", req("POST", "/stats", port=A, auth=AUTH_OK, body="s=s1&action=ready&b=" + b),
               S1M, port=A, retry=False)
        r.http("a10_post_drain_s1_s3_by_name",
               req("POST", "/stats", port=A, auth=AUTH_OK, body="s=s1&s=s3&action=drain&b=apps"),
               P, port=A, retry=False)
        r.http("a11_post_ready_s1_s3",
               req("POST", "/stats", port=A, auth=AUTH_OK, body="s=s1&s=s3&action=ready&b=apps"),
               "s1, s3 DRAIN", port=A, retry=False)
        r.http("a12_post_unknown_server", req("POST", "/stats", port=A, auth=AUTH_OK,
                                              body="s=nosuch&action=maint&b=" + b), P, port=A, retry=False)
        r.http("a13_post_bad_action", req("POST", "/stats", port=A, auth=AUTH_OK,
                                          body="s=s1&action=foo&b=" + b), P, port=A, retry=False)
        r.http("a14_post_no_server", req("POST", "/stats", port=A, auth=AUTH_OK,
                                         body="action=maint&b=" + b), P, port=A, retry=False)
        r.http("a15_post_bad_backend", req("POST", "/stats", port=A, auth=AUTH_OK,
                                           body="s=s1&action=maint&b=nosuch"), P, port=A, retry=False)
        r.http("a16_post_partial", req("POST", "/stats", port=A, auth=AUTH_OK,
                                       body="s=s1&s=nosuch&action=maint&b=" + b), P, port=A, retry=False)
        r.http("a17_post_ready_s1_again", req("POST", "/stats", port=A, auth=AUTH_OK,
                                              body="s=s1&action=ready&b=" + b), S1M, port=A, retry=False)
        r.http("a18_post_hdown_s5", req("POST", "/stats", port=A, auth=AUTH_OK,
                                        body="s=s5&action=hdown&b=" + b), P, port=A, retry=False)
        r.http("a19_post_hrunn_s5", req("POST", "/stats", port=A, auth=AUTH_OK,
                                        body="s=s5&action=hrunn&b=" + b), "s5 DOWN (hdown)", port=A, retry=False)
        r.http("a20_post_maint_keepalive", req("POST", "/stats", port=A, auth=AUTH_OK, close=False,
                                               body="s=s3&action=maint&b=" + b), P, port=A, mode="keepalive",
               retry=False)
        r.sock("a21_sock_s3_ready", ["set server apps/s3 state ready\n"], "s3 MAINT (admin form)")
        time.sleep(1.0)

        # --- state B: s1 MAINT, s3 DRAIN, s4 (checked backup) weight 0 (through the socket)
        r.sock("b01_sock_maint_drain_weight0",
               ["set server apps/s1 state maint\n", "set server apps/s3 state drain\n",
                "set server apps/s4 weight 0\n"], P)
        B = "s1 MAINT, s2 DOWN, s3 DRAIN (weight 2), s4 backup UP with weight 0, s5 no check; set on the socket"
        time.sleep(1.0)
        r.http("b02_csv", req("GET", "/stats;csv"), B)
        r.http("b03_html", req("GET", "/stats"), B)
        r.http("b04_csv_up", req("GET", "/stats;csv;up"), B)
        r.http("b05_csv_no_maint", req("GET", "/stats;csv;no-maint"), B)
        r.http("b06_html_up", req("GET", "/stats;up"), B)
        r.http("b08_metrics", req("GET", "/metrics"), B)
        r.http("b09_metrics_no_maint", req("GET", "/metrics?no-maint"), B)
        r.http("b10_admin_html", req("GET", "/stats", port=A, auth=AUTH_OK), B, port=A)

        # --- state C: s3 UP weight 0, s4 (backup) DRAIN, s5 NOLB (health stopping, no check)
        r.sock("c01_sock_nolb_backup_drain_weight0",
               ["set server apps/s1 state ready\n", "set server apps/s3 state ready\n",
                "set server apps/s3 weight 0\n", "set server apps/s4 weight 1\n",
                "set server apps/s4 state drain\n", "set server apps/s5 health stopping\n"], B)
        C = ("s1 UP, s2 DOWN, s3 UP with weight 0, s4 backup DRAIN, s5 NOLB (health stopping; no check); "
             "set on the socket")
        time.sleep(1.0)
        r.http("c02_csv", req("GET", "/stats;csv"), C)
        r.http("c03_admin_html", req("GET", "/stats", port=A, auth=AUTH_OK), C, port=A)
        r.http("c04_metrics_scope_server", req("GET", "/metrics?scope=server"), C)

        # --- state D: s5 DOWN without check (health down), s4 (backup) MAINT
        r.sock("d01_sock_down_nocheck_backup_maint",
               ["set server apps/s3 weight 2\n", "set server apps/s5 health down\n",
                "set server apps/s4 state maint\n"], C)
        D = "s1 UP, s2 DOWN, s3 UP (weight 2 again), s4 backup MAINT, s5 DOWN (health down; no check)"
        time.sleep(0.5)
        r.http("d02_csv", req("GET", "/stats;csv"), D)
        r.http("d03_html", req("GET", "/stats"), D)
        r.sock("d04_sock_restore", ["set server apps/s5 health up\n", "set server apps/s4 state ready\n"], D)
        time.sleep(1.0)

        # --- state E: transient states of s1 (checks: inter 500ms, fall 2, rise 2)
        with r.hp.lock:
            i0 = len(r.log)
        r.be.stop("s1")
        wait_for(lambda: csv_status().get("s1") == "UP 1/2", timeout=5, step=0.01)
        E1 = "s1 backend stopped: one failed check, s1 'UP 1/2' (going down)"
        r.http("e01_csv_going_down", req("GET", "/stats;csv"), E1,
               check=lambda d: b"UP 1/2" in d)
        r.http("e02_html_going_down", req("GET", "/stats"), E1, check=lambda d: b"UP 1/2" in d)
        wait_for(lambda: csv_status().get("s1") == "DOWN", timeout=5)
        r.be.start("s1")
        wait_for(lambda: csv_status().get("s1") == "DOWN 1/2", timeout=5, step=0.01)
        E2 = "s1 backend restarted: one good check, s1 'DOWN 1/2' (going up)"
        r.http("e03_csv_going_up", req("GET", "/stats;csv"), E2, check=lambda d: b"DOWN 1/2" in d)
        r.http("e04_html_going_up", req("GET", "/stats"), E2, check=lambda d: b"DOWN 1/2" in d)
        wait_for(lambda: csv_status().get("s1") == "UP", timeout=5)
        time.sleep(0.3)
        outs, errs = r._new_logs(i0)
        r.rows.append(["e05_transient_logs", "admin", "-", "-", "s1 backend stopped then restarted (e01-e04)",
                       "", "", "", "", "", "", esc(" | ".join(outs)), esc(" | ".join(errs))])
    finally:
        r.close()


def run_track(out, rows, session):
    r = Run("track", CONFIG_TRACK, out, rows, session)
    try:
        r.settle_and_traffic()
        P = SETTLED + "; trk/t1 tracks apps/s1"
        r.http("t01_csv", req("GET", "/stats;csv"), P)
        r.sock("t02_sock_disable_s1", ["disable server apps/s1\n"], P)
        T = "apps/s1 MAINT (disable server): trk/t1 in MAINT via apps/s1"
        r.http("t03_csv_via", req("GET", "/stats;csv"), T)
        r.http("t04_html_via", req("GET", "/stats"), T)
        r.http("t05_metrics_scope_server", req("GET", "/metrics?scope=server"), T)
    finally:
        r.close()


RUNS = [("base", run_base), ("admin", run_admin), ("track", run_track)]


def screenshot(out):
    chrome = "/usr/bin/chromium"
    for case, png in (("b10_admin_html", "b10_admin_html.png"), ("r08_html", "r08_html.png")):
        src = os.path.join(out, case + ".http")
        if not os.path.exists(src):
            continue
        html = os.path.join(RUNDIR, case + ".html")
        with open(src, "rb") as f, open(html, "wb") as g:
            g.write(dechunk(f.read()))
        subprocess.run(["timeout", "90", chrome, "--headless", "--no-sandbox", "--disable-gpu",
                        "--hide-scrollbars", "--window-size=1700,1100",
                        "--screenshot=" + os.path.join(out, png), "file://" + html],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "stats"))
    ap.add_argument("--only")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--screenshot", action="store_true")
    a = ap.parse_args()
    if a.list:
        for n, _ in RUNS:
            print(n)
        return
    only = set(a.only.split(",")) if a.only else None
    out = os.path.abspath(a.out)
    os.makedirs(out, exist_ok=True)
    if not only:
        for f in os.listdir(out):
            if f.endswith(".http"):
                os.unlink(os.path.join(out, f))
    with open(os.path.join(out, "haproxy.cfg"), "w") as f:
        f.write(CONFIG)
    with open(os.path.join(out, "haproxy_track.cfg"), "w") as f:
        f.write(CONFIG_TRACK)
    rows, session = [], []
    for n, fn in RUNS:
        if only and n not in only:
            continue
        print("run %s" % n, file=sys.stderr)
        fn(out, rows, session)
    with open(os.path.join(out, "cases.tsv"), "w") as f:
        f.write("\t".join(["case", "run", "port", "mode", "pre", "request", "response_file", "bytes", "status",
                           "eof", "attempts", "log_stdout", "log_stderr"]) + "\n")
        for row in rows:
            f.write("\t".join(x.replace("\t", " ") for x in row) + "\n")
    with open(os.path.join(out, "session_logs.txt"), "w") as f:
        f.write("\n".join(session) + "\n")
    if a.screenshot:
        screenshot(out)


if __name__ == "__main__":
    main()
