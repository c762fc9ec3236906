"""`haproxy -c` captures for the global keywords of the reload path: `master-worker [no-exit-on-failure]`
and `hard-stop-after <time>`.

Same conventions and output as cfgcheck_extra.py (whose helpers it uses): each case is written to
config_cases/NAME.cfg and its verdict appended to config_check.tsv and config_check_streams.tsv.
Run: python3 cfgcheck_reload.py  (needs /usr/sbin/haproxy 2.6.12 on PATH).
"""
from cfgcheck_extra import base, capture

cases = [
    ("master_worker", base(g="    master-worker\n")),
    ("master_worker_no_exit_on_failure", base(g="    master-worker no-exit-on-failure\n")),
    ("master_worker_bogus", base(g="    master-worker bogus\n")),
    ("master_worker_extra_arg", base(g="    master-worker no-exit-on-failure x\n")),
    ("hard_stop_after", base(g="    hard-stop-after 1s\n")),
    ("hard_stop_after_zero", base(g="    hard-stop-after 0\n")),
    ("hard_stop_after_missing", base(g="    hard-stop-after\n")),
    ("hard_stop_after_abc", base(g="    hard-stop-after abc\n")),
    ("hard_stop_after_bad_unit", base(g="    hard-stop-after 10x\n")),
    ("hard_stop_after_overflow", base(g="    hard-stop-after 99999999999\n")),
    ("hard_stop_after_extra_arg", base(g="    hard-stop-after 1s 2s\n")),
]

if __name__ == "__main__":
    capture(cases)
