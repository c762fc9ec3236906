// print_config() and parse_config() agree: any model in lb's subset, printed as HAProxy syntax,
// parses back to the same model.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "lb/core/config/parser.hpp"
#include "lb/core/config/printer.hpp"

namespace lb::core {
namespace {

rc::Gen<std::string> gen_word() {
  // Words that need quoting or escaping as well as plain ones; never empty, as haproxy refuses an empty
  // argument where a word is expected (e.g. `hdr Host ""`).
  return rc::gen::oneOf(rc::gen::element<std::string>("s1", "app", "web-1", "be_server", "x.y"),
                        rc::gen::nonEmpty(rc::gen::container<std::string>(rc::gen::inRange<char>(0x21, 0x7f))),
                        rc::gen::element<std::string>("a b", "q\"uote", "back\\slash", "#hash", "tab\t"));
}

rc::Gen<Ms> gen_duration() {
  return rc::gen::map(rc::gen::inRange(1, 100000), [](int v) { return Ms{v}; });
}

rc::Gen<std::optional<Ms>> gen_opt_duration() {
  return rc::gen::oneOf(rc::gen::just(std::optional<Ms>{}),
                        rc::gen::map(gen_duration(), [](Ms d) { return std::optional<Ms>{d}; }));
}

rc::Gen<ExpectRule> gen_expect(bool http) {
  return rc::gen::apply(
      [http](int kind, bool negate, std::string text, int code) {
        ExpectRule r;
        r.negate = negate;
        switch (http ? kind % 4 : 2 + kind % 3) {
          case 0: r.kind = ExpectKind::Status; r.pattern = std::to_string(code) + "-" + std::to_string(code + 99); break;
          case 1: r.kind = ExpectKind::RStatus; r.pattern = "^" + std::to_string(code / 100); break;
          case 2: r.kind = ExpectKind::String; r.pattern = text; break;
          case 3: r.kind = ExpectKind::RString; r.pattern = "^(ok|" + std::to_string(code) + ")\\s*$"; break;
          default: r.kind = ExpectKind::Binary; r.pattern = "0a0B"; break;
        }
        return r;
      },
      rc::gen::inRange(0, 12), rc::gen::arbitrary<bool>(), gen_word(), rc::gen::inRange(100, 500));
}

rc::Gen<ServerSettings> gen_settings() {
  return rc::gen::apply(
      [](bool check, Ms inter, std::optional<Ms> fast, std::optional<Ms> down, int rise, int fall, int weight,
         bool backup, bool disabled, int maxconn, bool with_port) {
        ServerSettings s;
        s.check = check;
        s.inter = inter;
        s.fastinter = fast;
        s.downinter = down;
        s.rise = rise;
        s.fall = fall;
        s.weight = weight;
        s.backup = backup;
        s.disabled = disabled;
        s.maxconn = maxconn;
        if (with_port) s.check_port = static_cast<std::uint16_t>(1 + rise * 100 + fall);
        return s;
      },
      rc::gen::arbitrary<bool>(), gen_duration(), gen_opt_duration(), gen_opt_duration(), rc::gen::inRange(1, 20),
      rc::gen::inRange(1, 20), rc::gen::inRange(0, 257), rc::gen::arbitrary<bool>(), rc::gen::arbitrary<bool>(),
      rc::gen::inRange(0, 1000), rc::gen::arbitrary<bool>());
}

ProxyConfig gen_backend(const std::string& name, ProxyKind kind) {
  ProxyConfig p;
  p.kind = kind;
  p.name = name;
  p.mode = *rc::gen::element(Mode::Http, Mode::Tcp);
  p.balance = *rc::gen::element(Balance::RoundRobin, Balance::LeastConn, Balance::First);
  p.retries = *rc::gen::inRange(0, 10);
  p.redispatch = *rc::gen::arbitrary<bool>();
  if (p.redispatch) p.redispatch_interval = *rc::gen::element(-1, 0, 1, 3);
  p.allbackups = *rc::gen::arbitrary<bool>();
  p.log_health_checks = *rc::gen::arbitrary<bool>();
  p.forwardfor = *rc::gen::arbitrary<bool>();
  p.timeouts.connect = *gen_opt_duration();
  p.timeouts.server = *gen_opt_duration();
  p.timeouts.check = *gen_opt_duration();
  p.timeouts.queue = *gen_opt_duration();
  p.timeouts.http_request = *gen_opt_duration();
  p.timeouts.http_keep_alive = *gen_opt_duration();
  switch (*rc::gen::inRange(0, 3)) {
    case 0: break;
    case 1: {
      p.check.kind = CheckKind::HttpChk;
      p.check.http.method = *rc::gen::element<std::string>("OPTIONS", "GET", "HEAD");
      p.check.http.uri = *rc::gen::element<std::string>("/", "/health", "/a b");
      p.check.http.version = *rc::gen::element<std::string>("HTTP/1.0", "HTTP/1.1");
      p.check.http_send = *rc::gen::arbitrary<bool>();
      if (p.check.http_send) {
        p.check.http.headers = {{"Host", *gen_word()}};
        p.check.http.body = *rc::gen::element<std::string>("", "{\"a\":1}");
      }
      p.check.http_expects = *rc::gen::container<std::vector<ExpectRule>>(3, gen_expect(true));
      p.check.disable_on_404 = *rc::gen::arbitrary<bool>();
      break;
    }
    default: {
      p.check.kind = CheckKind::TcpCheck;
      if (*rc::gen::arbitrary<bool>()) {
        TcpCheckRule connect;
        connect.port = static_cast<std::uint16_t>(*rc::gen::inRange(1, 65536));
        p.check.tcp_rules.push_back(connect);
      }
      const int n = *rc::gen::inRange(0, 4);
      for (int i = 0; i < n; ++i) {
        TcpCheckRule r;
        r.kind = *rc::gen::element(TcpCheckRule::Kind::Send, TcpCheckRule::Kind::SendBinary, TcpCheckRule::Kind::Expect);
        if (r.kind == TcpCheckRule::Kind::Send) r.data = *gen_word() + "\r\n";
        if (r.kind == TcpCheckRule::Kind::SendBinary) r.data = "50494e47";
        if (r.kind == TcpCheckRule::Kind::Expect) r.expect = *gen_expect(false);
        p.check.tcp_rules.push_back(r);
      }
    }
  }
  const int servers = *rc::gen::inRange(0, 4);
  for (int i = 0; i < servers; ++i) {
    ServerConfig s;
    s.name = "srv" + std::to_string(i);
    s.host = *rc::gen::element<std::string>("127.0.0.1", "::1", "app1", "10.1.2.3");
    s.port = static_cast<std::uint16_t>(*rc::gen::inRange(1, 65536));
    s.settings = *gen_settings();
    p.servers.push_back(s);
  }
  return p;
}

RC_GTEST_PROP(ConfigRoundTrip, PrintedConfigParsesToTheSameModel, ()) {
  Config c;
  c.global.spread_checks = *rc::gen::inRange(0, 51);
  c.global.max_spread_checks = *gen_opt_duration();
  c.global.maxconn = *rc::gen::inRange(0, 100000);
  if (*rc::gen::arbitrary<bool>()) c.global.logs.push_back({"stdout", "raw", "local0", ""});
  const int backends = *rc::gen::inRange(1, 4);
  for (int i = 0; i < backends; ++i)
    c.proxies.push_back(gen_backend("be" + std::to_string(i) + *rc::gen::element<std::string>("", " x", "\""),
                                    *rc::gen::element(ProxyKind::Backend, ProxyKind::Listen)));
  for (auto& p : c.proxies) {
    if (!p.has_frontend_role()) continue;
    p.binds.push_back({"", static_cast<std::uint16_t>(*rc::gen::inRange(1, 65536))});
    p.timeouts.client = *gen_opt_duration();
    p.maxconn = *rc::gen::inRange(0, 100000);
  }
  if (*rc::gen::arbitrary<bool>()) {
    ProxyConfig fe;
    fe.kind = ProxyKind::Frontend;
    fe.name = "fe";
    fe.mode = Mode::Tcp;  // a TCP frontend may use backends of either mode
    fe.binds = {{"127.0.0.1", 8080}, {"::1", 8081}};
    fe.default_backend = c.proxies.front().name;
    fe.use_backends = {c.proxies.back().name};
    fe.log_global = true;
    c.proxies.push_back(fe);
  }
  const std::string text = print_config(c);
  ParseEnvironment env;  // every generated name resolves, as on the network the config is for
  env.lookup = [](const std::string&, AddressFamily f) -> std::optional<std::string> {
    return f == AddressFamily::V6 ? "fd00::9" : "10.9.9.9";
  };
  auto parsed = parse_config(text, "printed.cfg", env);
  for (const auto& d : parsed.diagnostics)
    if (d.level == Diagnostic::Level::Alert) RC_FAIL(format_diagnostic(d) + "\n" + text);
  for (auto& p : parsed.config.proxies) {
    p.pos = {};
    // How the source spelled it, and the address init-addr derived from it.
    for (auto& s : p.servers) s.pos = {}, s.host_as_written.clear(), s.start_address.reset();
  }
  RC_ASSERT(parsed.config == c);
}

}  // namespace
}  // namespace lb::core
