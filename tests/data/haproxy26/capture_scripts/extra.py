import hx as H, sys, time, json, socket, threading
from scen import cfg, three, ok23, OK, S, sc
@sc("timeout_check_500ms_inter3s_quirk", 5)
def _():
    ok23(); H.serve(21001, H.silent)
    return cfg(three("", "    option httpchk\n    timeout check 500ms\n", "check inter 3s rise 2 fall 2"))
@sc("timeout_check_500ms_inter1s", 3)
def _():
    ok23(); H.serve(21001, H.silent)
    return cfg(three("", "    option httpchk\n    timeout check 500ms\n", "check inter 1s rise 2 fall 2"))
@sc("fastinter_downinter_timing_lhc", 8)
def _():
    ok23()
    H.serve(21001, schedule=[(0, OK), (2.0, H.http(b"HTTP/1.1 500 Internal Server Error", b"")), (5.0, OK)])
    return cfg(three("", "    option httpchk\n    option log-health-checks\n", "check inter 1s fastinter 200ms downinter 700ms rise 3 fall 3"))
@sc("going_down_then_recover_lhc", 6)
def _():
    ok23()
    H.serve(21001, schedule=[(0, OK), (1.5, H.http(b"HTTP/1.1 500 Internal Server Error", b"")), (2.2, OK)])
    return cfg(three("", "    option httpchk\n    option log-health-checks\n", "check inter 500ms rise 2 fall 3"))
@sc("weight0_drain_lhc", 2)
def _():
    ok23(); H.serve(21001, OK)
    return cfg(three(" weight 0", "    option httpchk\n    option log-health-checks\n"))

REQ_CASES = {
 "req_httpchk_default": "    option httpchk\n",
 "req_httpchk_uri": "    option httpchk /health\n",
 "req_httpchk_meth_uri": "    option httpchk GET /health\n",
 "req_httpchk_get11_hdr_host": "    option httpchk GET /health HTTP/1.1\n    http-check send hdr Host example.com\n",
 "req_httpchk_get11_no_host": "    option httpchk GET /health HTTP/1.1\n",
 "req_http_check_send_body": "    option httpchk\n    http-check send meth POST uri /p ver HTTP/1.1 hdr Host h hdr X-Custom Abc body hello\n",
 "req_send_state": "    option httpchk\n    http-check send-state\n",
 "req_tcpcheck_plain": "",
}
def reqcap():
    out = {}
    for name, extra in REQ_CASES.items():
        H.serve(21001, OK); H.serve(21002, OK); H.serve(21003, OK)
        c = cfg(three("", extra, "check inter 1s rise 2 fall 2"))
        o, e, _ = H.run_haproxy(c, 0.5)
        out[name] = {"cfg": c, "reqs": [r.decode("latin1") for r in H.REQS]}
        print(name, repr(H.REQS[:1]))
        H.cleanup()
    json.dump(out, open("/tmp/hx/reqs.json", "w"), indent=1)

def softstop():
    # start, then SIGUSR1 then SIGTERM -> capture lines
    import subprocess, os, signal, tempfile
    ok23(); H.serve(21001, OK)
    c = cfg(three("", "    option httpchk\n"))
    d = tempfile.mkdtemp(); p = d + "/site.cfg"; open(p, "w").write(c)
    res = {}
    for sig in ("USR1", "TERM", "INT"):
        pr = subprocess.Popen(["timeout", "10", "haproxy", "-db", "-f", p], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(0.7)
        # signal haproxy itself (child of timeout)
        hp = subprocess.run(["pgrep", "-P", str(pr.pid)], stdout=subprocess.PIPE).stdout.split()
        for x in hp: os.kill(int(x), getattr(signal, "SIG" + sig))
        try:
            so, se = pr.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            pr.kill(); so, se = pr.communicate()
        res[sig] = {"rc": pr.returncode, "stdout": so.decode(), "stderr": se.decode()}
        print(sig, res[sig])
    H.cleanup()
    json.dump(res, open("/tmp/hx/softstop.json", "w"), indent=1)

if __name__ == "__main__":
    names = ["timeout_check_500ms_inter3s_quirk", "timeout_check_500ms_inter1s", "fastinter_downinter_timing_lhc", "going_down_then_recover_lhc", "weight0_drain_lhc"]
    res = {}
    for n in names:
        f, dur = S[n]; c = f()
        o, e, _ = H.run_haproxy(c, dur); H.cleanup()
        res[n] = {"cfg": c, "stderr": e, "raw": o}
        print("==", n)
        for t, l in e: print("  E %.2f %s" % (t, l))
        sys.stdout.flush()
    json.dump(res, open("/tmp/hx/res_extra.json", "w"), indent=1)
    reqcap()
    softstop()
