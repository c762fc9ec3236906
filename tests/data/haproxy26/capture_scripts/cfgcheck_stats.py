"""`haproxy -c` captures for the Runtime API's global keywords: `stats socket` (addresses, level,
mode, options) and `stats timeout|maxconn|bind-process`.

Same conventions and output as cfgcheck_extra.py (whose helpers it uses); all names start with
`stats_`. The keyword is line 3 (after `global` and its log line). UNIX paths are under
/tmp/lbh-stats-capture (created here; haproxy -c does not bind them).
Run: python3 cfgcheck_stats.py  (needs /usr/sbin/haproxy 2.6.12 on PATH).
"""
import os

from cfgcheck_extra import base, capture

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

if __name__ == "__main__":
    os.makedirs(DIR, exist_ok=True)
    capture(cases)
