#!/usr/bin/env python3
"""Capture how haproxy 2.6.12 counts TRAFFIC in `show stat` (CSV) and `show stat typed`.

python3, stdlib only.  Usage:

    python3 stats_traffic.py [--out DIR] [--only CASE[,CASE...]] [--list]

DIR defaults to ../stats_traffic (next to this folder).  cases.tsv and changes.tsv
are rewritten from the cases that ran (so use --only only for experiments).

What it does
------------
* Every case runs a fresh `timeout 60 /usr/sbin/haproxy -db -f /tmp/lbh-stattraffic/haproxy.cfg`
  (config = the brief's basics: admin stats socket, mode http, timeouts 1s/5s/5s, frontend `fe`
  -> backend `be` with servers s1, s2, no checks; plus `log stdout format raw local0` +
  `option httplog` so that every request leaves a log line with its termination flags, and the
  case's extra lines).  Ports: each case takes 6 ports of 47000-47099 (`pick_ports`:
  test-bound first, taken in turn so consecutive cases use different ports): fe, s1, s2, a
  never-listening "dead" port, and 2 more frontends (c09 `fe_stats`, `ls_stats`).  The
  ports actually used are in each case's config section and in cases.tsv.
  Everything binds to 127.0.0.1.
* Backends are raw python socket servers (one thread per connection) whose answer depends
  on the request path (`RESP` below): they read the request head (up to CRLFCRLF, plus a
  Content-Length body), record the exact bytes received, optionally sleep, write fixed bytes,
  then close (or keep the connection for the next request when the answer is keep-alive).
* Dumps on the admin socket (connect, send `show stat\\n`, read to EOF): `show stat` before the
  traffic, `show stat` + `show stat typed` right after it (0.3 s after the last exchange, or
  after the case's `settle`), and `show stat` again 2 s later.
* Client exchanges use raw sockets with exact bytes. Modes: `close` (send, read to EOF),
  `ka` (several requests on one connection, each answer read by its Content-Length, the last
  one read to EOF), `abort_rst` (send, wait, close with SO_LINGER 0 = RST), `abort_fin`
  (send, wait, close() = FIN), `halfclose` (send, shutdown(SHUT_WR), read to EOF).

Output (DIR):
  <case>.txt   one file per case, sections `=== <name> (<N> bytes) ===\\n<N exact bytes>\\n`:
               config, every request sent / answer received (c<k>.request / c<k>.response),
               what each server received and sent (s1.conn<j>.recv.<n> / .sent.<n> / .event.<n>),
               `show stat` before / after /
               after_2s, `show stat typed` after, and haproxy's log lines.
  cases.tsv    index: case, title, ports (fe, s1, s2 and, in c09, fe_stats / ls_stats),
               exchanges (escaped request line -> status line received, ` | `-joined),
               server_hits (connections / requests each backend server saw), file.
  changes.tsv  case, pxname, svname, field, before, after, after_2s: every field of every row
               whose value differs between any two of the three CSV dumps.
  README.md    hand-written facts.
Escaping in the tsv files: backslash -> \\\\, CR -> \\r, LF -> \\n, TAB -> \\t.
"""
import argparse
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
RUNDIR = "/tmp/lbh-stattraffic"
SOCK = RUNDIR + "/admin.sock"
CFG = RUNDIR + "/haproxy.cfg"
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(os.path.dirname(HERE), "stats_traffic")

OK5 = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"
OK5_KA = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"

# path -> list of actions.  ("send", bytes) / ("sleep", s) / ("close",) / ("ka",) = keep the
# connection open for a next request after the answer.
RESP = {
    "/": [("send", OK5)],
    "/ka": [("send", OK5_KA), ("ka",)],
    "/404": [("send", b"HTTP/1.1 404 Not Found\r\nContent-Length: 5\r\nConnection: close\r\n\r\nnope!")],
    "/500": [("send", b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\nConnection: close\r\n\r\nerror")],
    "/302": [("send", b"HTTP/1.1 302 Found\r\nLocation: /x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")],
    "/600": [("send", b"HTTP/1.1 600 Odd\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")],
    "/101": [("send", b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: foo\r\n\r\n"),
             ("sleep", 0.2), ("send", b"tunnel"), ("close",)],
    "/100": [("send", b"HTTP/1.1 100 Continue\r\n\r\n"), ("sleep", 0.1), ("send", OK5)],
    "/garbage": [("send", b"NOT HTTP\r\n\r\n")],
    "/silent": [("close",)],
    "/trunc": [("send", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhe"), ("sleep", 0.2), ("close",)],
    "/slow": [("sleep", 1.0), ("send", OK5)],
}

GET = b"GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


def get(path=b"/"):
    return GET % path


def get_ka(path=b"/ka"):
    return b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path


BASE = """global
    stats socket {sock} level admin
    log stdout format raw local0
defaults
    log global
    mode http
    option httplog
    timeout connect 1s
    timeout client 5s
    timeout server 5s
{extra_defaults}frontend fe
    bind 127.0.0.1:{fe}
    default_backend be
{extra_fe}backend be
{extra_be}    server s1 127.0.0.1:{s1p}{s1o}
    server s2 127.0.0.1:{s2p}{s2o}
{extra_tail}"""


# Each case: name, title, cfg overrides, which backends run (s1/s2 True/False), exchanges.
# An exchange: dict(mode=..., reqs=[bytes...], port='fe'|'fe2', wait=seconds for abort modes)
CASES = [
    dict(name="c01_basic_200", title="4 x GET / (close), s1 and s2 answer 200 with a 5-byte body",
         ex=[dict(mode="close", reqs=[get()]) for _ in range(4)]),
    dict(name="c01b_forwardfor", title="as c01 with option forwardfor (what the server gets, h1 bytes)",
         extra_be="    option forwardfor\n",
         ex=[dict(mode="close", reqs=[get()]) for _ in range(4)]),
    dict(name="c01c_post_body", title="2 x POST / with a 4-byte body, 1 x HTTP/1.0 GET /",
         ex=[dict(mode="close", reqs=[b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nConnection: close\r\n\r\nabcd"]),
             dict(mode="close", reqs=[b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nConnection: close\r\n\r\nabcd"]),
             dict(mode="close", reqs=[b"GET / HTTP/1.0\r\nHost: x\r\n\r\n"])]),
    dict(name="c02a_404_500", title="s1 answers 404 (GET /404), s2 answers 500 (GET /500)",
         ex=[dict(mode="close", reqs=[get(b"/404")]), dict(mode="close", reqs=[get(b"/500")])]),
    dict(name="c02b_302_600", title="s1 answers 302 (GET /302), s2 answers 600 (GET /600, hrsp_other)",
         ex=[dict(mode="close", reqs=[get(b"/302")]), dict(mode="close", reqs=[get(b"/600")])]),
    dict(name="c02c_101_100", title="s1 answers 101 to an `Upgrade: foo` request then tunnels 6 bytes; s2 sends 100 Continue then 200; then a websocket Upgrade without Sec-WebSocket-Key (rejected by haproxy)",
         ex=[dict(mode="close", reqs=[b"GET /101 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: foo\r\n\r\n"]),
             dict(mode="close", reqs=[get(b"/100")]),
             dict(mode="close", reqs=[b"GET /101 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"])]),
    dict(name="c03_no_server", title="both servers disabled: 2 x GET / -> haproxy's 503",
         s1o=" disabled", s2o=" disabled", run_s1=False, run_s2=False,
         ex=[dict(mode="close", reqs=[get()]) for _ in range(2)]),
    dict(name="c04a_refused_retries", title="s1 port refused, retries 2, no redispatch: 2 x GET /",
         extra_be="    retries 2\n", s1_dead=True, run_s1=False,
         ex=[dict(mode="close", reqs=[get()]) for _ in range(2)]),
    dict(name="c04b_refused_redispatch", title="s1 port refused, retries 2, option redispatch: 2 x GET /",
         extra_be="    retries 2\n    option redispatch\n", s1_dead=True, run_s1=False,
         ex=[dict(mode="close", reqs=[get()]) for _ in range(2)]),
    dict(name="c04c_both_refused_redispatch", title="s1 and s2 ports refused, retries 2, option redispatch: 1 x GET /",
         extra_be="    retries 2\n    option redispatch\n", s1_dead=True, s2_dead=True, run_s1=False, run_s2=False,
         ex=[dict(mode="close", reqs=[get()])]),
    dict(name="c05a_bad_header", title="malformed request (header line without colon) -> 400",
         ex=[dict(mode="close", reqs=[b"GET / HTTP/1.1\r\nBad Header\r\n\r\n"])]),
    dict(name="c05b_bad_request_line", title="garbage request line, then an empty connection, then a good GET",
         ex=[dict(mode="close", reqs=[b"GARBAGE\r\n\r\n"]),
             dict(mode="halfclose", reqs=[b""]),
             dict(mode="close", reqs=[get()])]),
    dict(name="c06a_garbage_silent", title="s1 answers `NOT HTTP\\r\\n\\r\\n` (GET /garbage), s2 closes without answering (GET /silent)",
         ex=[dict(mode="close", reqs=[get(b"/garbage")]), dict(mode="close", reqs=[get(b"/silent")])]),
    dict(name="c06b_truncated", title="s1 sends headers + 2 of 5 body bytes then closes (GET /trunc); s2 answers 200",
         ex=[dict(mode="close", reqs=[get(b"/trunc")]), dict(mode="close", reqs=[get()])]),
    dict(name="c07a_client_rst", title="server delays 1 s (GET /slow, s1); client sends RST after 0.2 s. Then (s2) POST /slow with Content-Length 10 but 4 body bytes, RST after 0.3 s",
         settle=1.5, ex=[dict(mode="abort_rst", reqs=[get(b"/slow")], wait=0.2),
                         dict(mode="abort_rst", reqs=[b"POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nConnection: close\r\n\r\nabcd"], wait=0.3)]),
    dict(name="c07b_client_fin", title="server delays 1 s (GET /slow); client close() (FIN) after 0.2 s",
         settle=1.5, ex=[dict(mode="abort_fin", reqs=[get(b"/slow")], wait=0.2)]),
    dict(name="c07c_client_fin_abortonclose", title="as c07b with option abortonclose",
         extra_be="    option abortonclose\n",
         settle=1.5, ex=[dict(mode="abort_fin", reqs=[get(b"/slow")], wait=0.2)]),
    dict(name="c08a_keepalive", title="3 requests on one client connection (keep-alive), s1/s2 answer keep-alive",
         ex=[dict(mode="ka", reqs=[get_ka(), get_ka(), b"GET /ka HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"])]),
    dict(name="c08b_keepalive_one_server", title="as c08a with s2 disabled (all on s1: connection reuse)",
         s2o=" disabled", run_s2=False,
         ex=[dict(mode="ka", reqs=[get_ka(), get_ka(), b"GET /ka HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"])]),
    dict(name="c09_stats_uri", title="CLI commands on the stats socket, then GET /stats;csv on frontend fe_stats and on listen ls_stats",
         extra_tail="frontend fe_stats\n    bind 127.0.0.1:{fe2}\n    stats enable\n    stats uri /stats\n"
                    "listen ls_stats\n    bind 127.0.0.1:{fe3}\n    stats enable\n    stats uri /stats\n",
         cli_first=[b"show info\n", b"show stat\n", b"show servers state\n"],
         ex=[dict(mode="close", port="fe2", reqs=[get(b"/stats;csv")]),
             dict(mode="close", port="fe2", reqs=[get(b"/stats;csv")]),
             dict(mode="close", port="fe3", reqs=[get(b"/stats;csv")])]),
]


# --------------------------------------------------------------------------- helpers

def esc(b):
    if isinstance(b, str):
        b = b.encode("latin-1")
    out = []
    for c in b:
        if c == 0x5C:
            out.append("\\\\")
        elif c == 0x0D:
            out.append("\\r")
        elif c == 0x0A:
            out.append("\\n")
        elif c == 0x09:
            out.append("\\t")
        elif 32 <= c < 127:
            out.append(chr(c))
        else:
            out.append("\\x%02x" % c)
    return "".join(out)


class RawServer:
    """Raw HTTP/1 backend: answers by path according to RESP, records what it receives."""

    def __init__(self, name, port):
        self.name, self.port = name, port
        self.log = []  # (t, conn_no, "recv"/"sent"/"event", bytes)
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.nconn = 0
        for attempt in range(10):  # the port may briefly be some socket's ephemeral port
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                self.sock.bind(("127.0.0.1", port))
                break
            except OSError:
                self.sock.close()
                print("  %s: port %d busy, retrying" % (name, port), flush=True)
                subprocess.run("ss -tan | grep -v TIME-WAIT | grep ':%d'" % port, shell=True, timeout=10)
                if attempt == 9:
                    raise
                time.sleep(0.5)
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.t = threading.Thread(target=self.loop, daemon=True)
        self.t.start()

    def rec(self, k, what, data):
        with self.lock:
            self.log.append((time.time(), k, what, data))

    def loop(self):
        while not self.stop.is_set():
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            self.nconn += 1
            threading.Thread(target=self.handle, args=(c, self.nconn), daemon=True).start()

    def handle(self, c, k):
        c.settimeout(6.0)
        buf = b""
        partial = [b""]  # bytes of the request being read, recorded if the read fails
        try:
            for _ in range(20):  # bounded number of requests per connection
                while b"\r\n\r\n" not in buf:
                    d = c.recv(65536)
                    if not d:
                        if buf:
                            self.rec(k, "recv", buf)
                        self.rec(k, "event", b"EOF from haproxy")
                        return
                    buf += d
                    partial[0] = buf
                head, rest = buf.split(b"\r\n\r\n", 1)
                m = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.I)
                clen = int(m.group(1)) if m else 0
                while len(rest) < clen:
                    d = c.recv(65536)
                    if not d:
                        break
                    rest += d
                    partial[0] = head + b"\r\n\r\n" + rest
                req = head + b"\r\n\r\n" + rest[:clen]
                partial[0] = b""
                buf = rest[clen:]
                self.rec(k, "recv", req)
                path = req.split(b" ", 2)[1].decode("latin-1") if req.count(b" ") >= 2 else "/"
                path = path.split("?")[0]
                acts = RESP.get(path, RESP["/"])
                keep = False
                for a in acts:
                    if a[0] == "send":
                        c.sendall(a[1])
                        self.rec(k, "sent", a[1])
                    elif a[0] == "sleep":
                        time.sleep(a[1])
                    elif a[0] == "close":
                        self.rec(k, "event", b"server closes")
                        return
                    elif a[0] == "ka":
                        keep = True
                if not keep:
                    self.rec(k, "event", b"server closes after answer")
                    return
        except socket.timeout:
            self.rec(k, "event", b"server timeout")
        except OSError as e:
            if partial[0]:
                self.rec(k, "recv", partial[0])
            self.rec(k, "event", ("error %s" % e).encode())
        finally:
            try:
                c.close()
            except OSError:
                pass

    def close(self):
        self.stop.set()
        try:
            self.sock.close()
        except OSError:
            pass
        self.t.join(2)


def cli(cmd, timeout=5.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(SOCK)
    s.sendall(cmd)
    out = b""
    end = time.time() + timeout
    while time.time() < end:
        d = s.recv(65536)
        if not d:
            break
        out += d
    s.close()
    return out


def read_to_eof(s, limit=8.0):
    out = b""
    end = time.time() + limit
    while time.time() < end:
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            out += b"<<RST>>"
            break
        if not d:
            break
        out += d
    return out


def read_one_response(s, limit=8.0):
    """Read one HTTP/1 response with Content-Length (keep-alive)."""
    out = b""
    end = time.time() + limit
    while b"\r\n\r\n" not in out and time.time() < end:
        d = s.recv(65536)
        if not d:
            return out
        out += d
    head, rest = out.split(b"\r\n\r\n", 1)
    m = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.I)
    clen = int(m.group(1)) if m else 0
    while len(rest) < clen and time.time() < end:
        d = s.recv(65536)
        if not d:
            break
        rest += d
    return head + b"\r\n\r\n" + rest


def exchange(port, ex):
    """Returns list of (request, response) pairs and an event note."""
    s = socket.create_connection(("127.0.0.1", port), timeout=8)
    s.settimeout(8)
    mode = ex["mode"]
    pairs = []
    note = ""
    if mode == "close":
        s.sendall(ex["reqs"][0])
        pairs.append((ex["reqs"][0], read_to_eof(s)))
    elif mode == "halfclose":
        if ex["reqs"][0]:
            s.sendall(ex["reqs"][0])
        s.shutdown(socket.SHUT_WR)
        pairs.append((ex["reqs"][0], read_to_eof(s)))
    elif mode == "ka":
        for i, r in enumerate(ex["reqs"]):
            s.sendall(r)
            if i == len(ex["reqs"]) - 1:
                pairs.append((r, read_to_eof(s)))
            else:
                pairs.append((r, read_one_response(s)))
    elif mode in ("abort_rst", "abort_fin"):
        s.sendall(ex["reqs"][0])
        time.sleep(ex["wait"])
        s.setblocking(False)
        try:
            got = s.recv(65536)
        except (BlockingIOError, OSError):
            got = b""
        if mode == "abort_rst":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            note = "client closed with RST after %.1fs" % ex["wait"]
        else:
            note = "client close() (FIN) after %.1fs" % ex["wait"]
        pairs.append((ex["reqs"][0], got))
    s.close()
    return pairs, note


def parse_csv(text):
    lines = text.decode("latin-1").split("\n")
    hdr = lines[0][2:].split(",")
    rows = {}
    order = []
    for ln in lines[1:]:
        if not ln:
            continue
        f = ln.split(",")
        key = (f[0], f[1])
        rows[key] = dict(zip(hdr, f))
        order.append(key)
    return hdr, rows, order


class Haproxy:
    def __init__(self):
        self.lines = []
        self.t0 = time.time()
        self.p = subprocess.Popen(["timeout", "60", HAPROXY, "-db", "-f", CFG],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.th = [threading.Thread(target=self.reader, args=(self.p.stdout, "out"), daemon=True),
                   threading.Thread(target=self.reader, args=(self.p.stderr, "err"), daemon=True)]
        for t in self.th:
            t.start()

    def reader(self, f, tag):
        for ln in iter(f.readline, b""):
            self.lines.append((time.time() - self.t0, tag, ln.rstrip(b"\n")))

    def wait_ready(self):
        for _ in range(50):
            if self.p.poll() is not None:
                raise RuntimeError("haproxy exited: %r" % self.lines)
            try:
                cli(b"show info\n", 1.0)
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("haproxy not ready")

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(5)
        for t in self.th:
            t.join(2)


_cursor = [47000]


def pick_ports(n):
    """n ports of 47000-47099 that can be bound now (SO_REUSEADDR, like haproxy), taken in
    turn from a moving cursor so that consecutive cases never reuse each other's ports.
    A fixed plan is not safe: 47000-47099 lies inside the kernel's ephemeral range, so any
    process's outgoing connection (or its TIME_WAIT) may hold one of these ports."""
    got = []
    for _ in range(100):
        p = _cursor[0]
        _cursor[0] = 47000 + (p - 47000 + 1) % 100
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            t.bind(("127.0.0.1", p))
            got.append(p)
        except OSError:
            pass
        finally:
            t.close()
        if len(got) == n:
            return got
    raise RuntimeError("not enough free ports in 47000-47099")


def section(name, data):
    if isinstance(data, str):
        data = data.encode("latin-1")
    return b"=== %s (%d bytes) ===\n" % (name.encode(), len(data)) + data + b"\n"


def run_case(i, case, out):
    fe, s1p, s2p, dead, fe2, fe3 = pick_ports(6)
    ports = {"fe": fe, "fe2": fe2, "fe3": fe3}
    cfg = BASE.format(sock=SOCK, fe=fe, extra_defaults=case.get("extra_defaults", ""),
                      extra_fe=case.get("extra_fe", ""), extra_be=case.get("extra_be", ""),
                      s1p=dead if case.get("s1_dead") else s1p, s1o=case.get("s1o", ""),
                      s2p=dead if case.get("s2_dead") else s2p, s2o=case.get("s2o", ""),
                      extra_tail=case.get("extra_tail", "").format(fe2=fe2, fe3=fe3))
    with open(CFG, "w") as f:
        f.write(cfg)
    chk = subprocess.run([HAPROXY, "-c", "-f", CFG], capture_output=True, timeout=20)
    servers = {}
    if case.get("run_s1", True):
        servers["s1"] = RawServer("s1", s1p)
    if case.get("run_s2", True):
        servers["s2"] = RawServer("s2", s2p)
    for attempt in range(10):
        hp = Haproxy()
        try:
            hp.wait_ready()
            break
        except RuntimeError:
            hp.stop()
            busy = any(b"Address already in use" in ln for (_, _, ln) in hp.lines)
            if not busy or attempt == 9:
                raise
            print("  port busy (ephemeral port of another socket?), retrying", flush=True)
            subprocess.run("ss -tan | grep -v TIME-WAIT | grep ':470'", shell=True, timeout=10)
            time.sleep(1.0)
    parts = [section("config", cfg),
             section("haproxy -c", chk.stdout + chk.stderr)]
    summary = []
    try:
        time.sleep(0.2)
        before = cli(b"show stat\n")
        for k, cmd in enumerate(case.get("cli_first", []), 1):
            r = cli(cmd)
            parts.append(section("cli%d.command" % k, cmd))
            parts.append(section("cli%d.reply" % k, r))
        t_ex = time.time()
        n = 0
        for ex in case["ex"]:
            pairs, note = exchange(ports[ex.get("port", "fe")], ex)
            for req, resp in pairs:
                n += 1
                parts.append(section("c%d.request (port %s, mode %s)" % (n, ports[ex.get("port", "fe")], ex["mode"]), req))
                parts.append(section("c%d.response" % n, resp))
                if note:
                    parts.append(section("c%d.note" % n, note))
                st = resp.split(b"\r\n", 1)[0] if resp else b"<nothing>"
                summary.append("%s -> %s" % (esc(req.split(b"\r\n", 1)[0]) or "<empty>", esc(st)))
            time.sleep(0.05)
        time.sleep(case.get("settle", 0.3))
        after = cli(b"show stat\n")
        typed = cli(b"show stat typed\n")
        time.sleep(2.0)
        after2 = cli(b"show stat\n")
    finally:
        hp.stop()
        for s in servers.values():
            s.close()
    hits = []
    for name, srv in sorted(servers.items()):
        rk = {}
        for (t, k, what, data) in srv.log:
            rk.setdefault((k, what), 0)
            rk[(k, what)] += 1
            parts.append(section("%s.conn%d.%s.%d (t=+%.3fs)" % (name, k, what, rk[(k, what)], t - t_ex), data))
        nreq = sum(1 for x in srv.log if x[2] == "recv")
        hits.append("%s:%d conn/%d req" % (name, srv.nconn, nreq))
    parts.append(section("show stat before traffic", before))
    parts.append(section("show stat after traffic", after))
    parts.append(section("show stat typed after traffic", typed))
    parts.append(section("show stat after traffic + 2s", after2))
    logs = b"".join(b"+%.3f %s %s\n" % (t, tag.encode(), ln) for (t, tag, ln) in hp.lines)
    logs = re.sub(rb"\[(WARNING|NOTICE|ALERT)\]\s+\(\d+\)", rb"[\1]  (PID)", logs)
    parts.append(section("haproxy log (time since spawn, out=stdout, err=stderr)", logs))
    fname = case["name"] + ".txt"
    with open(os.path.join(out, fname), "wb") as f:
        f.write(b"# %s: %s\n" % (case["name"].encode(), case["title"].encode()))
        f.write(b"".join(parts))
    # changes
    hdr, rb_, order = parse_csv(before)
    _, ra, _ = parse_csv(after)
    _, r2, _ = parse_csv(after2)
    changes = []
    for key in order:
        for fld in hdr:
            if not fld or fld == "-":
                continue
            v0, v1, v2 = rb_[key].get(fld, ""), ra.get(key, {}).get(fld, ""), r2.get(key, {}).get(fld, "")
            if not (v0 == v1 == v2):
                changes.append([case["name"], key[0], key[1], fld, v0, v1, v2])
    used = "fe=%d s1=%d%s s2=%d%s" % (fe, dead if case.get("s1_dead") else s1p, "(dead)" if case.get("s1_dead") else "",
                                    dead if case.get("s2_dead") else s2p, "(dead)" if case.get("s2_dead") else "")
    if "{fe2}" in case.get("extra_tail", ""):
        used += " fe_stats=%d ls_stats=%d" % (fe2, fe3)
    row = [case["name"], case["title"], used, " | ".join(summary), ", ".join(hits), fname]
    return row, changes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--only")
    ap.add_argument("--list", action="store_true")
    a = ap.parse_args()
    if a.list:
        for c in CASES:
            print(c["name"], "-", c["title"])
        return
    only = set(a.only.split(",")) if a.only else None
    os.makedirs(a.out, exist_ok=True)
    if os.path.isdir(RUNDIR):
        shutil.rmtree(RUNDIR)
    os.makedirs(RUNDIR)
    rows, changes = [], []
    t0 = time.time()
    for i, c in enumerate(CASES):
        if only and c["name"] not in only:
            continue
        print("case %s (+%.1fs)" % (c["name"], time.time() - t0), flush=True)
        r, ch = run_case(i, c, a.out)
        rows.append(r)
        changes.extend(ch)
    with open(os.path.join(a.out, "cases.tsv"), "w") as f:
        f.write("case\ttitle\tports\texchanges\tserver_hits\tfile\n")
        for r in rows:
            f.write("\t".join(esc(x) if i == 3 else x for i, x in enumerate(r)) + "\n")
    with open(os.path.join(a.out, "changes.tsv"), "w") as f:
        f.write("case\tpxname\tsvname\tfield\tbefore\tafter\tafter_2s\n")
        for r in changes:
            f.write("\t".join(r) + "\n")
    print("done in %.1fs" % (time.time() - t0))


if __name__ == "__main__":
    main()
