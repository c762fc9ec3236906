"""`haproxy -c` captures of the logging keywords (log_*): `log ... len N`, `log-tag` in global
and in proxies, `log-send-hostname`.

Same conventions as cfgcheck_extra.py, whose helpers it uses.
Run: python3 cfgcheck_log.py  (needs /usr/sbin/haproxy 2.6.12 on PATH).
"""
import cfgcheck_extra as x

base = x.base


def glob(lines):
    return base(g="".join("    %s\n" % l for l in lines))


cases = [
    ("log_len_min", glob(["log 127.0.0.1:514 len 80 local0"])),
    ("log_len_max", glob(["log 127.0.0.1:514 len 65535 format rfc5424 local0"])),
    ("log_len_too_small", glob(["log 127.0.0.1:514 len 79 local0"])),
    ("log_len_too_large", glob(["log 127.0.0.1:514 len 65536 local0"])),
    ("log_len_letters", glob(["log 127.0.0.1:514 len abc local0"])),
    ("log_len_trailing_garbage", glob(["log 127.0.0.1:514 len 120x local0"])),
    ("log_len_missing", glob(["log 127.0.0.1:514 len"])),
    ("log_len_after_format", glob(["log 127.0.0.1:514 format raw len 100 local0"])),
    ("log_len_stdout", glob(["log stdout len 100 format raw local0"])),
    ("log_len_in_frontend", base(f="    log 127.0.0.1:514 len 200 local0\n")),
    ("log_tag_global", glob(["log-tag web"])),
    ("log_tag_global_missing", glob(["log-tag"])),
    ("log_tag_global_empty", glob(['log-tag ""'])),
    ("log_tag_global_extra", glob(["log-tag a b"])),
    ("log_tag_frontend", base(f="    log-tag front\n")),
    ("log_tag_frontend_missing", base(f="    log-tag\n")),
    ("log_tag_frontend_extra", base(f="    log-tag a b\n")),
    ("log_tag_backend", base(b="    log-tag back\n" + x.SRV + "\n")),
    ("log_send_hostname", glob(["log-send-hostname"])),
    ("log_send_hostname_named", glob(["log-send-hostname edge1"])),
    ("log_send_hostname_extra", glob(["log-send-hostname a b"])),
    # parse_logsrv()'s errors, each reported as "log : ..."
    ("log_no_facility", glob(["log 127.0.0.1:514"])),
    ("log_no_arguments", glob(["log"])),
    ("log_format_missing_name", glob(["log 127.0.0.1:514 format"])),
    ("log_format_unknown", glob(["log 127.0.0.1:514 format nope local0"])),
    ("log_facility_unknown", glob(["log 127.0.0.1:514 local9"])),
    ("log_level_unknown", glob(["log 127.0.0.1:514 local0 loud"])),
    ("log_min_level_unknown", glob(["log 127.0.0.1:514 local0 info loud"])),
    ("log_extra_argument", glob(["log 127.0.0.1:514 local0 info debug extra"])),
    ("log_global_in_global", glob(["log global"])),
    ("log_global_extra_in_frontend", base(f="    log global x\n")),
    ("log_no_facility_in_frontend", base(f="    log 127.0.0.1:514\n")),
    ("log_format_unknown_in_backend", base(b="    log 127.0.0.1:514 format nope local0\n" + x.SRV + "\n")),
]

if __name__ == "__main__":
    x.capture(cases)
