#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "lb/core/config/lexer.hpp"
#include "lb/core/config/parser.hpp"
#include "lb/core/config/printer.hpp"
#include "lb/core/config/values.hpp"

namespace lb::core {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> alerts(const ParseResult& r) {
  std::vector<std::string> out;
  for (const auto& d : r.diagnostics)
    if (d.level == Diagnostic::Level::Alert) out.push_back(format_diagnostic(d));
  return out;
}
std::vector<std::string> warnings(const ParseResult& r) {
  std::vector<std::string> out;
  for (const auto& d : r.diagnostics)
    if (d.level == Diagnostic::Level::Warning) out.push_back(format_diagnostic(d));
  return out;
}

TEST(Lexer, SplitsOnBlanksAndStopsAtComments) {
  EXPECT_THAT(lex_line("  server s1\t127.0.0.1:80 check # comment").words,
              ElementsAre("server", "s1", "127.0.0.1:80", "check"));
  EXPECT_TRUE(lex_line("   # only a comment").words.empty());
}

TEST(Lexer, QuotesAndEscapesAsHaproxy) {
  EXPECT_THAT(lex_line(R"(http-check send hdr Host "a b" body 'x\ny')").words,
              ElementsAre("http-check", "send", "hdr", "Host", "a b", "body", "x\\ny"));
  EXPECT_THAT(lex_line(R"(a\ b \#c "q\"d" "e\r\n" \x41)").words, ElementsAre("a b", "#c", "q\"d", "e\r\n", "A"));
  EXPECT_THAT(lex_line(R"(x"y z"w)").words, ElementsAre("xy zw"));
  EXPECT_THAT(lex_line(R"(empty "" word)").words, ElementsAre("empty", "", "word"));
}

TEST(Lexer, ReportsUnmatchedQuoteAndBadHexEscape) {
  EXPECT_THAT(lex_line(R"(server "abc)").error, HasSubstr("unmatched quote"));
  EXPECT_THAT(lex_line(R"(a \xZZ)").error, HasSubstr("hexadecimal"));
}

LexContext variables(std::map<std::string, std::string> vars) {
  LexContext c;
  c.getenv = [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
  c.file = "site.cfg";
  c.line = 7;
  c.section = "apps";
  return c;
}

TEST(Lexer, ExpandsVariablesInDoubleQuotesOnly) {
  const auto c = variables({{"ADDR", "127.0.0.1:80"}, {"OPTS", "  check inter  2s "}, {"E", ""}});
  EXPECT_THAT(lex_line(R"(server s1 "${ADDR}" "$ADDR" '$ADDR' $ADDR "\$ADDR")", c).words,
              ElementsAre("server", "s1", "127.0.0.1:80", "127.0.0.1:80", "$ADDR", "$ADDR", "$ADDR"));
  EXPECT_THAT(lex_line(R"(x "${UNSET}" "a${UNSET}b" "${UNSET-dflt}" "${ADDR-dflt}" "${E-dflt}")", c).words,
              ElementsAre("x", "", "ab", "dflt", "127.0.0.1:80", ""));
  // ${NAME[*]} makes words of the value's blank-separated parts, even across the quotes.
  EXPECT_THAT(lex_line(R"(x "a${OPTS[*]}b" "${E[*]}")", c).words, ElementsAre("x", "a", "check", "inter", "2s", "b", ""));
  EXPECT_THAT(lex_line(R"(x "${.FILE}:${.LINE}:${.SECTION}" "$.LINE")", c).words, ElementsAre("x", "site.cfg:7:apps", "7"));
  EXPECT_THAT(lex_line(R"(x "${.SECTION}")").words, ElementsAre("x", ""));  // before any section
  // The default is taken as written: no variable or escape in it is read.
  EXPECT_THAT(lex_line(R"(x "${UNSET-$ADDR\t}")", c).words, ElementsAre("x", "$ADDR\\t"));
}

TEST(Lexer, NamesBadVariablesAsHaproxy) {
  const auto c = variables({});
  EXPECT_EQ(lex_line(R"(    log "${1X}" local0)", c).error,
            "forbidden first char in environment variable name at position 12:\n  log \"${1X}\" local0\n         ^");
  EXPECT_EQ(lex_line(R"(    log "$-" local0)", c).error,
            "forbidden first char in environment variable name at position 11:\n  log \"$-\" local0\n        ^");
  EXPECT_EQ(lex_line(R"(    log "${X" local0)", c).error,
            "unmatched brace in environment variable name at position 11:\n  log \"${X\" local0\n        ^");
  EXPECT_EQ(lex_line(R"(    log "${X[+]}" local0)", c).error,
            "truncated or invalid word expansion sequence at position 13:\n  log \"${X[+]}\" local0\n          ^");
  // haproxy shows the line as far as the NUL its parser has written into it: after an unknown
  // pseudo-variable's name, or where a default value ended.
  EXPECT_EQ(lex_line(R"(    log "${.FOO}" local0)", c).error,
            "forbidden first char in environment variable name at position 12:\n  log \"${.FOO\n         ^");
  EXPECT_EQ(lex_line(R"(    log "${Y-a}" "${.FOO}" local0)", c).error,
            "forbidden first char in environment variable name at position 21:\n  log \"${Y-a\n                  ^");
  EXPECT_EQ(lex_line(R"(    log "${X-a} local0)", c).error, "unmatched quote at position 9:\n  log \"${X-a\n      ^");
}

TEST(Lexer, ShowsLongLinesAsHaproxyDoes) {
  // At most 80 columns; a position further right is centred between "..." marks.
  const std::string tail(100, 'x');
  EXPECT_EQ(lex_line("  a \"" + tail).error,
            "unmatched quote at position 5:\n  a \"" + std::string(77, 'x') + "\n    ^");
  EXPECT_EQ(lex_line("  a " + tail + " \"b").error,
            "unmatched quote at position 106:\n  ..." + std::string(36, 'x') + " \"b...\n  " + std::string(40, ' ') + "^");
  EXPECT_EQ(lex_line("a\x01\xff \"b").error, "unmatched quote at position 5:\n  a?? \"b\n      ^");
}

TEST(Lexer, QuoteWordRoundTrips) {
  for (const std::string w : {"plain", "a b", "", "q\"uote", "back\\slash", "#hash", "tab\tnl\n", "\x01\x7f", "$HOME x"}) {
    const auto words = lex_line(quote_word(w)).words;
    ASSERT_EQ(words.size(), 1u) << quote_word(w);
    EXPECT_EQ(words[0], w);
  }
}

TEST(Duration, ParsesHaproxyUnitsWithMillisecondsByDefault) {
  EXPECT_EQ(parse_duration("1500").value(), Ms{1500});
  EXPECT_EQ(parse_duration("2s").value(), Ms{2000});
  EXPECT_EQ(parse_duration("100ms").value(), Ms{100});
  EXPECT_EQ(parse_duration("1m").value(), Ms{60000});
  EXPECT_EQ(parse_duration("1h").value(), Ms{3600000});
  EXPECT_EQ(parse_duration("1d").value(), Ms{86400000});
  EXPECT_EQ(parse_duration("1500us").value(), Ms{2});
  EXPECT_THAT(parse_duration("2x").error().message, HasSubstr("unexpected character 'x'"));
  EXPECT_FALSE(parse_duration("").has_value());
  EXPECT_FALSE(parse_duration("-1").has_value());
  EXPECT_FALSE(parse_duration("30d").has_value());  // beyond 2^31 ms
}

TEST(Duration, FormatsInTheLargestExactUnit) {
  EXPECT_EQ(format_duration(Ms{2000}), "2s");
  EXPECT_EQ(format_duration(Ms{1500}), "1500ms");
  EXPECT_EQ(format_duration(Ms{120000}), "2m");
  EXPECT_EQ(format_duration(Ms{0}), "0");
}

TEST(LooseInt, ReadsLeadingDigitsLikeAtoi) {
  EXPECT_EQ(parse_loose_int("12").value, 12);
  EXPECT_TRUE(parse_loose_int("12").strict);
  EXPECT_EQ(parse_loose_int("abc").value, 0);
  EXPECT_FALSE(parse_loose_int("abc").strict);
  EXPECT_EQ(parse_loose_int("3x").value, 3);
  EXPECT_FALSE(parse_loose_int("3x").strict);
  EXPECT_EQ(parse_loose_int("-1").value, -1);
  EXPECT_TRUE(parse_loose_int("-1").strict);
}

TEST(HostPort, AcceptsHaproxyAddressForms) {
  EXPECT_EQ(parse_host_port("127.0.0.1:80")->host, "127.0.0.1");
  EXPECT_EQ(parse_host_port("127.0.0.1:80")->port, 80);
  EXPECT_EQ(parse_host_port("[::1]:8080")->host, "::1");
  EXPECT_EQ(parse_host_port("::1:8080")->port, 8080);
  EXPECT_EQ(parse_host_port("app1:8080")->host, "app1");
  EXPECT_EQ(parse_host_port(":80")->host, "");
  EXPECT_EQ(parse_host_port("*:80")->host, "");
  EXPECT_EQ(parse_host_port("app1")->port, std::nullopt);
  EXPECT_FALSE(parse_host_port("1.2.3.4:99999").has_value());
  EXPECT_FALSE(parse_host_port("1.2.3.4:8o").has_value());
  EXPECT_FALSE(parse_host_port("@[::1]:6379").has_value());  // found by fuzz/config_fuzz.cpp
  EXPECT_FALSE(parse_host_port("a b:80").has_value());
  EXPECT_FALSE(parse_host_port("[::1%]:80").has_value());
  EXPECT_EQ(parse_host_port("[fe80::1%eth0]:80")->host, "fe80::1%eth0");
}

constexpr std::string_view kIncidentConfig = R"(global
    log stdout format raw local0

defaults
    mode http
    log global
    option httplog
    timeout connect 5s
    timeout client 10s
    timeout server 10s
    timeout http-request 10s

frontend fe_main
    bind *:8080
    default_backend be_server

backend be_server
    balance roundrobin
    option httpchk
    default-server inter 2s fall 3 rise 2
    server app1 app1:8080 check
    server app2 app2:8080 check weight 2
    server app3 10.0.0.3:8080 check backup
)";

// The containers' names, as the incident's container network resolved them.
ParseEnvironment container_network() {
  ParseEnvironment env;
  env.lookup = [](const std::string& host, AddressFamily) -> std::optional<std::string> {
    if (host == "app1") return "10.0.0.1";
    if (host == "app2") return "10.0.0.2";
    return std::nullopt;
  };
  return env;
}

TEST(ConfigParser, ReadsTheIncidentConfigWithInheritedDefaults) {
  const auto r = parse_config(kIncidentConfig, "haproxy.cfg", container_network());
  EXPECT_TRUE(alerts(r).empty()) << ::testing::PrintToString(alerts(r));
  EXPECT_TRUE(warnings(r).empty()) << ::testing::PrintToString(warnings(r));
  ASSERT_EQ(r.config.proxies.size(), 2u);
  const auto& fe = r.config.proxies[0];
  EXPECT_EQ(fe.kind, ProxyKind::Frontend);
  EXPECT_THAT(fe.binds, ElementsAre(Bind{"", 8080}));
  EXPECT_EQ(fe.default_backend, "be_server");
  EXPECT_EQ(fe.timeouts.client, Ms{10000});
  EXPECT_TRUE(fe.log_global);
  EXPECT_TRUE(fe.httplog);  // inherited from defaults; a backend keeps none of it
  EXPECT_FALSE(r.config.proxies[1].httplog);
  const auto& be = r.config.proxies[1];
  EXPECT_EQ(be.mode, Mode::Http);
  EXPECT_EQ(be.check.kind, CheckKind::HttpChk);
  EXPECT_EQ(be.check.http.method, "OPTIONS");
  EXPECT_EQ(be.check.http.uri, "/");
  EXPECT_EQ(be.check.http.version, "HTTP/1.0");
  EXPECT_EQ(be.timeouts.connect, Ms{5000});
  EXPECT_EQ(be.timeouts.check, std::nullopt);
  ASSERT_EQ(be.servers.size(), 3u);
  EXPECT_EQ(be.servers[0].host, "app1");
  EXPECT_EQ(be.servers[0].start_address, "10.0.0.1");  // init-addr: libc, at start-up
  EXPECT_EQ(be.servers[0].port, 8080);
  EXPECT_EQ(be.servers[0].settings.fall, 3);
  EXPECT_EQ(be.servers[0].settings.inter, Ms{2000});
  EXPECT_TRUE(be.servers[0].settings.check);
  EXPECT_EQ(be.servers[1].settings.weight, 2);
  EXPECT_TRUE(be.servers[2].settings.backup);
  EXPECT_EQ(be.servers[2].pos.line, 23);
  EXPECT_EQ(r.config.global.logs.at(0).format, "raw");
}

TEST(ConfigParser, HttpchkFormsSetMethodUriAndVersion) {
  auto check_of = [](std::string_view line) {
    auto r = parse_config(fmt::format("backend b\n    {}\n", line), "c.cfg");
    EXPECT_TRUE(r.ok()) << ::testing::PrintToString(alerts(r));
    return r.config.proxies.at(0).check.http;
  };
  EXPECT_EQ(check_of("option httpchk /health").uri, "/health");
  EXPECT_EQ(check_of("option httpchk /health").method, "OPTIONS");
  EXPECT_EQ(check_of("option httpchk GET /h").method, "GET");
  EXPECT_EQ(check_of("option httpchk GET /h HTTP/1.1").version, "HTTP/1.1");
  auto r = parse_config("backend b\n    option httpchk A B C D\n", "c.cfg");
  EXPECT_THAT(alerts(r), ElementsAre(HasSubstr("parsing [c.cfg:2]")));
}

TEST(ConfigParser, HttpCheckSendAndExpectBuildTheRuleset) {
  const auto r = parse_config(R"(backend b
    option httpchk
    http-check send meth GET uri /health ver HTTP/1.1 hdr Host example.com
    http-check expect ! status 500
    http-check expect string ok
    http-check disable-on-404
    server s1 127.0.0.1:80 check
)", "c.cfg");
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(alerts(r));
  const auto& c = r.config.proxies[0].check;
  EXPECT_EQ(c.http.method, "GET");
  EXPECT_EQ(c.http.uri, "/health");
  EXPECT_THAT(c.http.headers, ElementsAre(std::pair<std::string, std::string>{"Host", "example.com"}));
  ASSERT_EQ(c.http_expects.size(), 2u);
  EXPECT_TRUE(c.http_expects[0].negate);
  EXPECT_EQ(c.http_expects[0].kind, ExpectKind::Status);
  EXPECT_EQ(c.http_expects[1].kind, ExpectKind::String);
  EXPECT_TRUE(c.disable_on_404);
}

TEST(ConfigParser, TcpCheckRulesInOrder) {
  const auto r = parse_config(R"(backend b
    option tcp-check
    tcp-check connect port 6379
    tcp-check send PING\r\n
    tcp-check expect string +PONG
    tcp-check send-binary 0a0b
    tcp-check expect ! binary ff
    server s1 127.0.0.1:80 check
)", "c.cfg");
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(alerts(r));
  const auto& rules = r.config.proxies[0].check.tcp_rules;
  ASSERT_EQ(rules.size(), 5u);
  EXPECT_EQ(rules[0].port, 6379);
  EXPECT_EQ(rules[1].data, "PING\r\n");
  EXPECT_EQ(rules[2].expect.pattern, "+PONG");
  EXPECT_EQ(rules[3].kind, TcpCheckRule::Kind::SendBinary);
  EXPECT_TRUE(rules[4].expect.negate);
}

TEST(ConfigParser, CollectsEveryErrorWithItsLine) {
  const auto r = parse_config(R"(global
    nosuchkw
backend apps
    server s1 127.0.0.1:80 chek
    server s2 127.0.0.1:81 check inter 2x
    balance foo
    timeout check 5x
    acl is_x path /x
)", "site.cfg");
  EXPECT_THAT(alerts(r),
              ElementsAre("config : parsing [site.cfg:2] : unknown keyword 'nosuchkw' in 'global' section",
                          HasSubstr("[site.cfg:4]"), HasSubstr("[site.cfg:5]"), HasSubstr("parsing [site.cfg:6]"),
                          HasSubstr("parsing [site.cfg:7]"),
                          "config : parsing [site.cfg:8] : 'acl' is a HAProxy keyword that lb does not support"));
}

TEST(ConfigParser, LooseNumbersAreAcceptedWithAWarningAsHaproxyReadsThem) {
  const auto r = parse_config(R"(backend apps
    retries three
    server s1 127.0.0.1:80 weight abc
)", "site.cfg");
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.config.proxies[0].retries, 0);
  EXPECT_EQ(r.config.proxies[0].servers[0].settings.weight, 0);
  EXPECT_THAT(warnings(r), ElementsAre("config : parsing [site.cfg:2] : 'retries' reads 'three' as 0, as HAProxy does",
                                       "config : [site.cfg:3] : 'server apps/s1' : 'weight' reads 'abc' as 0, as "
                                       "HAProxy does",
                                       HasSubstr("missing timeouts for backend 'apps'.")));
}

TEST(ConfigParser, RejectsOutOfRangeValues) {
  EXPECT_FALSE(parse_config("backend b\n  server s1 1.2.3.4:80 rise 0\n", "c").ok());
  EXPECT_FALSE(parse_config("backend b\n  server s1 1.2.3.4:80 fall -1\n", "c").ok());
  EXPECT_FALSE(parse_config("backend b\n  server s1 1.2.3.4:80 weight 300\n", "c").ok());
  EXPECT_FALSE(parse_config("backend b\n  server s1 1.2.3.4:80 inter 0\n", "c").ok());
  EXPECT_FALSE(parse_config("backend b\n  server s1 1.2.3.4:80 port 70000\n", "c").ok());
  EXPECT_FALSE(parse_config("backend b\n  server s1\n", "c").ok());
  EXPECT_FALSE(parse_config("frontend f\n  bind :99999\n", "c").ok());
  EXPECT_FALSE(parse_config("backend b\n  mode foo\n", "c").ok());
  EXPECT_FALSE(parse_config("backend b\n  timeout nosuch 5s\n", "c").ok());
  EXPECT_FALSE(parse_config("backend b\n  option nosuchopt\n", "c").ok());
  EXPECT_FALSE(parse_config("backend b\n  http-check expect\n", "c").ok());
  EXPECT_FALSE(parse_config("backend b\n  http-check expect status\n", "c").ok());
  EXPECT_FALSE(parse_config("backend b\n  http-check expect foo bar\n", "c").ok());
  EXPECT_FALSE(parse_config("backend b\n  tcp-check expect string\n", "c").ok());
  EXPECT_FALSE(parse_config("backnd b\n", "c").ok());
  EXPECT_FALSE(parse_config("frontend f\n  bind :80\n  server s1 1.2.3.4:80\n", "c").ok());
  EXPECT_FALSE(parse_config("backend b\n  server \"abc\n", "c").ok());
}

TEST(ConfigParser, CrossReferencesAreCheckedAfterParsing) {
  const auto r = parse_config(R"(frontend fe
    bind :80
    default_backend nosuch
backend apps
    server s1 1.2.3.4:80
    server s1 1.2.3.5:80
)", "site.cfg");
  EXPECT_THAT(alerts(r), ElementsAre("config : Proxy 'fe': unable to find required default_backend: 'nosuch'.",
                                     "config : parsing [site.cfg:6] : backend 'apps', another server named 's1' was "
                                     "already defined at line 5, please use distinct names."));
}

TEST(ConfigPrinter, PrintedConfigParsesToTheSameModel) {
  auto first = parse_config(kIncidentConfig, "a.cfg", container_network());
  ASSERT_TRUE(first.ok());
  const std::string printed = print_config(first.config);
  auto second = parse_config(printed, "b.cfg", container_network());
  ASSERT_TRUE(second.ok()) << printed;
  for (auto* c : {&first.config, &second.config})
    for (auto& p : c->proxies) {
      p.pos = {};
      p.default_server = {};
      for (auto& s : p.servers) s.pos = {};
    }
  EXPECT_EQ(first.config, second.config) << printed;
}

// UNIX stream sockets on bind and server lines, in each form haproxy reads, and printed back.
TEST(ConfigParser, UnixAndAbstractSocketsOnBindAndServerLinesReadAndPrintBack) {
  const auto first = parse_config(R"(defaults
    timeout client 1s
    timeout connect 1s
    timeout server 1s
frontend fe
    mode http
    bind unix@/run/a.sock
    bind /run/b.sock,abns@front
    bind uxst@rel.sock
    default_backend apps
backend apps
    mode http
    server s1 unix@/run/app.sock check
    server s2 abns@app check
    server s3 /run/other.sock
    server-template t 1-2 unix@/run/t.sock
)", "site.cfg");
  ASSERT_TRUE(first.ok()) << ::testing::PrintToString(alerts(first));
  EXPECT_TRUE(warnings(first).empty()) << ::testing::PrintToString(warnings(first));
  EXPECT_THAT(first.config.proxies[0].binds, ElementsAre(Bind{"unix@/run/a.sock", 0}, Bind{"unix@/run/b.sock", 0},
                                                         Bind{"abns@front", 0}, Bind{"unix@rel.sock", 0}));
  EXPECT_EQ(first.config.proxies[0].binds[2].pos, (SourcePos{"site.cfg", 8}));
  std::vector<std::pair<std::string, std::optional<std::string>>> servers;
  for (const auto& sv : first.config.proxies[1].servers) servers.emplace_back(sv.host, sv.start_address);
  EXPECT_THAT(servers, ElementsAre(std::pair{std::string("unix@/run/app.sock"), std::optional<std::string>("unix@/run/app.sock")},
                                   std::pair{std::string("abns@app"), std::optional<std::string>("abns@app")},
                                   std::pair{std::string("unix@/run/other.sock"), std::optional<std::string>("unix@/run/other.sock")},
                                   std::pair{std::string("unix@/run/t.sock"), std::optional<std::string>("unix@/run/t.sock")},
                                   std::pair{std::string("unix@/run/t.sock"), std::optional<std::string>("unix@/run/t.sock")}));
  const std::string printed = print_config(first.config);
  auto second = parse_config(printed, "b.cfg");
  ASSERT_TRUE(second.ok()) << printed;
  EXPECT_EQ(second.config.proxies[0].binds, first.config.proxies[0].binds) << printed;
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(second.config.proxies[1].servers[i].host, servers[i].first) << printed;
}

// Found by the config fuzz target: the printer left the stats page out.
TEST(ConfigPrinter, AStatsPagePrintsWithEverySetting) {
  for (const char* admin : {"if TRUE", "if LOCALHOST", "unless LOCALHOST", "if FALSE"}) {
    auto first = parse_config(fmt::format(R"(frontend f
    mode http
    bind 127.0.0.1:8404
    stats uri /st
    stats refresh 5s
    stats realm "My Stats"
    stats auth admin:s3cret
    stats auth ops:x
    stats admin {}
    stats show-legends
    stats hide-version
)", admin), "a.cfg");
    ASSERT_TRUE(first.ok());
    const std::string printed = print_config(first.config);
    auto second = parse_config(printed, "b.cfg");
    ASSERT_TRUE(second.ok()) << printed;
    ASSERT_TRUE(second.config.proxies.at(0).stats.has_value()) << printed;
    EXPECT_EQ(first.config.proxies.at(0).stats, second.config.proxies.at(0).stats) << printed;
  }
}

// Found by the config fuzz target: the Runtime API sockets and the server-state settings were
// not printed, and a resolvers section came back on another line.
TEST(ConfigPrinter, RuntimeSocketsStateFilesAndResolversPrint) {
  auto first = parse_config(R"(global
    stats socket /run/lb.sock level admin mode 600
    stats socket unix@rel.sock level user
    stats socket ipv4@127.0.0.1:9999
    stats socket [::1]:9998 level admin
    stats timeout 2m
    server-state-file /var/lib/lb/state
    server-state-base /var/lib/lb
resolvers dns
    nameserver ns1 10.0.0.53:53
backend apps
    load-server-state-from-file local
    server-state-file-name apps.state
    server s1 127.0.0.1:80
)", "a.cfg");
  ASSERT_TRUE(first.ok());
  const std::string printed = print_config(first.config);
  auto second = parse_config(printed, "b.cfg");
  ASSERT_TRUE(second.ok()) << printed;
  for (auto* c : {&first.config, &second.config}) {
    for (auto& s : c->global.stats_sockets) s.pos = {};
    for (auto& r : c->resolvers) {
      r.pos = {};
      for (auto& n : r.nameservers) n.pos = {};
    }
    for (auto& p : c->proxies) {
      p.pos = {};
      p.default_server = {};
      for (auto& s : p.servers) s.pos = {};
    }
  }
  EXPECT_EQ(first.config, second.config) << printed;
  EXPECT_EQ(second.config.global.stats_sockets.size(), 4u) << printed;
  EXPECT_EQ(second.config.proxies.at(0).server_state_file_name, "apps.state") << printed;
}

}  // namespace
}  // namespace lb::core

namespace lb::core {
namespace {

TEST(ConfigParser, ZeroTimeoutMeansNotSetAsInHaproxy) {
  const auto r = parse_config("backend b\n  timeout connect 0\n  timeout check 0\n  timeout server 5s\n", "c.cfg");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.config.proxies[0].timeouts.connect, std::nullopt);
  EXPECT_EQ(r.config.proxies[0].timeouts.check, std::nullopt);
  EXPECT_THAT(warnings(r), ElementsAre(HasSubstr("missing timeouts for backend 'b'.")));
}

TEST(ConfigParser, ListenSectionsAreCalledProxyInMessages) {
  const auto r = parse_config("listen l\n  bind :80\n  timeout client 0\n  server s 1.2.3.4:80\n", "c.cfg");
  EXPECT_THAT(warnings(r), ElementsAre(HasSubstr("missing timeouts for proxy 'l'.")));
}

TEST(ConfigParser, OwnCheckRulesReplaceTheRulesInheritedFromDefaults) {
  const auto r = parse_config(R"(defaults
    option httpchk GET /health
    http-check expect status 500
backend inherits
    server s1 1.2.3.4:80 check
backend replaces
    option httpchk GET /x
    http-check expect string OK
    server s1 1.2.3.4:80 check
)", "c.cfg");
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(alerts(r));
  const auto& inherits = r.config.proxies[0].check;
  ASSERT_EQ(inherits.http_expects.size(), 1u);
  EXPECT_EQ(inherits.http_expects[0].pattern, "500");
  EXPECT_EQ(inherits.http.uri, "/health");
  const auto& replaces = r.config.proxies[1].check;
  ASSERT_EQ(replaces.http_expects.size(), 1u);
  EXPECT_EQ(replaces.http_expects[0].kind, ExpectKind::String);
  EXPECT_EQ(replaces.http.uri, "/x");
  EXPECT_TRUE(replaces.send_request);
}

// Observed on haproxy 2.6.12: `option httpchk GET /health` in defaults plus `http-check expect
// status 200` in a backend sends no request at all, so the check times out.
TEST(ConfigParser, InheritedHttpchkWithOwnExpectSendsNoRequestAsInHaproxy) {
  const auto r = parse_config(R"(defaults
    option httpchk GET /health
backend api
    http-check expect status 200
    server s1 1.2.3.4:80 check
backend api2
    http-check send hdr Host x
    server s1 1.2.3.4:80 check
)", "c.cfg");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r.config.proxies[0].check.send_request);
  EXPECT_THAT(warnings(r), ::testing::Contains(HasSubstr("backend 'api' declares http-check rules but inherits "
                                                         "'option httpchk' from defaults")));
  EXPECT_TRUE(r.config.proxies[1].check.send_request);
  EXPECT_EQ(r.config.proxies[1].check.http.method, "OPTIONS");
  // Printed and parsed again, the quirk survives.
  auto again = parse_config(print_config(r.config), "printed.cfg");
  ASSERT_TRUE(again.ok()) << print_config(r.config);
  EXPECT_FALSE(again.config.proxies[0].check.send_request);
  EXPECT_EQ(again.config.proxies[0].check, r.config.proxies[0].check);
}

TEST(ConfigParser, InvalidRegexIsRejectedAsHaproxyDoes) {
  const auto r = parse_config("backend b\n  option httpchk\n  http-check expect rstring (abc\n", "r.cfg");
  ASSERT_EQ(alerts(r).size(), 1u);
  EXPECT_THAT(alerts(r)[0], ::testing::StartsWith("config : parsing [r.cfg:3] : 'http-check expect' : regex '(abc' is "
                                                  "invalid (error="));
}

}  // namespace
}  // namespace lb::core

namespace lb::core {
namespace {

TEST(StatusList, ParsesCodesAndRangesAndRejectsAnythingElse) {
  using Ranges = std::vector<std::pair<int, int>>;
  EXPECT_EQ(parse_status_list("200-399,404"), (Ranges{{200, 399}, {404, 404}}));
  EXPECT_EQ(parse_status_list("500"), (Ranges{{500, 500}}));
  EXPECT_EQ(parse_status_list("200,9999999"), (Ranges{{200, 200}}));  // too long to match a status
  EXPECT_EQ(parse_status_list(""), std::nullopt);
  EXPECT_EQ(parse_status_list("2xx"), std::nullopt);
  EXPECT_EQ(parse_status_list("200-"), std::nullopt);
  EXPECT_EQ(parse_status_list("200,,300"), std::nullopt);
}

TEST(ConfigParser, ReadsAccessLogAndConnectionModeOptionsAsHaproxyDoes) {
  const auto r = parse_config(R"(defaults
  mode http
  timeout connect 1s
  timeout client 1s
  timeout server 1s
frontend fe
  bind :8080
  option httplog
  option dontlognull
  option http-server-close
  default_backend be
frontend raw
  mode tcp
  bind :8081
  option httplog
  default_backend tb
backend be
  option httplog
  option httpclose
  server s1 127.0.0.1:80
backend tb
  mode tcp
  server s1 127.0.0.1:81
)",
                              "t.cfg");
  EXPECT_TRUE(alerts(r).empty()) << ::testing::PrintToString(alerts(r));
  EXPECT_THAT(warnings(r),
              ElementsAre("config : parsing [t.cfg:15] : 'option httplog' not usable with frontend 'raw' (needs "
                          "'mode http'). Falling back to 'option tcplog'.",
                          "config : parsing [t.cfg:18] : backend 'be' : 'option httplog' directive is ignored in "
                          "backends."));
  const auto& fe = r.config.proxies[0];
  EXPECT_TRUE(fe.httplog && fe.dontlognull);
  EXPECT_EQ(fe.http_conn_mode, HttpConnMode::ServerClose);
  EXPECT_TRUE(r.config.proxies[1].tcplog);
  EXPECT_FALSE(r.config.proxies[1].httplog);
  EXPECT_EQ(r.config.proxies[2].http_conn_mode, HttpConnMode::Close);
}

}  // namespace
}  // namespace lb::core

namespace lb::core {
namespace {

TEST(ConfigParser, ServerTemplateExpandsToNumberedServersSharingTheName) {
  const auto r = parse_config(R"(resolvers dns
    nameserver ns1 127.0.0.1:5353
backend apps
    server-template srv 5-7 app.lbh.test:8080 check inter 1s resolvers dns init-addr none
    server-template web 2 127.0.0.1:81
)", "t.cfg");
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(alerts(r));
  const auto& servers = r.config.proxies.at(0).servers;
  std::vector<std::string> names;
  for (const auto& s : servers) names.push_back(s.name);
  EXPECT_THAT(names, ::testing::ElementsAre("srv5", "srv6", "srv7", "web1", "web2"));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(servers[i].host, "app.lbh.test");
    EXPECT_EQ(servers[i].port, 8080);
    EXPECT_EQ(servers[i].settings.resolvers, "dns");
    EXPECT_EQ(servers[i].settings.inter, Ms{1000});
    EXPECT_FALSE(servers[i].start_address);  // init-addr none: maintenance until resolved
    EXPECT_EQ(servers[i].pos.line, 4);
  }
  EXPECT_EQ(servers[3].start_address, "127.0.0.1");
}

// HAProxy reads template numbers with atoi(): lb reads them the same and says so.
TEST(ConfigParser, ServerTemplateRangesAreReadAsHaproxyReadsThem) {
  const auto r = parse_config(R"(backend apps
    server-template a 2x 127.0.0.1:81
    server-template b 3-4-9 127.0.0.1:82
    server-template c 0-1 127.0.0.1:83
)", "t.cfg");
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(alerts(r));
  std::vector<std::string> names;
  for (const auto& s : r.config.proxies.at(0).servers) names.push_back(s.name);
  EXPECT_THAT(names, ::testing::ElementsAre("a1", "a2", "b3", "b4", "c0", "c1"));
  EXPECT_THAT(warnings(r), ::testing::IsSupersetOf(
                               {"config : [t.cfg:2] : server-template reads '2x' as 1-2, as HAProxy does",
                                "config : [t.cfg:3] : server-template reads '3-4-9' as 3-4, as HAProxy does"}));
  const auto big = parse_config("backend apps\n    server-template a 100000 127.0.0.1:81\n", "t.cfg");
  EXPECT_THAT(alerts(big), ::testing::Contains(::testing::HasSubstr("more than lb's 10000 servers")));
}

// `resolvers default` without such a section: HAProxy makes one from /etc/resolv.conf, and drops
// it when the file names no nameserver.
TEST(ConfigParser, TheImplicitDefaultResolversNeedANameserverInResolvConf) {
  constexpr std::string_view kText = "backend apps\n    server s1 app.example:80 resolvers default init-addr none\n";
  ParseEnvironment with, without;
  with.resolv_conf = "search example\nnameserver 127.0.0.53\n";
  without.resolv_conf = "search example\n";
  const auto ok = parse_config(kText, "t.cfg", with);
  ASSERT_TRUE(ok.ok()) << ::testing::PrintToString(alerts(ok));
  ASSERT_NE(ok.config.find_resolvers("default"), nullptr);
  EXPECT_EQ(ok.config.find_resolvers("default")->nameservers.at(0).host, "127.0.0.53");
  EXPECT_EQ(ok.config.find_resolvers("default")->nameservers.at(0).port, 53);
  EXPECT_THAT(alerts(parse_config(kText, "t.cfg", without)),
              ::testing::Contains("config : backend 'apps', server 's1': unable to find required resolvers 'default'"));
}

}  // namespace
}  // namespace lb::core
