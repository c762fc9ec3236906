#include "lb/core/config/printer.hpp"

#include <fmt/format.h>

#include "lb/core/config/lexer.hpp"
#include "lb/core/config/values.hpp"

namespace lb::core {
namespace {

std::string_view kind_name(ProxyKind k) {
  switch (k) {
    case ProxyKind::Defaults: return "defaults";
    case ProxyKind::Frontend: return "frontend";
    case ProxyKind::Backend: return "backend";
    case ProxyKind::Listen: return "listen";
  }
  return "";
}

std::string log_line(const LogTarget& t) {
  std::string out = fmt::format("log {}", quote_word(t.target));
  if (t.max_length != LogTarget{}.max_length) out += fmt::format(" len {}", t.max_length);
  if (!t.format.empty()) out += fmt::format(" format {}", t.format);
  out += " " + t.facility;
  if (!t.level.empty()) out += " " + t.level;
  return out;
}

std::string expect_text(const ExpectRule& r) {
  static constexpr std::string_view kNames[] = {"status", "rstatus", "string", "rstring", "binary"};
  return fmt::format("expect {}{} {}", r.negate ? "! " : "", kNames[static_cast<int>(r.kind)], quote_word(r.pattern));
}

std::string server_settings(const ServerSettings& s) {
  const ServerSettings d{};
  std::string out;
  auto add = [&](const std::string& word) { out += " " + word; };
  if (s.check) add("check");
  add("inter " + format_duration(s.inter));
  if (s.fastinter) add("fastinter " + format_duration(*s.fastinter));
  if (s.downinter) add("downinter " + format_duration(*s.downinter));
  add(fmt::format("rise {} fall {}", s.rise, s.fall));
  if (s.check_addr) add("addr " + quote_word(*s.check_addr));
  if (s.check_port) add(fmt::format("port {}", *s.check_port));
  add(fmt::format("weight {}", s.weight));
  if (s.backup) add("backup");
  if (s.disabled) add("disabled");
  if (s.maxconn != d.maxconn) add(fmt::format("maxconn {}", s.maxconn));
  if (s.resolvers_set) add("resolvers " + quote_word(s.resolvers));
  if (s.prefer_ipv4) add("resolve-prefer ipv4");
  if (s.allow_dup_ip || s.ignore_weight) {
    std::string opts = s.allow_dup_ip ? "allow-dup-ip" : "";
    if (s.ignore_weight) opts += opts.empty() ? "ignore-weight" : ",ignore-weight";
    add("resolve-opts " + opts);
  }
  if (!s.resolve_net.empty()) {
    std::string nets;
    for (const auto& n : s.resolve_net) nets += (nets.empty() ? "" : ",") + n;
    add("resolve-net " + nets);
  }
  if (!s.init_addr.empty()) {
    std::string methods;
    for (const auto& m : s.init_addr) {
      static constexpr std::string_view kNames[] = {"last", "libc", "none"};
      if (!methods.empty()) methods += ',';
      methods += m.kind == InitAddrMethod::Kind::Ip ? std::string_view(m.ip) : kNames[static_cast<int>(m.kind)];
    }
    add("init-addr " + methods);
  }
  return out;
}

void print_resolvers(std::string& out, const ResolversConfig& r) {
  out += fmt::format("\nresolvers {}\n", r.name);
  for (const auto& ns : r.nameservers)
    out += fmt::format("    nameserver {} {}\n", ns.name, format_host_port(ns.host, ns.port));
  out += fmt::format("    resolve_retries {}\n", r.resolve_retries);
  out += fmt::format("    timeout resolve {}\n    timeout retry {}\n", format_duration(r.timeout_resolve),
                     format_duration(r.timeout_retry));
  const HoldTimes& h = r.hold;
  for (const auto& [name, t] : {std::pair{"nx", h.nx}, {"other", h.other}, {"refused", h.refused},
                                {"timeout", h.timeout}, {"valid", h.valid}, {"obsolete", h.obsolete}})
    out += fmt::format("    hold {} {}\n", name, format_duration(t));
  out += fmt::format("    accepted_payload_size {}\n", r.accepted_payload_size);
}

void print_proxy(std::string& out, const ProxyConfig& p) {
  auto line = [&](const std::string& text) { out += "    " + text + "\n"; };
  // A check that sends no request only arises from `option httpchk` inherited from defaults
  // (CheckSpec::send_request): print it that way, then reset the defaults for later sections.
  const bool inherits_httpchk = p.check.kind == CheckKind::HttpChk && !p.check.send_request;
  if (inherits_httpchk) out += "\ndefaults\n    option httpchk\n";
  out += fmt::format("\n{} {}\n", kind_name(p.kind), quote_word(p.name));
  line(p.mode == Mode::Http ? "mode http" : "mode tcp");
  for (const auto& b : p.binds)
    line("bind " + (b.fd >= 0           ? fmt::format("{}@{}", b.socket_pair ? "sockpair" : "fd", b.fd)
                    : unix_address(b.host) ? quote_word(b.host)
                                           : quote_word(format_host_port(b.host.empty() ? "*" : b.host, b.port))));
  if (p.log_global) line("log global");
  if (!p.log_tag.empty()) line("log-tag " + quote_word(p.log_tag));
  for (const auto& l : p.logs) line(log_line(l));
  if (p.has_frontend_role() && !p.default_backend.empty()) line("default_backend " + quote_word(p.default_backend));
  if (p.has_frontend_role() && p.maxconn) line(fmt::format("maxconn {}", p.maxconn));
  if (p.has_backend_role()) {
    using L = ProxyConfig::LoadState;
    if (p.load_server_state != L::None)
      line(p.load_server_state == L::Global ? "load-server-state-from-file global" : "load-server-state-from-file local");
    if (!p.server_state_file_name.empty()) line("server-state-file-name " + quote_word(p.server_state_file_name));
  }
  if (p.has_frontend_role())
    for (const auto& b : p.use_backends) line("use_backend " + quote_word(b));
  if (p.has_backend_role()) {
    static constexpr std::string_view kBalance[] = {"roundrobin", "leastconn", "first"};
    line(fmt::format("balance {}", kBalance[static_cast<int>(p.balance)]));
    line(fmt::format("retries {}", p.retries));
  }
  const auto& t = p.timeouts;
  auto timeout = [&](std::string_view name, const std::optional<Ms>& v) {
    if (v) line(fmt::format("timeout {} {}", name, format_duration(*v)));
  };
  timeout("connect", t.connect);
  timeout("client", t.client);
  timeout("server", t.server);
  timeout("check", t.check);
  timeout("http-request", t.http_request);
  timeout("queue", t.queue);
  timeout("http-keep-alive", t.http_keep_alive);
  if (p.has_backend_role()) {
    if (p.redispatch)
      line(p.redispatch_interval == -1 ? "option redispatch" : fmt::format("option redispatch {}", p.redispatch_interval));
    if (p.allbackups) line("option allbackups");
    if (p.log_health_checks) line("option log-health-checks");
  }
  if (p.stats) {  // the page's every setting, so that the printed file serves the same page
    const auto& st = *p.stats;
    line("stats enable");
    line("stats uri " + quote_word(st.uri));
    if (st.refresh) line(fmt::format("stats refresh {}ms", st.refresh->count()));
    if (!st.realm.empty()) line("stats realm " + quote_word(st.realm));
    for (const auto& u : st.users) line("stats auth " + quote_word(u.name + ":" + u.password));
    using A = StatsPage::Admin;
    if (st.admin == A::Always) line("stats admin if TRUE");
    if (st.admin == A::FromLocalhost) line("stats admin if LOCALHOST");
    if (st.admin == A::NotFromLocalhost) line("stats admin unless LOCALHOST");
    if (st.show_legends) line("stats show-legends");
    if (st.hide_version) line("stats hide-version");
  }
  if (p.forwardfor) line("option forwardfor");
  if (p.httplog) line("option httplog");
  if (p.tcplog) line("option tcplog");
  if (p.dontlognull) line("option dontlognull");
  if (p.dontlog_normal) line("option dontlog-normal");
  if (p.http_conn_mode == HttpConnMode::ServerClose) line("option http-server-close");
  if (p.http_conn_mode == HttpConnMode::Close) line("option httpclose");
  if (p.has_backend_role()) {
    const auto& c = p.check;
    if (c.kind == CheckKind::HttpChk) {
      if (!inherits_httpchk)
        line(fmt::format("option httpchk {} {} {}", quote_word(c.http.method), quote_word(c.http.uri),
                         quote_word(c.http.version)));
      if (c.http_send) {
        std::string send = fmt::format("http-check send meth {} uri {} ver {}", quote_word(c.http.method),
                                       quote_word(c.http.uri), quote_word(c.http.version));
        for (const auto& [n, v] : c.http.headers) send += fmt::format(" hdr {} {}", quote_word(n), quote_word(v));
        if (!c.http.body.empty()) send += " body " + quote_word(c.http.body);
        line(send);
      }
      if (c.disable_on_404) line("http-check disable-on-404");
      for (const auto& e : c.http_expects) line("http-check " + expect_text(e));
    }
    if (c.kind == CheckKind::TcpCheck) {
      line("option tcp-check");
      for (const auto& r : c.tcp_rules) {
        switch (r.kind) {
          case TcpCheckRule::Kind::Connect:
            line(r.port ? fmt::format("tcp-check connect port {}", *r.port) : "tcp-check connect");
            break;
          case TcpCheckRule::Kind::Send: line("tcp-check send " + quote_word(r.data)); break;
          case TcpCheckRule::Kind::SendBinary: line("tcp-check send-binary " + r.data); break;
          case TcpCheckRule::Kind::Expect: line("tcp-check " + expect_text(r.expect)); break;
        }
      }
    }
    for (const auto& s : p.servers)
      line(fmt::format("server {} {}{}", quote_word(s.name),
                       quote_word(unix_address(s.host) ? s.host
                                                       : std::string(family_prefix(s.family)) +
                                                             format_host_port(s.host, s.port ? std::optional<std::uint16_t>(s.port)
                                                                                              : std::nullopt)),
                       server_settings(s.settings)));
  }
}

}  // namespace

std::string print_config(const Config& c) {
  std::string out = "global\n";
  for (const auto& l : c.global.logs) out += "    " + log_line(l) + "\n";
  if (!c.global.log_tag.empty()) out += "    log-tag " + quote_word(c.global.log_tag) + "\n";
  if (c.global.log_send_hostname)
    out += c.global.log_send_hostname->empty() ? std::string("    log-send-hostname\n")
                                               : "    log-send-hostname " + quote_word(*c.global.log_send_hostname) + "\n";
  if (c.global.spread_checks) out += fmt::format("    spread-checks {}\n", c.global.spread_checks);
  if (c.global.maxconn) out += fmt::format("    maxconn {}\n", c.global.maxconn);
  if (c.global.max_spread_checks)
    out += fmt::format("    max-spread-checks {}\n", format_duration(*c.global.max_spread_checks));
  if (c.global.daemon) out += "    daemon\n";
  if (c.global.master_worker) out += c.global.exit_on_failure ? "    master-worker\n" : "    master-worker no-exit-on-failure\n";
  if (c.global.hard_stop_after) out += fmt::format("    hard-stop-after {}\n", format_duration(*c.global.hard_stop_after));
  for (const auto& s : c.global.stats_sockets) {
    const std::string where = s.fd >= 0          ? fmt::format("{}@{}", s.socket_pair ? "sockpair" : "fd", s.fd)
                              : !s.path.empty() ? (s.path.starts_with('/') ? s.path : "unix@" + s.path)
                                                : format_host_port(s.host, s.port);
    out += "    stats socket " + quote_word(where);
    out += s.level == CliLevel::User ? " level user" : s.level == CliLevel::Admin ? " level admin" : " level operator";
    if (s.mode) out += fmt::format(" mode {:o}", *s.mode);
    out += "\n";
  }
  if (c.global.stats_timeout != Ms{10000}) out += fmt::format("    stats timeout {}\n", format_duration(c.global.stats_timeout));
  if (!c.global.server_state_file.empty()) out += "    server-state-file " + quote_word(c.global.server_state_file) + "\n";
  if (!c.global.server_state_base.empty()) out += "    server-state-base " + quote_word(c.global.server_state_base) + "\n";
  for (const auto& r : c.resolvers) print_resolvers(out, r);
  for (const auto& p : c.proxies) {
    print_proxy(out, p);
    if (p.check.kind == CheckKind::HttpChk && !p.check.send_request) out += "\ndefaults\n";
  }
  return out;
}

}  // namespace lb::core
