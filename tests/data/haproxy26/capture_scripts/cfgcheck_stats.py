"""`haproxy -c` captures for the Runtime API's global keywords: `stats socket` (addresses, level,
mode, options) and `stats timeout|maxconn|bind-process`.

Same conventions and output as cfgcheck_extra.py (whose helpers it uses); all names start with
`stats_`. The keyword is line 3 (after `global` and its log line). UNIX paths are under
/tmp/lbh-stats-capture (created here; haproxy -c does not bind them).
Run: python3 cfgcheck_stats.py  (needs /usr/sbin/haproxy 2.6.12 on PATH).
"""
import os

from cfgcheck_extra import D, F, G, base, capture

DIR = "/tmp/lbh-stats-capture"


def g(line):
    return base(g="    %s\n" % line)


cases = [
    ("stats_socket_unix_admin", g("stats socket %s/a.sock mode 600 level admin" % DIR)),
    ("stats_socket_unix_prefix", g("stats socket unix@%s/b.sock" % DIR)),
    ("stats_socket_tcp_user", g("stats socket 127.0.0.1:19999 level user")),
    ("stats_socket_ipv4_operator", g("stats socket ipv4@127.0.0.1:19998 level operator")),
    ("stats_socket_no_address", g("stats socket")),
    ("stats_socket_level_bogus", g("stats socket %s/a.sock level bogus" % DIR)),
    ("stats_socket_level_missing", g("stats socket %s/a.sock level" % DIR)),
    ("stats_socket_level_twice", g("stats socket %s/a.sock level admin level user" % DIR)),
    ("stats_socket_unknown_option", g("stats socket %s/a.sock bogus-opt" % DIR)),
    ("stats_socket_mode_bogus", g("stats socket %s/a.sock mode abc" % DIR)),
    ("stats_socket_port_0", g("stats socket ipv4@127.0.0.1:0 level operator")),
    ("stats_socket_port_garbage", g("stats socket 127.0.0.1:abc")),
    ("stats_socket_expose_fd", g("stats socket %s/a.sock expose-fd listeners" % DIR)),
    ("stats_timeout", g("stats timeout 10s")),
    ("stats_maxconn", g("stats maxconn 10")),
    ("stats_unknown", g("stats bogus")),
]


def lst(lines):
    """A `listen stats` (line 13 on) after the base file, with these lines."""
    return base() + "listen stats\n    bind 127.0.0.1:20090\n" + "".join("    %s\n" % l for l in lines)


cases += [
    ("stats_page_enable", lst(["stats enable"])),
    ("stats_page_full", lst(["stats enable", "stats uri /stats", "stats refresh 5s", "stats realm LB",
                             "stats auth admin:secret", "stats auth ops:x", "stats admin if TRUE",
                             "stats show-legends", "stats hide-version"])),
    ("stats_page_uri_only", lst(["stats uri /s"])),
    ("stats_page_uri_missing", lst(["stats uri"])),
    ("stats_page_refresh_bad", lst(["stats enable", "stats refresh abc"])),
    ("stats_page_refresh_missing", lst(["stats enable", "stats refresh"])),
    ("stats_page_auth_no_colon", lst(["stats enable", "stats auth admin"])),
    ("stats_page_auth_missing", lst(["stats enable", "stats auth"])),
    ("stats_page_admin_no_cond", lst(["stats enable", "stats admin"])),
    ("stats_page_admin_localhost", lst(["stats enable", "stats admin if LOCALHOST"])),
    ("stats_page_admin_unless", lst(["stats enable", "stats admin unless TRUE"])),
    ("stats_page_unknown", lst(["stats enable", "stats bogus"])),
    ("stats_page_realm_missing", lst(["stats enable", "stats realm"])),
    ("stats_page_in_frontend", base(f="    stats enable\n    stats uri /st\n")),
    ("stats_page_in_backend", base(b="    stats enable\n    server s1 127.0.0.1:21001\n")),
    ("stats_page_in_defaults", G + D + "    stats enable\n" + F + "backend apps\n    server s1 127.0.0.1:21001\n"),
    ("stats_promex_path", lst(["http-request use-service prometheus-exporter if { path /metrics }"])),
    ("stats_promex_always", lst(["http-request use-service prometheus-exporter"])),
    ("stats_promex_in_backend", base(b="    http-request use-service prometheus-exporter if { path /metrics }\n    server s1 127.0.0.1:21001\n")),
    ("stats_promex_bad_service", lst(["http-request use-service nosuch"])),
    ("stats_promex_unclosed_cond", lst(["http-request use-service prometheus-exporter if { path /metrics"])),
]

if __name__ == "__main__":
    os.makedirs(DIR, exist_ok=True)
    capture(cases)
