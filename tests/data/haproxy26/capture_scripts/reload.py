#!/usr/bin/env python3
"""Capture haproxy 2.6 reload behaviour: master-worker (SIGUSR2 / master CLI `reload`)
versus the legacy `-sf`/`-st` new process, and server state across a reload with and
without `server-state-file` (+ the state-file loader's warnings, also under `haproxy -c`).

python3, stdlib only (plus socat for the state dump, exactly as users do it).  Usage:

    python3 reload.py [--out DIR] [--work DIR] [--only NAME[,NAME...]] [--list] [--no-netns]

DIR defaults to ../reload (next to this folder); the scratch directory (configs, state
files, unix sockets) defaults to /tmp/hx_reload/<case>/ and its absolute paths appear in
the captured warnings, so keep it if you want byte-identical output.  Re-running
rewrites DIR/<case>.txt for the cases that ran and merges them into DIR/all.json and
DIR/cases.tsv (the other cases' entries are kept).  DIR/README.md is hand-written (the
FACTS) and never touched.

What it does
------------
* Backends are tiny threaded python3 http.server processes (this file run as
  `timeout 180 python3 reload.py --backend NAME PORT MODE`), on 127.0.0.1:44001..44009:
    mode ok    : GET /health -> 200 "OK"; GET / -> 200 "hello from NAME";
                 GET /slow?ms=N -> sleeps N ms, then 200 "hello from NAME (slow N ms)"
    mode h503  : GET /health -> 503; every other path -> 503 "503 KO from NAME"
  Every response carries `X-Backend: NAME` and `X-Via-Pid: <X-Pid request header>`.
  A server that must be DOWN "because its backend is not listening" simply has no
  process on its port.  Each backend prints one line per request (monotonic ns,
  path, the X-Pid header, peer port) which the runner stamps into the timeline.
* haproxy adds the pid of the process that handled the request / sent the check:
  `http-request set-header X-Pid %pid` in the frontend and
  `http-check send meth GET uri /health hdr X-Pid %pid` in the backend (there is
  no `pid` sample fetch in 2.6; `%pid` is the log-format variable).  So every check
  and every request in the timeline says which haproxy process it came from.
* Logging: `log stdout format rfc3164 local0` (so each log line carries
  `haproxy[PID]:`) plus `option httplog`.  haproxy's stdout and stderr are read line
  by line and stamped with time.monotonic_ns().  All processes of one haproxy
  "instance" (master + workers) share the same pipes.
* Pids are replaced by labels in the rendered text: MASTER, W1/W2/W3 (workers in
  the order they were forked), P1/P2 (the processes of the legacy -sf runs); the
  label map with the real pids is kept in all.json.
* Clients: one TCP connection per request (`GET / HTTP/1.1`, `Connection: close`) to
  the frontend 127.0.0.1:44080, back to back with a 5 ms pause ("traffic").  The
  outcome of each request is `<status> <backend> via <pid label>` (haproxy's own 503
  page is `503 haproxy-page`), or a socket error (`refused`, `reset`, `empty`,
  `timeout`).  Consecutive identical outcomes are merged in the rendered timeline.
  Some cases also hold a slow request (/slow) and an idle keep-alive connection
  across the reload, and record when/how they end.
* Reload methods: `kill -USR2 <master>` (haproxy -Ws / -W / `master-worker`), the
  master CLI `reload` command (-S unix socket), `haproxy -db -f cfg -sf <old pid>`
  (with and without `-x <stats socket>` + `expose-fd listeners`), `-st`.
* Every haproxy is run under `timeout`, as is every backend and socat; everything
  is stopped (SIGTERM by pid, then SIGKILL) at the end of each case.
* The whole run happens in a private user+network+mount namespace (`unshare -rnm`,
  same trick as dns_runtime.py): only loopback exists, /etc/resolv.conf points at
  127.0.0.1:53 (nothing there, so libc lookups fail at once and never leave the
  machine).  Needed by the `f_fqdn_*` cases (a server named `app.invalid`).
  --no-netns runs on the host network (then skip the f_fqdn cases).

Times in the rendered timelines are ms from the reload signal (t=0 is the moment the
runner sent SIGUSR2 / the CLI `reload` / spawned the -sf process); cases without a
reload use ms from the (first) haproxy spawn.  Output: DIR/<case>.txt (notes, the exact
config(s) and state file(s), commands, pid labels, outcome/check/httplog summaries,
timeline), DIR/cases.tsv (index), DIR/all.json (everything, raw: events, requests, real pids).
"""
import argparse
import http.server
import json
import os
import re
import shlex
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time

HAPROXY = "/usr/sbin/haproxy"
FE = ("127.0.0.1", 44080)
PORT = {"s%d" % i: 44000 + i for i in range(1, 10)}
THIS = os.path.abspath(__file__)
HERE = os.path.dirname(THIS)

# --------------------------------------------------------------------------- backend mode


def backend_main(name, port, mode):
    out_lock = threading.Lock()

    def emit(line):  # one write per line, so that lines of concurrent requests never interleave
        with out_lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, *a):
            pass

        def _reply(self, code, body):
            b = body.encode()
            self.send_response(code)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(b)))
            self.send_header("X-Backend", name)
            self.send_header("X-Via-Pid", self.headers.get("X-Pid", "-"))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(b)

        def _handle(self):
            t = time.monotonic_ns()
            path = self.path
            emit("REQ\t%d\t%s\t%s\t%s\t%s" % (t, self.command, path.replace("\t", " "),
                                               self.headers.get("X-Pid", "-").replace("\t", " "),
                                               self.client_address[1]))
            if mode == "h503":
                if path.startswith("/health"):
                    return self._reply(503, "down\n")
                return self._reply(503, "503 KO from %s\n" % name)
            if path.startswith("/health"):
                return self._reply(200, "OK\n")
            if path.startswith("/slow"):
                ms = 1000
                m = re.search(r"ms=(\d+)", path)
                if m:
                    ms = int(m.group(1))
                time.sleep(ms / 1000.0)
                r = self._reply(200, "hello from %s (slow %d ms)\n" % (name, ms))
                emit("END %d %s" % (time.monotonic_ns(), path))
                return r
            return self._reply(200, "hello from %s\n" % name)

        do_GET = _handle
        do_HEAD = _handle
        do_OPTIONS = _handle
        do_POST = _handle

    class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True
        allow_reuse_address = True

        def handle_error(self, request, client_address):
            pass  # checks that close with RST right after the status line: not an error here

    srv = S(("127.0.0.1", port), H)
    print("LISTEN %d %s %d %s" % (time.monotonic_ns(), name, port, mode), flush=True)
    srv.serve_forever()


# --------------------------------------------------------------------------- config

def cfg(servers, glob=(), defaults=(), backend_extra=(), extra_sections="", stats=True,
        stats_extra="", logfmt="rfc3164", work=None, fe=True, check="check inter 1s rise 3 fall 3"):
    g = ["global", "    log stdout format %s local0" % logfmt]
    if stats:
        g.append("    stats socket %s/admin.sock mode 600 level admin%s" % (work, stats_extra))
    g += ["    " + x for x in glob]
    d = ["defaults", "    mode http", "    log global", "    option httplog",
         "    timeout connect 1s", "    timeout client 5s", "    timeout server 5s",
         "    timeout check 1s"] + ["    " + x for x in defaults]
    f = []
    if fe:
        f = ["frontend fe", "    bind %s:%d" % FE, "    http-request set-header X-Pid %pid",
             "    default_backend apps"]
    b = ["backend apps", "    balance roundrobin", "    option httpchk",
         "    http-check send meth GET uri /health hdr X-Pid %pid"] + ["    " + x for x in backend_extra]
    for s in servers:
        if isinstance(s, tuple):
            nm, extra = s
        else:
            nm, extra = s, ""
        line = "    server %s 127.0.0.1:%d" % (nm, PORT[nm])
        if check:
            line += " " + check
        if extra:
            line += " " + extra
        b.append(line)
    out = "\n".join(g + d + f + b) + "\n"
    if extra_sections:
        out += extra_sections
    return out


# --------------------------------------------------------------------------- runner

PID_PAT = [re.compile(r"\((\d+)\)"), re.compile(r"haproxy\[(\d+)\]"), re.compile(r"Process (\d+) "),
           re.compile(r"\bpid[= ](\d+)"), re.compile(r"via (\d+)\b"), re.compile(r"-s[ft] (\d+)"),
           re.compile(r"^< (\d+)\s"), re.compile(r"process (\d+) ")]
HTTPLOG = re.compile(r"^<(\d+)>\w{3} [ \d]\d \d\d:\d\d:\d\d \S+ haproxy\[(\w+)\]: [\d.]+:\d+ \[[^\]]+\] "
                     r"(\S+) (\S+) (\S+) (\d+) (\d+) \S+ \S+ (\S+) (\S+) (\S+) \"([^\"]*)\"$")


class Runner:
    def __init__(self, name, title, work):
        self.name, self.title, self.work = name, title, work
        os.makedirs(work, exist_ok=True)
        for f in os.listdir(work):
            p = os.path.join(work, f)
            if os.path.isfile(p) or os.path.islink(p) or p.endswith(".sock"):
                try:
                    os.unlink(p)
                except OSError:
                    pass
        self.t0 = time.monotonic_ns()
        self.t_reload = None
        self.ev = []            # (t_ns, src, text)
        self.lock = threading.Lock()
        self.procs = []         # every Popen we started
        self.backends = {}
        self.labels = {}        # pid(str) -> label
        self.nworkers = 0
        self.files = {}         # name -> content (configs, state files), copied to DIR
        self.cmds = []
        self.requests = []      # raw request records
        self.notes = []
        self.hap = {}           # tag -> Popen
        self.req_threads = []

    # ---------------------------------------------------------------- events
    def add(self, src, text, t=None):
        with self.lock:
            self.ev.append((t if t is not None else time.monotonic_ns(), src, text))

    def label(self, pid, lab):
        pid = str(pid)
        if pid and pid not in self.labels:
            self.labels[pid] = lab

    def note(self, text):
        self.notes.append(text)

    # ---------------------------------------------------------------- processes
    def _reader(self, f, src, on_line=None):
        for raw in iter(f.readline, b""):
            t = time.monotonic_ns()
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if on_line:
                on_line(t, line)
            else:
                self.add(src, line, t)

    def popen(self, argv, src, on_line=None, stdin=subprocess.DEVNULL, env=None):
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=stdin,
                             cwd=self.work, env=env)
        self.procs.append(p)
        th = [threading.Thread(target=self._reader, args=(p.stdout, src + ":out", on_line), daemon=True),
              threading.Thread(target=self._reader, args=(p.stderr, src + ":err", None), daemon=True)]
        for t in th:
            t.start()
        p._threads = th
        return p

    def backend(self, name, mode="ok"):
        ready = threading.Event()

        def on_line(t, line):
            parts = line.split()
            if parts and parts[0] == "LISTEN":
                ready.set()
                self.add("be:" + name, "listening on %d (%s)" % (PORT[name], mode), int(parts[1]))
            elif line.startswith("REQ\t"):
                _, tns, meth, path, xpid, peer = line.split("\t")[:6]
                kind = "check" if path.startswith("/health") else "request"
                self.add("be:" + name, "%s %s %s from pid %s" % (kind, meth, path, xpid), int(tns))
            elif parts and parts[0] == "END":
                self.add("be:" + name, "slow response sent %s" % parts[2], int(parts[1]))
            else:
                self.add("be:" + name, line, t)

        p = self.popen(["timeout", "180", sys.executable, THIS, "--backend", name, str(PORT[name]), mode],
                       "be:" + name, on_line)
        if not ready.wait(5):
            self.add("run", "backend %s did not start" % name)
        self.backends[name] = p
        return p

    def stop_backend(self, name):
        p = self.backends.pop(name, None)
        if p:
            self.kill(p)
            self.add("run", "backend %s stopped (port %d refuses from now on)" % (name, PORT[name]))

    def kill(self, p, sig=signal.SIGTERM, wait=3):
        if p.poll() is None:
            try:
                p.send_signal(sig)
                p.wait(wait)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for t in getattr(p, "_threads", []):
            t.join(1)

    def child_of(self, ppid, wait=3.0):
        """pid of the (first) child of <ppid> (our `timeout` wrapper -> haproxy)."""
        end = time.time() + wait
        while time.time() < end:
            try:
                with open("/proc/%d/task/%d/children" % (ppid, ppid)) as f:
                    c = f.read().split()
                if c:
                    return int(c[0])
            except OSError:
                pass
            time.sleep(0.005)
        return None

    def haproxy(self, tag, args, tmo=60, label=None):
        """Start `timeout tmo haproxy ARGS`, return (Popen, haproxy pid)."""
        argv = ["timeout", "-s", "TERM", str(tmo), HAPROXY] + args
        self.cmds.append((tag, shlex.join([HAPROXY] + args)))
        rel = self.rel_now()
        p = self.popen(argv, tag)
        hp = self.child_of(p.pid)
        self.hap[tag] = (p, hp)
        if label and hp:
            self.label(hp, label)
        self.add("run", "spawned %s: %s" % (tag, shlex.join([HAPROXY] + args)))
        return p, hp

    def wait_line(self, pattern, timeout=5.0, since=None, src_prefix=None):
        rx = re.compile(pattern)
        end = time.time() + timeout
        since = since if since is not None else 0
        while time.time() < end:
            with self.lock:
                for t, s, l in self.ev:
                    if t >= since and (src_prefix is None or s.startswith(src_prefix)) and rx.search(l):
                        return t, l
            time.sleep(0.005)
        return None

    def rel_now(self):
        return (time.monotonic_ns() - self.t0) / 1e6

    def sleep_until(self, ms_from_ref):
        """sleep until ms after the reload mark (or after t0 if no reload yet)."""
        ref = self.t_reload if self.t_reload is not None else self.t0
        d = (ref + ms_from_ref * 1e6 - time.monotonic_ns()) / 1e9
        if d > 0:
            time.sleep(d)

    def mark_reload(self, text):
        self.t_reload = time.monotonic_ns()
        self.add("run", "=== RELOAD: " + text, self.t_reload)

    def signal(self, pid, sig, text=None):
        os.kill(pid, sig)
        self.add("run", text or "kill -%s %d" % (signal.Signals(sig).name.replace("SIG", ""), pid))

    # ---------------------------------------------------------------- sockets
    def _unix(self, path, cmd, timeout=3.0, halfclose=False):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(path)
            s.sendall(cmd.encode())
            if halfclose:
                s.shutdown(socket.SHUT_WR)
            data = b""
            while True:
                c = s.recv(65536)
                if not c:
                    break
                data += c
        except Exception as e:  # noqa
            return "<socket error: %s>" % e
        finally:
            s.close()
        return data.decode("utf-8", "replace")

    def cli(self, cmd, show=True, path=None):
        path = path or os.path.join(self.work, "admin.sock")
        self.add("cli", "> " + cmd)
        out = self._unix(path, cmd + "\n")
        if show:
            for l in out.rstrip("\n").split("\n"):
                if l != "":
                    self.add("cli", "< " + l)
        return out

    def mcli(self, cmd):
        path = os.path.join(self.work, "master.sock")
        self.add("mcli", "> " + cmd)
        # the master CLI only closes after the client's half-close (a plain stats socket closes
        # after the first command's answer)
        out = self._unix(path, cmd + "\n", halfclose=True)
        for l in out.rstrip("\n").split("\n"):
            self.add("mcli", "< " + l)
        return out

    def dump_state(self, fname, backend=""):
        """exactly what users do: echo "show servers state" | socat stdio unix:... > file"""
        path = os.path.join(self.work, fname)
        sock = os.path.join(self.work, "admin.sock")
        cmd = 'echo "show servers state%s" | socat stdio UNIX-CONNECT:%s > %s' % (
            (" " + backend) if backend else "", sock, path)
        self.cmds.append(("dump", cmd))
        self.add("run", "$ " + cmd)
        subprocess.run(["timeout", "5", "sh", "-c", cmd], cwd=self.work)
        with open(path) as f:
            content = f.read()
        self.files[fname] = content
        for l in content.rstrip("\n").split("\n"):
            self.add("state", l)
        return content

    def write(self, fname, content, keep=True):
        with open(os.path.join(self.work, fname), "w") as f:
            f.write(content)
        if keep:
            self.files[fname] = content

    # ---------------------------------------------------------------- clients
    def request(self, path="/", timeout=3.0):
        t = time.monotonic_ns()
        try:
            s = socket.create_connection(FE, timeout=timeout)
        except ConnectionRefusedError:
            return t, "refused"
        except socket.timeout:
            return t, "connect-timeout"
        except OSError as e:
            return t, "connect-error %s" % e.errno
        try:
            s.sendall(("GET %s HTTP/1.1\r\nHost: lb\r\nConnection: close\r\n\r\n" % path).encode())
            data = b""
            while True:
                c = s.recv(65536)
                if not c:
                    break
                data += c
        except ConnectionResetError:
            return t, "reset" + (" after %d bytes" % len(data) if data else "")
        except socket.timeout:
            return t, "timeout"
        finally:
            s.close()
        return t, self.outcome(data)

    def outcome(self, data):
        if not data:
            return "empty"
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        try:
            status = lines[0].split()[1]
        except IndexError:
            return "garbage"
        hd = {}
        for l in lines[1:]:
            k, _, v = l.partition(":")
            hd[k.strip().lower()] = v.strip()
        if "x-backend" in hd:
            return "%s %s via %s" % (status, hd["x-backend"], hd.get("x-via-pid", "-"))
        if b"No server is available" in body:
            return "%s haproxy-page(no server)" % status
        return "%s haproxy-page" % status

    def traffic(self, start_ns, dur_ms, gap=0.01, path="/"):
        """from monotonic time start_ns, for dur_ms: start one request every <gap> s, each in its own
        thread (a request that hangs in haproxy's retries does not delay the next one)."""
        def one():
            t, o = self.request(path, timeout=15.0)
            with self.lock:
                self.requests.append((t, o, time.monotonic_ns()))

        def run():
            d = (start_ns - time.monotonic_ns()) / 1e9
            if d > 0:
                time.sleep(d)
            end = time.monotonic_ns() + dur_ms * 1e6
            nxt = time.monotonic_ns()
            while nxt < end:
                th = threading.Thread(target=one, daemon=True)
                th.start()
                self.req_threads.append(th)
                nxt += gap * 1e9
                d = (nxt - time.monotonic_ns()) / 1e9
                if d > 0:
                    time.sleep(d)
        th = threading.Thread(target=run, daemon=True)
        th.start()
        self.req_threads.append(th)
        return th

    def slow_request(self, ms, label="slow"):
        def run():
            t, o = self.request("/slow?ms=%d" % ms, timeout=ms / 1000.0 + 10)
            self.add("client", "%s request (GET /slow?ms=%d, sent at %s) ended: %s" % (
                label, ms, self.fmt_t(t), o))
        self.add("client", "%s request GET /slow?ms=%d sent" % (label, ms))
        th = threading.Thread(target=run, daemon=True)
        th.start()
        return th

    def idle_keepalive(self, label="idle-ka"):
        """one keep-alive request, then keep the connection idle; record how it ends."""
        def run():
            try:
                s = socket.create_connection(FE, timeout=60)
                s.sendall(b"GET / HTTP/1.1\r\nHost: lb\r\n\r\n")
                data = b""
                while b"\r\n\r\n" not in data:
                    data += s.recv(65536)
                head, _, body = data.partition(b"\r\n\r\n")
                m = re.search(rb"content-length:\s*(\d+)", head, re.I)
                n = int(m.group(1)) if m else 0
                while len(body) < n:
                    body += s.recv(65536)
                self.add("client", "%s: first request answered: %s; connection kept open, idle" % (
                    label, self.outcome(head + b"\r\n\r\n" + body)))
                rest = b""
                try:
                    while True:
                        c = s.recv(65536)
                        if not c:
                            break
                        rest += c
                    self.add("client", "%s: server closed the idle connection (FIN)%s" % (
                        label, (" after sending %r" % rest[:80]) if rest else ""))
                except ConnectionResetError:
                    self.add("client", "%s: idle connection reset (RST)" % label)
                except socket.timeout:
                    self.add("client", "%s: still open after 60 s" % label)
                s.close()
            except Exception as e:  # noqa
                self.add("client", "%s: error %r" % (label, e))
        th = threading.Thread(target=run, daemon=True)
        th.start()
        return th

    # ---------------------------------------------------------------- pids
    def learn_pids(self):
        """label workers from 'New worker (N) forked' lines."""
        with self.lock:
            evs = list(self.ev)
        for t, s, l in sorted(evs):
            m = re.search(r"New worker \((\d+)\) forked", l)
            if m and m.group(1) not in self.labels:
                self.nworkers += 1
                self.label(m.group(1), "W%d" % self.nworkers)

    def master_pid(self):
        pf = os.path.join(self.work, "haproxy.pid")
        for _ in range(300):
            try:
                with open(pf) as f:
                    v = f.read().strip()
                if v:
                    return int(v)
            except OSError:
                pass
            time.sleep(0.01)
        return None

    def alive(self, pid):
        try:
            with open("/proc/%d/stat" % pid) as f:
                st = f.read().split()
            return st[2] != "Z"
        except OSError:
            return False

    def watch_exit(self, pid, lab):
        def run():
            while self.alive(pid):
                time.sleep(0.005)
            self.add("run", "process (%d) is gone (%s exited)" % (pid, lab))
        threading.Thread(target=run, daemon=True).start()

    # ---------------------------------------------------------------- end
    def finish(self):
        for th in list(self.req_threads):
            th.join(16)
        for tag, (p, hp) in list(self.hap.items()):
            if hp and self.alive(hp):
                try:
                    os.kill(hp, signal.SIGTERM)
                except OSError:
                    pass
        time.sleep(0.3)
        for p in self.procs:
            self.kill(p)
        self.learn_pids()

    # ---------------------------------------------------------------- render
    def sub(self, text):
        def rep(m):
            whole = m.group(0)
            pid = m.group(1)
            if pid in self.labels:
                return whole.replace(pid, self.labels[pid])
            return whole
        for rx in PID_PAT:
            text = rx.sub(rep, text)
        return text

    def ref(self):
        return self.t_reload if self.t_reload is not None else self.t0

    def fmt_t(self, t):
        return "%+.0fms" % ((t - self.ref()) / 1e6)

    def is_plain_traffic(self, s, l):
        """per-request noise of the traffic loop, summarised instead of listed."""
        if s.startswith("be:") and l.startswith("request GET / from"):
            return True
        m = HTTPLOG.match(l)
        if m and m.group(11) == "GET / HTTP/1.1":
            return True
        return False

    def timeline(self):
        with self.lock:
            evs = list(self.ev)
            reqs = sorted(self.requests)
        rows = []
        for t, s, l in evs:
            if self.is_plain_traffic(s, l):
                continue
            rows.append((t, s, self.sub(l)))
        # client traffic in 100 ms buckets (from the reference); consecutive buckets with the same
        # set of outcomes are merged
        buckets = []
        for t, o, te in reqs:
            b = int((t - self.ref()) // 100e6)
            o = self.sub(o)
            if buckets and buckets[-1][0] == b:
                buckets[-1][2][o] = buckets[-1][2].get(o, 0) + 1
                buckets[-1][3] = t
            else:
                buckets.append([b, t, {o: 1}, t])
        merged = []
        for b in buckets:
            if merged and set(merged[-1][2]) == set(b[2]) and merged[-1][4] == b[0] - 1:
                for k, v in b[2].items():
                    merged[-1][2][k] += v
                merged[-1][3] = b[3]
                merged[-1][4] = b[0]
            else:
                merged.append([b[0], b[1], dict(b[2]), b[3], b[0]])
        for b0, tfirst, cnt, tlast, b1 in merged:
            n = sum(cnt.values())
            rows.append((tfirst, "client", "traffic %d req (%s..%s): %s" % (
                n, self.fmt_t(tfirst), self.fmt_t(tlast),
                ", ".join("%s x%d" % (k, v) for k, v in sorted(cnt.items())))))
        rows.sort(key=lambda r: r[0])
        return rows

    def summary(self):
        with self.lock:
            reqs = sorted(self.requests)
        cnt = {}
        for t, o, te in reqs:
            o = self.sub(o)
            c = cnt.setdefault(o, [0, t, t, 0])
            c[0] += 1
            c[2] = t
            c[3] = max(c[3], te - t)
        return cnt

    def check_summary(self):
        with self.lock:
            evs = sorted(self.ev)
        cnt = {}
        for t, s, l in evs:
            m = re.match(r"check \S+ /health from pid (\S+)", l)
            if not s.startswith("be:") or not m:
                continue
            key = (s[3:], self.labels.get(m.group(1), m.group(1)))
            c = cnt.setdefault(key, [0, t, t])
            c[0] += 1
            c[2] = t
        return cnt

    def httplog_summary(self):
        with self.lock:
            evs = sorted(self.ev)
        cnt = {}
        for t, s, l in evs:
            m = HTTPLOG.match(l)
            if not m or m.group(11) != "GET / HTTP/1.1":
                continue
            key = self.sub("haproxy[%s] %s %s %s %s %s" % (m.group(2), m.group(3), m.group(4), m.group(6),
                                                         m.group(8), '"%s"' % m.group(11)))
            c = cnt.setdefault(key, [0, t, t])
            c[0] += 1
            c[2] = t
        return cnt

    def render(self):
        out = ["## %s: %s" % (self.name, self.title), ""]
        for n in self.notes:
            out.append("* " + n)
        if self.notes:
            out.append("")
        for fname, content in sorted(self.files.items()):
            out += ["%s:" % fname, "```", content.rstrip("\n"), "```"]
        out.append("commands:")
        for tag, c in self.cmds:
            out.append("    %-6s %s" % (tag, c))
        out.append("pid labels: " + ", ".join("%s=%s" % (v, k) for k, v in sorted(
            self.labels.items(), key=lambda kv: kv[1])))
        cnt = self.summary()
        if cnt:
            out += ["", "client requests `GET /` (one connection each), by outcome: count, first sent, last sent, "
                    "longest duration:"]
            for k, (n, a, b, dmax) in sorted(cnt.items(), key=lambda kv: kv[1][1]):
                out.append("    %-40s %5d  %9s  %9s  %6.0fms" % (k, n, self.fmt_t(a), self.fmt_t(b), dmax / 1e6))
        ck = self.check_summary()
        if ck:
            out += ["", "health checks received by each backend, per sending process: count, first, last:"]
            for (be, pid), (n, a, b) in sorted(ck.items(), key=lambda kv: (kv[1][1], kv[0])):
                out.append("    %-6s from %-8s %5d  %9s  %9s" % (be, pid, n, self.fmt_t(a), self.fmt_t(b)))
        hl = self.httplog_summary()
        if hl:
            out += ["", "httplog lines of those requests (pid, frontend, backend/server, status, termination "
                    "state): count, first, last:"]
            for k, (n, a, b) in sorted(hl.items(), key=lambda kv: kv[1][1]):
                out.append("    %-60s %5d  %9s  %9s" % (k, n, self.fmt_t(a), self.fmt_t(b)))
        out += ["", "timeline (ms from %s; err/out = haproxy stderr/stdout, be:NAME = what that backend "
                "received, cli = stats socket, mcli = master CLI):" % (
                    "the reload signal" if self.t_reload else "the first haproxy spawn"), "```"]
        for t, s, l in self.timeline():
            out.append("%8.1f %-10s %s" % ((t - self.ref()) / 1e6, s, l))
        out += ["```", ""]
        return "\n".join(out)

    def as_json(self):
        return dict(name=self.name, title=self.title, labels=self.labels, commands=self.cmds,
                    files=self.files, notes=self.notes,
                    reload_at_ms=None if self.t_reload is None else (self.t_reload - self.t0) / 1e6,
                    events=[((t - self.ref()) / 1e6, s, l) for t, s, l in sorted(self.ev)],
                    requests=[((t - self.ref()) / 1e6, o, (te - t) / 1e6) for t, o, te in sorted(self.requests)],
                    outcomes={k: v[0] for k, v in self.summary().items()})


CASES = []


def case(name, title):
    def deco(fn):
        CASES.append((name, title, fn))
        return fn
    return deco


# --------------------------------------------------------------------------- helpers

def start_mw(R, config, opts=("-Ws",), master_cli=True, tmo=60):
    R.write("haproxy.cfg", config)
    args = list(opts) + ["-f", "haproxy.cfg", "-p", "haproxy.pid"]
    if master_cli:
        args += ["-S", os.path.join(R.work, "master.sock")]
    p, hp = R.haproxy("hap", args, tmo=tmo)
    mp = R.master_pid()
    if mp:
        R.label(mp, "MASTER")
    R.wait_line(r"Loading success", 5)
    R.learn_pids()
    return p, mp


def reload_usr2(R, mp, text=None):
    R.mark_reload(text or "kill -USR2 MASTER")
    os.kill(mp, signal.SIGUSR2)
    ok = R.wait_line(r"Loading (success|failure)", 5, since=R.t_reload)
    R.learn_pids()
    return ok


def worker_pids(R):
    return [int(k) for k, v in R.labels.items() if v.startswith("W")]


def watch_workers(R):
    for k, v in list(R.labels.items()):
        if v.startswith("W") or v.startswith("P"):
            R.watch_exit(int(k), v)


# --------------------------------------------------------------------------- Q1: mechanics

TWO = ["s1", "s2"]


def mechanics(R, config, opts=("-Ws",), slow_ms=3000, reload="usr2", after_ms=4500):
    R.backend("s1")
    R.backend("s2")
    p, mp = start_mw(R, config, opts)
    R.sleep_until(1500)
    R.mcli("show proc")
    R.idle_keepalive()
    R.slow_request(slow_ms)
    time.sleep(0.3)
    # traffic from 300 ms before the reload to 1500 ms after it
    t_plan = time.monotonic_ns() + 400e6
    R.traffic(t_plan - 300e6, 1800, gap=0.005)
    d = (t_plan - time.monotonic_ns()) / 1e9
    if d > 0:
        time.sleep(d)
    for pid in worker_pids(R):
        R.watch_exit(pid, R.labels[str(pid)])
    if reload == "usr2":
        reload_usr2(R, mp)
    else:
        R.mark_reload("master CLI: reload")
        R.mcli("reload")
        R.wait_line(r"Loading (success|failure)", 5, since=R.t_reload)
        R.learn_pids()
    R.sleep_until(600)
    R.mcli("show proc")
    R.sleep_until(after_ms)
    R.mcli("show proc")
    R.add("run", "kill -TERM MASTER (end of case)")
    os.kill(mp, signal.SIGTERM)
    R.sleep_until(after_ms + 700)


@case("mw_usr2", "haproxy -Ws (Debian's unit): SIGUSR2 to the master; slow request, idle keep-alive "
      "connection and back-to-back traffic across the reload")
def c_mw_usr2(R):
    R.note("Debian 12's haproxy.service runs `haproxy -Ws -f $CONFIG -p $PIDFILE -S /run/haproxy-master.sock` "
           "and reloads with `haproxy -Ws -f $CONFIG -c -q` then `kill -USR2 $MAINPID`; this case does the same "
           "(the -c step is not repeated here).")
    mechanics(R, cfg(TWO, work=R.work))


@case("mw_usr2_W", "haproxy -W (no systemd notify): SIGUSR2 to the master")
def c_mw_usr2_W(R):
    mechanics(R, cfg(TWO, work=R.work), opts=("-W",), after_ms=4000)


@case("mw_keyword", "`master-worker` in global, plain `haproxy -f` (foreground): SIGUSR2 to the master")
def c_mw_keyword(R):
    mechanics(R, cfg(TWO, work=R.work, glob=["master-worker"]), opts=(), after_ms=4000)


@case("mw_cli_reload", "haproxy -W -S master.sock: `reload` command on the master CLI")
def c_mw_cli_reload(R):
    mechanics(R, cfg(TWO, work=R.work), opts=("-W",), reload="cli", after_ms=4000)


@case("mw_hard_stop_after", "haproxy -W with `hard-stop-after 1s`: SIGUSR2 while a 4 s request is in flight")
def c_mw_hsa(R):
    mechanics(R, cfg(TWO, work=R.work, glob=["hard-stop-after 1s"]), opts=("-W",), slow_ms=4000,
              after_ms=3000)


@case("mw_bad_config", "haproxy -W: the config is made invalid, then SIGUSR2 (failed reload), then fixed "
      "and SIGUSR2 again")
def c_mw_bad(R):
    R.backend("s1")
    R.backend("s2")
    good = cfg(TWO, work=R.work)
    p, mp = start_mw(R, good, ("-W",))
    R.sleep_until(1200)
    bad = good.replace("    balance roundrobin\n", "    balance roundrobin\n    bogus-keyword here\n")
    R.write("haproxy.cfg", bad, keep=False)
    R.files["haproxy.cfg (invalid version used for the first reload)"] = bad
    for pid in worker_pids(R):
        R.watch_exit(pid, R.labels[str(pid)])
    R.traffic(R.t0 + 1300e6, 1400)
    R.sleep_until(1500)
    R.mark_reload("kill -USR2 MASTER with an invalid config")
    os.kill(mp, signal.SIGUSR2)
    R.wait_line(r"Loading (success|failure)", 5, since=R.t_reload)
    R.sleep_until(500)
    R.mcli("show proc")
    R.write("haproxy.cfg", good, keep=False)
    R.sleep_until(1000)
    R.add("run", "config fixed; kill -USR2 MASTER again")
    t = time.monotonic_ns()
    os.kill(mp, signal.SIGUSR2)
    R.wait_line(r"Loading (success|failure)", 5, since=t)
    R.learn_pids()
    R.sleep_until(1800)
    R.mcli("show proc")
    os.kill(mp, signal.SIGTERM)
    R.sleep_until(2500)


def legacy(R, extra_new=(), stats_extra="", slow_ms=3000, hard=False, glob=()):
    R.backend("s1")
    R.backend("s2")
    config = cfg(TWO, work=R.work, stats_extra=stats_extra, glob=glob)
    R.write("haproxy.cfg", config)
    p1, pid1 = R.haproxy("P1", ["-db", "-f", "haproxy.cfg"], label="P1")
    R.watch_exit(pid1, "P1")
    R.sleep_until(1500)
    R.idle_keepalive()
    R.slow_request(slow_ms)
    time.sleep(0.3)
    t_plan = time.monotonic_ns() + 400e6
    R.traffic(t_plan - 300e6, 1800)
    d = (t_plan - time.monotonic_ns()) / 1e9
    if d > 0:
        time.sleep(d)
    sig = "-st" if hard else "-sf"
    args = ["-db", "-f", "haproxy.cfg"] + list(extra_new) + [sig, str(pid1)]
    R.mark_reload("new process: haproxy %s" % " ".join(args))
    p2, pid2 = R.haproxy("P2", args, label="P2")
    if pid2:
        R.watch_exit(pid2, "P2")
    R.sleep_until(4500)
    R.add("run", "kill -TERM P2 (end of case)")
    if pid2:
        os.kill(pid2, signal.SIGTERM)
    R.sleep_until(5000)


@case("sf_legacy", "legacy: `haproxy -db -f cfg` then a new `haproxy -db -f cfg -sf <old pid>`")
def c_sf(R):
    R.note("Debian 12's /etc/init.d/haproxy reload runs `haproxy -f $CONFIG -p $PIDFILE -sf $(cat $PIDFILE) -D`; "
           "this case runs both processes in the foreground (-db) so that their stderr can be read.")
    legacy(R)


@case("sf_legacy_x", "legacy with socket transfer: `expose-fd listeners` on the stats socket, new process "
      "`-x admin.sock -sf <old pid>`")
def c_sfx(R):
    legacy(R, extra_new=["-x", os.path.join(R.work, "admin.sock")], stats_extra=" expose-fd listeners")


@case("st_legacy", "legacy hard reload: new process with `-st <old pid>` while a 3 s request is in flight")
def c_st(R):
    legacy(R, hard=True)


# --------------------------------------------------------------------------- Q2/Q3: state across reload

FIVE = ["s1", "s2", "s3", "s4", "s5"]


def state_setup_note(R):
    R.note("servers (roundrobin, `check inter 1s rise 3 fall 3`): s1 healthy; s2 nothing listens on 44002 "
           "(DOWN by its checks, L4CON); s3 healthy, put in MAINT with `disable server apps/s3`; s4 healthy, "
           "put in DRAIN with `set server apps/s4 state drain`; s5 answers 503 to everything (DOWN by its checks, "
           "L7STS); s1's weight set to 50 with `set server apps/s1 weight 50`.")


def state_reload(R, config, dump=None, revive_s2_at=4000, after_ms=8000, opts=("-W",), revive_cmds=True,
                 traffic_ms=2500):
    """dump = None (no state file) or (fname, backend-or-empty) list for socat dumps before the reload."""
    state_setup_note(R)
    for n in ("s1", "s3", "s4"):
        R.backend(n)
    R.backend("s5", "h503")
    p, mp = start_mw(R, config, opts)
    R.sleep_until(2500)
    R.cli("disable server apps/s3")
    R.cli("set server apps/s4 state drain")
    R.cli("set server apps/s1 weight 50")
    R.sleep_until(3000)
    R.cli("show servers state apps")
    for fname, be in (dump or []):
        R.dump_state(fname, be)
    for pid in worker_pids(R):
        R.watch_exit(pid, R.labels[str(pid)])
    t_plan = time.monotonic_ns() + 300e6
    R.traffic(t_plan - 200e6, traffic_ms + 200, gap=0.01)
    d = (t_plan - time.monotonic_ns()) / 1e9
    if d > 0:
        time.sleep(d)
    reload_usr2(R, mp)
    R.learn_pids()
    R.cli("show servers state apps")
    R.sleep_until(1200)
    R.cli("show servers state apps")
    if revive_s2_at is not None:
        R.sleep_until(revive_s2_at)
        R.backend("s2")
    if revive_cmds:
        R.sleep_until(revive_s2_at + 500)
        R.cli("enable server apps/s3")
        R.cli("set server apps/s4 state ready")
    R.sleep_until(after_ms - 300)
    R.cli("show servers state apps")
    os.kill(mp, signal.SIGTERM)
    R.sleep_until(after_ms + 300)


@case("nostate_reload", "no server-state-file: DOWN (not listening), DOWN (503), MAINT and DRAIN servers "
      "across a SIGUSR2 reload; traffic right after it; s2 starts listening at +4000 ms; s3/s4 re-enabled at +4500")
def c_nostate(R):
    state_reload(R, cfg(FIVE, work=R.work))


@case("state_global_reload", "`server-state-file` + `load-server-state-from-file global`, state dumped with "
      "socat before the SIGUSR2 reload; same servers and traffic as nostate_reload (s2 listens from +4000, "
      "s3/s4 re-enabled at +4500)")
def c_state_global(R):
    st = os.path.join(R.work, "state")
    state_reload(R, cfg(FIVE, work=R.work, glob=["server-state-file " + st],
                        defaults=["load-server-state-from-file global"]),
                 dump=[("state", "")])


@case("state_global_reload_s2_stays_down", "state file, s2 never comes back (checks keep failing after the reload)")
def c_state_global2(R):
    st = os.path.join(R.work, "state")
    state_reload(R, cfg(FIVE, work=R.work, glob=["server-state-file " + st],
                        defaults=["load-server-state-from-file global"]),
                 dump=[("state", "")], revive_s2_at=None, revive_cmds=False, after_ms=4000)


@case("state_local_reload", "`load-server-state-from-file local` with `server-state-base` and "
      "`server-state-file-name apps.state`; second backend `apps2` with no file name (= backend name)")
def c_state_local(R):
    base = os.path.join(R.work, "states")
    os.makedirs(base, exist_ok=True)
    for f in os.listdir(base):
        os.unlink(os.path.join(base, f))
    extra = ("backend apps2\n    option httpchk\n    http-check send meth GET uri /health hdr X-Pid %pid\n"
             "    server t1 127.0.0.1:44006 check inter 1s rise 3 fall 3\n")
    config = cfg(FIVE, work=R.work, glob=["server-state-base " + base],
                 defaults=["load-server-state-from-file local"],
                 backend_extra=["server-state-file-name apps.state"], extra_sections=extra)
    state_reload(R, config, dump=[("states/apps.state", "apps"), ("states/apps2", "apps2")],
                 revive_s2_at=None, revive_cmds=False, after_ms=3500)


@case("nostate_reload_sf", "no state file, legacy -sf reload: the same servers (DOWN/MAINT/DRAIN) with a "
      "new process")
def c_nostate_sf(R):
    state_setup_note(R)
    for n in ("s1", "s3", "s4"):
        R.backend(n)
    R.backend("s5", "h503")
    config = cfg(FIVE, work=R.work)
    R.write("haproxy.cfg", config)
    p1, pid1 = R.haproxy("P1", ["-db", "-f", "haproxy.cfg"], label="P1")
    R.watch_exit(pid1, "P1")
    R.sleep_until(2500)
    R.cli("disable server apps/s3")
    R.cli("set server apps/s4 state drain")
    R.sleep_until(3000)
    t_plan = time.monotonic_ns() + 300e6
    R.traffic(t_plan - 200e6, 2200)
    d = (t_plan - time.monotonic_ns()) / 1e9
    if d > 0:
        time.sleep(d)
    args = ["-db", "-f", "haproxy.cfg", "-sf", str(pid1)]
    R.mark_reload("new process: haproxy %s" % " ".join(args))
    p2, pid2 = R.haproxy("P2", args, label="P2")
    R.sleep_until(100)
    R.cli("show servers state apps")
    R.sleep_until(2500)
    R.cli("show servers state apps")
    R.sleep_until(3800)
    if pid2:
        os.kill(pid2, signal.SIGTERM)
    R.sleep_until(4300)


def reload_loop(R, with_state):
    R.note("A09 shape: two servers, s1 healthy, s5 answers 503 to everything (checks and traffic); "
           "`check inter 1s rise 3 fall 3`; 6 SIGUSR2 reloads 1 s apart; one request every 10 ms from 200 ms "
           "before the first reload to 1.5 s after the last one." + (
               " Before each reload the state is dumped with socat into the server-state-file." if with_state else ""))
    R.backend("s1")
    R.backend("s5", "h503")
    glob, dfl = [], []
    if with_state:
        glob = ["server-state-file " + os.path.join(R.work, "state")]
        dfl = ["load-server-state-from-file global"]
    p, mp = start_mw(R, cfg(["s1", "s5"], work=R.work, glob=glob, defaults=dfl), ("-W",))
    R.sleep_until(1500)
    t_plan = time.monotonic_ns() + 300e6
    R.traffic(t_plan - 200e6, 200 + 5000 + 1500, gap=0.01)
    d = (t_plan - time.monotonic_ns()) / 1e9
    if d > 0:
        time.sleep(d)
    for i in range(6):
        R.learn_pids()
        for pid in worker_pids(R):
            R.watch_exit(pid, R.labels[str(pid)])
        if with_state:
            R.dump_state("state")
        if i == 0:
            reload_usr2(R, mp, "kill -USR2 MASTER (reload 1 of 6)")
        else:
            R.sleep_until(i * 1000)
            R.add("run", "kill -USR2 MASTER (reload %d of 6)" % (i + 1))
            os.kill(mp, signal.SIGUSR2)
            R.wait_line(r"Loading (success|failure)", 5, since=time.monotonic_ns() - 5e6)
    R.sleep_until(5000 + 1500 + 300)
    R.learn_pids()
    os.kill(mp, signal.SIGTERM)
    R.sleep_until(5000 + 2000)


@case("nostate_reload_loop", "A09: 6 reloads 1 s apart, no state file: requests reaching the failing s5 after each reload")
def c_loop_nostate(R):
    reload_loop(R, False)


@case("state_reload_loop", "A09 with the fix: 6 reloads 1 s apart, state dumped before each (server-state-file)")
def c_loop_state(R):
    reload_loop(R, True)


# --------------------------------------------------------------------------- Q3/Q4: state file loader matrix
# Each case: write a state file (hand-made or taken from a previous case), run `haproxy -c`,
# then start `haproxy -db` once, look at `show servers state`, send a few requests.

HDR = ("# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight "
       "srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state "
       "srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl "
       "srv_check_port srv_check_addr srv_agent_addr srv_agent_port")


def sline(srv_id, name, op=2, adm=0, uw=1, iw=1, last=100, cst=15, cres=3, health=5, chk=6, be_id=3,
          be="apps", addr="127.0.0.1", port=None, fqdn="-", agent=0):
    port = PORT.get(name, 44009) if port is None else port
    return ("%d %s %d %s %s %d %d %d %d %d %d %d %d %d %d 0 0 %s %d - 0 0 - - 0" % (
        be_id, be, srv_id, name, addr, op, adm, uw, iw, last, cst, cres, health, chk, agent, fqdn, port))


def statefile(*lines, version="1", header=True, trailing_blank=True):
    out = version + "\n"
    if header:
        out += HDR + "\n"
    out += "".join(l + "\n" for l in lines)
    if trailing_blank:
        out += "\n"
    return out


ALL_UP = [sline(1, "s1"), sline(2, "s2"), sline(3, "s3")]
THREE = ["s1", "s2", "s3"]


def static_load(R, config, state=None, state_name="state", run=True, check_first=True, run_ms=2600,
                backends=("s1", "s2", "s3"), requests=12, extra=None, opts=("-db",), h503=()):
    R.write("haproxy.cfg", config)
    if state is not None:
        R.write(state_name, state)
    if check_first:
        R.cmds.append(("check", shlex.join([HAPROXY, "-c", "-f", "haproxy.cfg"])))
        r = subprocess.run(["timeout", "10", HAPROXY, "-c", "-f", "haproxy.cfg"], cwd=R.work,
                           capture_output=True)
        R.add("check", "exit code %d" % r.returncode)
        for l in r.stdout.decode().splitlines():
            R.add("check:out", re.sub(r"\(\d+\)", "(PID)", l))
        for l in r.stderr.decode().splitlines():
            R.add("check:err", re.sub(r"\(\d+\)", "(PID)", l))
    if not run:
        return
    for b in backends:
        R.backend(b, "h503" if b in h503 else "ok")
    mw = "-W" in opts or "-Ws" in opts
    p, hp = R.haproxy("hap", list(opts) + ["-f", "haproxy.cfg"], label="MASTER" if mw else "P1")
    if "-W" in opts or "-Ws" in opts:
        R.wait_line(r"Loading (success|failure)", 5)
        R.learn_pids()
    time.sleep(0.15)
    R.cli("show servers state apps")
    if requests:
        for _ in range(requests):
            t, o = R.request(timeout=15.0)
            with R.lock:
                R.requests.append((t, o, time.monotonic_ns()))
            time.sleep(0.01)
    if extra:
        extra(R)
    R.sleep_until(run_ms - 300)
    R.cli("show servers state apps")
    if hp:
        try:
            os.kill(hp, signal.SIGTERM)
        except OSError:
            pass
    R.sleep_until(run_ms)


def gcfg(R, servers=THREE, state=True, mode="global", defaults=None, **kw):
    glob = list(kw.pop("glob", []))
    if state:
        glob.append("server-state-file " + os.path.join(R.work, "state"))
    d = defaults if defaults is not None else (["load-server-state-from-file " + mode] if mode else [])
    return cfg(servers, work=R.work, glob=glob, defaults=d, **kw)


@case("f_down_maint_drain", "start with a hand-made state file: s1 DOWN (op 0), s2 MAINT (adm 1), "
      "s3 DRAIN (adm 8); all three backends healthy")
def f1(R):
    static_load(R, gcfg(R), statefile(sline(1, "s1", op=0, cst=8, cres=2, health=0),
                                      sline(2, "s2", op=0, adm=1, cst=8, cres=2, health=0),
                                      sline(3, "s3", adm=8)), run_ms=5000)


@case("f_stopping_starting", "state file with s1 op 3 (STOPPING, health 3) and s2 op 1 (STARTING), s3 "
      "op 2 with srv_time_since_last_change 12345")
def f2(R):
    static_load(R, gcfg(R), statefile(sline(1, "s1", op=3, health=3), sline(2, "s2", op=1, health=1),
                                      sline(3, "s3", last=12345)), run_ms=4500)


@case("f_stopping_fall1", "s1 op 3 (STOPPING) with `fall 1` on s1 -> set stopped; s2 op 1 (STARTING) with "
      "`rise 1` -> set running")
def f2b(R):
    config = gcfg(R, servers=[("s1", ""), ("s2", ""), ("s3", "")], check=None)
    config = config.replace("server s1 127.0.0.1:44001", "server s1 127.0.0.1:44001 check inter 1s rise 3 fall 1")
    config = config.replace("server s2 127.0.0.1:44002", "server s2 127.0.0.1:44002 check inter 1s rise 1 fall 3")
    config = config.replace("server s3 127.0.0.1:44003", "server s3 127.0.0.1:44003 check inter 1s rise 3 fall 3")
    static_load(R, config, statefile(sline(1, "s1", op=3, health=3), sline(2, "s2", op=1, health=0),
                                     sline(3, "s3")), run_ms=2000)


@case("f_down_stays_down", "state file says s1 DOWN; its backend is healthy: how many checks until UP (rise 3)")
def f3(R):
    static_load(R, gcfg(R), statefile(sline(1, "s1", op=0, cst=8, cres=2, health=0), sline(2, "s2"),
                                      sline(3, "s3")), run_ms=5000, requests=6)


@case("f_down_fall_none_listening", "state file says s1 UP, but nothing listens on 44001")
def f3b(R):
    static_load(R, gcfg(R), statefile(*ALL_UP), backends=("s2", "s3"), run_ms=2500)


@case("f_unknown_server", "global file lists s9 (not in the config) and backend `old` (not in the config)")
def f4(R):
    static_load(R, gcfg(R), statefile(sline(1, "s1"), sline(9, "s9", op=0),
                                      sline(1, "x1", be="old", be_id=7, op=0)), run_ms=1200, requests=3)


@case("f_local_unknown_server", "local file (server-state-file-name) lists s9, not in the config")
def f4b(R):
    st = os.path.join(R.work, "apps.state")
    static_load(R, gcfg(R, state=False, mode="local", backend_extra=["server-state-file-name " + st]),
                statefile(sline(1, "s1"), sline(9, "s9", op=0)), state_name="apps.state", run_ms=1200,
                requests=3)


@case("f_backend_id_changed", "global file: backend `apps` with be_id 99 (config id is 3), s1 DOWN in it")
def f5(R):
    static_load(R, gcfg(R), statefile(sline(1, "s1", be_id=99, op=0), sline(2, "s2", be_id=99),
                                      sline(3, "s3", be_id=99)), run_ms=1200, requests=3)


@case("f_local_backend_id_changed", "local file: be_id 99 for `apps` (config id 3)")
def f5b(R):
    st = os.path.join(R.work, "apps.state")
    static_load(R, gcfg(R, state=False, mode="local", backend_extra=["server-state-file-name " + st]),
                statefile(sline(1, "s1", be_id=99, op=0), sline(2, "s2", be_id=99), sline(3, "s3", be_id=99)),
                state_name="apps.state", run_ms=1200, requests=3)


@case("f_local_backend_name_changed", "local file: lines of backend `oldapps` with be_id 3 (= apps' id): s1 "
      "with bk_f_forced_id 0, s3 with bk_f_forced_id 1 (what a dump writes), s2 with 128 (= PR_O_FORCED_ID), all op 0")
def f5c(R):
    st = os.path.join(R.work, "apps.state")
    l3 = sline(3, "s3", be="oldapps", op=0).split()
    l3[15] = "1"
    l2 = sline(2, "s2", be="oldapps", op=0).split()
    l2[15] = "128"
    static_load(R, gcfg(R, state=False, mode="local", backend_extra=["server-state-file-name " + st]),
                statefile(sline(1, "s1", be="oldapps", op=0), " ".join(l2), " ".join(l3)), state_name="apps.state",
                run_ms=1200, requests=3)


@case("f_server_id_changed", "global file: s1 with srv_id 42 (config id 1), op 0")
def f5d(R):
    static_load(R, gcfg(R), statefile(sline(42, "s1", op=0), sline(2, "s2"), sline(3, "s3")), run_ms=1200,
                requests=3)


@case("f_bad_line_short", "global file: line 4 (s2) has only 10 fields; s1 (line 3) says DOWN")
def f6(R):
    bad = " ".join(sline(2, "s2").split()[:10])
    static_load(R, gcfg(R), statefile(sline(1, "s1", op=0), bad, sline(3, "s3", op=0)), run_ms=1200, requests=3)


@case("f_bad_value", "global file: s1 has srv_op_state 7, s2 srv_admin_state 2 (IMAINT, masked), "
      "s3 srv_uweight 300 and a non-numeric check status")
def f6b(R):
    l3 = sline(3, "s3", uw=300).split()
    l3[10] = "x"
    static_load(R, gcfg(R), statefile(sline(1, "s1", op=7), sline(2, "s2", op=0, adm=2), " ".join(l3)),
                run_ms=1200, requests=3)


@case("f_bad_check_addr", "global file: s1 DOWN with srv_check_port 44009 (partially applied?)")
def f6c(R):
    l1 = sline(1, "s1", op=0).split()
    l1[21] = "44009"
    static_load(R, gcfg(R), statefile(" ".join(l1), sline(2, "s2"), sline(3, "s3")), run_ms=2500, requests=3)


@case("f_too_many_fields", "global file: s1 line with 26 fields")
def f6d(R):
    static_load(R, gcfg(R), statefile(sline(1, "s1", op=0) + " extra", sline(2, "s2", op=0)), run_ms=1200,
                requests=3)


@case("f_min_fields", "global file: s1 DOWN with exactly 20 fields (no srv_use_ssl.. agent fields), s2 21 fields")
def f6e(R):
    static_load(R, gcfg(R), statefile(" ".join(sline(1, "s1", op=0).split()[:20]),
                                      " ".join(sline(2, "s2", op=0).split()[:21]), sline(3, "s3")),
                run_ms=1200, requests=3)


@case("f_version_2", "global file whose first line is `2`")
def f7(R):
    static_load(R, gcfg(R), statefile(sline(1, "s1", op=0), version="2"), run_ms=1200, requests=3)


@case("f_version_text", "global file whose first line is `1 ` (trailing space) / no version line at all")
def f7b(R):
    static_load(R, gcfg(R), statefile(sline(1, "s1", op=0), version="1 "), run_ms=1000, requests=0)
    R.write("state", statefile(sline(1, "s1", op=0), version=HDR, header=False))
    R.add("run", "second file: no version line (header comment first)")
    R.cmds.append(("check", shlex.join([HAPROXY, "-c", "-f", "haproxy.cfg"]) + "   (second file)"))
    r = subprocess.run(["timeout", "10", HAPROXY, "-c", "-f", "haproxy.cfg"], cwd=R.work, capture_output=True)
    R.add("check", "exit code %d" % r.returncode)
    for l in r.stdout.decode().splitlines():
        R.add("check:out", re.sub(r"\(\d+\)", "(PID)", l))
    for l in r.stderr.decode().splitlines():
        R.add("check:err", re.sub(r"\(\d+\)", "(PID)", l))
    R.files["state (second file)"] = open(os.path.join(R.work, "state")).read()


@case("f_missing", "server-state-file points to a file that does not exist")
def f8(R):
    static_load(R, gcfg(R), None, run_ms=1200, requests=3)


@case("f_missing_local", "local mode, server-state-base + no server-state-file-name; file missing")
def f8b(R):
    static_load(R, gcfg(R, state=False, mode="local", glob=["server-state-base " + os.path.join(R.work, "st")]),
                None, run_ms=1200, requests=3)


@case("f_empty", "server-state-file is an empty file")
def f8c(R):
    static_load(R, gcfg(R), "", run_ms=1200, requests=3)


@case("f_no_trailing_newline", "global file whose last line (s3, DOWN) has no newline")
def f9(R):
    static_load(R, gcfg(R), statefile(sline(1, "s1", op=0), sline(2, "s2"), trailing_blank=False)
                + sline(3, "s3", op=0), run_ms=1200, requests=3)


@case("f_doc_example", "the configuration manual's example file (16 fields per line)")
def f9b(R):
    doc = ("1\n# <field names skipped for the doc example>\n"
           "3 apps 1 s1 127.0.0.1 2 0 11 11 4 6 3 4 6 0 0\n"
           "3 apps 2 s2 127.0.0.1 2 0 12 12 4 6 3 4 6 0 0\n")
    static_load(R, gcfg(R), doc, run_ms=1200, requests=3)


@case("f_doc_local_example", "the manual's `local` example verbatim: `server-state-file-base` and "
      "`load-server-state-from-file` without argument (haproxy -c only)")
def f9c(R):
    config = cfg(THREE, work=R.work, glob=["server-state-file-base " + os.path.join(R.work, "states")],
                 defaults=["load-server-state-from-file"])
    static_load(R, config, None, run=False)


@case("f_global_unset", "`load-server-state-from-file global` but no `server-state-file` in global")
def f10(R):
    static_load(R, gcfg(R, state=False), None, run_ms=1000, requests=0)


@case("f_none", "`load-server-state-from-file none` with a server-state-file that says s1 DOWN")
def f11(R):
    static_load(R, gcfg(R, mode="none"), statefile(sline(1, "s1", op=0), sline(2, "s2"), sline(3, "s3")),
                run_ms=1000, requests=3)


@case("f_none_missing", "`load-server-state-from-file none` and the global server-state-file is missing")
def f11b(R):
    static_load(R, gcfg(R, mode="none"), None, run_ms=1000, requests=0)


@case("f_default_unset", "server-state-file set, no load-server-state-from-file at all (default), file says "
      "s1 DOWN")
def f11c(R):
    static_load(R, gcfg(R, mode=None), statefile(sline(1, "s1", op=0), sline(2, "s2"), sline(3, "s3")),
                run_ms=1000, requests=3)


@case("f_backend_override", "defaults `load-server-state-from-file global`, backend `load-server-state-from-file "
      "none`")
def f11d(R):
    static_load(R, gcfg(R, backend_extra=["load-server-state-from-file none"]),
                statefile(sline(1, "s1", op=0), sline(2, "s2"), sline(3, "s3")), run_ms=1000, requests=3)


@case("f_state_base_relative", "server-state-base DIR + `server-state-file state` (relative)")
def f12(R):
    base = os.path.join(R.work, "base")
    os.makedirs(base, exist_ok=True)
    with open(os.path.join(base, "state"), "w") as f:
        f.write(statefile(sline(1, "s1", op=0), sline(2, "s2"), sline(3, "s3")))
    R.files["base/state"] = statefile(sline(1, "s1", op=0), sline(2, "s2"), sline(3, "s3"))
    static_load(R, cfg(THREE, work=R.work, glob=["server-state-base " + base + "/", "server-state-file state"],
                       defaults=["load-server-state-from-file global"]), None, run_ms=1000, requests=3)


@case("f_weights", "weights: s1 file uw 7 iw 1 (config weight 1 -> applied), s2 file uw 7 iw 5 (config "
      "weight 1 -> not applied), s3 DRAIN with iw 0 in file and config weight 1 (drain dropped)")
def f13(R):
    static_load(R, gcfg(R), statefile(sline(1, "s1", uw=7, iw=1), sline(2, "s2", uw=7, iw=5),
                                      sline(3, "s3", adm=8, uw=0, iw=0)), run_ms=1200, requests=0,
                extra=lambda R: [R.cli("get weight apps/s%d" % i) for i in (1, 2, 3)])


@case("f_config_disabled", "config `disabled` on s1 while the file says ready; s2 file adm 4 (CMAINT) but "
      "config not disabled; s3 file adm 5 (CMAINT|FMAINT), config not disabled")
def f14(R):
    config = gcfg(R, servers=[("s1", "disabled"), "s2", "s3"])
    static_load(R, config, statefile(sline(1, "s1"), sline(2, "s2", op=0, adm=4), sline(3, "s3", op=0, adm=5)),
                run_ms=1500, requests=6)


@case("f_port_changed", "file says s1's port is 44007 (config 44001); backend s1 listens on 44001 and "
      "a backend s7 on 44007")
def f15(R):
    static_load(R, gcfg(R), statefile(sline(1, "s1", port=44007), sline(2, "s2"), sline(3, "s3")),
                backends=("s1", "s2", "s3", "s7"), run_ms=1500, requests=6)


@case("f_addr_changed_ip", "file says s1's address is 127.0.0.9 (config 127.0.0.1, an IP literal)")
def f15b(R):
    static_load(R, gcfg(R), statefile(sline(1, "s1", addr="127.0.0.9"), sline(2, "s2"), sline(3, "s3")),
                run_ms=1200, requests=6)


@case("f_fqdn_lastaddr", "server s1 `app.invalid:44001` (does not resolve): without the state file "
      "haproxy refuses to start; with a state file giving srv_addr 127.0.0.1 it starts")
def f16(R):
    config = gcfg(R)
    config = config.replace("server s1 127.0.0.1:44001", "server s1 app.invalid:44001")
    static_load(R, config.replace("server-state-file", "#server-state-file"), None, run=False)
    R.files["haproxy.cfg (first: without the state file)"] = R.files.pop("haproxy.cfg")
    R.add("run", "--- now with the state file")
    static_load(R, config, statefile(sline(1, "s1", fqdn="app.invalid"), sline(2, "s2"), sline(3, "s3")),
                run_ms=1500, requests=6)


@case("f_check_disabled", "file: s1 srv_check_state 2 (CONFIGURED without ENABLED: `disable health`) and "
      "op 2; nothing listens on 44001")
def f17(R):
    static_load(R, gcfg(R), statefile(sline(1, "s1", chk=2), sline(2, "s2"), sline(3, "s3")),
                backends=("s2", "s3"), run_ms=2500, requests=6)


@case("f_duplicate_line", "global file lists s1 twice: DOWN first, UP second")
def f18(R):
    static_load(R, gcfg(R), statefile(sline(1, "s1", op=0), sline(1, "s1"), sline(2, "s2"), sline(3, "s3")),
                run_ms=1200, requests=3)


@case("f_comments_blank", "global file with blank lines, indented `#` comments and tabs between fields")
def f19(R):
    st = "1\n\n   # comment\n" + sline(1, "s1", op=0).replace(" ", "\t") + "\n\t\n" + sline(2, "s2") + "\n"
    static_load(R, gcfg(R), st, run_ms=1200, requests=3)


@case("f_mw_master_prints", "master-worker start (-W) with a state file saying s1 DOWN / s2 MAINT / "
      "s3 bad op: which pid prints the loader's lines")
def f20(R):
    static_load(R, gcfg(R), statefile(sline(1, "s1", op=0), sline(2, "s2", op=0, adm=1), sline(3, "s3", op=9)),
                run_ms=1500, requests=3, opts=("-W",))


# --------------------------------------------------------------------------- main

def reload_kind(d):
    """from an all.json entry: -sf, -st, master CLI reload, SIGUSR2 or none."""
    kind = "none"
    for tag, c in d["commands"]:
        if " -sf " in c or " -st " in c:
            kind = "-st" if " -st " in c else "-sf"
    if d.get("reload_at_ms") is not None and kind == "none":
        kind = "master CLI reload" if any(l == "> reload" for _, s, l in d["events"] if s == "mcli") else "SIGUSR2"
    return kind


def write_outputs(results, out, partial):
    """DIR/<case>.txt for the cases that ran; all.json and cases.tsv are merged with the existing
    all.json when only some cases ran (--only), so the index always covers every case."""
    os.makedirs(out, exist_ok=True)
    for R in results:
        with open(os.path.join(out, R.name + ".txt"), "w") as f:
            f.write(R.render())
    new = {R.name: R.as_json() for R in results}
    merged = dict(new)
    js = os.path.join(out, "all.json")
    if partial and os.path.exists(js):
        with open(js) as f:
            for d in json.load(f):
                d.pop("reload", None)
                merged.setdefault(d["name"], d)
    order = [n for n, _, _ in CASES]
    allj = [merged[n] for n in order if n in merged]
    with open(js, "w") as f:
        json.dump(allj, f, indent=1)
    rows = ["case\treload\ttitle\tfile\toutcomes"]
    for d in allj:
        oc = "; ".join("%s: %d" % (k, v) for k, v in sorted(d["outcomes"].items()))
        rows.append("\t".join([d["name"], reload_kind(d), d["title"].replace("\t", " "), d["name"] + ".txt", oc]))
    with open(os.path.join(out, "cases.tsv"), "w") as f:
        f.write("\n".join(rows) + "\n")


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "--backend":
        backend_main(sys.argv[2], int(sys.argv[3]), sys.argv[4])
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(HERE), "reload"))
    ap.add_argument("--work", default="/tmp/hx_reload")
    ap.add_argument("--only", default="")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--no-netns", action="store_true")
    a = ap.parse_args()
    if a.list:
        for n, t, _ in CASES:
            print("%-34s %s" % (n, t))
        return
    if os.environ.get("HXRL_NETNS") != "1" and not a.no_netns:
        os.makedirs(a.work, exist_ok=True)
        rc_ = os.path.join(a.work, "resolv.conf")
        with open(rc_, "w") as f:
            f.write("nameserver 127.0.0.1\n")
        inner = ("ip link set lo up 2>/dev/null || true; mount --bind %s /etc/resolv.conf && HXRL_NETNS=1 exec %s %s"
                 % (rc_, sys.executable, " ".join(shlex.quote(x) for x in [THIS] + sys.argv[1:])))
        os.execvp("unshare", ["unshare", "-rnm", "sh", "-c", inner])
    only = [x for x in a.only.split(",") if x]
    results = []
    for n, t, fn in CASES:
        if only and not any(n == o or n.startswith(o) for o in only):
            continue
        print("running", n, file=sys.stderr, flush=True)
        R = Runner(n, t, os.path.join(a.work, n))
        try:
            fn(R)
        except Exception as e:  # noqa
            import traceback
            R.add("run", "runner exception: %r" % e)
            traceback.print_exc()
        finally:
            R.finish()
        results.append(R)
    write_outputs(results, a.out, bool(only))


if __name__ == "__main__":
    main()
