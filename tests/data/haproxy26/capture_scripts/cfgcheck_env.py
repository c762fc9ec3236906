"""`haproxy -c` captures of environment variables in the configuration (env_*): "${NAME}",
"$NAME", "${NAME-default}", "${NAME[*]}", the pseudo-variables ${.FILE}, ${.LINE}, ${.SECTION},
the global keywords setenv, presetenv, unsetenv, resetenv, localpeer, and the lexer's errors.

Same conventions as cfgcheck_extra.py (whose helpers it uses); haproxy runs with only PATH and
the variables of ENV below, which config_vs_haproxy_test.cpp gives lb's parser as well.
Run: python3 cfgcheck_env.py  (needs /usr/sbin/haproxy 2.6.12 on PATH).
"""
import os
import subprocess

import cfgcheck_extra as x

ENV = {
    "LBH_ADDR": "127.0.0.1:20081",
    "LBH_SRV": "127.0.0.1:21002",
    "LBH_OPTS": "check inter 2s",
    "LBH_SPACED": "  check  fall 2 ",
    "LBH_EMPTY": "",
}


def run(text):
    d = x.tempfile.mkdtemp(prefix="cc")
    with open(os.path.join(d, "site.cfg"), "wb") as f:
        f.write(text.encode("latin1"))
    cmd = ["timeout", "10", "haproxy", "-c", "-f", "site.cfg"]
    env = dict(ENV, PATH=os.environ["PATH"])
    p = subprocess.run(cmd, cwd=d, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    p2 = subprocess.run(cmd, cwd=d, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    x.shutil.rmtree(d)
    return (p.returncode, x.mask(p.stdout.decode("latin1")),
            p2.returncode, p2.stdout.decode("latin1"), x.mask(p2.stderr.decode("latin1")))


x.run = run
base, SRV = x.base, x.SRV


def bind(addr):  # line 12
    return base(f="    bind %s\n" % addr)


def server(rest):  # line 13
    return base(b="    server s1 %s\n" % rest)


def glob(lines, f="", b=None):  # global lines from line 3 on
    return base(g="".join("    %s\n" % l for l in lines), f=f, b=b)


cases = [
    ("env_bind_variable", bind('"${LBH_ADDR}"')),
    ("env_bind_variable_no_braces", bind('"$LBH_ADDR"')),
    ("env_bind_default", bind('"127.0.0.1:${LBH_UNSET-20082}"')),
    ("env_bind_default_when_set", bind('"${LBH_ADDR-999.0.0.1:1}"')),
    ("env_bind_set_but_empty", bind('"${LBH_EMPTY-127.0.0.1:20082}"')),
    ("env_bind_unset", bind('"${LBH_UNSET}"')),
    ("env_bind_single_quotes", bind("'${LBH_ADDR}'")),
    ("env_bind_unquoted", bind("${LBH_ADDR}")),
    ("env_bind_escaped_dollar", bind('"\\${LBH_ADDR}"')),
    ("env_server_port_unquoted", server("127.0.0.1:$LBH_PORT")),
    ("env_server_word_expansion", server('"${LBH_SRV}" "${LBH_OPTS[*]}"')),
    ("env_server_word_expansion_spaced", server('"${LBH_SRV}" "${LBH_SPACED[*]}"')),
    ("env_server_no_word_expansion", server('"${LBH_SRV}" "${LBH_OPTS}"')),
    ("env_server_word_expansion_empty", server('"${LBH_SRV}" check "${LBH_EMPTY[*]}"')),
    ("env_server_word_expansion_unset", server('"${LBH_SRV}" "${LBH_UNSET[*]}" check')),
    ("env_bad_first_char", bind('"${1X}"')),
    ("env_dollar_dash", bind('"$-"')),
    ("env_dollar_at_end_of_quote", bind('"127.0.0.1:$"')),
    ("env_unmatched_brace", bind('"${LBH_ADDR"')),
    ("env_unmatched_brace_default", bind('"${LBH_ADDR-127.0.0.1:1"')),
    ("env_bad_word_expansion", server('"${LBH_SRV}" "${LBH_OPTS[+]}"')),
    ("env_word_expansion_without_braces", server('"${LBH_SRV}" "$LBH_OPTS[*]"')),
    ("env_unknown_pseudo_variable", bind('"${.FOO}"')),
    ("env_default_then_unmatched_quote", bind('"${LBH_UNSET-127.0.0.1:20082}" "x')),
    ("env_default_then_unknown_pseudo", bind('"${LBH_UNSET-127.0.0.1:20082}" "${.NOPE}"')),
    ("env_pseudo_file", bind('"${.FILE}"')),
    ("env_pseudo_line", base(f='    timeout client "${.LINE}x"\n')),
    ("env_pseudo_section", base(f='    default_backend "${.SECTION}"\n')),
    ("env_pseudo_section_defaults", base(f="", b=SRV + "\n") .replace(
        "    timeout check 2s\n", '    timeout check "${.SECTION}"\n')),
    ("env_pseudo_section_on_header", base().replace("backend apps\n", 'backend "x${.SECTION}"\n')),
    ("env_setenv", glob(["setenv LBH_NEW 127.0.0.1:20082"], f='    bind "${LBH_NEW}"\n')),
    ("env_setenv_overwrites", glob(["setenv LBH_ADDR 999.0.0.1:1"], f='    bind "${LBH_ADDR}"\n')),
    ("env_presetenv_keeps", glob(["presetenv LBH_ADDR 999.0.0.1:1"], f='    bind "${LBH_ADDR}"\n')),
    ("env_presetenv_sets", glob(["presetenv LBH_NEW 127.0.0.1:20082"], f='    bind "${LBH_NEW}"\n')),
    ("env_unsetenv", glob(["unsetenv LBH_UNSET LBH_ADDR"], f='    bind "${LBH_ADDR}"\n')),
    ("env_unsetenv_stops_at_empty", glob(['unsetenv LBH_UNSET "" LBH_ADDR'], f='    bind "${LBH_ADDR}"\n')),
    ("env_resetenv_keeps", glob(["resetenv LBH_SRV"], f='    bind "${LBH_ADDR}"\n', b='    server s1 "${LBH_SRV}"\n')),
    ("env_resetenv_all", glob(["resetenv"], b='    server s1 "${LBH_SRV}"\n')),
    ("env_setenv_then_expanded", glob(['setenv LBH_NEW "${LBH_ADDR}"'], f='    bind "${LBH_NEW}"\n')),
    ("env_setenv_missing_value", glob(["setenv LBH_NEW"])),
    ("env_setenv_empty_value", glob(['setenv LBH_NEW ""'])),
    ("env_setenv_missing_name", glob(["setenv"])),
    ("env_setenv_extra_arg", glob(["setenv LBH_NEW a b"])),
    ("env_setenv_empty_name", glob(['setenv "" a'])),
    ("env_setenv_name_with_equals", glob(["setenv A=B a"])),
    ("env_presetenv_missing_value", glob(["presetenv LBH_NEW"])),
    ("env_unsetenv_missing_name", glob(["unsetenv"])),
    ("env_unsetenv_name_with_equals", glob(["unsetenv A=B"])),
    ("env_localpeer", glob(["localpeer edge1"], f='    bind "127.0.0.1:2${HAPROXY_LOCALPEER-1}"\n')),
    ("env_localpeer_missing_name", glob(["localpeer"])),
    ("env_localpeer_extra_arg", glob(["localpeer a b"])),
    ("env_long_line_unmatched_quote", base(f="    description " + "x" * 90 + ' "unterminated\n')),
    # ports as str2sa_range() reads them (atoi), and bind names resolved while parsing
    ("addr_port_bind_trailing_garbage", bind("127.0.0.1:2x")),
    ("addr_port_bind_letters", bind("127.0.0.1:x")),
    ("addr_port_bind_plus", bind("127.0.0.1:+1")),
    ("addr_port_bind_range_reversed", bind("127.0.0.1:20090-20085")),
    ("addr_port_bind_range_garbage_end", bind("127.0.0.1:20090-x")),
    ("addr_port_bind_range_loose", bind("127.0.0.1:20090x-20091")),
    ("addr_port_bind_too_many_digits", bind("127.0.0.1:0000000000080")),
    ("addr_port_bind_unresolvable_name", bind("999.0.0.1:20090")),
    ("addr_port_bind_localhost", bind("localhost:20090")),
    ("addr_port_server_letters", server("127.0.0.1:x")),
    ("addr_port_server_trailing_garbage", server("127.0.0.1:21001x")),
    ("addr_port_server_range", server("127.0.0.1:21001-21002")),
    ("addr_port_server_zero", server("127.0.0.1:0")),
    ("addr_port_log_trailing_garbage", glob(["log 127.0.0.1:514x local0"])),
    ("addr_port_log_letters", glob(["log 127.0.0.1:x local0"])),
    # a server keyword whose argument is missing at the end of the line (as an empty expansion leaves it)
] + [("server_kw_missing_arg_" + kw.replace("-", "_"), server("127.0.0.1:21001 " + kw))
     for kw in ["inter", "fastinter", "downinter", "rise", "fall", "port", "addr", "weight", "maxconn",
                "resolvers", "resolve-prefer", "resolve-opts", "resolve-net", "init-addr"]] + [
    ("global_daemon", glob(["daemon"])),
    ("global_daemon_extra_arg", glob(["daemon x"])),
    ("env_long_line_bad_variable", base(f="    description " + "y" * 90 + ' "${1X}"\n')),
]

if __name__ == "__main__":
    x.capture(cases)
