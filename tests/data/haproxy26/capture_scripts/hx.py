"""Tiny harness: run haproxy with a config + python fake backends, capture lines."""
import os, re, socket, struct, subprocess, threading, time, tempfile, select

STOP = threading.Event()
THREADS = []
SOCKS = []


def _serve(port, behaviour, start_delay=0.0, stop_after=None, schedule=None):
    """behaviour: callable(conn) or a schedule list of (t_from, callable)."""
    t0 = time.time()
    if start_delay:
        time.sleep(start_delay)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(64)
    s.settimeout(0.1)
    SOCKS.append(s)
    while not STOP.is_set():
        if stop_after is not None and time.time() - t0 > stop_after:
            break
        try:
            c, _ = s.accept()
        except socket.timeout:
            continue
        except OSError:
            break
        b = behaviour
        if schedule:
            el = time.time() - t0
            for tf, beh in schedule:
                if el >= tf:
                    b = beh
        th = threading.Thread(target=_wrap, args=(b, c), daemon=True)
        th.start()
    s.close()


def _wrap(b, c):
    try:
        b(c)
    except Exception:
        pass
    finally:
        try:
            c.close()
        except Exception:
            pass


def serve(port, behaviour=None, start_delay=0.0, stop_after=None, schedule=None):
    th = threading.Thread(target=_serve, args=(port, behaviour, start_delay, stop_after, schedule), daemon=True)
    th.start()
    THREADS.append(th)


def _read_req(c, timeout=1.0):
    c.settimeout(timeout)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            d = c.recv(4096)
            if not d:
                break
            data += d
    except Exception:
        pass
    return data


REQS = []


def http(status_line, body=b"", headers=None):
    def f(c):
        req = _read_req(c)
        REQS.append(req)
        h = headers if headers is not None else [b"Content-Length: %d" % len(body), b"Connection: close"]
        c.sendall(status_line + b"\r\n" + b"".join(x + b"\r\n" for x in h) + b"\r\n" + body)
        time.sleep(0.05)
    return f


def silent(c):
    end = time.time() + 30
    c.settimeout(0.1)
    while not STOP.is_set() and time.time() < end:
        try:
            d = c.recv(4096)
            if d == b"":
                return
        except socket.timeout:
            pass


def raw_then_close(data, read_first=True):
    def f(c):
        if read_first:
            c.settimeout(0.3)
            try:
                c.recv(4096)
            except Exception:
                pass
        c.sendall(data)
        time.sleep(0.05)
    return f


def raw_then_hold(data):
    def f(c):
        c.sendall(data)
        silent(c)
    return f


def empty(c):
    pass


def rst(c):
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    time.sleep(0.02)


def rst_after_read(c):
    c.settimeout(0.5)
    try:
        c.recv(4096)
    except Exception:
        pass
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def backlog_full(port, nfill=64):
    """listening socket, backlog 0, never accepted, pre-filled until connects hang."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(0)
    SOCKS.append(s)
    clients = []
    for i in range(nfill):
        c = socket.socket()
        c.setblocking(False)
        try:
            c.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        clients.append(c)
        time.sleep(0.01)
    # check last is hanging
    time.sleep(0.3)
    SOCKS.extend(clients)
    return clients


def cleanup():
    STOP.set()
    for s in SOCKS:
        try:
            s.close()
        except Exception:
            pass
    SOCKS.clear()
    for t in THREADS:
        t.join(timeout=2)
    THREADS.clear()
    REQS.clear()
    STOP.clear()


PIDRE = re.compile(r"\((\d+)\)")


def run_haproxy(cfg, duration, extra_during=None):
    d = tempfile.mkdtemp(prefix="hx")
    p = os.path.join(d, "site.cfg")
    open(p, "w").write(cfg)
    t0 = time.time()
    proc = subprocess.Popen(["timeout", str(int(duration) + 5), "haproxy", "-db", "-f", p],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out_lines, err_lines = [], []

    def rd(stream, acc):
        for line in iter(stream.readline, b""):
            acc.append((time.time() - t0, line.decode("latin1").rstrip("\n")))

    ta = threading.Thread(target=rd, args=(proc.stdout, out_lines), daemon=True)
    tb = threading.Thread(target=rd, args=(proc.stderr, err_lines), daemon=True)
    ta.start(); tb.start()
    res = None
    if extra_during:
        res = extra_during(proc)
    while time.time() - t0 < duration and proc.poll() is None:
        time.sleep(0.05)
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill(); proc.wait()
    ta.join(2); tb.join(2)
    pid = str(proc.pid)
    err = [(t, re.sub(r"\(\d+\)", "(PID)", l, count=1)) for t, l in err_lines]
    return out_lines, err, res


GLOBAL = """global
    log stdout format raw local0
defaults
    log global
    mode http
    timeout connect 5s
    timeout client 5s
    timeout server 5s
    timeout check 2s
"""
