#!/usr/bin/env python3
"""Capture haproxy 2.6 Runtime API (stats socket / CLI) replies, byte for byte.

python3, stdlib only.  Usage:

    python3 runtime_api.py [--out DIR] [--only GROUP[,GROUP...]] [--list]

DIR defaults to ../runtime_api (next to this folder).  Re-running overwrites the
files of the groups that run; cases.tsv and session_logs.txt are rewritten from
the groups that ran (so use --only only for experiments).

What it does
------------
* Three tiny threaded python http.server backends on 127.0.0.1:42101..42103 answer
  200 "OK" to every request (the health checks `GET /health`).  Nothing ever
  listens on 42104 (s4 has no `check`).  In the `s2down` runs the 42102 backend
  is not started, so s2 goes DOWN by its checks.
* For every GROUP of cases a fresh `timeout 120 /usr/sbin/haproxy -db -f
  /tmp/rapi/haproxy.cfg` is started (CONFIG below: the brief's config plus
  `log global` in defaults so that server/backend state changes are also sent to
  `log stdout format raw local0`).  haproxy's stdout (raw log) and stderr
  ([WARNING]/[ALERT]/[NOTICE] lines) are read line by line and stamped.
* Each case opens a fresh connection to one of the stats sockets
  (/tmp/rapi/admin.sock, oper.sock, user.sock, or TCP 127.0.0.1:42001), sends the
  exact command bytes, and reads until EOF (mode `simple`).  Other modes:
  `halfclose` (send, then shutdown(SHUT_WR), read to EOF) and `interactive`
  (a list of chunks; after each chunk read until the socket is quiet for 0.4 s;
  at the end read to EOF).  The raw reply is written to DIR/<case>.out.
* After the reply, the script waits `wait` seconds (0.3 s by default; longer for
  commands whose consequences come from later health checks) and attributes the
  log lines that arrived since the command was sent to that case.
* Inside a group the cases run in order, so a case's state precondition is the
  state left by the previous cases of its group (the `pre` column says it).

* Read-only dumps (`show stat*`, `show servers state*`) that caught a health check in
  flight (check_status `* L7OK`, srv_check_state bit 0x1) are retried up to 10 times
  (column `attempts`), so the fixtures do not depend on that 1 ms race.  The
  `*_at_startup` case is taken before the checks settle, on purpose.

Output: DIR/<case>.out (exact bytes), DIR/cases.tsv (columns: case group run level pre
after mode command output_file bytes eof wait_s attempts log_stderr log_stdout),
DIR/session_logs.txt (every log line of every run with its time offset and case
markers), DIR/haproxy.cfg.  DIR/README.md (hand-written) documents the facts.
cases.tsv escaping: in the `command` and log columns a backslash is written as
`\\\\`, LF as `\\n`, CR as `\\r`, TAB as `\\t`.  Log lines are joined with ` | `
and the pid in `[WARNING]  (1234) :` is replaced by the literal `PID`.
"""
import argparse
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
RUNDIR = "/tmp/rapi"
SOCKS = {
    "admin": RUNDIR + "/admin.sock",
    "operator": RUNDIR + "/oper.sock",
    "user": RUNDIR + "/user.sock",
    "tcp": ("127.0.0.1", 42001),
}
BACKEND_PORTS = {"s1": 42101, "s2": 42102, "s3": 42103}

CONFIG = """global
    stats socket /tmp/rapi/admin.sock level admin
    stats socket /tmp/rapi/oper.sock level operator
    stats socket /tmp/rapi/user.sock level user
    stats socket ipv4@127.0.0.1:42001 level admin
    log stdout format raw local0
defaults
    log global
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:42080
    default_backend apps
backend apps
    balance roundrobin
    option httpchk GET /health
    default-server inter 500ms fall 2 rise 2
    server s1 127.0.0.1:42101 check
    server s2 127.0.0.1:42102 check weight 50
    server s3 127.0.0.1:42103 check backup
    server s4 127.0.0.1:42104
backend empty
"""

PID_RE = re.compile(r"^(\[[A-Z]+\]\s+)\(\d+\)")

# --------------------------------------------------------------------------- backends


class OkHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def do_GET(self):
        body = b"OK\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_HEAD = do_GET
    do_OPTIONS = do_GET

    def log_message(self, *a):
        pass


class QuietServer(http.server.ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # haproxy's checks close/reset as soon as they have the status line


class Backends:
    def __init__(self, names):
        self.servers = []
        for n in names:
            srv = QuietServer(("127.0.0.1", BACKEND_PORTS[n]), OkHandler)
            t = threading.Thread(target=srv.serve_forever, daemon=True)
            t.start()
            self.servers.append(srv)

    def close(self):
        for s in self.servers:
            s.shutdown()
            s.server_close()


# --------------------------------------------------------------------------- haproxy


class Haproxy:
    def __init__(self, log):
        self.log = log  # shared list of (t, chan, line)
        if os.path.isdir(RUNDIR):
            for f in os.listdir(RUNDIR):
                if f.endswith(".sock"):
                    os.unlink(os.path.join(RUNDIR, f))
        os.makedirs(RUNDIR, exist_ok=True)
        cfg = os.path.join(RUNDIR, "haproxy.cfg")
        with open(cfg, "w") as f:
            f.write(CONFIG)
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(["timeout", "120", HAPROXY, "-db", "-f", cfg],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lock = threading.Lock()
        self.readers = [threading.Thread(target=self._reader, args=(self.proc.stdout, "stdout"), daemon=True),
                        threading.Thread(target=self._reader, args=(self.proc.stderr, "stderr"), daemon=True)]
        for r in self.readers:
            r.start()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(SOCKS["admin"])
                s.close()
                # the TCP one too
                s = socket.create_connection(SOCKS["tcp"], timeout=1)
                s.close()
                return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("haproxy did not open its sockets")

    def _reader(self, pipe, chan):
        for raw in iter(pipe.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self.lock:
                self.log.append((time.monotonic() - self.t0, chan, PID_RE.sub(r"\1(PID)", line)))

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


# --------------------------------------------------------------------------- socket I/O


def connect(level):
    addr = SOCKS[level]
    if isinstance(addr, tuple):
        s = socket.create_connection(addr, timeout=5)
    else:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect(addr)
    return s


def read_eof(s, limit=5.0):
    s.settimeout(limit)
    out = b""
    eof = True
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
    except socket.timeout:
        eof = False
    except ConnectionResetError:  # closed with bytes of ours unread: the end, as a reset
        pass
    return out, eof


def read_quiet(s, quiet=0.4):
    s.settimeout(quiet)
    out = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                return out, True
            out += d
    except socket.timeout:
        pass
    return out, False


def run_case(c):
    s = connect(c["level"])
    eof = False
    try:
        if c["mode"] == "simple":
            s.sendall(c["cmd"])
            out, eof = read_eof(s)
        elif c["mode"] == "halfclose":
            s.sendall(c["cmd"])
            s.shutdown(socket.SHUT_WR)
            out, eof = read_eof(s)
        elif c["mode"] == "interactive":
            out = b""
            for chunk in c["chunks"]:
                s.sendall(chunk)
                d, eof = read_quiet(s)
                out += d
                if eof:
                    break
            if not eof:
                d, eof = read_eof(s, 3.0)
                out += d
        else:
            raise ValueError(c["mode"])
    finally:
        s.close()
    return out, eof


CHECK_IN_PROGRESS = re.compile(rb"(,|:str:|\"value\":\")\* [A-Z]")


def check_in_progress(cmd, out):
    """True if a read-only dump caught a health check in flight (check_status '* L7OK',
    or srv_check_state with CHK_ST_INPROGRESS in 'show servers state')."""
    if cmd.startswith(b"show stat"):
        return bool(CHECK_IN_PROGRESS.search(out))
    if cmd.startswith(b"show servers state"):
        for line in out.split(b"\n"):
            f = line.split()
            if len(f) > 13 and f[0].isdigit() and int(f[13]) & 1:
                return True
    return False


def get_state(level="admin"):
    s = connect(level)
    s.sendall(b"show servers state apps\n")
    out, _ = read_eof(s)
    s.close()
    st = {}
    for line in out.decode().splitlines():
        f = line.split()
        if len(f) > 5 and f[0].isdigit():
            st[f[3]] = (int(f[5]), int(f[6]), int(f[12]))  # op_state, admin_state, health
    return st


# --------------------------------------------------------------------------- cases

GROUPS = []  # (gid, run, title, [cases])


def group(gid, run, title):
    g = (gid, run, title, [])
    GROUPS.append(g)
    return g[3]


def C(cases, name, cmd, level="admin", pre="", after="unchanged", wait=0.3, mode="simple", chunks=None):
    if isinstance(cmd, str):
        cmd = cmd.encode()
    if chunks is not None:
        chunks = [x.encode() if isinstance(x, str) else x for x in chunks]
        cmd = b"".join(chunks)
    cases.append(dict(name=name, cmd=cmd, level=level, pre=pre, after=after, wait=wait,
                      mode=mode, chunks=chunks))


UP = "all UP (s1,s2,s3 checked UP, s4 no check)"

# 01 help / unknown ---------------------------------------------------------------
g = group("01", "up", "help and unknown commands")
for lvl in ("admin", "operator", "user"):
    C(g, "01_help_%s" % lvl, "help\n", lvl, UP)
for lvl in ("admin", "operator", "user"):
    C(g, "01_foo_%s" % lvl, "foo\n", lvl, UP)
C(g, "01_show_foo_admin", "show foo\n", "admin", UP)
C(g, "01_empty_line_admin", "\n", "admin", UP)

# 02 show info ------------------------------------------------------------------
g = group("02", "up", "show info")
C(g, "02_show_info", "show info\n", pre=UP)
C(g, "02_show_info_typed", "show info typed\n", pre=UP)
C(g, "02_show_info_json", "show info json\n", pre=UP)

# 03 show stat ------------------------------------------------------------------
g = group("03", "up", "show stat")
C(g, "03_show_stat_at_startup", "show stat\n",
  pre="right after start (sockets open; first checks may not have run: s2/s3 may show 'UP 1/2')")
C(g, "03_show_stat", "show stat\n", pre=UP + ", settled 2s")
C(g, "03_show_stat_typed", "show stat typed\n", pre=UP)
C(g, "03_show_stat_json", "show stat json\n", pre=UP)
C(g, "03_show_stat_apps_4_-1", "show stat apps 4 -1\n", pre=UP)
C(g, "03_show_stat_-1_2_-1", "show stat -1 2 -1\n", pre=UP)
C(g, "03_show_stat_apps_-1_1", "show stat apps -1 1\n", pre=UP)
C(g, "03_show_stat_nosuch_-1_-1", "show stat nosuch -1 -1\n", pre=UP)
C(g, "03_show_stat_2_-1_-1", "show stat 2 -1 -1\n", pre=UP)
C(g, "03_show_stat_3_-1_-1", "show stat 3 -1 -1\n", pre=UP)
C(g, "03_show_stat_apps_4", "show stat apps 4\n", pre=UP)
C(g, "03_show_stat_apps_1_-1", "show stat apps 1 -1\n", pre=UP)
C(g, "03_show_stat_user", "show stat\n", "user", UP)

# 04 show servers state ------------------------------------------------------------
g = group("04", "up", "show servers state")
C(g, "04_show_servers_state", "show servers state\n", pre=UP)
C(g, "04_show_servers_state_apps", "show servers state apps\n", pre=UP)
C(g, "04_show_servers_state_nosuch", "show servers state nosuch\n", pre=UP)
C(g, "04_show_servers_state_empty", "show servers state empty\n", pre=UP)
C(g, "04_show_servers_state_fe", "show servers state fe\n", pre=UP)

# 05 show backend / servers conn -----------------------------------------------------
g = group("05", "up", "show backend, show servers conn")
C(g, "05_show_backend", "show backend\n", pre=UP)
C(g, "05_show_servers_conn", "show servers conn\n", pre=UP)
C(g, "05_show_servers_conn_apps", "show servers conn apps\n", pre=UP)
C(g, "05_show_servers_conn_nosuch", "show servers conn nosuch\n", pre=UP)
C(g, "05_show_servers_conn_empty", "show servers conn empty\n", pre=UP)

# 06 disable / enable server ---------------------------------------------------------
g = group("06", "up", "disable/enable server")
C(g, "06_disable_server_s1", "disable server apps/s1\n", pre=UP, after="s1 MAINT")
C(g, "06_show_servers_state_apps_s1_maint", "show servers state apps\n", pre="s1 MAINT")
C(g, "06_show_stat_no_maint", "show stat no-maint\n", pre="s1 MAINT")
C(g, "06_disable_server_s1_again", "disable server apps/s1\n", pre="s1 MAINT", after="s1 MAINT")
C(g, "06_enable_server_s1", "enable server apps/s1\n", pre="s1 MAINT", after="s1 UP (checks resume)", wait=2.0)
C(g, "06_show_servers_state_apps_after_enable", "show servers state apps\n", pre="s1 re-enabled 2s ago")
C(g, "06_disable_server_nosuch_srv", "disable server apps/nosuch\n", pre=UP)
C(g, "06_disable_server_nosuch_be", "disable server nosuch/s1\n", pre=UP)
C(g, "06_disable_server_noslash", "disable server apps\n", pre=UP)
C(g, "06_disable_server_noarg", "disable server\n", pre=UP)
C(g, "06_disable_server_s4_nocheck", "disable server apps/s4\n", pre=UP, after="s4 MAINT")
C(g, "06_disable_server_s2", "disable server apps/s2\n", pre="s4 MAINT", after="s2,s4 MAINT")
C(g, "06_disable_server_s1_last_active", "disable server apps/s1\n", pre="s2,s4 MAINT",
  after="s1,s2,s4 MAINT (only backup s3 left)")
C(g, "06_disable_server_s3_backup", "disable server apps/s3\n", pre="s1,s2,s4 MAINT", after="all MAINT")
C(g, "06_show_stat_all_maint", "show stat\n", pre="all MAINT")
C(g, "06_enable_server_s3_backup", "enable server apps/s3\n", pre="all MAINT", after="s3 UP, others MAINT", wait=1.0)
C(g, "06_enable_server_s4_nocheck", "enable server apps/s4\n", pre="s3 UP, s1,s2,s4 MAINT", after="s4 UP")

# 07 set server state ----------------------------------------------------------------
g = group("07", "up", "set server state")
C(g, "07_set_state_maint", "set server apps/s1 state maint\n", pre=UP, after="s1 MAINT")
C(g, "07_show_stat_apps_s1_maint", "show stat apps 4 1\n", pre="s1 MAINT")
C(g, "07_set_state_drain_from_maint", "set server apps/s1 state drain\n", pre="s1 MAINT",
  after="s1 DRAIN", wait=1.5)
C(g, "07_show_stat_apps_s1_drain", "show stat apps 4 -1\n", pre="s1 DRAIN")
C(g, "07_show_servers_state_s1_drain", "show servers state apps\n", pre="s1 DRAIN")
C(g, "07_set_state_ready_from_drain", "set server apps/s1 state ready\n", pre="s1 DRAIN", after=UP)
C(g, "07_set_state_drain_from_ready", "set server apps/s1 state drain\n", pre=UP, after="s1 DRAIN")
C(g, "07_set_state_maint_from_drain", "set server apps/s1 state maint\n", pre="s1 DRAIN", after="s1 MAINT")
C(g, "07_show_servers_state_s1_maint", "show servers state apps\n", pre="s1 MAINT")
C(g, "07_set_state_ready_from_maint", "set server apps/s1 state ready\n", pre="s1 MAINT", after=UP, wait=1.5)
C(g, "07_set_state_bogus", "set server apps/s1 state bogus\n", pre=UP)
C(g, "07_set_server_nosub", "set server apps/s1\n", pre=UP)
C(g, "07_set_server_foo", "set server apps/s1 foo\n", pre=UP)
C(g, "07_set_state_drain_s4_nocheck", "set server apps/s4 state drain\n", pre=UP, after="s4 DRAIN")
C(g, "07_show_stat_s4_drain", "show stat apps 4 -1\n", pre="s4 DRAIN")

# 08 weights --------------------------------------------------------------------------
g = group("08", "up", "weights")
C(g, "08_get_weight_s1_before", "get weight apps/s1\n", pre=UP)
C(g, "08_set_server_weight_10", "set server apps/s1 weight 10\n", pre=UP, after="s1 weight 10")
C(g, "08_get_weight_s1_after_10", "get weight apps/s1\n", pre="s1 weight 10")
C(g, "08_set_server_weight_50pct", "set server apps/s1 weight 50%\n", pre="s1 weight 10", after="s1 weight 0 (50% of 1)")
C(g, "08_get_weight_s1_after_50pct", "get weight apps/s1\n", pre="s1 weight 50%")
C(g, "08_show_stat_weight0", "show stat apps 4 -1\n", pre="s1 uweight 0")
C(g, "08_set_server_weight_300", "set server apps/s1 weight 300\n", pre="s1 uweight 0")
C(g, "08_set_server_weight_abc", "set server apps/s1 weight abc\n", pre="s1 uweight 0")
C(g, "08_set_server_weight_-1", "set server apps/s1 weight -1\n", pre="s1 uweight 0")
C(g, "08_set_server_weight_none", "set server apps/s1 weight\n", pre="s1 uweight 0")
C(g, "08_set_server_weight_10abc", "set server apps/s1 weight 10abc\n", pre="s1 uweight 0")
C(g, "08_set_server_weight_200pct_s2", "set server apps/s2 weight 200%\n", pre=UP, after="s2 weight 100")
C(g, "08_get_weight_s2_after_200pct", "get weight apps/s2\n", pre="s2 weight 100")
C(g, "08_set_weight_20", "set weight apps/s1 20\n", pre="s1 uweight 0", after="s1 weight 20")
C(g, "08_get_weight_s1_after_set_weight", "get weight apps/s1\n", pre="s1 weight 20")
C(g, "08_get_weight_s4", "get weight apps/s4\n", pre=UP)
C(g, "08_get_weight_nosuch_srv", "get weight apps/nosuch\n", pre=UP)
C(g, "08_get_weight_nosuch_be", "get weight nosuch/s1\n", pre=UP)
C(g, "08_get_weight_noslash", "get weight apps\n", pre=UP)
C(g, "08_get_weight_user", "get weight apps/s1\n", "user", pre="s1 weight 20")

# 09 addr -----------------------------------------------------------------------------
g = group("09", "up", "set server addr")
C(g, "09_set_addr_127.0.0.2", "set server apps/s1 addr 127.0.0.2\n", pre=UP,
  after="s1 at 127.0.0.2:42101 (refused) -> DOWN by checks", wait=2.0)
C(g, "09_show_servers_state_after_addr", "show servers state apps\n", pre="s1 addr 127.0.0.2, DOWN")
C(g, "09_set_addr_back_with_port", "set server apps/s1 addr 127.0.0.1 port 42101\n", pre="s1 addr 127.0.0.2, DOWN",
  after="s1 back at 127.0.0.1:42101 -> UP by checks", wait=2.0)
C(g, "09_set_addr_same", "set server apps/s1 addr 127.0.0.1\n", pre=UP)
C(g, "09_set_addr_same_port_same", "set server apps/s1 addr 127.0.0.1 port 42101\n", pre=UP)
C(g, "09_set_addr_notanip", "set server apps/s1 addr notanip\n", pre=UP)
C(g, "09_set_addr_port_abc", "set server apps/s1 addr 127.0.0.1 port abc\n", pre=UP)
C(g, "09_set_addr_none", "set server apps/s1 addr\n", pre=UP)
C(g, "09_set_addr_port_change", "set server apps/s1 addr 127.0.0.1 port 42105\n", pre=UP,
  after="s1 at 127.0.0.1:42105 (refused) -> DOWN by checks", wait=2.0)
C(g, "09_set_addr_port_back", "set server apps/s1 addr 127.0.0.1 port 42101\n", pre="s1 at :42105 DOWN",
  after="s1 UP by checks", wait=2.0)
C(g, "09_set_addr_ipv6", "set server apps/s4 addr ::1\n", pre=UP, after="s4 addr ::1 (no check, stays UP)")
C(g, "09_show_servers_state_s4_ipv6", "show servers state apps\n", pre="s4 addr ::1")

# 10 health ---------------------------------------------------------------------------
g = group("10", "up", "set server health, disable/enable health")
C(g, "10_health_down_s4_nocheck", "set server apps/s4 health down\n", pre=UP, after="s4 DOWN (stays: no check)")
C(g, "10_show_stat_s4_down_nocheck", "show stat apps 4 -1\n", pre="s4 DOWN by CLI")
C(g, "10_health_up_s4_nocheck", "set server apps/s4 health up\n", pre="s4 DOWN", after=UP)
C(g, "10_health_down_s1", "set server apps/s1 health down\n", pre=UP,
  after="s1 DOWN, then UP again after rise=2 good checks", wait=2.0)
C(g, "10_health_stopping_s1", "set server apps/s1 health stopping\n", pre=UP,
  after="s1 stopping (NOLB), then UP again at the next passing check", wait=1.5)
C(g, "10_health_bogus", "set server apps/s1 health bogus\n", pre=UP)
C(g, "10_agent_up_s1", "set server apps/s1 agent up\n", pre=UP)
C(g, "10_disable_health_s1", "disable health apps/s1\n", pre=UP, after="s1 UP, check disabled")
C(g, "10_show_stat_s1_health_disabled", "show stat apps 4 -1\n", pre="s1 check disabled")
C(g, "10_show_servers_state_s1_health_disabled", "show servers state apps\n", pre="s1 check disabled")
C(g, "10_health_down_s1_checks_disabled", "set server apps/s1 health down\n", pre="s1 check disabled",
  after="s1 DOWN (stays: check disabled)", wait=1.5)
C(g, "10_show_stat_s1_down_checks_disabled", "show stat apps 4 -1\n", pre="s1 DOWN, check disabled")
C(g, "10_enable_health_s1", "enable health apps/s1\n", pre="s1 DOWN, check disabled",
  after="s1 UP again by checks", wait=2.0)
C(g, "10_disable_health_s4", "disable health apps/s4\n", pre=UP)
C(g, "10_enable_health_s4", "enable health apps/s4\n", pre=UP)

# 11 permissions ------------------------------------------------------------------------
g = group("11", "up", "levels / permissions")
for lvl in ("admin", "operator", "user"):
    C(g, "11_clear_counters_%s" % lvl, "clear counters\n", lvl, UP)
for lvl in ("admin", "operator", "user"):
    C(g, "11_clear_counters_all_%s" % lvl, "clear counters all\n", lvl, UP)
for lvl in ("operator", "user"):
    C(g, "11_disable_server_%s" % lvl, "disable server apps/s1\n", lvl, UP)
    C(g, "11_set_server_state_%s" % lvl, "set server apps/s1 state drain\n", lvl, UP)
    C(g, "11_set_weight_%s" % lvl, "set weight apps/s1 10\n", lvl, UP)
C(g, "11_set_server_nosuch_user", "set server nosuch/s1 state drain\n", "user", UP)
C(g, "11_enable_health_operator", "enable health apps/s1\n", "operator", UP)

# 12 framing: several commands per connection, escapes, prompt -----------------------------
g = group("12", "up", "framing")
C(g, "12_semicolon_two_cmds", "show servers state apps;get weight apps/s1\n", pre=UP)
C(g, "12_two_lines_pipelined", "get weight apps/s1\nget weight apps/s2\n", pre=UP)
C(g, "12_semicolon_escaped", "get weight apps/s1\\;get weight apps/s2\n", pre=UP)
C(g, "12_semicolon_then_error", "foo;get weight apps/s1\n", pre=UP)
C(g, "12_crlf", "get weight apps/s1\r\n", pre=UP)
C(g, "12_prompt_session", None, pre=UP, mode="interactive",
  chunks=["prompt\n", "get weight apps/s1\n", "show backend\n", "quit\n"])
C(g, "12_prompt_empty_line", None, pre=UP, mode="interactive",
  chunks=["prompt\n", "\n", "get weight apps/s1\n", "\n", "quit\n"])
C(g, "12_prompt_toggle_off", None, pre=UP, mode="interactive",
  chunks=["prompt\n", "get weight apps/s1\n", "prompt\n", "get weight apps/s2\n"])
C(g, "12_prompt_error_cmd", None, pre=UP, mode="interactive",
  chunks=["prompt\n", "get weight apps/nosuch\n", "disable server apps\n", "quit\n"])
C(g, "12_no_newline_halfclose", "get weight apps/s1", pre=UP, mode="halfclose")
C(g, "12_quit_noninteractive", "quit\n", pre=UP)

# 13 TCP socket --------------------------------------------------------------------------
g = group("13", "up", "ipv4@ TCP socket")
C(g, "13_show_backend_unix", "show backend\n", "admin", UP)
C(g, "13_show_backend_tcp", "show backend\n", "tcp", UP)

# 14 s2 DOWN run -------------------------------------------------------------------------
S2D = "s2 DOWN by checks (nothing on 42102), s1,s3 UP, s4 no check"
g = group("14", "s2down", "run with s2's backend not listening")
C(g, "14_show_stat", "show stat\n", pre=S2D)
C(g, "14_show_stat_up", "show stat up\n", pre=S2D)
C(g, "14_show_servers_state_apps", "show servers state apps\n", pre=S2D)
C(g, "14_disable_server_s2_down", "disable server apps/s2\n", pre=S2D, after="s2 MAINT (was DOWN)")
C(g, "14_show_stat_s2_maint", "show stat apps 4 -1\n", pre="s2 MAINT")
C(g, "14_enable_server_s2_down", "enable server apps/s2\n", pre="s2 MAINT, backend dead",
  after="s2 leaves maint, then DOWN by checks", wait=2.0)
C(g, "14_health_up_s2_down", "set server apps/s2 health up\n", pre=S2D, after="s2 UP, then DOWN by checks", wait=2.0)
C(g, "14_set_state_drain_s2_down", "set server apps/s2 state drain\n", pre=S2D, after="s2 DRAIN+DOWN")
C(g, "14_show_stat_s2_drain_down", "show stat apps 4 -1\n", pre="s2 DRAIN and DOWN")
C(g, "14_set_state_ready_s2_down", "set server apps/s2 state ready\n", pre="s2 DRAIN and DOWN", after=S2D)


# 15 payloads: a command line ending with "<<" takes the lines up to an empty one ---------------
g = group("15", "up", "payloads")
C(g, "15_payload_lines", "get weight apps/s1 <<\nfoo\nbar\n\n", pre=UP)
C(g, "15_payload_no_semicolon", "get weight apps/s1 <<\nfoo;get weight apps/s2\n\nget weight apps/s3\n", pre=UP)
C(g, "15_payload_empty", "get weight apps/s1 <<\n\n", pre=UP)
C(g, "15_payload_crlf", "get weight apps/s1 <<\r\nfoo\r\n\r\n", pre=UP)
C(g, "15_payload_glued", "get weight apps/s1<<\nfoo\n\n", pre=UP)
C(g, "15_payload_marker_not_last", "get weight apps/s1 << x\n", pre=UP)
C(g, "15_payload_after_semicolon", "get weight apps/s1 <<;foo\n\nget weight apps/s2\n", pre=UP)
C(g, "15_payload_two_commands", "get weight apps/s1 <<\na\n\nget weight apps/s2 <<\nb\n\n", pre=UP)
C(g, "15_payload_unknown_command", "foo <<\nbar\n\n", pre=UP)
C(g, "15_payload_marker_alone", "<<\nbar\n\n", pre=UP)
C(g, "15_payload_unterminated_halfclose", "get weight apps/s1 <<\nfoo\n", pre=UP, mode="halfclose")
C(g, "15_payload_large", "get weight apps/s1 <<\n" + ("x" * 99 + "\n") * 150 + "\n", pre=UP)
C(g, "15_payload_too_large", "get weight apps/s1 <<\n" + ("x" * 99 + "\n") * 170 + "\n", pre=UP, mode="halfclose")
C(g, "15_payload_level_user", "get weight apps/s1 <<\nx\n\n", "user", UP)
C(g, "15_payload_prompt", None, pre=UP, mode="interactive",
  chunks=["prompt\n", "get weight apps/s1 <<\n", "foo\n", "bar\n", "\n", "get weight apps/s2\n", "quit\n"])


# --------------------------------------------------------------------------- runner


def esc(b):
    if isinstance(b, str):
        b = b.encode()
    out = []
    for ch in b.decode("latin-1"):
        if ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        else:
            out.append(ch)
    return "".join(out)


def wait_settled(run, hp):
    if run == "up":
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            st = get_state()
            if all(st.get(n, (0, 0, 0))[0] == 2 and st[n][2] == 3 for n in ("s1", "s2", "s3")):
                break
            time.sleep(0.2)
    else:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            st = get_state()
            if st.get("s2", (2,))[0] == 0 and all(st[n][2] == 3 for n in ("s1", "s3")):
                break
            time.sleep(0.2)
    time.sleep(0.5)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "runtime_api"))
    ap.add_argument("--only")
    ap.add_argument("--list", action="store_true")
    a = ap.parse_args()
    if a.list:
        for gid, run, title, cases in GROUPS:
            print("%s [%s] %s" % (gid, run, title))
            for c in cases:
                print("    %s" % c["name"])
        return
    only = set(a.only.split(",")) if a.only else None
    out = os.path.abspath(a.out)
    os.makedirs(out, exist_ok=True)
    if not only:  # full run: drop stale case files
        for f in os.listdir(out):
            if f.endswith(".out"):
                os.unlink(os.path.join(out, f))
    with open(os.path.join(out, "haproxy.cfg"), "w") as f:
        f.write(CONFIG)
    rows = []
    session = []
    for gid, run, title, cases in GROUPS:
        if only and gid not in only:
            continue
        print("group %s (%s): %s" % (gid, run, title), file=sys.stderr)
        log = []
        be = Backends(["s1", "s3"] if run == "s2down" else ["s1", "s2", "s3"])
        hp = None
        marks = []
        try:
            hp = Haproxy(log)
            settled = False
            for c in cases:
                # "*_at_startup" cases run before the checks have settled
                if not settled and not c["name"].endswith("_at_startup"):
                    wait_settled(run, hp)
                    settled = True
                with hp.lock:
                    i0 = len(log)
                t_send = time.monotonic() - hp.t0
                data, eof = run_case(c)
                attempts = 1
                # read-only dumps: retry (max 10x) when a check was in flight, so that the
                # fixture does not depend on a 1 ms race (the '* ' prefix is documented)
                while c["mode"] == "simple" and attempts < 10 and check_in_progress(c["cmd"], data) \
                        and not c["name"].endswith("_at_startup"):
                    time.sleep(0.05)
                    data, eof = run_case(c)
                    attempts += 1
                time.sleep(c["wait"])
                with hp.lock:
                    new = log[i0:]
                marks.append((t_send, c["name"]))
                with open(os.path.join(out, c["name"] + ".out"), "wb") as f:
                    f.write(data)
                errs = [l for _, ch, l in new if ch == "stderr"]
                outs = [l for _, ch, l in new if ch == "stdout"]
                rows.append([c["name"], gid, run, c["level"], c["pre"], c["after"], c["mode"], esc(c["cmd"]),
                             c["name"] + ".out", str(len(data)), "yes" if eof else "NO", "%.1f" % c["wait"], str(attempts),
                             esc(" | ".join(errs)), esc(" | ".join(outs))])
                print("  %-45s %6d bytes eof=%s log=%d" % (c["name"], len(data), eof, len(new)), file=sys.stderr)
        finally:
            if hp:
                hp.stop()
            be.close()
        session.append("=== group %s [%s] %s" % (gid, run, title))
        ev = [(t, "%-6s %s" % (ch, l)) for t, ch, l in log] + [(t, ">>> case %s" % n) for t, n in marks]
        ev.sort(key=lambda x: x[0])
        for t, l in ev:
            session.append("%8.3f %s" % (t, l))
    hdr = ["case", "group", "run", "level", "pre", "after", "mode", "command", "output_file", "bytes", "eof",
           "wait_s", "attempts", "log_stderr", "log_stdout"]
    with open(os.path.join(out, "cases.tsv"), "w") as f:
        f.write("\t".join(hdr) + "\n")
        for r in rows:
            f.write("\t".join(x.replace("\t", "\\t") for x in r) + "\n")
    with open(os.path.join(out, "session_logs.txt"), "w") as f:
        f.write("\n".join(session) + "\n")


if __name__ == "__main__":
    main()
