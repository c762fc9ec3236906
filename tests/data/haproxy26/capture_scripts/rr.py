import hx as H, socket, time, json, sys
OUT = "/work/main/tests/data/haproxy26"
G = """global
    log stdout format raw local0
defaults
    mode http
    timeout connect 5s
    timeout client 5s
    timeout server 5s
    timeout check 2s
frontend fe
    bind 127.0.0.1:20080
    default_backend apps
"""
def req(port=20080, path="/"):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        d = s.recv(65536)
        if not d: break
        data += d
    s.close()
    return data
def body(r):
    return r.split(b"\r\n\r\n", 1)[1].decode().strip() if b"\r\n\r\n" in r else "ERR"

PORTS = {"s1": 21101, "s2": 21102, "s3": 21103, "b1": 21111, "b2": 21112}
def start(names):
    for n in names:
        H.serve(PORTS[n], H.http(b"HTTP/1.1 200 OK", n.encode() + b"\n", [b"Content-Length: %d" % (len(n)+1), b"Connection: close"]))

def run(backend, names, n, wait=0.5, rounds=2):
    seqs = []
    for _ in range(rounds):
        start(names)
        res = {}
        def during(proc):
            time.sleep(wait)
            res["seq"] = [body(req()) for _ in range(n)]
        H.run_haproxy(G + backend, wait + 1.0 + n*0.02, extra_during=during)
        H.cleanup()
        seqs.append(",".join(res["seq"]))
        time.sleep(0.2)
    return seqs

def srv(name, w=None, extra=""):
    return "    server %s 127.0.0.1:%d%s%s\n" % (name, PORTS[name], (" weight %d" % w) if w is not None else "", extra)

rows = []
def case(name, weights_desc, backend, names, n, **kw):
    seqs = run(backend, names, n, **kw)
    det = "deterministic" if len(set(seqs)) == 1 else "VARIES:" + "|".join(seqs)
    print(name, weights_desc, seqs[0], det); sys.stdout.flush()
    rows.append((name, weights_desc, seqs[0], det))

def main():
    for ws in [(1,1,1), (1,2,3), (3,1), (5,3,2), (2,2)]:
        names = ["s1","s2","s3"][:len(ws)]
        be = "backend apps\n    balance roundrobin\n" + "".join(srv(nm, w) for nm, w in zip(names, ws))
        case("roundrobin_" + "_".join(map(str, ws)), ",".join(map(str, ws)), be, names, 2*sum(ws))
    for ws in [(1,2,3), (5,3,2)]:
        names = ["s1","s2","s3"][:len(ws)]
        be = "backend apps\n    balance static-rr\n" + "".join(srv(nm, w) for nm, w in zip(names, ws))
        case("static_rr_" + "_".join(map(str, ws)), ",".join(map(str, ws)), be, names, 2*sum(ws))
    # roundrobin with check (passing)
    be = "backend apps\n    balance roundrobin\n" + "".join(srv(nm, w, " check inter 1s") for nm, w in zip(["s1","s2","s3"], (1,2,3)))
    case("roundrobin_1_2_3_with_checks", "1,2,3", be, ["s1","s2","s3"], 12)
    # s2 backup
    be = "backend apps\n    balance roundrobin\n" + srv("s1") + srv("s2", None, " backup") + srv("s3")
    case("roundrobin_1_1_1_s2_backup", "1,1(backup),1", be, ["s1","s2","s3"], 6)
    # first
    be = "backend apps\n    balance first\n" + srv("s1", None, " maxconn 1") + srv("s2", None, " maxconn 1") + srv("s3", None, " maxconn 1")
    case("first_maxconn1_sequential", "1,1,1", be, ["s1","s2","s3"], 6)
    be = "backend apps\n    balance leastconn\n" + srv("s1") + srv("s2") + srv("s3")
    case("leastconn_sequential", "1,1,1", be, ["s1","s2","s3"], 6)
    be = "backend apps\n    balance leastconn\n" + srv("s1",1) + srv("s2",2) + srv("s3",3)
    case("leastconn_sequential_1_2_3", "1,2,3", be, ["s1","s2","s3"], 12)
    # all actives down (refused) with two backups
    chk = " check inter 200ms rise 2 fall 2"
    be = "backend apps\n    balance roundrobin\n" + srv("s1",None,chk) + srv("s2",None,chk) + srv("b1",None,chk+" backup") + srv("b2",None,chk+" backup")
    case("actives_down_two_backups", "s1,s2 down; b1,b2 backup", be, ["b1","b2"], 6, wait=1.2)
    be = "backend apps\n    balance roundrobin\n    option allbackups\n" + srv("s1",None,chk) + srv("s2",None,chk) + srv("b1",None,chk+" backup") + srv("b2",None,chk+" backup")
    case("actives_down_two_backups_allbackups", "s1,s2 down; b1,b2 backup", be, ["b1","b2"], 6, wait=1.2)
    be = "backend apps\n    balance roundrobin\n    option allbackups\n" + srv("s1",None,chk) + srv("s2",None,chk) + srv("b1",1,chk+" backup") + srv("b2",3,chk+" backup")
    case("actives_down_two_backups_allbackups_w1_3", "s1,s2 down; b1 w1,b2 w3 backup", be, ["b1","b2"], 8, wait=1.2)
    be = "backend apps\n    balance roundrobin\n" + srv("s1",None,chk) + srv("s2",None,chk) + srv("b1",None,chk+" backup") + srv("b2",None,chk+" backup")
    case("actives_down_b1_down_b2_up", "s1,s2,b1 down; b2 backup", be, ["b2"], 4, wait=1.2)
    # one active down among three (checks)
    be = "backend apps\n    balance roundrobin\n" + srv("s1",None,chk) + srv("s2",None,chk) + srv("s3",None,chk)
    case("roundrobin_1_1_1_s2_down", "1,1(down),1", be, ["s1","s3"], 6, wait=1.2)

    with open(OUT + "/roundrobin.tsv", "w") as f:
        f.write("case\tweights\tsequence\tnote\n")
        for r in rows:
            f.write("\t".join(r) + "\n")

    # 503 exact bytes
    res = {}
    def during(proc):
        time.sleep(1.0)
        res["r"] = req()
        res["r2"] = req(path="/some/path?x=1")
    be = "backend apps\n" + srv("s1",None,chk)
    H.run_haproxy(G + be, 2.0, extra_during=during); H.cleanup()
    open(OUT + "/http_503_no_server.bin", "wb").write(res["r"])
    print(repr(res["r"])); print(res["r"] == res["r2"])
    # 503 when backend has no check but server refuses (retries exhausted)
    res = {}
    def during2(proc):
        time.sleep(0.3)
        t = time.time(); res["r"] = req(); res["t"] = time.time() - t
    be = "backend apps\n" + srv("s1")
    o, e, _ = H.run_haproxy(G.replace("defaults\n", "defaults\n    log global\n") + be, 6.0, extra_during=during2); H.cleanup()
    open(OUT + "/http_503_connect_refused.bin", "wb").write(res["r"])
    print(repr(res["r"]), "%.2fs" % res["t"])
    for t, l in o: print("RAW", l)
    for t, l in e: print("ERR", l)

if __name__ == '__main__':
    main()
