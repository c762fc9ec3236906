"""httplog / tcplog / error-response captures from the real haproxy 2.6 binary.

Self-contained (does not need hx.py). Run from a scratch dir, e.g.
    mkdir -p /tmp/hl && cp httplog.py /tmp/hl && cd /tmp/hl && python3 httplog.py
Writes into OUT (below): httplog.tsv, http_response_<case>.bin, http_forwarded_<case>.bin,
and a scratch summary httplog_summary.json in the current directory (timings, stderr, backend
request bytes). `python3 httplog.py CASE...` runs only those cases and writes nothing but stdout.

Only 127.0.0.1 and ports 22000-22999 are used:
  22080 frontend, 22001/22002 fake backends, 22011/22012 closed ports (nothing listens there).
Every case starts its own haproxy (`timeout -k 2 N haproxy -db -f site.cfg`), which gets SIGTERM
at the end of the case (SIGTERM prints nothing). Every loop is bounded in time.
"""
import json, os, re, socket, subprocess, sys, tempfile, threading, time

OUT = os.environ.get("HL_OUT", "/work/main/tests/data/haproxy26")
FE = 22080
S1, S2 = 22001, 22002
CLOSED1, CLOSED2 = 22011, 22012

STOP = threading.Event()
LSOCKS = []
THREADS = []
BACKREQS = []          # (port, conn_no, bytes of one request as received)
BACKREQS_LOCK = threading.Lock()
CONN_NO = [0]


# ---------------------------------------------------------------- fake backends
def _recv_until_headers(c, buf, deadline):
    """returns (request_bytes or None, rest, eof)"""
    while b"\r\n\r\n" not in buf:
        if STOP.is_set() or time.time() > deadline:
            return None, buf, False
        try:
            d = c.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            return None, buf, True
        if not d:
            return None, buf, True
        buf += d
    i = buf.index(b"\r\n\r\n") + 4
    return buf[:i], buf[i:], False


def _wait_eof(c, deadline):
    while not STOP.is_set() and time.time() < deadline:
        try:
            d = c.recv(65536)
            if not d:
                return
        except socket.timeout:
            continue
        except OSError:
            return


def responder(resp_for):
    """keep-alive server: for every request call resp_for(req) -> bytes (None = say nothing)."""
    def f(c, port, no):
        c.settimeout(0.05)
        deadline = time.time() + 8
        buf = b""
        while True:
            req, buf, eof = _recv_until_headers(c, buf, deadline)
            if req is None:
                return
            with BACKREQS_LOCK:
                BACKREQS.append((port, no, req))
            r = resp_for(req)
            if r:
                c.sendall(r)
    return f


def fixed(resp):
    return responder(lambda req: resp)


def silent(c, port, no):
    """reads the request, never answers, waits until haproxy closes."""
    c.settimeout(0.05)
    deadline = time.time() + 8
    req, buf, eof = _recv_until_headers(c, b"", deadline)
    if req is not None:
        with BACKREQS_LOCK:
            BACKREQS.append((port, no, req))
        _wait_eof(c, deadline)


def close_after_read(c, port, no):
    """reads the request, then closes (FIN, nothing unread)."""
    c.settimeout(0.05)
    req, buf, eof = _recv_until_headers(c, b"", time.time() + 3)
    if req is not None:
        with BACKREQS_LOCK:
            BACKREQS.append((port, no, req))


def garbage_then_hold(data):
    def f(c, port, no):
        c.settimeout(0.05)
        deadline = time.time() + 8
        req, buf, eof = _recv_until_headers(c, b"", deadline)
        if req is None:
            return
        with BACKREQS_LOCK:
            BACKREQS.append((port, no, req))
        c.sendall(data)
        _wait_eof(c, deadline)
    return f


def tcp_echo_world(c, port, no):
    """mode tcp: reads one chunk, answers 'world\\n', closes (FIN)."""
    c.settimeout(0.05)
    deadline = time.time() + 3
    data = b""
    while b"\n" not in data and time.time() < deadline and not STOP.is_set():
        try:
            d = c.recv(65536)
        except socket.timeout:
            continue
        if not d:
            break
        data += d
    with BACKREQS_LOCK:
        BACKREQS.append((port, no, data))
    c.sendall(b"world\n")
    time.sleep(0.05)


def _conn_thread(beh, c, port, no):
    try:
        beh(c, port, no)
    except Exception:
        pass
    finally:
        try:
            c.close()
        except Exception:
            pass


def _serve(s, port, beh):
    while not STOP.is_set():
        try:
            c, _ = s.accept()
        except socket.timeout:
            continue
        except OSError:
            break
        CONN_NO[0] += 1
        t = threading.Thread(target=_conn_thread, args=(beh, c, port, CONN_NO[0]), daemon=True)
        t.start()
        THREADS.append(t)


def serve(port, beh):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(64)
    s.settimeout(0.05)
    LSOCKS.append(s)
    t = threading.Thread(target=_serve, args=(s, port, beh), daemon=True)
    t.start()
    THREADS.append(t)


def stop_backends():
    STOP.set()
    for s in LSOCKS:
        try:
            s.close()
        except Exception:
            pass
    for t in THREADS:
        t.join(timeout=3)
    LSOCKS.clear(); THREADS.clear()
    STOP.clear()


# ---------------------------------------------------------------- haproxy
def listening(port):
    hexport = ":%04X" % port
    try:
        for line in open("/proc/net/tcp").read().splitlines()[1:]:
            f = line.split()
            if f[1].endswith(hexport) and f[3] == "0A":
                return True
    except OSError:
        pass
    return False


class Haproxy:
    def __init__(self, cfg, max_life):
        self.dir = tempfile.mkdtemp(prefix="hl")
        p = os.path.join(self.dir, "site.cfg")
        open(p, "w").write(cfg)
        self.t0 = time.time()
        self.proc = subprocess.Popen(["timeout", "-k", "2", str(int(max_life)), "haproxy", "-db", "-f", p],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=self.dir)
        self.out, self.err = [], []
        self.ta = threading.Thread(target=self._rd, args=(self.proc.stdout, self.out), daemon=True)
        self.tb = threading.Thread(target=self._rd, args=(self.proc.stderr, self.err), daemon=True)
        self.ta.start(); self.tb.start()

    def _rd(self, stream, acc):
        for line in iter(stream.readline, b""):
            acc.append((round(time.time() - self.t0, 3), line.decode("latin1").rstrip("\n")))

    def wait_listen(self, port=FE, limit=3.0):
        end = time.time() + limit
        while time.time() < end:
            if listening(port):
                time.sleep(0.1)
                return True
            if self.proc.poll() is not None:
                return False
            time.sleep(0.02)
        return False

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill(); self.proc.wait()
        self.ta.join(2); self.tb.join(2)
        # wait until the frontend port is released before the next case
        end = time.time() + 3
        while listening(FE) and time.time() < end:
            time.sleep(0.02)


# ---------------------------------------------------------------- client
def client(steps, port=FE):
    """steps: ('send', b) | ('sleep', s) | ('read_eof', max_s) | ('read_idle', idle_s, max_s) | ('close',)
    returns dict(resp=bytes, eof=bool, first_byte=s since connect, eof_at=s since connect)"""
    s = socket.create_connection(("127.0.0.1", port), timeout=3)
    t0 = time.time()
    out = b""; eof = False; first = None; eof_at = None
    for st in steps:
        if st[0] == "send":
            try:
                s.sendall(st[1])
            except OSError:
                pass
        elif st[0] == "sleep":
            time.sleep(st[1])
        elif st[0] in ("read_eof", "read_idle"):
            idle = st[1] if st[0] == "read_idle" else None
            mx = st[2] if st[0] == "read_idle" else st[1]
            end = time.time() + mx
            last = time.time()
            s.settimeout(0.02)
            while time.time() < end and not eof:
                if idle is not None and time.time() - last > idle:
                    break
                try:
                    d = s.recv(65536)
                except socket.timeout:
                    continue
                except ConnectionResetError:
                    eof = True; eof_at = time.time() - t0; out += b""; break
                if not d:
                    eof = True; eof_at = round(time.time() - t0, 3)
                    break
                if first is None:
                    first = round(time.time() - t0, 3)
                out += d
                last = time.time()
        elif st[0] == "close":
            break
    s.close()
    return dict(resp=out, eof=eof, first_byte=first, eof_at=eof_at)


# ---------------------------------------------------------------- configs
def cfg_http(servers, defaults_extra="", fe_extra="", be_extra=""):
    return ("global\n"
            "    log stdout format raw local0\n"
            "defaults\n"
            "    log global\n"
            "    mode http\n"
            "    option httplog\n"
            "    timeout connect 1s\n"
            "    timeout client 2s\n"
            "    timeout server 1s\n"
            "    timeout http-request 1s\n"
            + defaults_extra +
            "frontend fe\n"
            "    bind 127.0.0.1:%d\n"
            "    default_backend apps\n" % FE
            + fe_extra +
            "backend apps\n"
            + be_extra + servers)


STD_SERVERS = "    server s1 127.0.0.1:%d\n    server s2 127.0.0.1:%d\n" % (S1, S2)

CFG_TCP = ("global\n"
           "    log stdout format raw local0\n"
           "defaults\n"
           "    log global\n"
           "    mode tcp\n"
           "    option tcplog\n"
           "    timeout connect 1s\n"
           "    timeout client 2s\n"
           "    timeout server 1s\n"
           "frontend fe\n"
           "    bind 127.0.0.1:%d\n"
           "    default_backend apps\n"
           "backend apps\n" % FE + STD_SERVERS)

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n"
GET_CLOSE = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
GET_KA = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n"
GET_11 = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
GET_10 = b"GET / HTTP/1.0\r\n\r\n"


def head_or_ok(req):
    if req.startswith(b"HEAD "):
        return b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n"
    return OK


# name: dict(cfg, backends {port: behaviour}, steps, post (seconds to wait for logs), save_resp, save_fwd)
CASES = [
    ("ok_get", dict(cfg=cfg_http(STD_SERVERS), backends={S1: fixed(OK), S2: fixed(OK)},
                    steps=[("send", GET_CLOSE), ("read_eof", 3)], resp=True, fwd="close11")),
    ("ok_keepalive_two", dict(cfg=cfg_http(STD_SERVERS), backends={S1: fixed(OK), S2: fixed(OK)},
                              steps=[("send", GET_11), ("read_idle", 0.3, 2),
                                     ("send", GET_CLOSE), ("read_eof", 3)], resp=True)),
    ("no_server_disabled", dict(cfg=cfg_http("    server s1 127.0.0.1:%d disabled\n"
                                             "    server s2 127.0.0.1:%d disabled\n" % (S1, S2)),
                                backends={S1: fixed(OK), S2: fixed(OK)},
                                steps=[("send", GET_CLOSE), ("read_eof", 3)], resp=True)),
    ("no_server_down", dict(cfg=cfg_http("    server s1 127.0.0.1:%d check inter 200ms\n"
                                         "    server s2 127.0.0.1:%d check inter 200ms\n" % (CLOSED1, CLOSED2)),
                            backends={}, pre=1.0,
                            steps=[("send", GET_CLOSE), ("read_eof", 3)], resp=True)),
    ("connect_refused_retries", dict(cfg=cfg_http("    server s1 127.0.0.1:%d\n"
                                                  "    server s2 127.0.0.1:%d\n" % (CLOSED1, CLOSED2)),
                                     backends={},
                                     steps=[("send", GET_CLOSE), ("read_eof", 7)], resp=True)),
    ("connect_refused_redispatch", dict(cfg=cfg_http("    server s1 127.0.0.1:%d\n"
                                                     "    server s2 127.0.0.1:%d\n" % (CLOSED1, CLOSED2),
                                                     defaults_extra="    option redispatch\n"),
                                        backends={},
                                        steps=[("send", GET_CLOSE), ("read_eof", 7)], resp=True)),
    ("server_timeout", dict(cfg=cfg_http(STD_SERVERS), backends={S1: silent, S2: silent},
                            steps=[("send", GET_CLOSE), ("read_eof", 4)], resp=True)),
    ("bad_response", dict(cfg=cfg_http(STD_SERVERS),
                          backends={S1: garbage_then_hold(b"xyz\r\n\r\n"), S2: garbage_then_hold(b"xyz\r\n\r\n")},
                          steps=[("send", GET_CLOSE), ("read_eof", 3)], resp=True)),
    ("server_close_before_response", dict(cfg=cfg_http(STD_SERVERS),
                                          backends={S1: close_after_read, S2: close_after_read},
                                          steps=[("send", GET_CLOSE), ("read_eof", 3)], resp=True)),
    ("bad_request_dup_cl", dict(cfg=cfg_http(STD_SERVERS), backends={S1: fixed(OK), S2: fixed(OK)},
                                steps=[("send", b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
                                                b"Content-Length: 2\r\n\r\n"), ("read_eof", 3)], resp=True)),
    ("bad_request_garbage", dict(cfg=cfg_http(STD_SERVERS), backends={S1: fixed(OK), S2: fixed(OK)},
                                 steps=[("send", b"GARBAGE\r\n\r\n"), ("read_eof", 3)], resp=True)),
    ("slow_request", dict(cfg=cfg_http(STD_SERVERS), backends={S1: fixed(OK), S2: fixed(OK)},
                          steps=[("send", b"GET / HTTP/1.1\r\n"), ("read_eof", 4)], resp=True)),
    ("idle_no_data", dict(cfg=cfg_http(STD_SERVERS), backends={S1: fixed(OK), S2: fixed(OK)},
                          steps=[("read_eof", 4)], resp=True)),
    ("idle_no_data_dontlognull", dict(cfg=cfg_http(STD_SERVERS, defaults_extra="    option dontlognull\n"),
                                      backends={S1: fixed(OK), S2: fixed(OK)},
                                      steps=[("read_eof", 4)], resp=True)),
    ("client_closes_without_request", dict(cfg=cfg_http(STD_SERVERS), backends={S1: fixed(OK), S2: fixed(OK)},
                                           steps=[("close",)])),
    ("client_closes_without_request_dontlognull",
     dict(cfg=cfg_http(STD_SERVERS, defaults_extra="    option dontlognull\n"),
          backends={S1: fixed(OK), S2: fixed(OK)}, steps=[("close",)])),
    ("client_closes_partial_request", dict(cfg=cfg_http(STD_SERVERS), backends={S1: fixed(OK), S2: fixed(OK)},
                                           steps=[("send", b"GET / HTTP/1.1\r\n"), ("sleep", 0.2), ("close",)])),
    ("head_request", dict(cfg=cfg_http(STD_SERVERS), backends={S1: responder(head_or_ok), S2: responder(head_or_ok)},
                          steps=[("send", b"HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
                                 ("read_eof", 3)], resp=True)),
    ("no_content_204", dict(cfg=cfg_http(STD_SERVERS),
                            backends={S1: fixed(b"HTTP/1.1 204 No Content\r\n\r\n"),
                                      S2: fixed(b"HTTP/1.1 204 No Content\r\n\r\n")},
                            steps=[("send", GET_CLOSE), ("read_eof", 3)], resp=True)),
    ("chunked_response", dict(cfg=cfg_http(STD_SERVERS),
                              backends={S1: fixed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                                  b"3\r\nabc\r\n0\r\n\r\n"),
                                        S2: fixed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                                  b"3\r\nabc\r\n0\r\n\r\n")},
                              steps=[("send", GET_CLOSE), ("read_eof", 3)], resp=True)),
    ("forwardfor_close11", dict(cfg=cfg_http(STD_SERVERS, defaults_extra="    option forwardfor\n"),
                                backends={S1: fixed(OK), S2: fixed(OK)},
                                steps=[("send", GET_CLOSE), ("read_eof", 3)], resp=True, fwd="forwardfor_close11")),
    ("forwardfor_existing_xff", dict(cfg=cfg_http(STD_SERVERS, defaults_extra="    option forwardfor\n"),
                                     backends={S1: fixed(OK), S2: fixed(OK)},
                                     steps=[("send", b"GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 10.0.0.1\r\n"
                                                     b"Connection: close\r\n\r\n"), ("read_eof", 3)],
                                     fwd="forwardfor_existing_xff")),
    ("keepalive11", dict(cfg=cfg_http(STD_SERVERS), backends={S1: fixed(OK), S2: fixed(OK)},
                         steps=[("send", GET_KA), ("read_idle", 0.3, 2), ("close",)], resp=True, fwd="keepalive11")),
    ("http10", dict(cfg=cfg_http(STD_SERVERS), backends={S1: fixed(OK), S2: fixed(OK)},
                    steps=[("send", GET_10), ("read_eof", 3)], resp=True, fwd="http10")),
    ("implicit_keepalive11", dict(cfg=cfg_http(STD_SERVERS), backends={S1: fixed(OK), S2: fixed(OK)},
                                  steps=[("send", GET_11), ("read_idle", 0.3, 2), ("close",)], resp=True,
                                  fwd="implicit_keepalive11")),
    ("keepalive_idle_timeout", dict(cfg=cfg_http(STD_SERVERS), backends={S1: fixed(OK), S2: fixed(OK)},
                                    steps=[("send", GET_11), ("read_eof", 3)], resp=True)),
    ("capture_headers", dict(cfg=cfg_http(STD_SERVERS, fe_extra="    capture request header Host len 20\n"
                                                                  "    capture request header X-Absent len 20\n"
                                                                  "    capture response header Content-Length len 10\n"),
                             backends={S1: fixed(OK), S2: fixed(OK)},
                             steps=[("send", GET_CLOSE), ("read_eof", 3)])),
    ("chunked_multi", dict(cfg=cfg_http(STD_SERVERS),
                           backends={S1: fixed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n"
                                               b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"),
                                     S2: fixed(OK)},
                           steps=[("send", GET_CLOSE), ("read_eof", 3)], resp=True)),
    ("request_line_escaping", dict(cfg=cfg_http(STD_SERVERS), backends={S1: fixed(OK), S2: fixed(OK)},
                                   steps=[("send", b'GET /a?b="c"&d=%20 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
                                          ("read_eof", 3)])),
    ("tcp_forward", dict(cfg=CFG_TCP, backends={S1: tcp_echo_world, S2: tcp_echo_world},
                         steps=[("send", b"hello\n"), ("read_eof", 3)])),
]

# cases whose client response is written as http_response_<case>.bin
RESP_FILES = {"ok_get", "ok_keepalive_two", "no_server_disabled", "no_server_down", "connect_refused_retries",
              "connect_refused_redispatch", "server_timeout", "bad_response", "server_close_before_response",
              "bad_request_dup_cl", "bad_request_garbage", "slow_request", "idle_no_data",
              "head_request", "no_content_204", "chunked_response",
              "keepalive_idle_timeout", "chunked_multi"}


def run_case(name, c):
    BACKREQS.clear()
    for port, beh in c["backends"].items():
        serve(port, beh)
    hp = Haproxy(c["cfg"], max_life=20)
    ok = hp.wait_listen()
    if c.get("pre"):
        time.sleep(c["pre"])
    t_req = round(time.time() - hp.t0, 3)
    res = client(c["steps"]) if ok else dict(resp=b"", eof=False, first_byte=None, eof_at=None)
    time.sleep(c.get("post", 0.5))
    hp.stop()
    stop_backends()
    return dict(listening=ok, t_request=t_req, client=res, out=hp.out, err=hp.err,
                backreqs=list(BACKREQS), cfg=c["cfg"], rc=hp.proc.returncode)


def main():
    only = set(sys.argv[1:])
    results = {}
    for name, c in CASES:
        if only and name not in only:
            continue
        r = run_case(name, c)
        results[name] = r
        print("=== %s (listening=%s, rc=%s, t_request=%.3f)" % (name, r["listening"], r["rc"], r["t_request"]))
        for t, l in r["out"]:
            print("  out %.3f %s" % (t, l))
        for t, l in r["err"]:
            print("  err %.3f %s" % (t, l))
        cl = r["client"]
        print("  client eof=%s first=%s eof_at=%s resp=%r" % (cl["eof"], cl["first_byte"], cl["eof_at"], cl["resp"]))
        for port, no, b in r["backreqs"]:
            print("  backend %d conn#%d got %r" % (port, no, b))
        sys.stdout.flush()

    if only:
        return
    with open(os.path.join(OUT, "httplog.tsv"), "w") as f:
        f.write("case\tline\n")
        for name, _ in CASES:
            for t, l in results[name]["out"]:
                f.write("%s\t%s\n" % (name, l))
    for name, c in CASES:
        r = results[name]
        if name in RESP_FILES:
            open(os.path.join(OUT, "http_response_%s.bin" % name), "wb").write(r["client"]["resp"])
        if c.get("fwd"):
            reqs = [b for _, _, b in r["backreqs"]]
            assert len(reqs) == 1, (name, reqs)
            open(os.path.join(OUT, "http_forwarded_%s.bin" % c["fwd"]), "wb").write(reqs[0])
    summ = {}
    for name, r in results.items():
        cl = dict(r["client"]); cl["resp"] = cl["resp"].decode("latin1")
        summ[name] = dict(t_request=r["t_request"], client=cl, out=r["out"], err=r["err"], rc=r["rc"],
                          backreqs=[(p, n, b.decode("latin1")) for p, n, b in r["backreqs"]])
    json.dump(summ, open("httplog_summary.json", "w"), indent=1)


if __name__ == "__main__":
    main()
