import hx as H, rr, socket, time
res = {}
def q(cmd):
    s = socket.socket(socket.AF_UNIX); s.connect("/tmp/hx/st.sock"); s.sendall(cmd.encode() + b"\n")
    d = b""
    while True:
        x = s.recv(65536)
        if not x: break
        d += x
    return d.decode()
def during(proc):
    time.sleep(0.5)
    res["state"] = q("show servers state apps")
    t = time.time(); r = rr.req(); res["t"] = time.time() - t; res["r"] = r[:40]
G = rr.G.replace("global\n", "global\n    stats socket /tmp/hx/st.sock mode 600 level admin\n")
be = "backend apps\n    retries three\n    server s1 127.0.0.1:21101 weight abc\n    server s2 127.0.0.1:21199 weight 7 maxconn abc\n"
rr.start(["s1"])
H.run_haproxy(G + be, 4.5, extra_during=during); H.cleanup()
print(res["state"]); print("time to response", res["t"], res["r"])
