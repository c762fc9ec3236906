"""Extra `haproxy -c` captures: files without a final newline (eof_*), address prefixes on
bind/server/log (addr_*) and backslashes in check regexes (regex_*).

Same conventions as cfgcheck.py: every case is written byte for byte to a fresh
tempfile.mkdtemp(prefix="cc") directory as site.cfg, then `haproxy -c -f site.cfg` is run from
that directory, once with stdout+stderr merged through one pipe (config_check.tsv) and once with
the two streams apart (config_check_streams.tsv). "(1234) :" becomes "(PID) :".
Unlike cfgcheck.py this script does not rewrite the TSV files: it drops the rows of its own cases
(if present) and appends fresh ones at the end, so it can be re-run after cfgcheck.py.
Run: python3 cfgcheck_extra.py  (needs /usr/sbin/haproxy 2.6.12 on PATH).
"""
import os, re, shutil, subprocess, tempfile

OUT = "/work/main/tests/data/haproxy26"

# Lines 1-8 (global + defaults), 9-11 (frontend), 12 (backend apps) are fixed.
G = "global\n    log stdout format raw local0\n"
D = ("defaults\n    mode http\n    timeout connect 5s\n    timeout client 5s\n"
     "    timeout server 5s\n    timeout check 2s\n")
F = "frontend fe\n    bind 127.0.0.1:20080\n    default_backend apps\n"
B = "backend apps\n"
SRV = "    server s1 127.0.0.1:21001"


def base(g="", f="", b=None):
    """global(+g) / defaults / frontend(+f) / backend apps with b (default: one server)."""
    return G + g + D + F + f + B + (SRV + "\n" if b is None else b)


cases = []

# 1. Last line without '\n'. The valid part is base() without its final newline, plus a tail.
V = base()  # 13 lines, ends with "\n"
cases += [
    ("eof_server_no_newline", V[:-1]),                      # line 13 = server line, no LF
    ("eof_server_check_no_newline", base(b="    option httpchk\n" + SRV + " check")),
    ("eof_keyword_no_newline", V + "    balance roundrobin"),  # line 14
    ("eof_comment_no_newline", V + "# end of file"),
    ("eof_indented_comment_no_newline", V + "    # end of file"),
    ("eof_spaces_no_newline", V + "    "),
    ("eof_tab_no_newline", V + "\t"),
    ("eof_section_header_no_newline", V + "backend other"),
    ("eof_listen_header_no_newline", V + "listen other"),
    ("eof_unknown_kw_no_newline", V + "    nosuchkw 1"),
    ("eof_server_crlf_no_newline", V[:-1] + "\r"),           # last line ends with a lone CR
    ("eof_only_global_no_newline", "global"),
    ("eof_trailing_blank_line", V + "\n"),                    # control: ends with an empty line
    # a NUL byte: fgets() reads past it, strlen() stops at it
    ("eof_nul_last_line", V[:-1] + "\0 junk\n"),
    ("eof_nul_mid_file", V[:-1] + "\0 junk\n    nosuchkw 1\nbackend other\n"),
]

# 2. Address prefixes. A second bind on line 12 of the frontend; the server is on line 13.
def bind(addr):
    return base(f="    bind %s\n" % addr)


def server(addr, opts=""):
    return base(b="    server s1 %s%s\n" % (addr, opts))


ADDRS = [
    ("ipv4", "ipv4@127.0.0.1:80"),
    ("ipv6_brackets", "ipv6@[::1]:80"),
    ("ipv6_bare", "ipv6@::1:80"),
    ("ipv4_with_ipv6", "ipv4@::1:80"),
    ("ipv6_with_ipv4", "ipv6@127.0.0.1:80"),
    ("tcp", "tcp@127.0.0.1:80"),
    ("tcp4", "tcp4@127.0.0.1:80"),
    ("tcp6", "tcp6@[::1]:80"),
    ("tcp4_with_ipv6", "tcp4@[::1]:80"),
    ("udp", "udp@127.0.0.1:80"),
    ("udp4", "udp4@127.0.0.1:80"),
    ("udp6", "udp6@[::1]:80"),
    ("unix", "unix@/tmp/x.sock"),
    ("unix_no_prefix", "/tmp/x.sock"),
    ("abns", "abns@name"),
    ("fd", "fd@3"),
    ("sockpair", "sockpair@3"),
    ("uxst", "uxst@/tmp/x.sock"),
    ("uxdg", "uxdg@/tmp/x.sock"),
    ("quic4", "quic4@127.0.0.1:443"),
    ("quic6", "quic6@[::1]:443"),
    ("unknown_prefix", "foo@1.2.3.4:80"),
    ("uppercase_prefix", "IPV4@127.0.0.1:80"),
    ("ipv4_empty_host", "ipv4@:80"),
    ("ipv6_empty_host", "ipv6@:80"),
    ("ipv4_empty", "ipv4@"),
    ("ipv4_no_port", "ipv4@127.0.0.1"),
    ("ipv4_port_range", "ipv4@127.0.0.1:80-81"),
    # fd@/sockpair@ are checked with getsockname() while parsing: during `haproxy -c` fd 3 is the
    # config file being read (ENOTSOCK), fd 4 and up are not open (EBADF).
    ("fd_4", "fd@4"),
    ("fd_100", "fd@100"),
    ("fd_abc", "fd@abc"),
    ("fd_empty", "fd@"),
    ("sockpair_100", "sockpair@100"),
    ("sockpair_abc", "sockpair@abc"),
    ("ip", "ip@127.0.0.1:80"),
    ("stream_plus_ipv4", "stream+ipv4@127.0.0.1:80"),
    ("dgram_plus_ipv4", "dgram+ipv4@127.0.0.1:80"),
    ("abns_empty", "abns@"),
    ("unix_empty", "unix@"),
    # sun_path's room: a path may take 97 characters (".PID.tmp" must fit), an abstract name 107
    ("unix_97", "unix@/" + "p" * 96),
    ("unix_98", "unix@/" + "p" * 97),
    ("abns_107", "abns@" + "n" * 107),
    ("abns_108", "abns@" + "n" * 108),
]
for tag, addr in ADDRS:
    cases.append(("addr_bind_" + tag, bind(addr)))
for tag, addr in ADDRS:
    cases.append(("addr_server_" + tag, server(addr)))
cases += [
    ("addr_server_ipv4_check", server("ipv4@127.0.0.1:80", " check")),
    ("addr_server_ipv4_no_port_check", server("ipv4@127.0.0.1", " check")),
    ("addr_server_unix_check", server("unix@/tmp/x.sock", " check")),
    ("addr_server_abns_check", server("abns@name", " check")),
    # controls without a prefix
    ("addr_bind_plain_port_range", bind("127.0.0.1:80-81")),
    ("addr_server_plain_empty_host", server(":80")),
    ("addr_server_port_offset", server("ipv4@127.0.0.1:+1")),
]
# log targets (global, line 3)
LOGS = [
    ("ipv4", "ipv4@127.0.0.1:514"),
    ("udp", "udp@127.0.0.1:514"),
    ("udp4", "udp4@127.0.0.1:514"),
    ("udp6", "udp6@[::1]:514"),
    ("tcp", "tcp@127.0.0.1:514"),
    ("unix", "unix@/dev/log"),
    ("unix_no_prefix", "/dev/log"),
    ("fd", "fd@1"),
    ("stdout", "stdout"),
    ("unknown_prefix", "foo@1.2.3.4:514"),
    ("ipv4_empty_host", "ipv4@:514"),
    ("ipv4_no_port", "ipv4@127.0.0.1"),
]
for tag, addr in LOGS:
    cases.append(("addr_log_" + tag, base(g="    log %s local0\n" % addr)))

# 3. Backslashes in regex arguments. Backend: option line 13, server line 14, expect line 15.
def hchk(expect):
    return base(b="    option httpchk\n" + SRV + " check\n    http-check expect " + expect + "\n")


def tchk(expect):
    return base(b="    option tcp-check\n" + SRV + " check\n    tcp-check expect " + expect + "\n")


cases += [
    ("regex_http_rstring_escaped_plus", hchk(r"rstring ^\+OK")),
    ("regex_http_rstring_digit", hchk(r"rstring \d+")),
    ("regex_http_rstring_dquoted", hchk(r'rstring "a\.b"')),
    ("regex_http_rstring_squoted", hchk(r"rstring 'a\.b'")),
    ("regex_http_rstring_dquoted_double_backslash", hchk(r'rstring "a\\.b"')),
    ("regex_tcp_rstring_escaped_plus", tchk(r"rstring ^\+PONG")),
    ("regex_http_rstatus_digits", hchk(r"rstatus ^2\d\d")),
    ("regex_http_rstring_double_backslash", hchk(r"rstring \\")),
    ("regex_http_rstring_trailing_backslash", hchk("rstring a\\")),
    ("regex_http_rstring_squoted_trailing_backslash", hchk(r"rstring 'a\'")),
    ("regex_http_rstring_lone_paren", hchk("rstring (")),
    ("regex_http_rstring_escaped_paren", hchk(r"rstring \(")),
    ("regex_tcp_rstring_lone_paren", tchk("rstring (")),
    ("regex_http_rstatus_lone_paren", hchk("rstatus (")),
    ("regex_http_rstring_escaped_space", hchk(r"rstring a\ b")),
    ("regex_http_rstring_escaped_hash", hchk(r"rstring a\#b")),
    # invalid regexes whose error message shows the pattern as the tokenizer left it
    ("regex_show_unquoted_dot", hchk(r"rstring a\.b(")),
    ("regex_show_dquoted_dot", hchk(r'rstring "a\.b("')),
    ("regex_show_squoted_dot", hchk(r"rstring 'a\.b('")),
    ("regex_show_unquoted_double_backslash", hchk(r"rstring a\\b(")),
    ("regex_show_dquoted_double_backslash", hchk(r'rstring "a\\b("')),
    ("regex_show_squoted_double_backslash", hchk(r"rstring 'a\\b('")),
    ("regex_show_hex", hchk(r"rstring a\x41(")),
    ("regex_show_dquoted_hex", hchk(r'rstring "a\x41("')),
    ("regex_show_escaped_quotes", hchk(r"""rstring a\"b\'c(""")),
    ("regex_show_dquoted_escaped_dquote", hchk(r'rstring "a\"b("')),
    ("regex_show_tab", hchk(r"rstring a\tb(")),
    ("regex_show_dollar", hchk(r"rstring a\$b(")),
    ("regex_show_dquoted_dollar", hchk(r'rstring "a\$b("')),
    ("regex_bad_hex", hchk(r"rstring a\xZZ")),
    ("regex_tcp_show_escaped_plus", tchk(r"rstring ^\+PONG(")),
]

# 4. Logging options of the frontend side: in a backend haproxy warns and ignores them.
cases += [
    ("logopt_dontlog_normal_frontend", base(f="    option dontlog-normal\n")),
    ("logopt_dontlog_normal_backend", base(b="    option dontlog-normal\n" + SRV + "\n")),
    ("logopt_dontlognull_backend", base(b="    option dontlognull\n" + SRV + "\n")),
    ("logopt_no_dontlog_normal", base(f="    no option dontlog-normal\n")),
    ("logopt_dontlog_normal_argument", base(f="    option dontlog-normal now\n")),
]


def esc(o):
    return o.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def mask(o):
    return re.sub(r"\((\d+)\) :", "(PID) :", o)


def run(text):
    d = tempfile.mkdtemp(prefix="cc")
    with open(os.path.join(d, "site.cfg"), "wb") as f:
        f.write(text.encode("latin1"))
    cmd = ["timeout", "10", "haproxy", "-c", "-f", "site.cfg"]
    p = subprocess.run(cmd, cwd=d, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    p2 = subprocess.run(cmd, cwd=d, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    shutil.rmtree(d)
    return (p.returncode, mask(p.stdout.decode("latin1")),
            p2.returncode, p2.stdout.decode("latin1"), mask(p2.stderr.decode("latin1")))


def replace_rows(path, new_rows):
    names = {r.split("\t", 1)[0] for r in new_rows}
    with open(path, "rb") as f:
        lines = f.read().decode("latin1").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    kept = [lines[0]] + [l for l in lines[1:] if l.split("\t", 1)[0] not in names]
    with open(path, "wb") as f:
        f.write(("\n".join(kept + new_rows) + "\n").encode("latin1"))


def capture(cases):
    """Writes each case's file and appends its verdicts to both TSV files."""
    assert len({n for n, _ in cases}) == len(cases)
    merged, streams = [], []
    for name, text in cases:
        with open(os.path.join(OUT, "config_cases", name + ".cfg"), "wb") as f:
            f.write(text.encode("latin1"))
        rc, out, rc2, so, se = run(text)
        if rc != rc2:
            print("!! exit code differs between the two runs", name, rc, rc2)
        merged.append("%s\t%d\t%s" % (name, rc, esc(out)))
        streams.append("%s\t%d\t%s\t%s" % (name, rc2, esc(so), esc(se)))
        print("==", name, rc)
        print(out, end="")
    replace_rows(OUT + "/config_check.tsv", merged)
    replace_rows(OUT + "/config_check_streams.tsv", streams)


if __name__ == "__main__":
    capture(cases)
