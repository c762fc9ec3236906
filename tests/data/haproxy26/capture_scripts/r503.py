import hx as H, socket, time
from rr import G, srv, PORTS
OUT = "/work/main/tests/data/haproxy26"
def rawreq(data, port=20080):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.settimeout(1.0)
    s.sendall(data)
    out = b""
    try:
        while True:
            d = s.recv(65536)
            if not d: out += b"<<EOF>>"; break
            out += d
    except socket.timeout:
        out += b"<<OPEN>>"
    s.close(); return out
res = {}
def during(proc):
    time.sleep(1.0)
    res["ka11"] = rawreq(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    res["http10"] = rawreq(b"GET / HTTP/1.0\r\n\r\n")
    res["close11"] = rawreq(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    res["head11"] = rawreq(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
chk = " check inter 200ms rise 2 fall 2"
H.run_haproxy(G + "backend apps\n" + srv("s1", None, chk), 2.5, extra_during=during); H.cleanup()
for k, v in res.items():
    print(k, repr(v))
    open(OUT + "/http_503_no_server_%s.bin" % k, "wb").write(v)
