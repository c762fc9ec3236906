"""`haproxy -c` captures for `maxconn` in global, defaults, frontend and backend sections.

Same conventions and output as cfgcheck_extra.py (whose helpers it uses): each case is written to
config_cases/NAME.cfg and its verdict appended to config_check.tsv and config_check_streams.tsv.
Run: python3 cfgcheck_maxconn.py  (needs /usr/sbin/haproxy 2.6.12 on PATH).
"""
from cfgcheck_extra import B, D, F, G, SRV, base, capture

cases = [
    ("maxconn_global", base(g="    maxconn 500\n")),
    ("maxconn_global_abc", base(g="    maxconn abc\n")),
    ("maxconn_global_empty", base(g="    maxconn\n")),
    ("maxconn_global_twice", base(g="    maxconn 10\n    maxconn 20\n")),
    ("maxconn_global_extra_arg", base(g="    maxconn 10 20\n")),
    ("maxconn_frontend", base(f="    maxconn 5\n")),
    ("maxconn_frontend_abc", base(f="    maxconn abc\n")),
    ("maxconn_frontend_empty", base(f="    maxconn\n")),
    ("maxconn_frontend_extra_arg", base(f="    maxconn 5 6\n")),
    ("maxconn_defaults", G + D + "    maxconn 5\n" + F + B + SRV + "\n"),
    ("maxconn_backend", base(b="    maxconn 5\n" + SRV + "\n")),
]

if __name__ == "__main__":
    capture(cases)
