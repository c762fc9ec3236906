import hx as H, sys, re, json
from scen import cfg, three, ok23
def one(inter, tc, servers):
    H.serve(21001, H.silent)
    be = "backend apps\n    option httpchk\n    server s1 127.0.0.1:21001 check inter %dms rise 2 fall 2\n" % inter
    if servers == 3:
        ok23(); be += "    server s2 127.0.0.1:21002 check inter %dms rise 2 fall 2\n    server s3 127.0.0.1:21003 check inter %dms rise 2 fall 2\n" % (inter, inter)
    c = cfg(be, tcheck=("    timeout check %dms\n" % tc) if tc else "")
    dur = (max(inter, tc or 0) + 1200) / 1000.0
    o, e, _ = H.run_haproxy(c, dur); H.cleanup()
    m = [l for t, l in e if "apps/s1 is DOWN" in l]
    return re.search(r"check duration: (\d+)ms", m[0]).group(1) if m else "none"
for inter, tc in [(2000,500),(2000,1000),(3000,500),(5000,500),(5000,4000),(1000,500)]:
    print(inter, tc, "1srv:", one(inter, tc, 1), one(inter, tc, 1), "3srv:", one(inter, tc, 3)); sys.stdout.flush()
