import hx as H, sys, re, json
from scen import cfg, three, ok23
rows = []
for inter in (1000, 2000, 3000, 5000):
    for tc in (500, 1000, 2000, 4000, None):
        ok23(); H.serve(21001, H.silent)
        c = cfg(three("", "    option httpchk\n", "check inter %dms rise 2 fall 2" % inter),
                tcheck=("    timeout check %dms\n" % tc) if tc else "")
        dur = (max(inter, tc or 0) + 1200) / 1000.0
        o, e, _ = H.run_haproxy(c, dur); H.cleanup()
        m = [l for t, l in e if "apps/s1 is DOWN" in l]
        d = re.search(r"check duration: (\d+)ms", m[0]).group(1) if m else "none"
        t = [t for t, l in e if "apps/s1 is DOWN" in l]
        print(inter, tc, d, "%.2f" % t[0] if t else "-"); sys.stdout.flush()
        rows.append((inter, tc, d))
json.dump(rows, open("/tmp/hx/grid.json", "w"))
