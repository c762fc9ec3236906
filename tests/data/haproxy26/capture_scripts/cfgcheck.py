import os, re, subprocess, tempfile
OUT = "/work/main/tests/data/haproxy26"
BASE_G = """global
    log stdout format raw local0
"""
BASE_D = """defaults
    mode http
    timeout connect 5s
    timeout client 5s
    timeout server 5s
    timeout check 2s
"""
BASE_F = """frontend fe
    bind 127.0.0.1:20080
    default_backend apps
"""
BASE_B = """backend apps
    option httpchk
    server s1 127.0.0.1:21001 check inter 1s rise 2 fall 2
    server s2 127.0.0.1:21002 check inter 1s rise 2 fall 2
"""
BASE_L = """listen lst
    bind 127.0.0.1:20081
    server s1 127.0.0.1:21001 check
"""
def mk(g="", d="", f="", b="", l=None, bsrv=None, raw=None):
    if raw is not None: return raw
    bb = BASE_B if bsrv is None else "backend apps\n" + bsrv
    s = BASE_G + g + BASE_D + d + BASE_F + f + bb + b
    if l is not None: s += BASE_L + l
    return s
SRV = "    server s1 127.0.0.1:21001 "
cases = [
 ("valid", mk()),
 ("valid_with_listen", mk(l="")),
 ("unknown_kw_global", mk(g="    nosuchkw 1\n")),
 ("unknown_kw_defaults", mk(d="    nosuchkw 1\n")),
 ("unknown_kw_frontend", mk(f="    nosuchkw 1\n")),
 ("unknown_kw_backend", mk(b="    nosuchkw 1\n")),
 ("unknown_kw_listen", mk(l="    nosuchkw 1\n")),
 ("server_opt_chek", mk(bsrv=SRV + "chek inter 1s\n")),
 ("inter_2x", mk(bsrv=SRV + "check inter 2x\n")),
 ("inter_no_value", mk(bsrv=SRV + "check inter\n")),
 ("inter_0", mk(bsrv=SRV + "check inter 0\n")),
 ("rise_0", mk(bsrv=SRV + "check rise 0\n")),
 ("fall_minus1", mk(bsrv=SRV + "check fall -1\n")),
 ("rise_abc", mk(bsrv=SRV + "check rise abc\n")),
 ("weight_abc", mk(bsrv=SRV + "check weight abc\n")),
 ("weight_300", mk(bsrv=SRV + "check weight 300\n")),
 ("weight_256", mk(bsrv=SRV + "check weight 256\n")),
 ("weight_0", mk(bsrv=SRV + "check weight 0\n")),
 ("retries_three", mk(b="    retries three\n")),
 ("server_no_address", mk(bsrv="    server s1\n")),
 ("server_no_port", mk(bsrv="    server s1 127.0.0.1 check\n")),
 ("server_no_port_no_check", mk(bsrv="    server s1 127.0.0.1\n")),
 ("server_bad_address", mk(bsrv="    server s1 nosuchhost.invalid:80 check\n")),
 ("duplicate_server_name", mk(bsrv=SRV + "check\n" + SRV + "check\n")),
 ("default_backend_nosuch", mk(f="    default_backend nosuch\n")),
 ("use_backend_nosuch", mk(f="    use_backend nosuch if TRUE\n")),
 ("use_backend_nosuch_no_cond", mk(f="    use_backend nosuch\n")),
 ("bind_port_99999", mk(f="    bind :99999\n")),
 ("balance_foo", mk(b="    balance foo\n")),
 ("mode_foo", mk(b="    mode foo\n")),
 ("timeout_check_5x", mk(b="    timeout check 5x\n")),
 ("timeout_nosuch", mk(b="    timeout nosuch 5s\n")),
 ("option_nosuchopt", mk(b="    option nosuchopt\n")),
 ("option_httpchk_too_many_args", mk(b="    option httpchk A B C D\n")),
 ("http_check_expect_no_args", mk(b="    http-check expect\n")),
 ("http_check_expect_status_no_value", mk(b="    http-check expect status\n")),
 ("http_check_expect_foo_bar", mk(b="    http-check expect foo bar\n")),
 ("http_check_send_meth_no_value", mk(b="    http-check send meth\n")),
 ("tcp_check_expect_string_no_pattern", mk(b="    option tcp-check\n    tcp-check expect string\n")),
 ("tcp_check_foo", mk(b="    option tcp-check\n    tcp-check foo\n")),
 ("section_backnd", mk(raw=BASE_G + BASE_D + BASE_F + BASE_B + "backnd other\n    server x 127.0.0.1:21009\n")),
 ("server_in_frontend", mk(f="    server s9 127.0.0.1:21009\n")),
 ("default_server_inter_abc", mk(bsrv="    default-server inter abc\n" + SRV + "check\n")),
 ("two_errors", mk(g="    nosuchkw 1\n", b="    balance foo\n    nosuchkw2 2\n")),
 ("unbalanced_quote", mk(b="    http-check send uri \"abc\n")),
 ("trailing_backslash", mk(b="    option httpchk GET /x \\\n")),
 ("warning_only_httpchk_in_frontend", mk(f="    option httpchk\n")),
 ("warning_missing_timeouts", mk(raw=BASE_G + "defaults\n    mode http\n" + BASE_F + BASE_B)),
 ("warning_missing_timeouts_tcp", mk(raw=BASE_G + "defaults\n    mode tcp\n" + BASE_F + BASE_B)),
 ("no_defaults_mode", mk(raw=BASE_G + "defaults\n    timeout connect 5s\n    timeout client 5s\n    timeout server 5s\n" + BASE_F + BASE_B)),
 ("no_listener", mk(raw=BASE_G + BASE_D + BASE_B)),
 ("empty_file", mk(raw="")),
 ("httpchk_in_tcp_mode_backend", mk(b="    mode tcp\n")),
 ("backend_no_servers", mk(bsrv="    option httpchk\n")),
 ("check_without_port_addr_only", mk(bsrv="    server s1 127.0.0.1 check port 8080\n")),
 ("inter_negative", mk(bsrv=SRV + "check inter -5\n")),
 ("inter_huge", mk(bsrv=SRV + "check inter 99999999999\n")),
 ("fastinter_downinter", mk(bsrv=SRV + "check inter 1s fastinter 200 downinter 5s\n")),
 ("rise_fall_large", mk(bsrv=SRV + "check rise 1000 fall 1000\n")),
 ("timeout_check_no_unit", mk(b="    timeout check 2000\n")),
 ("timeout_check_no_value", mk(b="    timeout check\n")),
 ("balance_roundrobin_extra_arg", mk(b="    balance roundrobin foo\n")),
 ("spread_checks_60", mk(g="    spread-checks 60\n")),
 ("duplicate_backend_name", mk(raw=BASE_G + BASE_D + BASE_F + BASE_B + BASE_B)),
 ("frontend_backend_same_name", mk(raw=BASE_G + BASE_D + BASE_F + BASE_B + "frontend apps\n    bind 127.0.0.1:20082\n    default_backend apps\n")),
 ("option_httpchk_bad_version_crlf", mk(b="    option httpchk GET / HTTP/1.1\\r\\nHost:\\ x\n")),
 ("comment_and_blank_lines", mk(b="\n    # a comment\n    \n")),
 ("keyword_case_Server", mk(bsrv="    Server s1 127.0.0.1:21001 check\n")),
 ("maxconn_abc", mk(bsrv=SRV + "check maxconn abc\n")),
 ("backup_flag_with_arg", mk(bsrv=SRV + "check\n    server b1 127.0.0.1:21011 check backup\n")),
]
rows = []
STREAMS = []
cases.append(("missing_file", ""))
os.makedirs(OUT + "/config_cases", exist_ok=True)
for name, text in cases:
    d = tempfile.mkdtemp(prefix="cc")
    open(os.path.join(d, "site.cfg"), "w").write(text)
    open(os.path.join(OUT, "config_cases", name + ".cfg"), "w").write(text)
    fn = "nosuch.cfg" if name == "missing_file" else "site.cfg"
    p = subprocess.run(["timeout", "10", "haproxy", "-c", "-f", fn], cwd=d, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = p.stdout.decode("latin1")
    out = re.sub(r"\((\d+)\) :", "(PID) :", out)
    p2 = subprocess.run(["timeout", "10", "haproxy", "-c", "-f", fn], cwd=d, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    so = p2.stdout.decode("latin1"); se = re.sub(r"\((\d+)\) :", "(PID) :", p2.stderr.decode("latin1"))
    STREAMS.append((name, p2.returncode, so, se))
    rows.append((name, p.returncode, out))
    print("==", name, p.returncode); print(out, end="")
with open(OUT + "/config_check.tsv", "w") as f:
    f.write("case\texit_code\toutput\n")
    for n, c, o in rows:
        f.write("%s\t%d\t%s\n" % (n, c, o.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")))

esc = lambda o: o.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
with open(OUT + "/config_check_streams.tsv", "w") as f:
    f.write("case\texit_code\tstdout\tstderr\n")
    for n, c, so, se in STREAMS:
        f.write("%s\t%d\t%s\t%s\n" % (n, c, esc(so), esc(se)))
