import hx, sys, json, time
H = hx
def cfg(backend, tcheck="    timeout check 2s\n", fe=True, extra_defaults=""):
    g = H.GLOBAL.replace("    timeout check 2s\n", tcheck) + extra_defaults
    if fe:
        g += "\nfrontend fe\n    bind 127.0.0.1:20080\n    default_backend apps\n"
    return g + "\n" + backend

OK = H.http(b"HTTP/1.1 200 OK", b"ok\n")
def ok(port): H.serve(port, OK)

S = {}
def sc(name, dur):
    def deco(f):
        S[name] = (f, dur)
        return f
    return deco

def three(opts_s1, extra="", srvopts="check inter 500ms rise 2 fall 2"):
    return f"""backend apps
{extra}    server s1 127.0.0.1:21001 {srvopts}{opts_s1}
    server s2 127.0.0.1:21002 {srvopts}
    server s3 127.0.0.1:21003 {srvopts}
"""
def ok23(): ok(21002); ok(21003)
PONG = H.raw_then_close(b"PONG\r\n")
def ok23p(): H.serve(21002, PONG); H.serve(21003, PONG)

@sc("refused_plain", 2)
def _():
    ok23(); return cfg(three(""))
@sc("refused_httpchk", 2)
def _():
    ok23(); return cfg(three("", "    option httpchk\n"))
@sc("refused_tcpcheck_implicit", 2)
def _():
    ok23(); return cfg(three("", "    option tcp-check\n"))
@sc("refused_tcpcheck_explicit_connect", 2)
def _():
    ok23(); return cfg(three("", "    option tcp-check\n    tcp-check connect\n"))
@sc("plain_down_then_up", 4)
def _():
    ok23(); H.serve(21001, H.silent, start_delay=1.2); return cfg(three(""))
@sc("httpchk_500", 2)
def _():
    ok23(); H.serve(21001, H.http(b"HTTP/1.1 500 Internal Server Error", b"err\n")); return cfg(three("", "    option httpchk\n"))
@sc("httpchk_503_noreason", 2)
def _():
    ok23(); H.serve(21001, H.http(b"HTTP/1.1 503", b"")); return cfg(three("", "    option httpchk\n"))
@sc("httpchk_404", 2)
def _():
    ok23(); H.serve(21001, H.http(b"HTTP/1.1 404 Not Found", b"")); return cfg(three("", "    option httpchk\n"))
@sc("httpchk_302_passes_then_up", 4)
def _():
    # refused first (DOWN), then 302 -> UP
    ok23(); H.serve(21001, H.http(b"HTTP/1.1 302 Found", b"", [b"Location: /x", b"Content-Length: 0"]), start_delay=1.2)
    return cfg(three("", "    option httpchk\n"))
@sc("httpchk_302_from_start_no_line", 2)
def _():
    ok23(); H.serve(21001, H.http(b"HTTP/1.1 302 Found", b"", [b"Location: /x", b"Content-Length: 0"]))
    return cfg(three("", "    option httpchk\n"))
@sc("httpchk_500_then_200", 5)
def _():
    ok23(); H.serve(21001, schedule=[(0, H.http(b"HTTP/1.1 500 Internal Server Error", b"err\n")), (1.5, OK)])
    return cfg(three("", "    option httpchk\n"))
@sc("silent_httpchk_tcheck2s_inter1s", 4)
def _():
    ok23(); H.serve(21001, H.silent)
    return cfg(three("", "    option httpchk\n", "check inter 1s rise 2 fall 2"))
@sc("silent_httpchk_no_tcheck_inter1500", 4)
def _():
    ok23(); H.serve(21001, H.silent)
    return cfg(three("", "    option httpchk\n", "check inter 1500ms rise 2 fall 2"), tcheck="")
@sc("silent_plain_passes_no_line", 2)
def _():
    ok23(); H.serve(21001, H.silent); return cfg(three(""))
@sc("syn_drop_plain_inter1s_tconn5s_tcheck2s", 4)
def _():
    ok23(); H.backlog_full(21001)
    return cfg(three("", "", "check inter 1s rise 2 fall 2"))
@sc("syn_drop_httpchk_inter1s_tconn5s_tcheck2s", 4)
def _():
    ok23(); H.backlog_full(21001)
    return cfg(three("", "    option httpchk\n", "check inter 1s rise 2 fall 2"))
@sc("syn_drop_plain_inter1s_tconn5s_no_tcheck", 4)
def _():
    ok23(); H.backlog_full(21001)
    return cfg(three("", "", "check inter 1s rise 2 fall 2"), tcheck="")
@sc("syn_drop_plain_inter3s_tconn1500ms_tcheck2s", 4)
def _():
    ok23(); H.backlog_full(21001)
    return cfg(three("", "    timeout connect 1500ms\n", "check inter 3s rise 2 fall 2"))
@sc("syn_drop_plain_inter3s_tconn1500ms_no_tcheck", 5)
def _():
    ok23(); H.backlog_full(21001)
    return cfg(three("", "    timeout connect 1500ms\n", "check inter 3s rise 2 fall 2"), tcheck="")
@sc("garbage_httpchk", 2)
def _():
    ok23(); H.serve(21001, H.raw_then_close(b"xyz\r\n")); return cfg(three("", "    option httpchk\n"))
@sc("empty_httpchk", 2)
def _():
    ok23(); H.serve(21001, H.empty); return cfg(three("", "    option httpchk\n"))
@sc("rst_after_accept_httpchk", 2)
def _():
    ok23(); H.serve(21001, H.rst); return cfg(three("", "    option httpchk\n"))
@sc("rst_after_read_httpchk", 2)
def _():
    ok23(); H.serve(21001, H.rst_after_read); return cfg(three("", "    option httpchk\n"))
@sc("rst_after_accept_plain", 2)
def _():
    ok23(); H.serve(21001, H.rst); return cfg(three(""))
@sc("rst_after_accept_tcpcheck_expect", 2)
def _():
    ok23p(); H.serve(21001, H.rst)
    return cfg(three("", "    option tcp-check\n    tcp-check expect string PONG\n"))
@sc("last_server_down_backend", 2)
def _():
    return cfg("backend apps\n    server s1 127.0.0.1:21001 check inter 500ms rise 2 fall 2\n")
@sc("last_server_down_listen", 2)
def _():
    return cfg("listen lst\n    bind 127.0.0.1:20081\n    server s1 127.0.0.1:21001 check inter 500ms rise 2 fall 2\n", fe=False)
@sc("last_two_servers_down_backend", 2)
def _():
    return cfg("backend apps\n    server s1 127.0.0.1:21001 check inter 500ms rise 2 fall 2\n    server s2 127.0.0.1:21002 check inter 500ms rise 2 fall 2\n")
@sc("backup_running_on_backup", 2)
def _():
    ok(21011)
    return cfg("backend apps\n    server s1 127.0.0.1:21001 check inter 500ms rise 2 fall 2\n    server b1 127.0.0.1:21011 check inter 500ms rise 2 fall 2 backup\n")
@sc("backup_down_while_active_up", 2)
def _():
    ok(21002)
    return cfg("backend apps\n    server s1 127.0.0.1:21002 check inter 500ms rise 2 fall 2\n    server b1 127.0.0.1:21011 check inter 500ms rise 2 fall 2 backup\n")
@sc("backup_then_backup_down_then_up", 6)
def _():
    H.serve(21011, H.silent, stop_after=2.0)   # plain check; listener closes at 2s
    H.serve(21001, H.silent, start_delay=4.0)  # active comes back at 4s
    return cfg("backend apps\n    server s1 127.0.0.1:21001 check inter 300ms rise 2 fall 2\n    server b1 127.0.0.1:21011 check inter 300ms rise 2 fall 2 backup\n    server b2 127.0.0.1:21012 check inter 300ms rise 2 fall 2 backup\n")
@sc("log_health_checks_transitions", 7)
def _():
    ok23()
    H.serve(21001, schedule=[(0, OK), (1.5, H.http(b"HTTP/1.1 404 Not Found", b"")), (3.5, OK)])
    return cfg(three("", "    option httpchk\n    option log-health-checks\n", "check inter 300ms rise 2 fall 2"))
@sc("log_health_checks_refused_then_up_rise3_fall3", 6)
def _():
    ok23()
    H.serve(21001, H.silent, start_delay=2.5)
    return cfg(three("", "    option log-health-checks\n", "check inter 300ms rise 3 fall 3"))
@sc("log_health_checks_backup", 3)
def _():
    H.serve(21011, OK, start_delay=1.0)
    return cfg("backend apps\n    option httpchk\n    option log-health-checks\n    server s1 127.0.0.1:21001 check inter 300ms rise 2 fall 2\n    server b1 127.0.0.1:21011 check inter 300ms rise 2 fall 2 backup\n")
@sc("tcpcheck_send_expect_timeout", 4)
def _():
    ok23p(); H.serve(21001, H.raw_then_hold(b"hello\r\n"))
    return cfg(three("", "    option tcp-check\n    tcp-check send PING\\r\\n\n    tcp-check expect string PONG\n", "check inter 1s rise 2 fall 2"))
@sc("tcpcheck_send_expect_wrong_then_close", 2)
def _():
    ok23p(); H.serve(21001, H.raw_then_close(b"hello\r\n"))
    return cfg(three("", "    option tcp-check\n    tcp-check send PING\\r\\n\n    tcp-check expect string PONG\n", "check inter 1s rise 2 fall 2"))
@sc("tcpcheck_send_expect_pass_then_up", 4)
def _():
    ok23p(); H.serve(21001, H.raw_then_close(b"PONG\r\n"), start_delay=1.2)
    return cfg(three("", "    option tcp-check\n    tcp-check send PING\\r\\n\n    tcp-check expect string PONG\n", "check inter 500ms rise 2 fall 2"))
@sc("tcpcheck_explicit_connect_up", 4)
def _():
    ok23p(); H.serve(21001, H.silent, start_delay=1.2)
    return cfg(three("", "    option tcp-check\n    tcp-check connect\n", "check inter 500ms rise 2 fall 2"))
@sc("tcpcheck_implicit_connect_up", 4)
def _():
    ok23p(); H.serve(21001, H.silent, start_delay=1.2)
    return cfg(three("", "    option tcp-check\n", "check inter 500ms rise 2 fall 2"))
@sc("tcpcheck_expect_not_string", 2)
def _():
    ok23p(); H.serve(21001, H.raw_then_close(b"ERROR\r\n"))
    return cfg(three("", "    option tcp-check\n    tcp-check send PING\\r\\n\n    tcp-check expect ! string ERROR\n"))
@sc("tcpcheck_expect_rstring_wrong_then_close", 2)
def _():
    ok23p(); H.serve(21001, H.raw_then_close(b"hello\r\n"))
    return cfg(three("", "    option tcp-check\n    tcp-check send PING\\r\\n\n    tcp-check expect rstring ^PONG\n"))
@sc("tcpcheck_two_expects_second_fails", 2)
def _():
    ok23p(); H.serve(21001, H.raw_then_close(b"hello\r\nworld\r\n"))
    return cfg(three("", "    option tcp-check\n    tcp-check send PING\\r\\n\n    tcp-check expect string hello\n    tcp-check expect string PONG\n"))
@sc("http_expect_string_ok_missing", 2)
def _():
    ok23(); H.serve(21001, H.http(b"HTTP/1.1 200 OK", b"all bad here\n"))
    return cfg(three("", "    option httpchk\n    http-check expect string ok\n"))
@sc("http_expect_string_ok_no_body", 2)
def _():
    ok23(); H.serve(21001, H.http(b"HTTP/1.1 200 OK", b""))
    return cfg(three("", "    option httpchk\n    http-check expect string ok\n"))
@sc("http_expect_not_string_bad", 2)
def _():
    ok23(); H.serve(21001, H.http(b"HTTP/1.1 200 OK", b"this is bad\n"))
    return cfg(three("", "    option httpchk\n    http-check expect ! string bad\n"))
@sc("http_expect_not_status_500", 2)
def _():
    ok23(); H.serve(21001, H.http(b"HTTP/1.1 500 Internal Server Error", b"err\n"))
    return cfg(three("", "    option httpchk\n    http-check expect ! status 500\n"))
@sc("http_expect_rstatus_2_with_302", 2)
def _():
    ok23(); H.serve(21001, H.http(b"HTTP/1.1 302 Found", b"", [b"Location: /x", b"Content-Length: 0"]))
    return cfg(three("", "    option httpchk\n    http-check expect rstatus ^2\n"))
@sc("http_expect_rstatus_2_with_200_up", 4)
def _():
    ok23(); H.serve(21001, OK, start_delay=1.2)
    return cfg(three("", "    option httpchk\n    http-check expect rstatus ^2\n"))
@sc("http_expect_status_200_with_302", 2)
def _():
    ok23(); H.serve(21001, H.http(b"HTTP/1.1 302 Found", b"", [b"Location: /x", b"Content-Length: 0"]))
    return cfg(three("", "    option httpchk\n    http-check expect status 200\n"))
@sc("http_reason_with_quote_and_utf8", 2)
def _():
    ok23(); H.serve(21001, H.http(b"HTTP/1.1 500 Bad \"thing\" <x> \xc3\xa9", b""))
    return cfg(three("", "    option httpchk\n"))
@sc("empty_after_read_httpchk", 2)
def _():
    ok23(); H.serve(21001, H.raw_then_close(b"")); return cfg(three("", "    option httpchk\n"))
@sc("partial_headers_then_close_httpchk", 2)
def _():
    ok23(); H.serve(21001, H.raw_then_close(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n")); return cfg(three("", "    option httpchk\n"))
@sc("http10_200_no_content_length_close", 2)
def _():
    ok23(); H.serve(21001, H.raw_then_close(b"HTTP/1.0 500 Oops\r\n\r\nbody")); return cfg(three("", "    option httpchk\n"))
@sc("disable_on_404", 6)
def _():
    ok23()
    H.serve(21001, schedule=[(0, OK), (1.5, H.http(b"HTTP/1.1 404 Not Found", b"")), (3.5, OK)])
    return cfg(three("", "    option httpchk\n    http-check disable-on-404\n", "check inter 300ms rise 2 fall 2"))
@sc("disable_on_404_then_500", 5)
def _():
    ok23()
    H.serve(21001, schedule=[(0, OK), (1.5, H.http(b"HTTP/1.1 404 Not Found", b"")), (3.0, H.http(b"HTTP/1.1 500 Internal Server Error", b""))])
    return cfg(three("", "    option httpchk\n    http-check disable-on-404\n", "check inter 300ms rise 2 fall 2"))
@sc("disable_on_404_from_start_down", 3)
def _():
    ok23(); H.serve(21001, H.http(b"HTTP/1.1 404 Not Found", b""))
    return cfg(three("", "    option httpchk\n    http-check disable-on-404\n", "check inter 300ms rise 2 fall 2"))
@sc("fall2_from_fully_up_timing", 5)
def _():
    ok23(); H.serve(21001, OK, stop_after=1.5)
    return cfg(three("", "    option httpchk\n    option log-health-checks\n", "check inter 500ms rise 2 fall 2"))

if __name__ == "__main__":
    names = sys.argv[1:] or list(S)
    res = {}
    for n in names:
        f, dur = S[n]
        c = f()
        o, e, _ = H.run_haproxy(c, dur)
        H.cleanup()
        res[n] = {"cfg": c, "stderr": e, "raw": o}
        print("==", n)
        for t, l in e: print("  E %.2f %s" % (t, l))
        for t, l in o: print("  R %.2f %s" % (t, l))
        sys.stdout.flush()
        time.sleep(0.3)
    out = sys.argv[0] + ".json"
    json.dump(res, open("/tmp/hx/res_%s.json" % ("all" if not sys.argv[1:] else "_".join(names)[:80]), "w"), indent=1)
