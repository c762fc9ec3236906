#!/usr/bin/env python3
"""Capture haproxy 2.6 DNS runtime behaviour: resolvers, init-addr, resolve-prefer,
server-template, SRV records, hold timers.

python3, stdlib only.  Usage:

    python3 dns_runtime.py [--out DIR] [--only NAME[,NAME...]] [--list]

Every scenario runs two mockserver processes (HTTP backends with admin API on
127.0.0.1:30900, DNS responder on 127.0.0.1:30053 with admin API on 127.0.0.1:30901)
and `haproxy -db -f site.cfg`, all bounded by `timeout`.  Actions (listener moves,
DNS record/fault changes, killing/restarting the DNS process) are applied at fixed
times measured from the haproxy spawn.  haproxy's stdout (raw log) and stderr lines
are stamped with the monotonic time at which they were read; the mockserver
journals (DNS queries, health-check requests) are put on the same clock through
`POST /v1/timelines/start` -> clock_origin_ns.

The whole run happens in a private user+network+mount namespace (`unshare -rnm`):
only a loopback interface exists, /etc/resolv.conf is replaced by
`nameserver 127.0.0.1` (port 53: nothing listens there, so libc lookups fail at once
and never leave the machine) and /etc/hosts by a private file that maps
app2.lbh.test to 127.0.0.2 only for the scenarios that ask for it (libc resolution).
Pass --no-netns to run on the host network instead (then the libc scenarios would
query the host's resolver; avoid).

Output: DIR/<scenario>.txt (config, commands, merged timeline) and DIR/all.json.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import re
import shlex
import urllib.request

PID_RE = re.compile(r"^(\[[A-Z]+\]\s+)\(\d+\)")

HAPROXY = "/usr/sbin/haproxy"
MOCK = "/work/main/build/dev/mockserver/mockserver"
HTTP_ADMIN = "127.0.0.1:30900"
DNS_ADMIN = "127.0.0.1:30901"
DNS_ADDR = "127.0.0.1:30053"
FE = "127.0.0.1:30180"

# --------------------------------------------------------------------------- config

RESOLVERS_BASE = [
    "nameserver ns1 " + DNS_ADDR,
    "timeout resolve 1s",
    "timeout retry 1s",
    "hold valid 2s",
    "hold nx 3s",
]
# distinct holds so the timing tells which one applied
RESOLVERS_HOLDS = [
    "nameserver ns1 " + DNS_ADDR,
    "timeout resolve 1s",
    "timeout retry 1s",
    "hold valid 2s",
    "hold nx 3s",
    "hold other 4s",
    "hold refused 5s",
    "hold timeout 6s",
]

LIT = "server s1 127.0.0.5:30080 check inter 500 rise 2 fall 2"
S2 = "server s2 app2.lbh.test:30080 check inter 500 rise 2 fall 2 resolvers dns init-addr none"


def cfg(servers, resolvers=RESOLVERS_BASE, with_resolvers=True, backend_extra=(), logfmt="raw"):
    out = ["global", "    log stdout format %s local0" % logfmt]
    if with_resolvers:
        out.append("resolvers dns")
        out += ["    " + x for x in resolvers]
    out += [
        "defaults",
        "    log global",
        "    mode http",
        "    timeout connect 1s",
        "    timeout server 2s",
        "    timeout client 2s",
        "    timeout check 1s",
        "frontend fe",
        "    bind " + FE,
        "    default_backend apps",
        "backend apps",
        "    option httpchk GET /",
    ]
    out += ["    " + x for x in backend_extra]
    out += ["    " + x for x in servers]
    return "\n".join(out) + "\n"


def rec(name, typ, value, ttl=30):
    return {"name": name, "type": typ, "value": value, "ttl": ttl}


def flt(kind, name=None):
    d = {"kind": kind}
    if name:
        d["name"] = name
    return d


A2 = rec("app2.lbh.test", "A", "127.0.0.2", 1)
A3 = rec("app2.lbh.test", "A", "127.0.0.3", 1)
A4 = rec("app2.lbh.test", "A", "127.0.0.4", 1)

# HTTP listeners: lit = the IP-literal s1; app2/app3/app4 = the containers
HTTP_STD = ["--listen", "lit=127.0.0.5:30080", "--listen", "app2=127.0.0.2:30080",
            "--rule", "lit: -> status 200", "--rule", "app2: -> status 200"]


def dns_args(records=(), faults=()):
    a = []
    for r in records:
        a += ["--dns-record", "%s %s %s ttl=%d" % (r["name"], r["type"], r["value"], r["ttl"])]
    for f in faults:
        a += ["--dns-fault", ("%s=%s" % (f["name"], f["kind"])) if "name" in f else f["kind"]]
    return a


def put_records(*recs):
    return ("dns", "PUT", "/v1/dns/records", list(recs))


def put_faults(*faults):
    return ("dns", "PUT", "/v1/dns/faults", list(faults))


def move(listener, addr):
    return ("http", "PATCH", "/v1/listeners/" + listener, {"listen": addr})


def mode(listener, m):
    return ("http", "PATCH", "/v1/listeners/" + listener, {"mode": m})


SCEN = []


def scen(name, title, config, http=HTTP_STD, dns=(), actions=(), duration=5000, hosts=None,
         haproxy_args=("-db",), dns_enabled=True, note=""):
    SCEN.append(dict(name=name, title=title, cfg=config, http=list(http), dns=list(dns),
                     actions=list(actions), duration=duration, hosts=hosts,
                     haproxy_args=list(haproxy_args), dns_enabled=dns_enabled, note=note))


# 1. start-up, query types, cadence --------------------------------------------------
scen("s01_startup_default", "start-up, default resolve-prefer (ipv6), TTL 1",
     cfg([LIT, S2]), dns=dns_args([A2]), duration=4500)
scen("s01_startup_prefer_ipv4", "start-up, resolve-prefer ipv4, TTL 60",
     cfg([LIT, S2 + " resolve-prefer ipv4"]),
     dns=dns_args([rec("app2.lbh.test", "A", "127.0.0.2", 60)]), duration=4500)
scen("s01_startup_resolve3s", "start-up, timeout resolve 3s, hold valid 10s (cadence)",
     cfg([LIT, S2], resolvers=["nameserver ns1 " + DNS_ADDR, "timeout resolve 3s",
                               "timeout retry 1s", "hold valid 10s"]),
     dns=dns_args([A2]), duration=10500)
scen("s01_no_answer_startup", "DNS never answers from start (resolve_retries 3, retry 1s, hold timeout 3s)",
     cfg([LIT, S2], resolvers=RESOLVERS_BASE + ["resolve_retries 3", "hold timeout 3s"]),
     dns=dns_args([A2], [flt("no-answer")]), duration=9500)
scen("s01_no_answer_retries2", "DNS never answers (resolve_retries 2, timeout retry 300ms, timeout resolve 2s), prefer ipv4",
     cfg([LIT, S2 + " resolve-prefer ipv4"],
         resolvers=["nameserver ns1 " + DNS_ADDR, "timeout resolve 2s", "timeout retry 300ms",
                    "resolve_retries 2", "hold timeout 3s"]),
     dns=dns_args([A2], [flt("no-answer")]), duration=7500)
scen("s01_nx_retries", "NXDOMAIN from start: how many queries per round (default prefer, retries 3)",
     cfg([LIT, S2], resolvers=RESOLVERS_BASE + ["resolve_retries 3"]),
     dns=dns_args([rec("other.lbh.test", "A", "127.0.0.9")]), duration=7000)

# 3. re-created container ---------------------------------------------------------
scen("s03_recreate_same_time", "UP at .2; at 3000 the container moves to .3 and the A record changes at once",
     cfg([LIT, S2]), dns=dns_args([A2]),
     actions=[(3000, move("app2", "127.0.0.3:30080")), (3000, put_records(A3))], duration=7000)
scen("s03_recreate_record_late", "UP at .2; container moves at 3000, A record changes at 5500",
     cfg([LIT, S2]), dns=dns_args([A2]),
     actions=[(3000, move("app2", "127.0.0.3:30080")), (5500, put_records(A3))], duration=9000)
scen("s03_recreate_hold_valid_short", "timeout resolve 10s, hold valid 1s: container moves at 3000, record at 3000 (does a failing check trigger a query?)",
     cfg([LIT, S2], resolvers=["nameserver ns1 " + DNS_ADDR, "timeout resolve 10s",
                               "timeout retry 1s", "hold valid 1s"]),
     dns=dns_args([A2]),
     actions=[(3000, move("app2", "127.0.0.3:30080")), (3000, put_records(A3))], duration=9000)
scen("s03_no_resolvers", "no resolvers: s2 IP literal 127.0.0.2, s3 name via libc (/etc/hosts) once at start; container moves at 3000",
     cfg([LIT, "server s2 127.0.0.2:30080 check inter 500 rise 2 fall 2",
          "server s3 app2.lbh.test:30080 check inter 500 rise 2 fall 2"], with_resolvers=False),
     hosts="127.0.0.1 localhost\n127.0.0.2 app2.lbh.test\n",
     actions=[(3000, move("app2", "127.0.0.3:30080"))], duration=7000, dns_enabled=False)
scen("s03_ip_change_both_alive", "UP at .2; at 3000 the record changes to .3 (both addresses serve)",
     cfg([LIT, S2]),
     http=HTTP_STD + ["--listen", "app3=127.0.0.3:30080", "--rule", "app3: -> status 200"],
     dns=dns_args([A2]), actions=[(3000, put_records(A3))], duration=6000)
scen("s03_ip_change_to_dead", "UP at .2; at 3000 the record changes to .4 where nothing listens",
     cfg([LIT, S2]), dns=dns_args([A2]), actions=[(3000, put_records(A4))], duration=7000)
scen("s03_down_then_ip_change", "resolved to .2 which refuses (DOWN by checks); at 4000 record -> .3 which serves",
     cfg([LIT, S2]),
     http=["--listen", "lit=127.0.0.5:30080", "--listen", "app3=127.0.0.3:30080",
           "--rule", "lit: -> status 200", "--rule", "app3: -> status 200"],
     dns=dns_args([A2]), actions=[(4000, put_records(A3))], duration=7500)

# 4. name vanishes -------------------------------------------------------------------
HOLDCFG = cfg([LIT, S2], resolvers=RESOLVERS_HOLDS)
for kind in ("nxdomain", "servfail", "refused", "no-answer"):
    scen("s04_%s" % kind.replace("-", "_"),
         "%s for app2 from 3000 to 13000 (hold valid 2s nx 3s other 4s refused 5s timeout 6s)" % kind,
         HOLDCFG, dns=dns_args([A2]),
         actions=[(3000, put_faults(flt(kind, "app2.lbh.test"))), (13000, put_faults())],
         duration=17000)
scen("s04_empty_noerror", "app2 has no A/AAAA (only an SRV record: empty NOERROR) from 3000 to 13000",
     HOLDCFG, dns=dns_args([A2]),
     actions=[(3000, put_records(rec("app2.lbh.test", "SRV", "10 10 30080 app9.lbh.test"))),
              (13000, put_records(A2))], duration=17000)
scen("s04_nx_retry300", "nxdomain 3000..9000; timeout resolve 2s, retry 300ms, hold nx 1s (when is the error reported?)",
     cfg([LIT, S2], resolvers=["nameserver ns1 " + DNS_ADDR, "timeout resolve 2s", "timeout retry 300ms",
                               "hold valid 10s", "hold nx 1s"]), dns=dns_args([A2]),
     actions=[(3000, put_faults(flt("nxdomain", "app2.lbh.test"))), (9000, put_faults())],
     duration=12000)
scen("s04_timeout_retry300", "no-answer 3000..11000; timeout resolve 2s, retry 300ms, hold timeout 1s",
     cfg([LIT, S2], resolvers=["nameserver ns1 " + DNS_ADDR, "timeout resolve 2s", "timeout retry 300ms",
                               "hold valid 10s", "hold timeout 1s"]), dns=dns_args([A2]),
     actions=[(3000, put_faults(flt("no-answer", "app2.lbh.test"))), (11000, put_faults())],
     duration=14000)
for kind in ("truncated", "wrong-id", "garbage", "ttl-0"):
    scen("s04_%s" % kind.replace("-", "_"),
         "%s for app2 from 3000 to 13000 (hold valid 2s nx 3s other 4s refused 5s timeout 6s)" % kind,
         HOLDCFG, dns=dns_args([A2]),
         actions=[(3000, put_faults(flt(kind, "app2.lbh.test"))), (13000, put_faults())],
         duration=16000)
scen("s04_nx_prefer_ipv4", "nxdomain 3000..13000 with resolve-prefer ipv4 (query pattern)",
     cfg([LIT, S2 + " resolve-prefer ipv4"], resolvers=RESOLVERS_HOLDS), dns=dns_args([A2]),
     actions=[(3000, put_faults(flt("nxdomain", "app2.lbh.test"))), (13000, put_faults())],
     duration=17000)
scen("s04_nx_while_down", "server DOWN by checks (refuses) when NXDOMAIN starts at 3000; back at 10000",
     HOLDCFG, http=["--listen", "lit=127.0.0.5:30080", "--rule", "lit: -> status 200"],
     dns=dns_args([A2]),
     actions=[(3000, put_faults(flt("nxdomain", "app2.lbh.test"))), (10000, put_faults())],
     duration=13000)

# 5. DNS server down entirely --------------------------------------------------------
scen("s05_dns_process_killed", "DNS process killed at 3000 (ICMP port unreachable), restarted at 13000",
     HOLDCFG, dns=dns_args([A2]),
     actions=[(3000, ("kill_dns",)), (13000, ("start_dns",))], duration=17000)
scen("s05_dns_all_no_answer", "every name no-answer from 3000 to 13000",
     HOLDCFG, dns=dns_args([A2]),
     actions=[(3000, put_faults(flt("no-answer"))), (13000, put_faults())], duration=17000)

# 6. start-up with an unresolvable name ------------------------------------------------
NX = "nx.lbh.test"
for ia in ("none", "libc", "127.0.0.9", "last", "last,libc", "libc,none", None):
    tag = (ia or "default").replace(",", "_").replace(".", "_")
    line = "server s2 %s:30080 check inter 500 rise 2 fall 2 resolvers dns" % NX
    if ia:
        line += " init-addr " + ia
    scen("s06_initaddr_%s" % tag, "unresolvable name at start, init-addr %s (with resolvers)" % (ia or "(default)"),
         cfg([LIT, line]), dns=dns_args([A2]), duration=7000 if ia == "127.0.0.9" else 3500)
for ia in ("libc", None, "127.0.0.9"):
    tag = (ia or "default").replace(".", "_")
    line = "server s2 %s:30080 check inter 500 rise 2 fall 2" % NX
    if ia:
        line += " init-addr " + ia
    scen("s06_noresolvers_%s" % tag, "unresolvable name at start, no resolvers, init-addr %s" % (ia or "(default)"),
         cfg([LIT, line], with_resolvers=False), duration=2500, dns_enabled=False)
scen("s06_initaddr_libc_ip", "unresolvable name at start, init-addr libc,127.0.0.9 (with resolvers)",
     cfg([LIT, "server s2 %s:30080 check inter 500 rise 2 fall 2 resolvers dns init-addr libc,127.0.0.9" % NX]),
     dns=dns_args([A2]), duration=2500)
scen("s06_dr_noresolvers", "haproxy -dr (resolution failures ignored), no resolvers, default init-addr",
     cfg([LIT, "server s2 %s:30080 check inter 500 rise 2 fall 2" % NX], with_resolvers=False),
     haproxy_args=["-db", "-dr"], duration=2500, dns_enabled=False)
scen("s06_initaddr_none_check_mode", "haproxy -c with init-addr none/libc/default",
     cfg([LIT, "server s2 %s:30080 resolvers dns init-addr none" % NX,
          "server s3 %s:30080 resolvers dns" % NX]),
     dns=dns_args([A2]), haproxy_args=["-c"], duration=3000)
scen("s06_initaddr_libc_check_mode", "haproxy -c with init-addr libc",
     cfg([LIT, "server s2 %s:30080 resolvers dns init-addr libc" % NX]),
     dns=dns_args([A2]), haproxy_args=["-c"], duration=3000)
scen("s06_initaddr_ip_nx_serving", "init-addr 127.0.0.9 (serving) for a name that is NXDOMAIN in the resolvers",
     cfg([LIT, "server s2 %s:30080 check inter 500 rise 2 fall 2 resolvers dns init-addr 127.0.0.9" % NX]),
     http=HTTP_STD + ["--listen", "app9=127.0.0.9:30080", "--rule", "app9: -> status 200"],
     dns=dns_args([A2]), duration=8000)
scen("s06_initaddr_ip_then_resolves", "init-addr 127.0.0.9 for a name that resolves to .2 via resolvers",
     cfg([LIT, S2.replace("init-addr none", "init-addr 127.0.0.9")]), dns=dns_args([A2]), duration=4000)
scen("s06_initaddr_libc_then_resolvers", "init-addr libc (hosts: app2 -> .2), resolvers answer .3",
     cfg([LIT, S2.replace("init-addr none", "init-addr libc")]),
     http=HTTP_STD + ["--listen", "app3=127.0.0.3:30080", "--rule", "app3: -> status 200"],
     hosts="127.0.0.1 localhost\n127.0.0.2 app2.lbh.test\n", dns=dns_args([A3]), duration=4000)

# 7. resolve-prefer ------------------------------------------------------------------
V6 = rec("app2.lbh.test", "AAAA", "::1", 1)
scen("s07_prefer", "A 127.0.0.2 and AAAA ::1: s2 default, s3 resolve-prefer ipv4, s4 resolve-prefer ipv6",
     cfg([LIT, S2, S2.replace("server s2", "server s3") + " resolve-prefer ipv4",
          S2.replace("server s2", "server s4") + " resolve-prefer ipv6"]),
     http=HTTP_STD + ["--listen", "v6=[::1]:30080", "--rule", "v6: -> status 200"],
     dns=dns_args([A2, V6]), duration=4000)
scen("s07_aaaa_appears", "prefer ipv4 server and default server; A .2 only, AAAA ::1 added at 3000, A removed at 6000",
     cfg([LIT, S2, S2.replace("server s2", "server s3") + " resolve-prefer ipv4"]),
     http=HTTP_STD + ["--listen", "v6=[::1]:30080", "--rule", "v6: -> status 200"],
     dns=dns_args([A2]), actions=[(3000, put_records(A2, V6)), (6000, put_records(V6))], duration=9000)

# 8/10. server-template -----------------------------------------------------------------
TPL_HTTP = ["--listen", "lit=127.0.0.5:30080", "--rule", "lit: -> status 200"]
for i in (2, 3, 4):
    TPL_HTTP += ["--listen", "app%d=127.0.0.%d:30080" % (i, i), "--rule", "app%d: -> status 200" % i]


def arec(ip):
    return rec("app.lbh.test", "A", ip, 1)


TPL = "server-template srv 3 app.lbh.test:30080 check inter 500 rise 2 fall 2 resolvers dns init-addr none"
TPL_ACTIONS = [(3000, put_records(arec("127.0.0.2"), arec("127.0.0.3"), arec("127.0.0.4"))),
               (6000, put_records(arec("127.0.0.2"), arec("127.0.0.4"))),
               (9000, put_records(arec("127.0.0.3"))),
               (12000, put_records(arec("127.0.0.4"), arec("127.0.0.3"), arec("127.0.0.2")))]
scen("s08_template", "server-template srv 3; A: 1 addr (.2), 3000: .2 .3 .4, 6000: .2 .4, 9000: .3, 12000: .4 .3 .2",
     cfg([LIT, TPL]), http=TPL_HTTP, dns=dns_args([arec("127.0.0.2")]), actions=TPL_ACTIONS,
     duration=15000)
scen("s08_template_prefer_ipv4", "same with resolve-prefer ipv4",
     cfg([LIT, TPL + " resolve-prefer ipv4"]), http=TPL_HTTP, dns=dns_args([arec("127.0.0.2")]),
     actions=TPL_ACTIONS, duration=15000)
scen("s10_template_hold_obsolete", "same with hold obsolete 4s",
     cfg([LIT, TPL], resolvers=RESOLVERS_BASE + ["hold obsolete 4s"]), http=TPL_HTTP,
     dns=dns_args([arec("127.0.0.2")]), actions=TPL_ACTIONS, duration=15000)
scen("s10_template_hold_obsolete_gap", "template, hold obsolete 4s: .2 .3 .4 at start, .3 missing 3000..11000",
     cfg([LIT, TPL], resolvers=RESOLVERS_BASE + ["hold obsolete 4s"]), http=TPL_HTTP,
     dns=dns_args([arec("127.0.0.2"), arec("127.0.0.3"), arec("127.0.0.4")]),
     actions=[(3000, put_records(arec("127.0.0.2"), arec("127.0.0.4"))),
              (11000, put_records(arec("127.0.0.2"), arec("127.0.0.3"), arec("127.0.0.4")))],
     duration=14000)
scen("s10_single_hold_obsolete", "single server, hold obsolete 4s: A .2 -> .3 at 3000 (both serve)",
     cfg([LIT, S2], resolvers=RESOLVERS_BASE + ["hold obsolete 4s"]),
     http=HTTP_STD + ["--listen", "app3=127.0.0.3:30080", "--rule", "app3: -> status 200"],
     dns=dns_args([A2]), actions=[(3000, put_records(A3))], duration=10000)
scen("s08_template_allow_dup", "template with resolve-opts allow-dup-ip, 1 address then 2",
     cfg([LIT, TPL + " resolve-opts allow-dup-ip"]), http=TPL_HTTP, dns=dns_args([arec("127.0.0.2")]),
     actions=[(3000, put_records(arec("127.0.0.2"), arec("127.0.0.3")))], duration=6000)
scen("s08_two_servers_same_name", "s2 and s3 both app2.lbh.test (no template): 1 A record, 2 from 3000",
     cfg([LIT, S2, S2.replace("server s2", "server s3")]),
     http=HTTP_STD + ["--listen", "app3=127.0.0.3:30080", "--rule", "app3: -> status 200"],
     dns=dns_args([A2]), actions=[(3000, put_records(A2, A3))], duration=6000)
scen("s08_template_hash_order", "template srv 3, A answer order .4 .2 .6 at start (eb32/XXH32 order predicts srv1=.6 srv2=.2 srv3=.4)",
     cfg([LIT, TPL]), http=TPL_HTTP + ["--listen", "app6=127.0.0.6:30080", "--rule", "app6: -> status 200"],
     dns=dns_args([arec("127.0.0.4"), arec("127.0.0.2"), arec("127.0.0.6")]), duration=2500)
scen("s08_template_nx", "template, 3 addrs, NXDOMAIN 3000..10000 (hold nx 3s)",
     cfg([LIT, TPL], resolvers=RESOLVERS_HOLDS), http=TPL_HTTP,
     dns=dns_args([arec("127.0.0.2"), arec("127.0.0.3"), arec("127.0.0.4")]),
     actions=[(3000, put_faults(flt("nxdomain", "app.lbh.test"))), (10000, put_faults())],
     duration=13000)

# 9. SRV ------------------------------------------------------------------------------
SRVNAME = "_http._tcp.app.lbh.test"


def srv(port, target="app2.lbh.test", prio=10, weight=10):
    return rec(SRVNAME, "SRV", "%d %d %d %s" % (prio, weight, port, target), 1)


SRV_HTTP = TPL_HTTP + ["--listen", "app2b=127.0.0.2:30081", "--rule", "app2b: -> status 200"]
SRV_T = "server-template srv 2 %s resolvers dns init-addr none check inter 500 rise 2 fall 2" % SRVNAME
scen("s09_srv", "SRV: app2:30080; 4000 port -> 30081; 7000 + app3:30080; 10000 SRV gone (NOERROR, no SRV); 13000 back app4:30080",
     cfg([LIT, SRV_T], resolvers=RESOLVERS_HOLDS), http=SRV_HTTP,
     dns=dns_args([srv(30080), A2, rec("app3.lbh.test", "A", "127.0.0.3", 1),
                   rec("app4.lbh.test", "A", "127.0.0.4", 1)]),
     actions=[(4000, put_records(srv(30081), A2, rec("app3.lbh.test", "A", "127.0.0.3", 1),
                                 rec("app4.lbh.test", "A", "127.0.0.4", 1))),
              (7000, put_records(srv(30081), srv(30080, "app3.lbh.test"), A2,
                                 rec("app3.lbh.test", "A", "127.0.0.3", 1),
                                 rec("app4.lbh.test", "A", "127.0.0.4", 1))),
              (10000, put_records(A2, rec(SRVNAME, "A", "127.0.0.9", 1))),
              (13000, put_records(srv(30080, "app4.lbh.test"), rec("app4.lbh.test", "A", "127.0.0.4", 1)))],
     duration=17000)
scen("s09_srv_nx", "SRV app2:30080; NXDOMAIN for the SRV name 3000..12000 (hold nx 3s); target A changes to .3 at 14000",
     cfg([LIT, SRV_T], resolvers=RESOLVERS_HOLDS), http=SRV_HTTP + ["--listen", "app3b=127.0.0.3:30081"],
     dns=dns_args([srv(30080), A2]),
     actions=[(3000, put_faults(flt("nxdomain", SRVNAME))), (12000, put_faults()),
              (14000, put_records(srv(30080), A3))],
     duration=17000)
scen("s09_srv_no_additional", "SRV whose target has no address in the additional section (target resolved by A query)",
     cfg([LIT, SRV_T], resolvers=RESOLVERS_HOLDS), http=SRV_HTTP,
     dns=dns_args([srv(30080, "app5.lbh.test")]),
     actions=[(3000, put_records(srv(30080, "app5.lbh.test"), rec("app5.lbh.test", "A", "127.0.0.2", 1)))],
     duration=6000)

# 11. syslog severities (log format short: <PRI> = 128 + severity for local0) --------------
scen("s11_severity_single", "log format short: s2 up, refused (DOWN), NX (was DOWN -> maint), back, NX while UP",
     cfg([LIT, S2], resolvers=RESOLVERS_HOLDS, logfmt="short"),
     dns=dns_args([A2]),
     actions=[(2000, mode("app2", "refuse")), (3000, put_faults(flt("nxdomain", "app2.lbh.test"))),
              (6500, mode("app2", "serve")), (6500, put_faults()),
              (9000, put_faults(flt("nxdomain", "app2.lbh.test")))],
     duration=13500)
scen("s11_severity_template_srv", "log format short: template No IP + SRV FQDN/additional record lines",
     cfg([LIT, TPL, SRV_T.replace("server-template srv ", "server-template rec ")],
         resolvers=RESOLVERS_HOLDS, logfmt="short"),
     http=SRV_HTTP, dns=dns_args([arec("127.0.0.2"), arec("127.0.0.3"), srv(30080), A2]),
     actions=[(3000, put_records(arec("127.0.0.2"), srv(30081), A2))], duration=5500)

# --------------------------------------------------------------------------- running


class Proc:
    def __init__(self, argv, t0, tag):
        self.tag, self.t0, self.lines = tag, t0, []
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  stdin=subprocess.DEVNULL)
        self.threads = [threading.Thread(target=self._rd, args=(self.p.stdout, "out"), daemon=True),
                        threading.Thread(target=self._rd, args=(self.p.stderr, "err"), daemon=True)]
        for t in self.threads:
            t.start()

    def _rd(self, f, ch):
        for raw in iter(f.readline, b""):
            self.lines.append(((time.monotonic_ns() - self.t0[0]) / 1e6, ch,
                               raw.decode("utf-8", "replace").rstrip("\n")))

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(3)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        for t in self.threads:
            t.join(1)
        return self.p.returncode


def api(admin, method, path, body=None, timeout=3):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request("http://%s%s" % (admin, path), data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except Exception as e:  # noqa
        return -1, str(e)


def start_mock(args, admin, t0, tag):
    argv = ["timeout", "120", MOCK, "--admin", admin] + args
    p = Proc(argv, t0, tag)
    for _ in range(100):
        if any(l[2] == "ready" for l in p.lines):
            break
        if p.p.poll() is not None:
            break
        time.sleep(0.02)
    st, o = api(admin, "POST", "/v1/timelines/start")
    origin = o.get("clock_origin_ns") if isinstance(o, dict) else None
    return p, origin


def journal(admin, origin_ns, t0):
    st, o = api(admin, "GET", "/v1/journal?limit=100000")
    out = []
    if st != 200 or origin_ns is None:
        return out
    for e in o.get("entries", []):
        t = (origin_ns + e["t_ms"] * 1e6 - t0) / 1e6
        out.append((t, e))
    return out


def fmt_journal(t, e):
    if e["listener"] == "dns":
        return (t, "dns", "%s %s -> %s (%s)" % (e["method"], e["path"], e["outcome"], e["end"]))
    dur = "" if e.get("end_ms") is None else " %dms" % (e["end_ms"] - e["t_ms"])
    return (t, "http", "%s %s %s %s -> %s%s" % (e["listener"], e["peer"].rsplit(":", 1)[0], e["method"],
                                                  e["path"], e["outcome"], dur))


def run(s, workdir):
    os.makedirs(workdir, exist_ok=True)
    cfgpath = os.path.join(workdir, "site.cfg")
    with open(cfgpath, "w") as f:
        f.write(s["cfg"])
    hosts = s["hosts"] or "127.0.0.1 localhost\n"
    if IN_NETNS:
        with open("/etc/hosts", "w") as f:  # a bind-mounted private copy
            f.write(hosts)
    t0 = [time.monotonic_ns()]
    http_p, http_origin = start_mock(s["http"], HTTP_ADMIN, t0, "http")
    dns_p, dns_origin, dns_journal = None, None, []
    dns_argv = ["--dns", DNS_ADDR] + s["dns"]
    if s["dns_enabled"]:
        dns_p, dns_origin = start_mock(dns_argv, DNS_ADMIN, t0, "dns")
    events = []
    t0[0] = time.monotonic_ns()
    hp = Proc(["timeout", "-s", "TERM", "%.3f" % (s["duration"] / 1000.0 + 0.2), HAPROXY]
              + s["haproxy_args"] + ["-f", cfgpath], t0, "haproxy")
    pending = sorted(s["actions"], key=lambda a: a[0])
    for at, act in pending:
        now = (time.monotonic_ns() - t0[0]) / 1e6
        if at > now:
            time.sleep((at - now) / 1000.0)
        ts = (time.monotonic_ns() - t0[0]) / 1e6
        if act[0] == "kill_dns":
            if dns_p:
                dns_journal += journal(DNS_ADMIN, dns_origin, t0[0])
                dns_p.stop()
                dns_p = None
            events.append((ts, "act", "DNS process killed"))
        elif act[0] == "start_dns":
            dns_p, dns_origin = start_mock(dns_argv, DNS_ADMIN, t0, "dns")
            events.append((ts, "act", "DNS process restarted: " + " ".join(dns_argv)))
        else:
            admin = DNS_ADMIN if act[0] == "dns" else HTTP_ADMIN
            st, o = api(admin, act[1], act[2], act[3])
            events.append((ts, "act", "%s %s %s -> %s" % (act[1], act[2], json.dumps(act[3]), st)))
    try:
        hp.p.wait(s["duration"] / 1000.0 + 5)
    except subprocess.TimeoutExpired:
        pass
    rc = hp.stop()
    tend = (time.monotonic_ns() - t0[0]) / 1e6
    jl = journal(HTTP_ADMIN, http_origin, t0[0])
    if dns_p:
        dns_journal += journal(DNS_ADMIN, dns_origin, t0[0])
        dns_p.stop()
    http_p.stop()
    lines = []
    for t, ch, l in hp.lines:
        lines.append((t, ch, PID_RE.sub(r"\1(PID)", l)))
    jlines = [fmt_journal(t, e) for t, e in jl + dns_journal]
    merged = sorted(lines + jlines + events, key=lambda x: x[0])
    return dict(name=s["name"], title=s["title"], cfg=s["cfg"], rc=rc, end_ms=tend,
                http_cmd=shlex.join([MOCK, "--admin", HTTP_ADMIN] + s["http"]),
                dns_cmd=shlex.join([MOCK, "--admin", DNS_ADMIN] + dns_argv) if s["dns_enabled"] else None,
                haproxy_cmd=shlex.join([HAPROXY] + s["haproxy_args"] + ["-f", "site.cfg"]),
                hosts=s["hosts"], actions=[(a, list(x)) for a, x in s["actions"]],
                haproxy=lines, timeline=merged)


def render(r):
    out = ["## %s: %s" % (r["name"], r["title"]), "", "config:", "```", r["cfg"].rstrip(), "```"]
    out.append("http mock: `%s`" % r["http_cmd"])
    if r["dns_cmd"]:
        out.append("dns mock:  `%s`" % r["dns_cmd"])
    if r["hosts"]:
        out.append("private /etc/hosts: `%s`" % r["hosts"].strip().replace("\n", " | "))
    out.append("haproxy:   `%s`  exit code %s (SIGTERM from the runner = -15 or 124 via timeout)" % (
        r["haproxy_cmd"], r["rc"]))
    out += ["", "timeline (ms from haproxy spawn; out = raw log on stdout, err = stderr):", "```"]
    for t, ch, l in r["timeline"]:
        out.append("%7.0f %-4s %s" % (t, ch, l))
    out += ["```", ""]
    return "\n".join(out)


IN_NETNS = os.environ.get("DNSRT_NETNS") == "1"


def main():
    global IN_NETNS
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="/tmp/dnsrt/out")
    ap.add_argument("--only", default="")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--no-netns", action="store_true")
    a = ap.parse_args()
    if a.list:
        for s in SCEN:
            print("%-36s %s" % (s["name"], s["title"]))
        return
    if not IN_NETNS and not a.no_netns:
        os.makedirs(a.out, exist_ok=True)
        rc_ = os.path.join(a.out, "resolv.conf")
        hosts = os.path.join(a.out, "hosts")
        with open(rc_, "w") as f:
            f.write("nameserver 127.0.0.1\n")
        with open(hosts, "w") as f:
            f.write("127.0.0.1 localhost\n")
        inner = ("ip link set lo up && mount --bind %s /etc/resolv.conf && mount --bind %s /etc/hosts && "
                 "DNSRT_NETNS=1 exec %s %s" % (rc_, hosts, sys.executable,
                                                " ".join("'%s'" % x for x in [os.path.abspath(__file__)] + sys.argv[1:])))
        os.execvp("unshare", ["unshare", "-rnm", "sh", "-c", inner])
    only = set(x for x in a.only.split(",") if x)
    results = []
    os.makedirs(a.out, exist_ok=True)
    for s in SCEN:
        if only and s["name"] not in only and not any(s["name"].startswith(o) for o in only):
            continue
        print("running", s["name"], file=sys.stderr, flush=True)
        r = run(s, os.path.join(a.out, "work", s["name"]))
        with open(os.path.join(a.out, s["name"] + ".txt"), "w") as f:
            f.write(render(r))
        results.append(r)
    with open(os.path.join(a.out, "all.json" if not only else "part-%d.json" % os.getpid()), "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
