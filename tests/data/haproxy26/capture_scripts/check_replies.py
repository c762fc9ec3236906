#!/usr/bin/env python3
"""Captures haproxy 2.6's verdicts on check replies into check_replies.tsv.

The cases are the smallest replies `lbharness check-diff` found where lb and haproxy disagreed
(each fixed in lb since), and the neighbours that pin down the rule. One mockserver serves every
case as a raw reply (writes 20 ms apart, then the ending) to one haproxy, one backend per case;
the verdict is the server's status, check_status, check_code and last_chk in `show stat`. A
server-first case (a tcp-check that expects before it sends) gets a listener of its own whose
greeting is the reply, sent on connect.

Usage: check_replies.py MOCKSERVER_BIN [HAPROXY_BIN]   (writes ../check_replies.tsv)
"""
import csv, io, json, os, socket, subprocess, sys, tempfile, time

HTTP = ["option httpchk GET {path}"]
TCP = ["option tcp-check", r'tcp-check send "GET {path} HTTP/1.0\r\n\r\n"']
QUIT = r'tcp-check send "QUIT\r\n"'
CASES = [
    # An empty header name is invalid (h1_headers_to_hdr_list: no name before the colon).
    ("empty_header_name", HTTP, ["HTTP/1.1 200 OK\r\n: x\r\nContent-Length: 0\r\n\r\n"], "close"),
    ("empty_header_name_bare", ["option httpchk OPTIONS {path}", "http-check disable-on-404"], ["HTTP/1.0 404\n:\n\n"], "close"),
    ("empty_header_name_with_body_expect", ["option httpchk GET {path}", "http-check expect rstring ^up"],
     ["HTTP/1.1 1\n:\n\n"], "close"),
    # An interim 1xx is judged, unless what came with it in the same read does not parse.
    ("interim_then_final", HTTP, ["HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 503 No\r\nContent-Length: 0\r\n\r\n"], "close"),
    ("interim_alone", HTTP, ["HTTP/1.1 100 Continue\r\n\r\n"], "close"),
    ("interim_then_garbage", HTTP, ["HTTP/1.1 199\n\nd"], "close"),
    ("interim_then_garbage_later", HTTP, ["HTTP/1.1 199\r\n\r\n", "d"], "close"),
    ("interim_then_partial_status", HTTP, ["HTTP/1.1 100\r\n\r\nHTTP/1.1 5"], "close"),
    ("interim_then_partial_head", HTTP, ["HTTP/1.1 100\r\n\r\nHTTP/1.1 503 No\r\n"], "close"),
    ("interim_with_length_then_body", HTTP, ["HTTP/1.1 100\r\nContent-Length: 5\r\n\r\nabcde"], "close"),
    ("interim_then_empty_line", HTTP, ["HTTP/1.1 100\r\n\r\n\r\n"], "close"),
    ("switching_protocols_is_final", HTTP, ["HTTP/1.1 101 Sw\r\n\r\nabc"], "close"),
    # 101: what follows is a body that ends with the close.
    ("switching_protocols_body", ["option httpchk GET {path}", "http-check expect string ok"], ["HTTP/1.1 101\n\n+"], "close"),
    ("switching_protocols_body_match", ["option httpchk GET {path}", "http-check expect string ok"],
     ["HTTP/1.1 101 Sw\r\nContent-Length: 0\r\n\r\n", "ok"], "close"),
    ("switching_protocols_body_same_read", ["option httpchk GET {path}", "http-check expect string ok"],
     ["HTTP/1.1 101\r\n\r\nok"], "close"),
    ("switching_protocols_body_despite_length", ["option httpchk GET {path}", "http-check expect string ok"],
     ["HTTP/1.1 101\r\nContent-Length: 2\r\n\r\nok"], "close"),
    ("switching_protocols_does_not_wait", ["option httpchk GET {path}", "http-check expect string ok"],
     ["HTTP/1.1 101\r\n\r\n"], "hold"),
    # A read is parsed whole before the check judges it: a chunk-size error in the read that
    # completed the head is an invalid response, one in a later read comes too late.
    ("chunk_error_same_read", HTTP, ["HTTP/1.1 302\nTransfer-Encoding: chunked\r\n\n\r"], "close"),
    ("chunk_error_same_read_reset", HTTP, ["XTTP/1.1 302\nTransfer-Encoding: chunked\r\n\n\r", ""], "reset"),
    ("chunk_error_later_read", HTTP, ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "zz\r\n"], "close"),
    ("string_match_then_chunk_error", ["option httpchk GET {path}", "http-check expect string ok"],
     ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\nzz\r\n"], "close"),
    ("string_match_chunk_error_later", ["option httpchk GET {path}", "http-check expect string ok"],
     ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n", "zz\r\n"], "close"),
    # A tcp-check that times out names the expect it was waiting on (not the first of its run).
    ("tcp_first_expect_waits", TCP + ["tcp-check expect string 200", "tcp-check expect string xyz"], ["abc"], "hold"),
    ("tcp_second_expect_waits", TCP + ["tcp-check expect string 200", "tcp-check expect string xyz"], ["200"], "hold"),
    ("tcp_third_expect_waits", TCP + ["tcp-check expect string 200", "tcp-check expect string xyz", "tcp-check expect string q"],
     ["200xyz"], "hold"),
    ("tcp_binary_then_string_waits", TCP + ["tcp-check expect binary 0d0a", "tcp-check expect string 200"], ["\r\n"], "hold"),
    ("tcp_string_then_binary_waits", TCP + ["tcp-check expect string 200", "tcp-check expect binary 0d0a"], ["200"], "hold"),
    ("tcp_negated_expect_waits", TCP + ["tcp-check expect string 200", "tcp-check expect ! string ERR"], ["200"], "hold"),
    ("tcp_regex_after_string_waits", TCP + ["tcp-check expect string 200", "tcp-check expect rstring ^200$"], ["200x"], "hold"),
    ("tcp_regex_after_string_close", TCP + ["tcp-check expect string 200", "tcp-check expect rstring ^200$"], ["200x"], "close"),
    ("tcp_regex_after_string_match", TCP + ["tcp-check expect string 200", "tcp-check expect rstring ^200$"], ["200"], "close"),
    # A reset in a read of its own: an HTTP check reports the socket error, a tcp-check judges
    # its buffer once more first.
    ("http_reset_after_judged_head", ["option httpchk GET {path}", "http-check expect string ok"], ["HTTP/1.1 0\n\n", ""], "reset"),
    ("http_reset_after_partial_body", ["option httpchk GET {path}", "http-check expect string xyz"],
     ["HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nab", ""], "reset"),
    ("tcp_reset_after_data", TCP + ["tcp-check expect string ready"], ["x", ""], "reset"),
    ("tcp_reset_after_matching_data", TCP + ["tcp-check expect string ready"], ["ready", ""], "reset"),
    ("tcp_reset_without_data", TCP + ["tcp-check expect string ready"], [""], "reset"),
    # An rstring is judged on each read's body so far: a match on a partial body passes.
    ("rstring_matches_partial_body", ["option httpchk GET {path}", r"http-check expect rstring v[0-9]+\.[0-9]",
                                      "http-check expect status 200"], ["HTTP/1.1 5\nn:\n\nv1.2"], "hold"),
    ("rstring_partial_body_then_hold", ["option httpchk GET {path}", "http-check expect rstring ^ok$"],
     ["HTTP/1.1 200 OK\r\n\r\nok"], "hold"),
    ("rstring_no_match_then_hold", ["option httpchk GET {path}", "http-check expect rstring ^up"],
     ["HTTP/1.1 200 OK\r\n\r\nok"], "hold"),
    ("negated_rstring_partial_body", ["option httpchk GET {path}", "http-check expect ! rstring err"],
     ["HTTP/1.1 200 OK\r\n\r\nno err"], "hold"),
    # Content-Length and Transfer-Encoding values are checked as their line ends in the first
    # read; once a read ended inside the head, only when the whole head is in.
    ("cl_invalid_first_read", HTTP, ["1 9\nContent-Length:-\nC"], "hold"),
    ("cl_invalid_after_split", HTTP, ["1 9\nContent-Lengt", "h:-\nC"], "hold"),
    ("cl_invalid_after_split_head_ends", HTTP, ["1 9\nContent-Lengt", "h:-\n\n"], "hold"),
    ("cl_conflict_first_read", HTTP, ["HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\nC"], "hold"),
    ("cl_empty", HTTP, ["HTTP/1.1 2\nContent-Length:\n\n"], "close"),
    ("te_unknown_head_incomplete", HTTP, ["HTTP/1.1 200 OK\r\nTransfer-Encoding:i\r\nC"], "hold"),
    ("te_unknown_head_incomplete_reset", HTTP, ["0 1\nTransfer-Encoding:i\nC", ""], "reset"),
    ("te_twice_first_read", HTTP, ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\nC"], "hold"),
    # The reason is the info as a C string.
    ("reason_with_nul", HTTP, ["HTTP/1.1 503 Not Fo\x00und\r\n\r\n"], "close"),
    # The version is digits, capitals, '.' and '/' (HTTP_FLG_VER).
    ("lowercase_version", HTTP, ["http/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"], "close"),
    ("lowercase_first_byte_then_hold", HTTP, ["p"], "hold"),
    ("lowercase_first_byte_then_reset", HTTP, ["p", ""], "reset"),
    ("version_without_slash", HTTP, ["HTTP1.1 200 OK\r\n\r\n"], "close"),
    # Any transfer coding but chunked is rejected (mux_h1, 2.6.12), an empty word too.
    ("te_unknown", HTTP, ["HTTP/1.1 200\nTransfer-Encoding:e\n\r\n"], "close"),
    ("te_gzip", HTTP, ["HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabc"], "close"),
    ("te_gzip_chunked", HTTP, ["HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"], "close"),
    ("te_chunked_trailing_comma", HTTP, ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, \r\n\r\n3\r\nabc\r\n0\r\n\r\n"], "close"),
    ("te_leading_comma", HTTP, ["HTTP/1.1 200 OK\r\nTransfer-Encoding: , chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"], "close"),
    ("te_double_comma", HTTP, ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked,,chunked\r\n\r\n0\r\n\r\n"], "close"),
    ("te_empty", HTTP, ["HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\n\r\nabc"], "close"),
    ("te_chunked_uppercase", HTTP, ["HTTP/1.1 200 OK\r\nTransfer-Encoding: CHUNKED\r\n\r\n3\r\nabc\r\n0\r\n\r\n"], "close"),
    # The head must fit the check buffer as HTX: 48 + start line (28 + its text) + 8 + name + value
    # per header + 9 for the end of headers <= 16384.
    ("htx_head_fits", HTTP, ["HTTP/1.1 200 OK\r\nX-Long: " + "v" * 16272 + "\r\n\r\n"], "close"),
    ("htx_head_one_byte_over", HTTP, ["HTTP/1.1 200 OK\r\nX-Long: " + "v" * 16273 + "\r\n\r\n"], "close"),
    ("htx_head_three_headers_fit", HTTP, ["HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nX-Long: " + "v" * 16252 + "\r\n\r\n"], "close"),
    ("htx_head_three_headers_over", HTTP, ["HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nX-Long: " + "v" * 16253 + "\r\n\r\n"], "close"),
    ("htx_head_long_reason_over", HTTP, ["HTTP/1.1 200 OKOKOKOK\r\nX-Long: " + "v" * 16268 + "\r\n\r\n"], "close"),
    ("htx_head_long_reason_fits", HTTP, ["HTTP/1.1 200 OKOKOKOK\r\nX-Long: " + "v" * 16266 + "\r\n\r\n"], "close"),
    # Server-first: a reset lets the waiting expects decide on the buffer once more, and a send
    # they then reach finds the connection shut (EPIPE).
    ("sf_reset_then_send", ["option tcp-check", "tcp-check expect ! binary 00", QUIT, "tcp-check expect string Bad"],
     ["o", ""], "reset"),
    ("sf_reset_then_send_after_connect", ["option tcp-check", "tcp-check connect", "tcp-check expect ! string 421", QUIT,
                                          "tcp-check expect string 221"], ["0", ""], "reset"),
    ("sf_match_send_then_reset", ["option tcp-check", "tcp-check expect string 220", QUIT, "tcp-check expect string 221"],
     ["220 ok\r\n", ""], "reset"),
    ("sf_close_then_send", ["option tcp-check", "tcp-check expect ! binary 00", QUIT, "tcp-check expect string 221"],
     ["o"], "close"),
    ("sf_banner_matches", ["option tcp-check", "tcp-check expect string 220"], ["220 mail ESMTP\r\n"], "close"),
    ("sf_banner_negated_waits", ["option tcp-check", "tcp-check expect ! binary 00"], ["o"], "hold"),
    ("sf_no_banner", ["option tcp-check", "tcp-check expect string 220"], [""], "close"),
    ("sf_no_banner_reset", ["option tcp-check", "tcp-check expect string 220"], [""], "reset"),
]


def server_first(checks):
    """Whether the check expects before it sends: its reply is a greeting."""
    for l in checks:
        if l.startswith("tcp-check send"): return False
        if l.startswith("tcp-check expect"): return True
    return False


def c_escape(b: bytes) -> str:
    out = []
    for c in b:
        ch = chr(c)
        if ch == "\r": out.append("\\r")
        elif ch == "\n": out.append("\\n")
        elif ch == "\t": out.append("\\t")
        elif ch in "\\|": out.append("\\" + ch)
        elif c < 0x20 or c >= 0x7f: out.append("\\x%02x" % c)
        else: out.append(ch)
    return "".join(out)


def main():
    mock_bin = sys.argv[1]
    haproxy_bin = sys.argv[2] if len(sys.argv) > 2 else "/usr/sbin/haproxy"
    d = tempfile.mkdtemp()
    rules = []
    listeners = []
    for name, checks, writes, then in CASES:
        raw = {"writes": [{"hex": w.encode("latin-1").hex(), "pause_ms": 20 if i else 0} for i, w in enumerate(writes)],
               "then": then}
        if server_first(checks):
            listeners.append({"name": name, "listen": "127.0.0.1:0", "greeting": raw})
        else:
            rules.append({"id": name, "match": {"path": "/" + name}, "raw": raw})
    with open(d + "/spec.json", "w") as f:
        json.dump({"listeners": [{"name": "app", "listen": "127.0.0.1:0", "rules": rules}] + listeners}, f)
    mock = subprocess.Popen([mock_bin, "-f", d + "/spec.json"], stdout=subprocess.PIPE, text=True)
    ports = {}
    for line in mock.stdout:
        if line.startswith("listening "): ports[line.split()[1]] = int(line.rsplit(":", 1)[1])
        if line.strip() == "ready": break
    sock = d + "/haproxy.sock"
    cfg = ("global\n    stats socket %s level admin\ndefaults\n    mode http\n    timeout connect 1s\n"
           "    timeout client 5s\n    timeout server 5s\n    timeout check 400ms\n"
           "    default-server inter 1s fall 1 rise 1\n") % sock
    for name, checks, _, _ in CASES:
        cfg += "backend %s\n" % name
        cfg += "".join("    %s\n" % l.replace("{path}", "/" + name) for l in checks)
        cfg += "    server s 127.0.0.1:%d check\n" % ports[name if server_first(checks) else "app"]
    with open(d + "/haproxy.cfg", "w") as f:
        f.write(cfg)
    hap = subprocess.Popen([haproxy_bin, "-db", "-f", d + "/haproxy.cfg"], stderr=subprocess.DEVNULL)
    verdicts = {}
    deadline = time.time() + 10
    while len(verdicts) < len(CASES) and time.time() < deadline:
        time.sleep(0.2)
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(sock)
            s.sendall(b"show stat\n")
            out = b""
            while True:
                b = s.recv(65536)
                if not b: break
                out += b
        except OSError:
            continue
        rows = list(csv.reader(io.StringIO(out.decode("latin-1").lstrip("# "))))
        head = rows[0]
        for r in rows[1:]:
            if len(r) < len(head) or r[1] != "s": continue
            st = r[head.index("check_status")].removeprefix("* ")
            if st and st != "INI" and r[0] not in verdicts:
                verdicts[r[0]] = (r[head.index("status")], st, r[head.index("check_code")], r[head.index("last_chk")])
    hap.terminate()
    mock.terminate()
    out_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "check_replies.tsv")
    with open(out_path, "w") as f:
        f.write("# haproxy 2.6.12's verdicts on check replies (capture_scripts/check_replies.py): writes 20 ms apart\n")
        f.write("case\tchecks\twrites\tthen\tstatus\tcheck_status\tcheck_code\tlast_chk\n")
        for name, checks, writes, then in CASES:
            v = verdicts.get(name)
            if not v:
                sys.exit("no verdict for " + name)
            f.write("\t".join([name, " ; ".join(checks), " | ".join(c_escape(w.encode("latin-1")) for w in writes), then,
                               v[0], v[1], v[2], c_escape(v[3].encode("latin-1"))]) + "\n")


main()
