import rr, hx as H, sys, time
rows = []
def srvs(ws, names=("s1","s2","s3")):
    return "".join(rr.srv(nm, w) for nm, w in zip(names, ws))
for ws in [(1,2,3),(5,3,2),(2,1),(1,1,2),(4,3)]:
    names = ["s1","s2","s3"][:len(ws)]
    be = "backend apps\n    balance roundrobin\n" + srvs(ws)
    seqs = rr.run(be, names, 4*sum(ws), rounds=1)
    rows.append(("roundrobin_%s_4cycles" % "_".join(map(str,ws)), ",".join(map(str,ws)), seqs[0], "4*sum(weights) requests"))
    print(rows[-1]); sys.stdout.flush()
# s2 goes down then comes back (checks): requests before/during/after
chk = " check inter 200ms rise 2 fall 2"
be = "backend apps\n    balance roundrobin\n" + "".join(rr.srv(n, None, chk) for n in ("s1","s2","s3"))
rr.start(["s1","s3"])
beh = H.http(b"HTTP/1.1 200 OK", b"s2\n", [b"Content-Length: 3", b"Connection: close"])
H.serve(rr.PORTS["s2"], beh, stop_after=1.0)
res = {}
def during(proc):
    time.sleep(0.5); a = [rr.body(rr.req()) for _ in range(4)]
    time.sleep(1.5); b = [rr.body(rr.req()) for _ in range(4)]
    H.serve(rr.PORTS["s2"], beh)
    time.sleep(1.5); c = [rr.body(rr.req()) for _ in range(6)]
    res["s"] = ",".join(a) + " | " + ",".join(b) + " | " + ",".join(c)
o, e, _ = H.run_haproxy(rr.G + be, 4.5, extra_during=during); H.cleanup()
rows.append(("roundrobin_1_1_1_s2_down_then_up", "1,1,1", res["s"], "4 req (all up) | 4 req (s2 down) | 6 req (s2 back up); ' | ' separates phases"))
print(rows[-1]); [print(l) for t, l in e]
with open("/work/main/tests/data/haproxy26/roundrobin.tsv", "a") as f:
    for r in rows: f.write("\t".join(r) + "\n")
