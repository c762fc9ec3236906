"""`haproxy -c` captures for the `resolvers` section and the server keywords that use it
(resolvers, resolve-prefer, resolve-opts, resolve-net, init-addr, server-template).

Same conventions and output as cfgcheck_extra.py (whose helpers it uses): each case is written to
config_cases/NAME.cfg and its verdict appended to config_check.tsv and config_check_streams.tsv
(rows of the same names are dropped first, so it can be re-run). All names start with `dns_`.

Layout of a case built by dns():
  1-2   global
  3     resolvers dns
  4     nameserver ns1 127.0.0.1:10053
  5..   the case's extra resolvers lines (r=), k lines
  5+k   defaults (6 lines), then the case's extra defaults lines (d=)
  then  frontend fe (3 lines), backend apps + the case's backend body (b=)
With no extra lines: defaults 5-10, frontend 11-13, backend 14, first server 15.
Nameservers are on 127.0.0.1 (haproxy -c only creates and connect()s an UDP socket, no packet is
sent). `app2.lbh.test` does not resolve through libc, `localhost` does (/etc/hosts).
Cases `dns_parse_resolv_conf*` and `dns_srv_resolvers_default_implicit` read /etc/resolv.conf,
so their verdict depends on the machine's resolv.conf (one IPv4 nameserver when captured).
Run: python3 cfgcheck_resolvers.py  (needs /usr/sbin/haproxy 2.6.12 on PATH).
"""
from cfgcheck_extra import D, F, G, capture

RH = "resolvers dns\n"
NS = "    nameserver ns1 127.0.0.1:10053\n"
FQ = "app2.lbh.test"
S_DNS = "    server s1 app2.lbh.test:8080 check resolvers dns init-addr none\n"


def dns(r="", b=S_DNS, d="", sec=None, tail="", be="backend apps\n", f=""):
    """global / resolvers dns (+r) / defaults (+d) / frontend (+f) / backend apps with b / tail.
    sec replaces the whole resolvers section (header included)."""
    rs = RH + NS + r if sec is None else sec
    return G + rs + D + d + F + f + be + b + tail


def srv(opts, addr=FQ + ":8080"):
    """A valid section and one server `s1 <addr> <opts>`."""
    return dns(b="    server s1 %s %s\n" % (addr, opts))


def rkw(line):
    """A valid section plus one keyword line (line 5), used by the default server."""
    return dns(r="    %s\n" % line)


cases = []

# 1. The section itself.
cases += [
    ("dns_valid_minimal", dns()),
    ("dns_section_no_name", dns(sec="resolvers\n" + NS)),
    ("dns_section_bad_char_name", dns(sec="resolvers d/ns\n" + NS)),
    ("dns_section_duplicate_name", dns(sec=RH + NS + RH + NS)),
    ("dns_section_same_name_as_backend", dns(sec="resolvers apps\n" + NS,
                                             b="    server s1 app2.lbh.test:8080 check"
                                               " resolvers apps init-addr none\n")),
    ("dns_section_unknown_kw", rkw("nosuchkw 1")),
    ("dns_section_unknown_kw_near_miss", rkw("nameservr ns2 127.0.0.1:10054")),
    ("dns_section_no_nameserver_used", dns(sec=RH)),
    ("dns_section_no_nameserver_unused", dns(sec=RH, b="    server s1 127.0.0.1:21001\n")),
    ("dns_section_only_hold_used", dns(sec=RH + "    hold valid 10s\n")),
    ("dns_section_unused", dns(b="    server s1 127.0.0.1:21001\n")),
    ("dns_section_two", dns(sec=RH + NS + "resolvers dns2\n    nameserver ns1 127.0.0.1:10054\n",
                            b=S_DNS + "    server s2 app2.lbh.test:8081 check resolvers dns2"
                                      " init-addr none\n")),
    ("dns_section_at_end", G + D + F + "backend apps\n" + S_DNS + RH + NS),
    ("dns_section_named_default", dns(sec="resolvers default\n" + NS,
                                      b="    server s1 app2.lbh.test:8080 check"
                                        " resolvers default init-addr none\n")),
    # no section at all: haproxy creates an implicit "default" one from /etc/resolv.conf
    ("dns_srv_resolvers_default_implicit", G + D + F + "backend apps\n"
     "    server s1 app2.lbh.test:8080 check resolvers default init-addr none\n"),
    ("dns_nameserver_in_backend", dns(b=S_DNS + "    nameserver ns2 127.0.0.1:10054\n")),
]

# 2. nameserver (line 5 unless noted).
cases += [
    ("dns_ns_missing_name", rkw("nameserver")),
    ("dns_ns_missing_addr", rkw("nameserver ns2")),
    ("dns_ns_bad_addr", rkw("nameserver ns2 127.0.0.1.5:53")),
    ("dns_ns_hostname_localhost", rkw("nameserver ns2 localhost:53")),
    ("dns_ns_hostname_unresolvable", rkw("nameserver ns2 nosuch.lbh.test:53")),
    ("dns_ns_no_port", rkw("nameserver ns2 127.0.0.1")),
    ("dns_ns_port_0", rkw("nameserver ns2 127.0.0.1:0")),
    ("dns_ns_port_abc", rkw("nameserver ns2 127.0.0.1:abc")),
    ("dns_ns_port_range", rkw("nameserver ns2 127.0.0.1:53-54")),
    ("dns_ns_port_offset", rkw("nameserver ns2 127.0.0.1:+1")),
    ("dns_ns_udp", rkw("nameserver ns2 udp@127.0.0.1:53")),
    ("dns_ns_tcp", rkw("nameserver ns2 tcp@127.0.0.1:53")),
    ("dns_ns_ipv6_prefix", rkw("nameserver ns2 ipv6@[::1]:53")),
    ("dns_ns_ipv6_brackets", rkw("nameserver ns2 [::1]:53")),
    ("dns_ns_ipv6_bare", rkw("nameserver ns2 ::1:53")),
    ("dns_ns_unix", rkw("nameserver ns2 unix@/tmp/lbh-dns.sock")),
    ("dns_ns_duplicate_name", rkw("nameserver ns1 127.0.0.1:10054")),
    ("dns_ns_same_addr_other_name", rkw("nameserver ns2 127.0.0.1:10053")),
    ("dns_ns_bad_char_name", rkw("nameserver n/s 127.0.0.1:10054")),
    ("dns_ns_extra_arg", rkw("nameserver ns2 127.0.0.1:10054 foo")),
    # a tcp@ nameserver is parsed by the server parser: the words after the address are keywords
    ("dns_ns_tcp_extra_arg", rkw("nameserver ns2 tcp@127.0.0.1:10054 foo")),
    ("dns_ns_tcp_server_kw", rkw("nameserver ns2 tcp@127.0.0.1:10054 inter 1s")),
    ("dns_ns_tcp_hostname", rkw("nameserver ns2 tcp@localhost:10054")),
]

# 3. parse-resolv-conf (reads the machine's /etc/resolv.conf).
cases += [
    ("dns_parse_resolv_conf", dns(sec=RH + "    parse-resolv-conf\n")),
    ("dns_parse_resolv_conf_extra_arg", dns(sec=RH + "    parse-resolv-conf foo\n")),
    ("dns_parse_resolv_conf_twice", dns(sec=RH + "    parse-resolv-conf\n    parse-resolv-conf\n")),
    ("dns_parse_resolv_conf_with_ns", rkw("parse-resolv-conf")),
]

# 4. resolve_retries, timeout, hold, accepted_payload_size, resolution_pool_size (line 5).
for tag, val in [("3", "3"), ("0", "0"), ("minus1", "-1"), ("abc", "abc"), ("missing", ""),
                 ("extra_arg", "3 4"), ("trailing_garbage", "3x")]:
    cases.append(("dns_resolve_retries_" + tag, rkw(("resolve_retries " + val).rstrip())))
for tag, line in [
        ("resolve_1s", "timeout resolve 1s"),
        ("retry_1s", "timeout retry 1s"),
        ("resolve_0", "timeout resolve 0"),
        ("retry_0", "timeout retry 0"),
        ("resolve_no_unit", "timeout resolve 1500"),
        ("resolve_bad_unit", "timeout resolve 10x"),
        ("retry_bad_unit", "timeout retry 10x"),
        ("resolve_missing", "timeout resolve"),
        ("retry_missing", "timeout retry"),
        ("resolve_overflow", "timeout resolve 25d"),
        ("resolve_max", "timeout resolve 2147483647"),
        ("resolve_max_plus1", "timeout resolve 2147483648"),
        ("retry_underflow", "timeout retry 10us"),
        ("resolve_extra_arg", "timeout resolve 1s 2s"),
        ("nosuch", "timeout nosuch 1s"),
        ("alone", "timeout"),
        ("retries_word", "timeout retries 1s")]:
    cases.append(("dns_timeout_" + tag, rkw(line)))
for ev in ["valid", "nx", "obsolete", "timeout", "refused", "other"]:
    cases.append(("dns_hold_" + ev, rkw("hold %s 10s" % ev)))
cases += [
    ("dns_hold_bogus", rkw("hold bogus 1s")),
    ("dns_hold_bogus_bad_time", rkw("hold bogus abc")),
    ("dns_hold_nx_bad_time", rkw("hold nx abc")),
    ("dns_hold_nx_missing_time", rkw("hold nx")),
    ("dns_hold_alone", rkw("hold")),
    ("dns_hold_valid_0", rkw("hold valid 0")),
    ("dns_hold_nx_overflow", rkw("hold nx 25d")),
    ("dns_hold_nx_max", rkw("hold nx 2147483647")),
    ("dns_hold_nx_underflow", rkw("hold nx 10us")),
    ("dns_hold_extra_arg", rkw("hold nx 10s 20s")),
]
for tag, val in [("512", "512"), ("511", "511"), ("8192", "8192"), ("65535", "65535"),
                 ("65536", "65536"), ("12", "12"), ("11", "11"), ("abc", "abc"),
                 ("trailing_garbage", "1024abc"), ("missing", "")]:
    cases.append(("dns_payload_size_" + tag, rkw(("accepted_payload_size " + val).rstrip())))
cases += [
    ("dns_resolution_pool_size", rkw("resolution_pool_size 10")),
    ("dns_resolution_pool_size_no_arg", rkw("resolution_pool_size")),
]

# 5. Server keywords (server on line 15).
cases += [
    ("dns_srv_resolvers_missing_section", srv("check resolvers nosuch init-addr none")),
    ("dns_srv_resolvers_no_arg", srv("check init-addr none resolvers")),
    ("dns_srv_resolvers_ip_literal", srv("check resolvers dns", addr="127.0.0.1:21001")),
    ("dns_srv_resolvers_no_check", srv("resolvers dns init-addr none")),
    ("dns_srv_resolve_prefer_ipv4", srv("check resolvers dns init-addr none resolve-prefer ipv4")),
    ("dns_srv_resolve_prefer_ipv6", srv("check resolvers dns init-addr none resolve-prefer ipv6")),
    ("dns_srv_resolve_prefer_bogus", srv("check resolvers dns init-addr none resolve-prefer bogus")),
    ("dns_srv_resolve_prefer_missing", srv("check resolvers dns init-addr none resolve-prefer")),
    ("dns_srv_resolve_opts_all", srv("check resolvers dns init-addr none"
                                     " resolve-opts allow-dup-ip,ignore-weight,prevent-dup-ip")),
    ("dns_srv_resolve_opts_bogus", srv("check resolvers dns init-addr none"
                                       " resolve-opts allow-dup-ip,bogus")),
    ("dns_srv_resolve_opts_missing", srv("check resolvers dns init-addr none resolve-opts")),
    ("dns_srv_resolve_net", srv("check resolvers dns init-addr none resolve-net 10.0.0.0/8")),
    ("dns_srv_resolve_net_list", srv("check resolvers dns init-addr none"
                                     " resolve-net 10.0.0.0/8,fd00::/8")),
    ("dns_srv_resolve_net_bad", srv("check resolvers dns init-addr none resolve-net 10.0.0.0/99")),
    ("dns_srv_resolve_net_missing", srv("check resolvers dns init-addr none resolve-net")),
    ("dns_srv_resolve_prefer_without_resolvers", srv("check resolve-prefer ipv4",
                                                     addr="127.0.0.1:21001")),
]
for tag, val in [("last_libc_none", "last,libc,none"), ("none", "none"), ("libc", "libc"),
                 ("last", "last"), ("ip", "127.0.0.9"), ("bogus", "bogus"), ("empty", '""'),
                 ("none_libc", "none,libc"), ("libc_none", "libc,none"),
                 ("two_ips", "127.0.0.9,127.0.0.10"), ("trailing_comma", "none,")]:
    cases.append(("dns_srv_init_addr_" + tag, srv("check resolvers dns init-addr " + val)))
# the method list holds at most 10 entries (3 bits each in an unsigned int)
cases += [
    ("dns_srv_init_addr_ten", srv("check resolvers dns init-addr " + ",".join(["none"] * 10))),
    ("dns_srv_init_addr_eleven", srv("check resolvers dns init-addr " + ",".join(["none"] * 11))),
    ("dns_srv_init_addr_libc_ip", srv("check resolvers dns init-addr libc,127.0.0.9")),
    ("dns_srv_init_addr_ip_v6", srv("check resolvers dns init-addr ::1")),
]
cases += [
    ("dns_srv_init_addr_missing", srv("check resolvers dns init-addr")),
    # unresolvable name, with and without resolvers
    ("dns_srv_unresolvable_no_resolvers", srv("check")),
    ("dns_srv_unresolvable_default_init_addr", srv("check resolvers dns")),
    ("dns_srv_unresolvable_init_addr_none_no_resolvers", srv("check init-addr none")),
    ("dns_srv_unresolvable_init_addr_ip_no_resolvers", srv("check init-addr 127.0.0.9")),
    ("dns_srv_unresolvable_init_addr_last_no_resolvers", srv("check init-addr last")),
    ("dns_srv_localhost_init_addr_libc", srv("check resolvers dns init-addr libc",
                                             addr="localhost:8080")),
    ("dns_srv_localhost_default_init_addr", srv("check resolvers dns", addr="localhost:8080")),
    ("dns_srv_fqdn_no_port", srv("check resolvers dns init-addr none", addr=FQ)),
    # the name is turned into DNS labels while parsing: empty labels are refused
    ("dns_srv_fqdn_double_dot", srv("check resolvers dns init-addr none", addr="app2..lbh.test:8080")),
    ("dns_srv_fqdn_trailing_dot", srv("check resolvers dns init-addr none", addr="app2.lbh.test.:8080")),
    ("dns_srv_fqdn_long_label", srv("check resolvers dns init-addr none",
                                    addr="a" * 64 + ".lbh.test:8080")),
    ("dns_default_server_backend", dns(b="    default-server resolvers dns init-addr none\n"
                                        "    server s1 app2.lbh.test:8080 check\n")),
    ("dns_default_server_defaults", dns(d="    default-server resolvers dns init-addr none\n",
                                        b="    server s1 app2.lbh.test:8080 check\n")),
    ("dns_mode_tcp_backend", dns(b="    mode tcp\n" + S_DNS)),
    ("dns_mode_tcp_frontend_backend", dns(f="    mode tcp\n", b="    mode tcp\n" + S_DNS)),
    ("dns_listen", dns(b="    server s1 127.0.0.1:21001\n",
                       tail="listen lst\n    bind 127.0.0.1:20081\n" + S_DNS)),
    ("dns_mode_tcp_listen", dns(b="    server s1 127.0.0.1:21001\n",
                                tail="listen lst\n    mode tcp\n    bind 127.0.0.1:20081\n"
                                     + S_DNS)),
]

# 6. server-template (line 15).
def tmpl(rest):
    return dns(b="    server-template " + rest + "\n")


cases += [
    ("dns_tmpl_valid", tmpl("srv 3 app2.lbh.test:8080 check resolvers dns init-addr none")),
    ("dns_tmpl_range", tmpl("srv 1-3 app2.lbh.test:8080 check resolvers dns init-addr none")),
    ("dns_tmpl_range_5_7", tmpl("srv 5-7 app2.lbh.test:8080 check resolvers dns init-addr none")),
    ("dns_tmpl_zero", tmpl("srv 0 app2.lbh.test:8080 check resolvers dns init-addr none")),
    ("dns_tmpl_abc", tmpl("srv abc app2.lbh.test:8080 check resolvers dns init-addr none")),
    ("dns_tmpl_reversed_range", tmpl("srv 3-1 app2.lbh.test:8080 check resolvers dns init-addr none")),
    ("dns_tmpl_range_equal", tmpl("srv 2-2 app2.lbh.test:8080 check resolvers dns init-addr none")),
    ("dns_tmpl_range_from_0", tmpl("srv 0-2 app2.lbh.test:8080 check resolvers dns init-addr none")),
    ("dns_tmpl_negative", tmpl("srv -1 app2.lbh.test:8080 check resolvers dns init-addr none")),
    ("dns_tmpl_missing_fqdn", tmpl("srv 3")),
    ("dns_tmpl_missing_number", tmpl("srv app2.lbh.test:8080")),
    ("dns_tmpl_missing_number_with_kw", tmpl("srv app2.lbh.test:8080 check resolvers dns")),
    ("dns_tmpl_srv_record", tmpl("srv 3 _http._tcp.app.lbh.test resolvers dns init-addr none")),
    ("dns_tmpl_srv_record_port", tmpl("srv 3 _http._tcp.app.lbh.test:8080 resolvers dns"
                                      " init-addr none")),
    ("dns_tmpl_srv_record_double_dot", tmpl("srv 3 _http._tcp..lbh.test resolvers dns init-addr none")),
    ("dns_tmpl_bad_kw_value", tmpl("srv 2 app2.lbh.test:8080 resolvers dns init-addr none"
                                   " resolve-prefer bogus")),
    ("dns_tmpl_srv_record_no_resolvers", tmpl("srv 3 _http._tcp.app.lbh.test")),
    ("dns_tmpl_ip_literal", tmpl("srv 3 127.0.0.1:21001 check resolvers dns")),
    ("dns_tmpl_ip_literal_no_resolvers", tmpl("srv 2 127.0.0.1:21001")),
    ("dns_tmpl_in_defaults", dns(d="    server-template srv 3 app2.lbh.test:8080 resolvers dns"
                                   " init-addr none\n",
                                 b="    server s1 127.0.0.1:21001\n")),
    ("dns_tmpl_name_collision", dns(b="    server srv1 127.0.0.1:21001\n"
                                      "    server-template srv 2 app2.lbh.test:8080 check"
                                      " resolvers dns init-addr none\n")),
    ("dns_tmpl_two_templates_overlap", dns(b="    server-template srv 2 app2.lbh.test:8080"
                                             " resolvers dns init-addr none\n"
                                             "    server-template srv 2-3 app2.lbh.test:8081"
                                             " resolvers dns init-addr none\n")),
    ("dns_tmpl_localhost_no_resolvers", tmpl("srv 2 localhost:8080")),
    ("dns_tmpl_unresolvable_no_resolvers", tmpl("srv 2 app2.lbh.test:8080")),
    ("dns_tmpl_bad_prefix_char", tmpl("s/rv 2 app2.lbh.test:8080 resolvers dns init-addr none")),
    ("dns_tmpl_in_frontend", dns(f="    server-template srv 2 app2.lbh.test:8080 resolvers dns"
                                   " init-addr none\n", b="    server s1 127.0.0.1:21001\n")),
]

if __name__ == "__main__":
    capture(cases)
