#include "lb/core/config/parser.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <span>

#include "lb/core/config/lexer.hpp"
#include "lb/core/config/values.hpp"
#include "lb/core/regex.hpp"
#include "lb/core/text.hpp"

namespace lb::core {
namespace {

using Words = std::span<const std::string>;

bool one_of(std::string_view w, std::initializer_list<std::string_view> list) {
  return std::find(list.begin(), list.end(), w) != list.end();
}

// Keywords HAProxy 2.6 knows that change behaviour lb does not implement: naming them as such
// is clearer than "unknown keyword", and silently ignoring them would change what the user gets.
constexpr std::array kUnsupportedSections{"userlist", "peers", "mailers", "program",
                                          "http-errors", "ring", "cache",     "fcgi-app"};
constexpr std::array kUnsupportedGlobal{"lua-load", "external-check", "nbproc",      "cpu-map",
                                        "h1-case-adjust", "set-dumpable", "node", "description"};
// Process knobs with no effect on checks or routing: accepted, with a warning that lb ignores them.
constexpr std::array kIgnoredGlobal{"user",     "group",
                                    "uid",     "gid",           "chroot",   "pidfile",  "nbthread",
                                    "ca-base",       "crt-base", "quiet",
                                    "ssl-default-bind-ciphers", "ssl-default-bind-ciphersuites",
                                    "ssl-default-bind-options", "ssl-default-server-ciphers",
                                    "ssl-default-server-ciphersuites", "ssl-default-server-options",
                                    "ssl-dh-param-file", "tune.ssl.default-dh-param"};
constexpr std::array kUnsupportedProxy{
    "acl",         "http-request",   "http-response", "http-after-response", "tcp-request",
    "tcp-response", "stick-table",   "stick",         "cookie",              "capture",
    "redirect",    "hash-type",    "filter",              "compression",
    "errorloc",    "errorloc302",    "errorloc303",   "unique-id-format",    "unique-id-header",
    "log-format",  "log-format-sd",  "monitor-uri",   "monitor",
    "external-check", "email-alert", "persist",       "force-persist",       "ignore-persist",
    "http-reuse",  "source",         "dispatch",      "rate-limit",          "id",
    "disabled",    "enabled",        "grace",         "declare",             "use-server",
    "http-send-name-header", "hash-balance-factor", "bind-process", "max-keep-alive-queue", "http-error", "errorfiles",
    "backlog",     "dynamic-cookie-key", "retry-on",   "email-alert"};
constexpr std::array kIgnoredProxy{"fullconn", "description", "errorfile"};
constexpr std::array kUnsupportedOptions{
    "ssl-hello-chk", "smtpchk", "mysql-check", "pgsql-check", "redis-check", "ldap-check",
    "spop-check", "external-check", "http-use-proxy-header", "originalto", "persist",
    "http-buffer-request", "prefer-last-server", "accept-invalid-http-request",
    "accept-invalid-http-response", "checkcache", "disable-h2-upgrade", "h1-case-adjust-bogus-client",
    "h1-case-adjust-bogus-server", "http-ignore-probes", "http-no-delay", "http-pretend-keepalive",
    "http-restrict-req-hdr-names", "httpslog", "independent-streams", "nolinger", "transparent",
    "tcp-smart-accept", "tcp-smart-connect", "http_proxy", "idle-close-on-response", "abortonclose",
    "socket-stats", "log-separate-errors"};
// Logging and connection-reuse options that do not change check or routing decisions.
constexpr std::array kIgnoredOptions{"splice-auto",   "splice-request", "splice-response",
                                     "logasap",       "tcpka",       "clitcpka",    "srvtcpka",
                                     "contstats"};
constexpr std::array kUnsupportedServerKeywords{
    "ssl", "verify", "ca-file", "crt", "sni", "check-ssl", "check-sni", "agent-check", "agent-port",
    "agent-inter", "agent-addr", "agent-send", "send-proxy", "send-proxy-v2", "cookie", "slowstart", "observe",
    "on-error", "on-marked-down", "on-marked-up", "error-limit", "track", "id", "redir", "minconn",
    "maxqueue", "proto", "alpn", "check-proto", "check-alpn", "check-send-proxy", "pool-max-conn",
    "pool-purge-delay", "pool-low-conn", "source", "tfo", "namespace", "usesrc", "non-stick", "ws",
    "no-ssl", "no-verifyhost", "verifyhost", "ciphers", "ciphersuites", "ssl-min-ver",
    "ssl-max-ver", "check-via-socks4", "socks4", "sni", "shard", "log-proto", "tcp-ut", "max-reuse",
    "proxy-v2-options", "stick", "npn", "allow-0rtt", "force-sslv3", "force-tlsv10", "force-tlsv11",
    "force-tlsv12", "force-tlsv13", "set-proxy-v2-tlv-fmt"};
constexpr std::array kTimeoutNames{"connect",  "client",     "server",     "check",   "http-request",
                                   "queue",    "http-keep-alive", "tunnel", "tarpit", "client-fin",
                                   "server-fin"};

template <std::size_t N>
bool in(const std::array<const char*, N>& list, std::string_view w) {
  return std::any_of(list.begin(), list.end(), [&](const char* k) { return w == k; });
}

std::string_view section_name(ProxyKind k) {
  switch (k) {
    case ProxyKind::Defaults: return "defaults";
    case ProxyKind::Frontend: return "frontend";
    case ProxyKind::Backend: return "backend";
    case ProxyKind::Listen: return "listen";
  }
  return "?";
}

// How HAProxy names a proxy in messages about it (proxy_type_str): a listen section is a "proxy".
std::string_view proxy_type(ProxyKind k) { return k == ProxyKind::Listen ? "proxy" : section_name(k); }

std::string join(Words w, std::size_t from = 0) {
  std::string out;
  for (std::size_t i = from; i < w.size(); ++i) {
    if (!out.empty()) out += ' ';
    out += w[i];
  }
  return out;
}

// Every directive of the supported subset, by section; used for "did you mean" hints.
constexpr std::array kGlobalKeywords{"log",      "spread-checks", "max-spread-checks", "maxconn", "global",
                                     "defaults", "frontend",      "backend",           "listen",  "log-tag",
                                     "log-send-hostname"};
constexpr std::array kProxyKeywords{"global", "defaults", "frontend", "backend", "listen",
                                    "mode",    "bind",       "default_backend", "use_backend",
                                    "balance", "timeout",    "retries",         "option",  "maxconn",
                                    "no",      "http-check", "tcp-check",       "default-server",
                                    "server",  "log",        "log-tag"};
constexpr std::array kServerKeywords{"check", "no-check", "inter",   "fastinter", "downinter",
                                     "rise",  "fall",     "port",    "addr",      "weight",
                                     "backup", "no-backup", "disabled", "enabled", "maxconn",
                                     "resolvers", "resolve-prefer", "resolve-opts", "resolve-net",
                                     "init-addr"};

// HAProxy's invalid_char(): names may hold letters, digits and ".-_:".
std::optional<char> invalid_name_char(std::string_view name) {
  for (const char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_' && c != ':') return c;
  return std::nullopt;
}

template <std::size_t N>
std::string suggestion(const std::array<const char*, N>& list, std::string_view word) {
  const auto best = closest_word(list, word);
  if (best.empty()) return "";
  return fmt::format("; did you mean '{}' maybe ?", best);
}

class Parser {
 public:
  Parser(std::string_view file, ParseEnvironment env) : file_(file), env_(std::move(env)), variables_(env_.variables) {
    defaults_.kind = ProxyKind::Defaults;
    defaults_.mode = Mode::Tcp;
    defaults_.maxconn = env_.default_maxconn;
  }

  // Several files are one configuration read in order: a section ends with its file, defaults
  // carry on into the next one (HAProxy's readcfgfile() per -f).
  ParseResult run_files(const std::vector<ConfigFile>& files) {
    for (const auto& f : files) {
      file_ = f.name;
      line_ = 0;
      read(f.text);
      finish_proxy();
      section_ = Section::None;
      if (!out_.ok() || aborted_) break;
    }
    if (out_.ok()) validate();
    return std::move(out_);
  }

  ParseResult run(std::string_view text) {
    read(text);
    finish_proxy();
    // Like HAProxy, judge the whole configuration only once every line could be read.
    if (out_.ok()) validate();
    return std::move(out_);
  }

 private:
  void read(std::string_view text) {
    // HAProxy reads lines with fgets(): a line is what ends with LF, or the rest of the file,
    // and ends for the parser at its first NUL. A line cut short that way is still parsed, then
    // named: "Stray NUL" when more lines follow (and reading stops), "Missing LF" at the end.
    std::size_t start = 0;
    while (start < text.size() && !aborted_) {
      const auto lf = text.find('\n', start);
      const std::size_t chunk_end = lf == std::string_view::npos ? text.size() : lf + 1;
      const auto chunk = text.substr(start, chunk_end - start);
      const auto usable = chunk.substr(0, chunk.find('\0'));
      ++line_;
      const bool truncated = !usable.ends_with('\n');
      on_line(truncated ? usable : usable.substr(0, usable.size() - 1));
      start = chunk_end;
      if (!truncated) continue;
      if (start < text.size()) {
        alert(fmt::format("Stray NUL character at position {}.", usable.size() + 1), Form::ParsingTight);
        break;
      }
      alert(fmt::format("Missing LF on last line, file might have been truncated at position {}.", usable.size() + 1),
            Form::ParsingTight);
    }
  }

  enum class Section { None, Global, Proxy, Resolvers, Unsupported };

  using Form = Diagnostic::Form;
  void alert(std::string message, Form form = Form::Parsing) {
    out_.diagnostics.push_back({Diagnostic::Level::Alert, pos(), std::move(message), form});
  }
  void warn(std::string message, Form form = Form::Parsing) {
    out_.diagnostics.push_back({Diagnostic::Level::Warning, pos(), std::move(message), form});
  }
  SourcePos pos() const { return {file_, line_}; }

  void on_line(std::string_view line) {
    LexContext context;
    context.getenv = variable_lookup();
    context.file = file_;
    context.line = line_;
    if (current_section_) context.section = *current_section_;
    auto lexed = lex_line(line, context);
    if (!lexed.error.empty()) return alert(lexed.error, Form::ParsingTight);
    // An empty word at the end is no word for haproxy's keyword parsers (they test *args[n], and
    // the words after the last are empty too); a line whose first word is empty is skipped.
    while (!lexed.words.empty() && lexed.words.back().empty()) lexed.words.pop_back();
    if (lexed.words.empty() || lexed.words.front().empty()) return;
    const Words w{lexed.words};
    if (start_section(w)) return;
    switch (section_) {
      case Section::None:
        return alert(fmt::format("unknown keyword '{}' out of section.", w[0]), Form::ParsingTight);
      case Section::Unsupported:
        return;  // the section header was already reported
      case Section::Global:
        return global_keyword(w);
      case Section::Proxy:
        return proxy_keyword(w);
      case Section::Resolvers:
        return resolvers_keyword(w);
    }
  }

  bool start_section(Words w) {
    const std::string_view kw = w[0];
    if (kw == "global" || kw == "resolvers" || kw == "defaults" || kw == "frontend" || kw == "backend" ||
        kw == "listen" || in(kUnsupportedSections, kw))
      current_section_ = w.size() > 1 && !w[1].empty() ? w[1] : w[0];  // ${.SECTION} from the next line on
    if (kw == "global") {
      finish_proxy();
      section_ = Section::Global;
      return true;
    }
    if (kw == "resolvers") {
      finish_proxy();
      section_ = Section::Resolvers;
      start_resolvers(w);
      return true;
    }
    if (in(kUnsupportedSections, kw)) {
      finish_proxy();
      section_ = Section::Unsupported;
      alert(fmt::format("'{}' sections are not supported by lb", kw));
      return true;
    }
    ProxyKind kind;
    if (kw == "defaults") kind = ProxyKind::Defaults;
    else if (kw == "frontend") kind = ProxyKind::Frontend;
    else if (kw == "backend") kind = ProxyKind::Backend;
    else if (kw == "listen") kind = ProxyKind::Listen;
    else return false;

    finish_proxy();
    section_ = Section::Proxy;
    own_check_rules_ = own_httpchk_ = false;
    httplog_pos_.reset();
    if (kind == ProxyKind::Defaults) {
      // A new defaults section starts from HAProxy's built-in defaults, not the previous one.
      defaults_ = ProxyConfig{};
      defaults_.kind = ProxyKind::Defaults;
      defaults_.maxconn = env_.default_maxconn;
      defaults_.pos = pos();
      if (w.size() > 1) defaults_.name = w[1];
      proxy_ = &defaults_;
      return true;
    }
    if (w.size() < 2) {
      alert(fmt::format("'{}' expects <name> as argument.", kw));
      section_ = Section::Unsupported;
      return true;
    }
    current_ = defaults_;
    current_.kind = kind;
    current_.name = w[1];
    current_.pos = pos();
    current_.servers.clear();
    current_.binds.clear();
    current_.use_backends.clear();
    if (kind == ProxyKind::Backend) current_.default_backend.clear();
    proxy_ = &current_;
    in_proxy_ = true;
    if (w.size() > 2) {
      if (kind == ProxyKind::Backend) {
        alert(fmt::format("'{}' cannot handle unexpected argument '{}'.", kw, w[2]));
      } else {
        // `listen NAME ADDR:PORT` / `frontend NAME ADDR:PORT`: an implicit bind.
        add_bind(w.subspan(2));
      }
    }
    return true;
  }

  void finish_proxy() {
    if (!in_proxy_) return;
    in_proxy_ = false;
    // Settings inherited from defaults that the proxy's role cannot use are dropped, so the model
    // holds only what takes effect (HAProxy ignores them the same way).
    ProxyConfig& p = current_;
    if (own_check_rules_ && !own_httpchk_ && p.check.kind == CheckKind::HttpChk && !p.check.http_send) {
      // The request came with the inherited rule list that this section's rules replaced.
      p.check.send_request = false;
      out_.diagnostics.push_back(
          {Diagnostic::Level::Warning, p.pos,
           fmt::format("{} '{}' declares http-check rules but inherits 'option httpchk' from defaults: HAProxy 2.6 "
                       "then sends no check request and its checks time out; lb does the same (declare 'option "
                       "httpchk' or 'http-check send' in this section)",
                       proxy_type(p.kind), p.name),
           Diagnostic::Form::Parsing});
    }
    // Rules of the other check kind never run: say so, and keep only what takes effect.
    CheckSpec& c = p.check;
    if (p.has_backend_role() && c.kind != CheckKind::HttpChk && (!c.http_expects.empty() || c.http_send)) {
      out_.diagnostics.push_back({Diagnostic::Level::Warning, p.pos,
                                  fmt::format("{} '{}' has http-check rules but no 'option httpchk': they are "
                                              "ignored in lb, as in HAProxy.",
                                              proxy_type(p.kind), p.name),
                                  Diagnostic::Form::Parsing});
    }
    if (p.has_backend_role() && c.kind != CheckKind::TcpCheck && !c.tcp_rules.empty()) {
      out_.diagnostics.push_back({Diagnostic::Level::Warning, p.pos,
                                  fmt::format("{} '{}' has tcp-check rules but no 'option tcp-check': they are "
                                              "ignored in lb, as in HAProxy.",
                                              proxy_type(p.kind), p.name),
                                  Diagnostic::Form::Parsing});
    }
    if (c.kind != CheckKind::HttpChk) {
      c.http_expects.clear();
      c.http_send = false;
      c.disable_on_404 = false;
      c.http = HttpCheckRequest{};
    }
    if (c.kind != CheckKind::TcpCheck) c.tcp_rules.clear();
    if (!p.has_frontend_role()) {
      p.default_backend.clear();
      p.timeouts.client.reset();
      p.httplog = p.tcplog = p.dontlognull = p.dontlog_normal = false;
    }
    if (p.has_frontend_role() && p.mode == Mode::Tcp && p.httplog) {
      out_.diagnostics.push_back({Diagnostic::Level::Warning, httplog_pos_.value_or(p.pos),
                                  fmt::format("'option httplog' not usable with {} '{}' (needs 'mode http'). "
                                              "Falling back to 'option tcplog'.",
                                              proxy_type(p.kind), p.name),
                                  Diagnostic::Form::Parsing});
      p.httplog = false;
      p.tcplog = true;
    }
    if (!p.has_backend_role()) {
      const ProxyConfig blank;
      p.balance = blank.balance;
      p.retries = blank.retries;
      p.redispatch = blank.redispatch;
      p.redispatch_interval = blank.redispatch_interval;
      p.allbackups = blank.allbackups;
      p.log_health_checks = blank.log_health_checks;
      p.check = blank.check;
      p.default_server = blank.default_server;
      p.timeouts.connect.reset();
      p.timeouts.server.reset();
      p.timeouts.check.reset();
      p.timeouts.queue.reset();
    }
    out_.config.proxies.push_back(std::move(current_));
    current_ = ProxyConfig{};
    proxy_ = nullptr;
  }

  // ---------------------------------------------------------------- resolvers
  // HAProxy stops reading the configuration after these errors (ERR_ABORT).
  void abort_with(std::string message, Form form = Form::Parsing) {
    alert(std::move(message), form);
    aborted_ = true;
    out_.stopped_early = true;
  }

  void start_resolvers(Words w) {
    if (w.size() < 2 || w[1].empty()) return abort_with("missing name for resolvers section.");
    if (auto c = invalid_name_char(w[1]))
      return abort_with(fmt::format("character '{}' is not permitted in '{}' name '{}'.", *c, w[0], w[1]));
    for (const auto& r : out_.config.resolvers)
      if (r.name == w[1]) {
        alert(fmt::format("resolvers '{}' has same name as another resolvers (declared at {}:{}).", w[1], r.pos.file,
                          r.pos.line),
              Form::ParsingUpper);
        // HAProxy 2.6 then takes its own error flag for a failed allocation.
        return abort_with("out of memory.");
      }
    ResolversConfig r;
    r.name = w[1];
    r.pos = pos();
    out_.config.resolvers.push_back(std::move(r));
  }

  // HAProxy's resolvers time values: the messages name the keyword, and `timeout` its kind.
  std::optional<Ms> resolvers_time(std::string_view text, std::string_view overflow_arg, std::string_view what) {
    auto d = parse_duration(text);
    if (d) return *d;
    if (d.error().message == "timer overflow")
      alert(fmt::format("timer overflow in argument <{}> to <{}>, maximum value is 2147483647 ms (~24.8 days).",
                        overflow_arg, what),
            Form::ParsingTight);
    else  // "unexpected character 'x'", as HAProxy names the first one it cannot read
      alert(fmt::format("{} in argument to <{}>.", d.error().message, what), Form::ParsingTight);
    return std::nullopt;
  }

  // The nameservers of /etc/resolv.conf (its text comes with the environment, so parsing stays
  // pure), named by their address and reached on port 53, as HAProxy adds them.
  void parse_resolv_conf(ResolversConfig& r) {
    if (!env_.resolv_conf) return alert("failed to open /etc/resolv.conf.", Form::ParsingTight);
    std::string warnings;
    int n = 0;
    for (const auto& raw : split_lines(*env_.resolv_conf)) {
      ++n;
      std::string_view line = raw;
      if (!line.starts_with("nameserver")) continue;
      line.remove_prefix(10);
      constexpr std::string_view kSpace = "\r\n\t ";
      if (!line.empty() && kSpace.find(line.front()) == std::string_view::npos) continue;  // "nameserverX"
      const auto start = line.find_first_not_of(kSpace);
      if (start == std::string_view::npos) {
        warnings += fmt::format("{}parsing [/etc/resolv.conf:{}] : nameserver line is missing address.", warnings.empty() ? "" : "\n", n);
        continue;
      }
      line.remove_prefix(start);
      const std::string address(line.substr(0, line.find_first_of(kSpace)));
      const auto dup = std::find_if(r.nameservers.begin(), r.nameservers.end(), [&](const Nameserver& ns) { return ns.name == address; });
      if (dup != r.nameservers.end()) {
        warnings += fmt::format("{}Parsing [/etc/resolv.conf:{}] : generated name for /etc/resolv.conf nameserver '{}' conflicts with "
                                "another nameserver (declared at {}:{}), it appears to be a duplicate and will be excluded.",
                                warnings.empty() ? "" : "\n", n, address, dup->pos.file, dup->pos.line);
        continue;
      }
      const auto found = lookup(address, AddressFamily::Any);
      if (!found) {
        warnings += fmt::format("{}parsing [/etc/resolv.conf:{}] : address '{}' could not be recognized, nameserver will be excluded.",
                                warnings.empty() ? "" : "\n", n, address);
        continue;
      }
      r.nameservers.push_back({address, *found, 53, {"/etc/resolv.conf", n}});
    }
    if (!warnings.empty()) warn(indent_continuation(warnings), Form::ParsingTight);
  }
  static std::vector<std::string> split_lines(std::string_view text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start < text.size()) {
      const auto lf = text.find('\n', start);
      out.emplace_back(text.substr(start, lf == std::string_view::npos ? std::string_view::npos : lf + 1 - start));
      if (lf == std::string_view::npos) break;
      start = lf + 1;
    }
    return out;
  }
  // HAProxy's indent_msg(8): each line after the first starts with eight spaces.
  static std::string indent_continuation(const std::string& text) {
    std::string out;
    for (const char c : text) {
      out += c;
      if (c == '\n') out += "        ";
    }
    return out;
  }

  std::optional<std::string> lookup(const std::string& host, AddressFamily family) const {
    if (env_.lookup) return env_.lookup(host, family);
    const bool v6 = host.find(':') != std::string::npos;
    if (is_ip_literal(host)) {
      if (family != AddressFamily::Any && (family == AddressFamily::V6) != v6) return std::nullopt;
      return host;
    }
    if (host == "localhost") return family == AddressFamily::V6 ? "::1" : "127.0.0.1";
    return std::nullopt;
  }

  void resolvers_keyword(Words w) {
    ResolversConfig& r = out_.config.resolvers.back();
    const std::string_view kw = w[0];
    auto arg = [&](std::size_t i) -> std::string_view { return i < w.size() ? std::string_view(w[i]) : std::string_view(); };
    if (kw == "nameserver") {
      if (arg(2).empty()) return alert(fmt::format("'{}' expects <name> and <addr>[:<port>] as arguments.", kw));
      if (auto c = invalid_name_char(w[1]))
        return alert(fmt::format("character '{}' is not permitted in server name '{}'.", *c, w[1]));
      for (const auto& ns : r.nameservers)
        if (ns.name == w[1])
          alert(fmt::format("nameserver '{}' has same name as another nameserver (declared at {}:{}).", w[1],
                            ns.pos.file, ns.pos.line),
                Form::ParsingUpper);
      const std::string_view text = w[2];
      for (const std::string_view stream : {"tcp@", "tcp4@", "tcp6@", "stream+"})
        if (text.starts_with(stream))
          return alert(fmt::format("'{} {}' : DNS over TCP nameservers ('{}') are not supported by lb", kw, w[1], text));
      const bool unix_socket = text.starts_with("unix@") || text.starts_with("/");
      if (unix_socket) {
        r.nameservers.push_back({w[1], std::string(text), 0, pos(), true});
        return;
      }
      auto a = parse_socket_address(text, AddressUse::Nameserver, variable_lookup());
      if (!a) return alert(fmt::format("'{} {}' : {}", kw, w[1], a.error().message));
      std::string host = a->host;
      if (!is_ip_literal(host)) {
        // HAProxy resolves a nameserver's name while reading the line.
        const auto found = lookup(host, a->family);
        if (!found) return alert(fmt::format("'{} {}' : invalid address: '{}' in '{}'", kw, w[1], a->host_as_written, text));
        host = *found;
      }
      note_loose_port(*a, "nameserver");
      r.nameservers.push_back({w[1], host, a->port.value_or(0), pos()});
      return;
    }
    if (kw == "parse-resolv-conf") return parse_resolv_conf(r);
    if (kw == "hold") {
      if (arg(2).empty()) {
        alert(fmt::format("'{}' expects an <event> and a <time> as arguments.", kw));
        return alert("<event> can be either 'valid', 'nx', 'refused', 'timeout', or 'other'", Form::Whole);
      }
      const auto t = resolvers_time(w[2], w[1], kw);
      if (!t) return;
      const std::string_view ev = w[1];
      HoldTimes& h = r.hold;
      if (ev == "nx") h.nx = *t;
      else if (ev == "other") h.other = *t;
      else if (ev == "refused") h.refused = *t;
      else if (ev == "timeout") h.timeout = *t;
      else if (ev == "valid") h.valid = *t;
      else if (ev == "obsolete") h.obsolete = *t;
      else
        alert(fmt::format("'{}' unknown <event>: '{}', expects either 'nx', 'timeout', 'valid', 'obsolete' or 'other'.",
                          kw, ev));
      return;
    }
    if (kw == "accepted_payload_size") {
      if (arg(1).empty()) return alert(fmt::format("'{}' expects <nb> as argument.", kw));
      const auto v = parse_loose_int(w[1]);
      if (v.value < 12 || v.value > 65535)
        return alert(fmt::format("'{}' must be between 12 and 65535 inclusive (was {}).", kw, w[1]));
      if (!v.strict) warn(fmt::format("'{}' reads '{}' as {}, as HAProxy does", kw, w[1], v.value));
      r.accepted_payload_size = static_cast<int>(v.value);
      return;
    }
    if (kw == "resolution_pool_size")
      return alert(fmt::format("'{}' directive is not supported anymore (it never appeared in a stable release).", kw));
    if (kw == "resolve_retries") {
      if (arg(1).empty()) return alert(fmt::format("'{}' expects <nb> as argument.", kw));
      const auto v = parse_loose_int(w[1]);
      if (!v.strict) warn(fmt::format("'{}' reads '{}' as {}, as HAProxy does", kw, w[1], v.value));
      r.resolve_retries = static_cast<int>(v.value);
      return;
    }
    if (kw == "timeout") {
      if (arg(1).empty()) return alert(fmt::format("'{}' expects 'retry' or 'resolve' and <time> as arguments.", kw));
      const std::string_view which = w[1];
      if (which != "retry" && which != "resolve")
        return alert(fmt::format("'{}' expects 'retry' or 'resolve' and <time> as arguments got '{}'.", kw, which));
      if (arg(2).empty()) return alert(fmt::format("'{} {}' expects <time> as argument.", kw, which));
      const auto t = resolvers_time(w[2], w[2], fmt::format("{} {}", kw, which));
      if (!t) return;
      (which == "retry" ? r.timeout_retry : r.timeout_resolve) = *t;
      return;
    }
    alert(fmt::format("unknown keyword '{}' in 'resolvers' section", kw));
  }

  // ---------------------------------------------------------------- global
  void global_keyword(Words w) {
    const std::string_view kw = w[0];
    auto& g = out_.config.global;
    if (kw == "log") {
      if (auto t = parse_log_target(w, true)) g.logs.push_back(*t);
      return;
    }
    if (kw == "daemon") {
      if (w.size() > 1 && !w[1].empty()) return alert(fmt::format("'{}' cannot handle unexpected argument '{}'.", kw, w[1]));
      g.daemon = true;
      return;
    }
    if (kw == "setenv" || kw == "presetenv" || kw == "unsetenv" || kw == "resetenv" || kw == "localpeer")
      return environment_keyword(w);
    if (kw == "spread-checks") {
      if (w.size() < 2) return alert(fmt::format("'{}' expects an integer argument.", kw));
      const auto v = parse_loose_int(w[1]);
      if (!v.strict) warn(fmt::format("'{}' reads '{}' as {}", kw, w[1], v.value));
      if (v.value < 0 || v.value > 50) return alert(fmt::format("'{}' needs a positive value in range 0..50.", kw), Form::ParsingTight);
      g.spread_checks = static_cast<int>(v.value);
      return;
    }
    if (kw == "maxconn") {
      if (w.size() > 2) return alert(fmt::format("'{}' cannot handle unexpected argument '{}'.", kw, w[2]));
      if (g.maxconn != 0)
        return out_.diagnostics.push_back(
            {Diagnostic::Level::Continuing, pos(), fmt::format("'{}' already specified. Continuing.", kw)});
      if (w.size() < 2 || w[1].empty()) return alert(fmt::format("'{}' expects an integer argument.", kw));
      const auto v = parse_loose_int(w[1]);
      if (!v.strict) warn(fmt::format("'{}' reads '{}' as {}, as HAProxy does", kw, w[1], v.value));
      g.maxconn = static_cast<int>(std::max(0L, v.value));
      return;
    }
    if (kw == "max-spread-checks") {
      if (w.size() < 2) return alert(fmt::format("'{}' expects an integer argument.", kw));
      auto d = parse_duration(w[1]);
      if (!d) return alert(fmt::format("{} in '{}' argument.", d.error().message, kw));
      g.max_spread_checks = *d;
      return;
    }
    if (kw == "master-worker") {
      if (w.size() > 2) return alert(fmt::format("'{}' cannot handle unexpected argument '{}'.", kw, w[2]));
      if (w.size() == 2 && w[1] != "no-exit-on-failure")
        return alert(fmt::format("'{}' only supports 'no-exit-on-failure' option.", kw));
      g.master_worker = true;
      g.exit_on_failure = w.size() < 2;
      return;
    }
    if (kw == "hard-stop-after") {
      if (w.size() < 2 || w[1].empty()) return alert(fmt::format("'{}' expects <time> as argument.", kw));
      const auto d = parse_duration(w[1]);
      if (!d && d.error().message == "timer overflow")
        return alert(fmt::format("timer overflow in argument '{}' to '{}' (maximum value is 2147483647 ms or ~24.8 days)",
                                 w[1], kw));
      if (!d) return alert(fmt::format("{} in argument to <{}>.", d.error().message, kw));
      if (w.size() > 2) warn(fmt::format("'{}' ignores its extra argument '{}', as HAProxy does", kw, w[2]));
      if (d->count() > 0) g.hard_stop_after = *d;
      return;
    }
    if (kw == "stats") return stats_keyword(w);
    if (kw == "log-tag") {
      if (w.size() < 2 || w[1].empty()) return alert("'log-tag' expects a tag for use in syslog.");
      if (w.size() > 2) return alert(fmt::format("'log-tag' cannot handle unexpected argument '{}'.", w[2]));
      g.log_tag = w[1];
      return;
    }
    if (kw == "log-send-hostname") {
      if (w.size() > 2) warn(fmt::format("'log-send-hostname' ignores its extra argument '{}', as HAProxy does", w[2]));
      g.log_send_hostname = w.size() > 1 ? std::string(w[1]) : std::string();
      return;
    }
    if (kw == "server-state-file" || kw == "server-state-base") {
      if (w.size() < 2 || w[1].empty()) return alert(fmt::format("'{}' expects one argument: a file path.", kw));
      if (w.size() > 2) return alert(fmt::format("'{}' cannot handle unexpected argument '{}'.", kw, w[2]));
      (kw == "server-state-file" ? g.server_state_file : g.server_state_base) = w[1];
      return;
    }
    if (in(kIgnoredGlobal, kw)) return warn(fmt::format("'{}' has no effect in lb and is ignored", kw));
    if (in(kUnsupportedGlobal, kw)) return alert(fmt::format("'{}' is a HAProxy keyword that lb does not support", kw));
    alert(fmt::format("unknown keyword '{}' in 'global' section{}", kw, suggestion(kGlobalKeywords, kw)));
  }

  // `fd@N`/`sockpair@N`: what the descriptor is, as haproxy asks getsockname() while parsing.
  InheritedSocket inherited_socket(const SocketAddress& a) const {
    if (env_.inherited_socket) return env_.inherited_socket(a.fd);
    InheritedSocket none;
    none.error = a.fd <= 3 ? "Socket operation on non-socket" : "Bad file descriptor";
    return none;
  }
  // haproxy's complaint about an inherited descriptor that cannot be used, if any.
  std::optional<std::string> unusable_descriptor(const SocketAddress& a, const InheritedSocket& s) const {
    if (!s.error.empty()) return fmt::format("cannot use file descriptor '{}' : {}.", a.host, s.error);
    if (!a.socket_pair && !s.stream) return fmt::format("socket on file descriptor '{}' is of the wrong type.", a.host);
    return std::nullopt;
  }

  void note_loose_port(const SocketAddress& a, std::string_view keyword) {
    if (a.loose_port.empty()) return;
    const auto read = a.port_last ? fmt::format("{}-{}", *a.port, a.port_last) : fmt::format("{}", *a.port);
    warn(fmt::format("'{}' reads port '{}' as {}, as HAProxy does", keyword, a.loose_port, read));
  }

  VariableLookup variable_lookup() const {
    return [this](const std::string& name) -> std::optional<std::string> {
      const auto it = variables_.find(name);
      return it == variables_.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
  }

  // The global keywords that change the variables of the lines after them (cfgparse-global.c):
  // haproxy calls setenv(3)/unsetenv(3), so a name libc refuses (empty, or with '=') fails.
  void environment_keyword(Words w) {
    const std::string_view kw = w[0];
    auto arg = [&](std::size_t i) -> std::string_view { return i < w.size() ? std::string_view(w[i]) : std::string_view(); };
    const auto invalid_name = [](std::string_view name) { return name.empty() || name.find('=') != std::string_view::npos; };
    if (kw == "setenv" || kw == "presetenv") {
      if (!arg(4).empty()) return alert(fmt::format("'{}' cannot handle unexpected argument '{}'.", kw, w[4]));
      if (arg(2).empty()) return alert(fmt::format("'{}' expects a name and a value.", kw), Form::ParsingTight);
      if (invalid_name(w[1]))
        return alert(fmt::format("'{}' failed on variable '{}' : Invalid argument.", kw, w[1]), Form::ParsingTight);
      if (kw == "setenv" || !variables_.contains(w[1])) variables_[w[1]] = w[2];
      return;
    }
    if (kw == "unsetenv") {
      if (arg(1).empty()) return alert(fmt::format("'{}' expects at least one variable name.", kw), Form::ParsingTight);
      for (std::size_t i = 1; !arg(i).empty(); ++i) {
        if (invalid_name(w[i]))
          return alert(fmt::format("'{}' failed on variable '{}' : Invalid argument.", kw, w[i]), Form::ParsingTight);
        variables_.erase(w[i]);
      }
      return;
    }
    if (kw == "resetenv") {
      std::vector<std::string_view> keep;
      for (std::size_t i = 1; !arg(i).empty(); ++i) keep.push_back(w[i]);
      std::erase_if(variables_, [&](const auto& v) { return std::find(keep.begin(), keep.end(), v.first) == keep.end(); });
      return;
    }
    // localpeer
    if (!arg(2).empty()) return alert(fmt::format("'{}' cannot handle unexpected argument '{}'.", kw, w[2]));
    if (arg(1).empty()) return alert(fmt::format("'{}' expects a name as an argument.", kw));
    if (env_.localpeer_from_command_line)
      return warn(fmt::format("'{}' ignored since it is already set by using the '-L' command line argument.", kw));
    variables_["HAPROXY_LOCALPEER"] = w[1];
  }

  // `stats socket|timeout|maxconn|bind-process` (src/cli.c stats_parse_global).
  void stats_keyword(Words w) {
    auto arg = [&](std::size_t i) -> std::string_view { return i < w.size() ? std::string_view(w[i]) : std::string_view(); };
    const std::string_view sub = arg(1);
    if (sub == "timeout") {
      if (arg(2).empty()) return alert("'stats timeout' expects a timeout in milliseconds.");
      auto d = parse_duration(w[2]);
      if (!d || d->count() <= 0) return alert("'stats timeout' expects a positive value.");
      out_.config.global.stats_timeout = *d;
      return;
    }
    if (sub == "maxconn" || sub == "bind-process")
      return warn(fmt::format("'stats {}' has no effect in lb and is ignored", sub));
    if (sub != "socket")
      return alert(fmt::format("'stats' only supports 'socket', 'maxconn', 'bind-process' and 'timeout' (got '{}')", sub));
    if (arg(2).empty()) return alert("'stats socket' in global section expects an address or a path to a UNIX socket");
    StatsSocket sock;
    sock.pos = pos();
    // A path (absolute, or behind unix@) is a UNIX socket, as HAProxy's str2sa_range reads it.
    const std::string_view addr = w[2];
    if (addr.starts_with('/') || addr.starts_with("unix@")) {
      sock.path = std::string(addr.starts_with("unix@") ? addr.substr(5) : addr);
      if (sock.path.empty()) return alert("'stats socket' in global section expects an address or a path to a UNIX socket");
    }
    auto a = sock.path.empty() ? parse_socket_address(addr, AddressUse::Bind, variable_lookup()) : ValueResult<SocketAddress>(SocketAddress{});
    // HAProxy repeats the position inside these messages.
    const std::string where = fmt::format("parsing [{}:{}] : 'stats socket' : ", pos().file, pos().line);
    if (sock.path.empty()) {
      const auto colon = addr.rfind(':');
      const auto port_text = colon == std::string_view::npos ? std::string_view() : addr.substr(colon + 1);
      const auto bad = std::find_if(port_text.begin(), port_text.end(), [](char c) { return c < '0' || c > '9'; });
      if (bad != port_text.end())
        return alert(fmt::format("{}invalid character '{}' in port number '{}' in '{}'", where, *bad, port_text, addr));
    }
    if (!a) return alert(fmt::format("{}{}", where, a.error().message));
    if (!sock.path.empty()) {
    } else if (a->kind == SocketAddress::Kind::Fd) {
      if (const auto why = unusable_descriptor(*a, inherited_socket(*a))) return alert(where + *why);
      sock.fd = a->fd;
      sock.socket_pair = a->socket_pair;
    } else if (a->kind == SocketAddress::Kind::Ip && a->port) {
      if (*a->port == 0) return alert(fmt::format("{}invalid port '0'", where));
      sock.host = a->host.empty() ? "0.0.0.0" : a->host;
      sock.port = *a->port;
    } else {
      return alert(fmt::format("'stats socket' : address '{}' is not supported by lb (a UNIX path, ADDR:PORT, fd@N or sockpair@N)", w[2]));
    }
    for (std::size_t i = 3; i < w.size(); i += 2) {
      const std::string_view opt = w[i];
      const std::string_view value = i + 1 < w.size() ? std::string_view(w[i + 1]) : std::string_view();
      if (opt == "level") {
        if (value.empty()) return alert("'stats socket' : ''level' : missing level'");
        if (value == "user") sock.level = CliLevel::User;
        else if (value == "operator") sock.level = CliLevel::Operator;
        else if (value == "admin") sock.level = CliLevel::Admin;
        else return alert(fmt::format("'stats socket' : ''level' only supports 'user', 'operator', and 'admin' (got '{}')'", value));
      } else if (opt == "mode") {
        const bool octal = !value.empty() && std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '7'; });
        if (!octal) return alert(fmt::format("'stats socket' : ''mode' : missing or invalid mode '{}' (octal integer expected)'", value));
        sock.mode = static_cast<unsigned>(std::stoul(std::string(value), nullptr, 8));
      } else if (one_of(opt, {"uid", "gid", "user", "group", "expose-fd", "process", "severity-output", "maxconn", "backlog", "name"})) {
        warn(fmt::format("'stats socket' : '{}' has no effect in lb and is ignored", opt));
      } else {
        return alert(fmt::format("'stats socket' : unknown keyword '{}'.", opt));
      }
    }
    out_.config.global.stats_sockets.push_back(std::move(sock));
  }

  // parse_logsrv(): the words after the address in order, then the address; every error is
  // reported as "log : ...". `in_global`: a global line, where `log global` means nothing.
  std::optional<LogTarget> parse_log_target(Words w, bool in_global) {
    const auto fail = [&](std::string_view why) {
      alert(fmt::format("log : {}", why));
      return std::nullopt;
    };
    const auto word = [&](std::size_t i) { return i < w.size() ? std::string_view(w[i]) : std::string_view(); };
    if (in_global && w.size() == 2 && w[1] == "global") return fail("'global' is not supported for a global syslog server");
    if (word(1).empty() || word(2).empty())
      return fail(fmt::format("expects <address> and <facility> {} as arguments", in_global ? "" : "or global"));
    LogTarget t;
    std::size_t i = 2;
    if (word(i) == "len") {
      const auto n = parse_loose_int(word(i + 1));
      if (n.value < 80 || n.value > 65535)
        return fail(fmt::format("invalid log length '{}', must be between 80 and 65535", word(i + 1)));
      if (!n.strict) warn(fmt::format("'log ... len' reads '{}' as {}, as HAProxy does", word(i + 1), n.value));
      t.max_length = static_cast<std::size_t>(n.value);
      i += 2;
    }
    if (word(i) == "format") {
      t.format = word(i + 1);
      if (!one_of(t.format, {"raw", "short", "rfc3164", "rfc5424", "priority", "timed", "iso", "local"}))
        return fail(fmt::format("unknown log format '{}'", t.format));
      i += 2;
    }
    if (word(i) == "sample") {
      alert("'log ... sample' is a HAProxy feature that lb does not support");
      return std::nullopt;
    }
    static constexpr std::array kFacilities{"kern",   "user",   "mail",   "daemon", "auth",   "syslog",
                                            "lpr",    "news",   "uucp",   "cron",   "auth2",  "ftp",
                                            "ntp",    "audit",  "alert",  "cron2",  "local0", "local1",
                                            "local2", "local3", "local4", "local5", "local6", "local7"};
    if (!in(kFacilities, word(i))) return fail(fmt::format("unknown log facility '{}'", word(i)));
    t.facility = w[i++];
    static constexpr std::array kLevels{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"};
    if (!word(i).empty()) {
      if (!in(kLevels, word(i))) return fail(fmt::format("unknown optional log level '{}'", word(i)));
      t.level = w[i++];
    }
    if (!word(i).empty()) {  // the minimum level: read, not used
      if (!in(kLevels, word(i))) return fail(fmt::format("unknown optional minimum log level '{}'", word(i)));
      ++i;
    }
    if (!word(i).empty()) return fail(fmt::format("cannot handle unexpected argument '{}'", word(i)));
    t.target = w[1];
    if (t.target != "stdout" && t.target != "stderr" && !t.target.starts_with("ring@")) {
      auto a = parse_socket_address(t.target, AddressUse::Log, variable_lookup());
      if (!a) return fail(a.error().message);
      note_loose_port(*a, "log");
      t.target = a->expanded;  // what the log sink sends to
    }
    return t;
  }

  // ---------------------------------------------------------------- proxies
  void proxy_keyword(Words w) {
    ProxyConfig& p = *proxy_;
    const std::string_view kw = w[0];
    const std::string_view sect = section_name(p.kind);

    if (kw == "mode") {
      if (w.size() < 2) return alert("'mode' expects one of 'tcp', 'http', 'health' or 'log'.");
      if (w[1] == "http") p.mode = Mode::Http;
      else if (w[1] == "tcp") p.mode = Mode::Tcp;
      else if (w[1] == "health" || w[1] == "log") return alert(fmt::format("'mode {}' is not supported by lb", w[1]));
      else return alert(fmt::format("unknown proxy mode '{}'.", w[1]));
      return;
    }
    if (kw == "bind") {
      if (!p.has_frontend_role()) return not_allowed(kw, sect);
      if (w.size() < 2) return alert(fmt::format("'bind' expects {{<path>|[addr1]:port1[-end1]}}{{,[addr]:port[-end]}}... as arguments."));
      return add_bind(w.subspan(1));
    }
    if (kw == "default_backend") {
      if (p.kind == ProxyKind::Backend) return not_allowed(kw, sect);
      if (w.size() != 2) return alert(fmt::format("'{}' expects a backend name.", kw));
      p.default_backend = w[1];
      return;
    }
    if (kw == "use_backend") {
      if (!p.has_frontend_role()) return not_allowed(kw, sect);
      if (w.size() < 2) return alert(fmt::format("'{}' expects a backend name.", kw));
      if (w.size() > 2) return alert(fmt::format("conditional '{}' ({} {}) is not supported by lb", kw, w[2], join(w, 3)));
      p.use_backends.push_back(w[1]);
      return;
    }
    if (kw == "balance") {
      if (p.kind == ProxyKind::Frontend) return not_allowed(kw, sect);
      if (w.size() < 2) return alert("'balance' expects an algorithm name.");
      if (w[1] == "roundrobin") p.balance = Balance::RoundRobin;
      else if (w[1] == "leastconn") p.balance = Balance::LeastConn;
      else if (w[1] == "first") p.balance = Balance::First;
      else if (one_of(w[1], {"static-rr", "source", "uri", "url_param", "hdr", "random", "rdp-cookie", "hash"}) ||
               w[1].starts_with("hdr(") || w[1].starts_with("rdp-cookie("))
        return alert(fmt::format("'balance {}' is a HAProxy algorithm that lb does not support", w[1]));
      else
        return alert("balance only supports 'roundrobin', 'static-rr', 'leastconn', 'source', 'uri', 'url_param', "
                     "'hdr(name)' and 'rdp-cookie(name)' options.");
      if (w.size() > 2) warn(fmt::format("'balance {}' ignores the extra argument '{}', as HAProxy does", w[1], w[2]));
      return;
    }
    if (kw == "timeout") return timeout(w, p);
    if (kw == "maxconn") {
      if (!p.has_frontend_role() && p.kind != ProxyKind::Defaults)
        warn(fmt::format("'{}' ignored because backend '{}' has no frontend capability. Maybe you want 'fullconn' instead ?",
                         kw, p.name));
      if (w.size() < 2 || w[1].empty()) return alert(fmt::format("'{}' expects an integer argument.", kw));
      const auto v = parse_loose_int(w[1]);
      if (!v.strict) warn(fmt::format("'{}' reads '{}' as {}, as HAProxy does", kw, w[1], v.value));
      p.maxconn = static_cast<int>(std::max(0L, v.value));
      if (w.size() > 2) return alert(fmt::format("'{}' cannot handle unexpected argument '{}'.", kw, w[2]));
      return;
    }
    if (kw == "retries") {
      if (p.kind == ProxyKind::Frontend) return not_allowed(kw, sect);
      if (w.size() < 2) return alert(fmt::format("'{}' expects an integer value.", kw));
      const auto v = parse_loose_int(w[1]);
      if (!v.strict) warn(fmt::format("'retries' reads '{}' as {}, as HAProxy does", w[1], v.value));
      p.retries = static_cast<int>(v.value);
      return;
    }
    if (kw == "option") return option(w, p, true);
    if (kw == "no") {
      if (w.size() < 2 || w[1] != "option") {
        if (w.size() > 1 && w[1] == "log") {
          p.logs.clear();
          p.log_global = false;
          return;
        }
        return alert("'no' only supports 'option' and 'log'.");
      }
      return option(w.subspan(1), p, false);
    }
    if (kw == "http-check") return http_check(w, p);
    if (kw == "tcp-check") return tcp_check(w, p);
    if (kw == "default-server") {
      if (p.kind == ProxyKind::Frontend) return not_allowed(kw, sect);
      ServerSettings s = p.default_server;
      if (server_params(w.subspan(1), s, "", "default-server")) p.default_server = s;
      return;
    }
    if (kw == "server") {
      if (p.kind == ProxyKind::Frontend)
        return alert(fmt::format("parsing [{}:{}] : 'server' not allowed because frontend '{}' has no backend "
                                 "capability.",
                                 file_, line_, p.name),
                     Form::Bracketed);
      if (p.kind == ProxyKind::Defaults) return alert("'server' not allowed in 'defaults' section.");
      return server(w, p);
    }
    if (kw == "server-template") {
      if (p.kind == ProxyKind::Frontend)
        return alert(fmt::format("parsing [{}:{}] : 'server-template' not allowed because frontend '{}' has no "
                                 "backend capability.",
                                 file_, line_, p.name),
                     Form::Bracketed);
      if (p.kind == ProxyKind::Defaults)
        return alert("'server-template' not allowed in 'defaults' section.", Form::Bracketed);
      return server_template(w, p);
    }
    if (kw == "stats") return stats_page(w, p);
    if (kw == "load-server-state-from-file") {
      const std::string_view how = w.size() > 1 ? std::string_view(w[1]) : std::string_view();
      using L = ProxyConfig::LoadState;
      if (how == "global") p.load_server_state = L::Global;
      else if (how == "local") p.load_server_state = L::Local;
      else if (how == "none") p.load_server_state = L::None;
      else return alert(fmt::format("'{}' expects 'global', 'local' or 'none'. Got '{}'", kw, how));
      return;
    }
    if (kw == "server-state-file-name") {
      if (w.size() < 2 || w[1].empty()) return alert(fmt::format("'{}' expects 'use-backend-name' or a string. Got no argument", kw));
      p.server_state_file_name = w[1] == "use-backend-name" ? std::string() : std::string(w[1]);
      return;
    }
    if (kw == "http-request" && w.size() > 1 && w[1] == "use-service") return use_service(w, p);
    if (kw == "log") {
      if (w.size() == 2 && w[1] == "global") {
        p.log_global = true;
        return;
      }
      if (auto t = parse_log_target(w, false)) p.logs.push_back(*t);
      return;
    }
    if (kw == "log-tag") {
      if (w.size() < 2 || w[1].empty()) return alert("'log-tag' expects a tag for use in syslog.");
      if (w.size() > 2) warn(fmt::format("'log-tag' ignores its extra argument '{}', as HAProxy does", w[2]));
      p.log_tag = w[1];
      return;
    }
    if (in(kIgnoredProxy, kw)) return warn(fmt::format("'{}' has no effect in lb and is ignored", kw));
    if (in(kUnsupportedProxy, kw)) return alert(fmt::format("'{}' is a HAProxy keyword that lb does not support", kw));
    alert(fmt::format("unknown keyword '{}' in '{}' section{}", kw, sect, suggestion(kProxyKeywords, kw)));
  }

  void not_allowed(std::string_view kw, std::string_view) {
    const ProxyConfig& p = *proxy_;
    const bool lacks_backend = !p.has_backend_role();
    alert(fmt::format("'{}' not allowed because {} '{}' has no {} capability.", kw, proxy_type(p.kind), p.name,
                      lacks_backend ? "backend" : "frontend"));
  }

  void add_bind(Words args) {
    ProxyConfig& p = *proxy_;
    // As with server keywords, haproxy reads bind options up to the first empty word.
    if (args.size() > 1 && !args[1].empty())
      return alert(fmt::format("'bind {}' : option '{}' is not supported by lb", args[0], args[1]));
    // A bind address may list several addresses separated by commas.
    std::string_view list = args[0];
    while (!list.empty()) {
      const auto comma = list.find(',');
      const auto one = list.substr(0, comma);
      list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
      auto a = parse_socket_address(one, AddressUse::Bind, variable_lookup());
      if (!a) return alert(fmt::format("'bind' : {}", a.error().message));
      if (a->kind == SocketAddress::Kind::Fd) {
        const auto inherited = inherited_socket(*a);
        if (const auto why = unusable_descriptor(*a, inherited)) return alert("'bind' : " + *why);
        if (a->socket_pair) p.binds.push_back({"", 0, a->fd, pos(), true});
        else p.binds.push_back({inherited.host, inherited.port, a->fd, pos()});
        continue;
      }
      if (a->kind == SocketAddress::Kind::UnixPath) {
        p.binds.push_back({unix_host({a->host, a->abstract}), 0, -1, pos()});
        continue;
      }
      if (*a->port == 0) return alert("'bind' : invalid port '0'");
      // haproxy resolves a bind name now (PA_O_RESOLVE) and listens on the address it found.
      std::string host = a->host.empty() && a->family == AddressFamily::V6 ? "::" : a->host;
      if (!host.empty() && !is_ip_literal(host)) {
        const auto ip = lookup(host, a->family);
        if (!ip) return alert(fmt::format("'bind' : invalid address: '{}' in '{}'", a->host_as_written, one));
        host = *ip;
      }
      note_loose_port(*a, "bind");
      const int last = a->port_last ? a->port_last : *a->port;
      for (int port = *a->port; port <= last; ++port) p.binds.push_back({host, static_cast<std::uint16_t>(port), -1, pos()});
    }
  }

  // `stats ...` in a proxy (cfgparse-listen.c): any of them turns the page on.
  void stats_page(Words w, ProxyConfig& p) {
    auto arg = [&](std::size_t i) -> std::string_view { return i < w.size() ? std::string_view(w[i]) : std::string_view(); };
    const std::string_view sub = arg(1);
    StatsPage page = p.stats.value_or(StatsPage{});
    if (sub == "enable") {
    } else if (sub == "uri") {
      if (arg(2).empty()) return alert("'uri' needs an URI prefix.");
      page.uri = std::string(arg(2));
    } else if (sub == "realm") {
      if (arg(2).empty()) return alert("'realm' needs an realm name.");
      page.realm = std::string(arg(2));
    } else if (sub == "refresh") {
      auto d = parse_duration(arg(2));
      if (!d) {
        const char bad = arg(2).empty() ? '\0' : arg(2).front();
        return alert(fmt::format("unexpected character '{}' in argument to stats refresh interval.",
                                 bad == '\0' ? std::string() : std::string(1, bad)), Form::ParsingTight);
      }
      page.refresh = *d;
    } else if (sub == "auth") {
      if (arg(2).empty()) return alert("'auth' needs a user:password account.");
      const auto colon = arg(2).find(':');
      if (colon == std::string_view::npos)
        warn(fmt::format("'stats auth {}' has no ':password': read as HAProxy does, with an empty password", arg(2)));
      page.users.push_back({std::string(arg(2).substr(0, colon)),
                            colon == std::string_view::npos ? std::string() : std::string(arg(2).substr(colon + 1))});
    } else if (sub == "admin") {
      if (arg(2) != "if" && arg(2) != "unless")
        return alert("'stats admin' requires either 'if' or 'unless' followed by a condition.");
      const bool when = arg(2) == "if";
      const std::string_view cond = arg(3);
      if (w.size() != 4 || (cond != "TRUE" && cond != "FALSE" && cond != "LOCALHOST"))
        return alert("'stats admin' : lb evaluates the conditions TRUE, FALSE and LOCALHOST only");
      using A = StatsPage::Admin;
      if (cond == "LOCALHOST") page.admin = when ? A::FromLocalhost : A::NotFromLocalhost;
      else page.admin = (cond == "TRUE") == when ? A::Always : A::Never;
    } else if (sub == "show-legends") {
      page.show_legends = true;
    } else if (sub == "hide-version") {
      page.hide_version = true;
    } else if (sub == "scope" || sub == "show-node" || sub == "show-desc") {
      warn(fmt::format("'stats {}' has no effect in lb and is ignored", sub));
    } else {
      return alert(fmt::format("unknown stats parameter '{}', expects 'admin', 'uri', 'realm', 'auth', 'scope', "
                               "'enable', 'hide-version', 'show-node', 'show-desc' or 'show-legends'.",
                               sub),
                   Form::ParsingTight);
    }
    if (p.kind == ProxyKind::Backend)
      warn("a backend's stats page is not served in lb (frontend and listen sections serve it)");
    p.stats = std::move(page);
  }

  // `http-request use-service prometheus-exporter [if { path PATH }]`: the one service lb has.
  void use_service(Words w, ProxyConfig& p) {
    const std::string_view name = w.size() > 2 ? std::string_view(w[2]) : std::string_view();
    if (name != "prometheus-exporter")
      return abort_with(fmt::format("error detected in proxy '{}' while parsing 'http-request use-service' rule : '{}' "
                               "unknown service name..",
                               p.name, name));
    std::string path;
    if (w.size() > 3) {
      const bool braces = std::find(w.begin() + 3, w.end(), "{") != w.end();
      if (braces && std::find(w.begin() + 3, w.end(), "}") == w.end())
        return abort_with("error detected while parsing an 'http-request use-service' condition : missing closing '}' "
                          "in condition.");
      if (!(w.size() == 8 && w[3] == "if" && w[4] == "{" && w[5] == "path" && w[7] == "}"))
        return alert("'http-request use-service prometheus-exporter' : lb evaluates the condition "
                     "'if { path PATH }' only");
      path = w[6];
    }
    if (p.kind == ProxyKind::Backend)
      warn("a backend's Prometheus exporter is not served in lb (frontend and listen sections serve it)");
    p.prometheus_path = std::move(path);
  }

  void timeout(Words w, ProxyConfig& p) {
    if (w.size() < 2 || !in(kTimeoutNames, w[1]))
      return alert(fmt::format("'timeout' supports 'client', 'server', 'connect', 'check', 'queue', 'http-keep-alive', "
                               "'http-request', 'tunnel', 'tarpit', 'client-fin' and 'server-fin' (got '{}')",
                               w.size() < 2 ? "" : w[1]));
    const std::string_view name = w[1];
    if (w.size() < 3) return alert(fmt::format("'timeout {}' expects an integer value (in milliseconds)", name));
    auto d = parse_duration(w[2]);
    if (!d) return alert(fmt::format("{} in 'timeout {}'", d.error().message, name));
    if (w.size() > 3) return alert(fmt::format("'timeout {}' : unexpected extra argument '{}'", name, w[3]));
    const bool frontend_side = one_of(name, {"client", "http-request", "http-keep-alive", "client-fin", "tarpit"});
    if (frontend_side && p.kind == ProxyKind::Backend && name != "http-keep-alive" && name != "http-request" &&
        name != "tarpit") {
      return warn(fmt::format("'timeout {}' will be ignored because backend '{}' has no frontend capability", name, p.name));
    }
    if (!frontend_side && name != "queue" && p.kind == ProxyKind::Frontend)
      return warn(fmt::format("'timeout {}' will be ignored because frontend '{}' has no backend capability", name, p.name));
    auto& t = p.timeouts;
    // HAProxy treats a zero timeout as not set (and warns about it as missing).
    const std::optional<Ms> value = d->count() > 0 ? std::optional<Ms>(*d) : std::nullopt;
    if (name == "connect") t.connect = value;
    else if (name == "client") t.client = value;
    else if (name == "server") t.server = value;
    else if (name == "check") t.check = value;
    else if (name == "http-request") t.http_request = value;
    else if (name == "queue") t.queue = value;
    else if (name == "http-keep-alive") t.http_keep_alive = value;
    else warn(fmt::format("'timeout {}' has no effect in lb and is ignored", name));
  }

  void option(Words w, ProxyConfig& p, bool enable) {
    if (w.size() < 2) return alert("'option' expects an option name.");
    const std::string_view name = w[1];
    // An option of haproxy's cfg_opts tables: too many words is an alert, then a proxy without
    // the option's side a warning.
    auto flag = [&](bool& field, std::initializer_list<ProxyKind> not_for = {}) {
      if (w.size() > 2) return alert(fmt::format("'option {}' cannot handle unexpected argument '{}'.", name, w[2]));
      for (const auto k : not_for)
        if (p.kind == k) return warn(fmt::format("'{}' ignored because {} '{}' has no {} capability.", name,
                                                 proxy_type(p.kind), p.name,
                                                 k == ProxyKind::Frontend ? "backend" : "frontend"));
      field = enable;
    };
    if (name == "redispatch") {
      if (w.size() > 3) return alert("'option redispatch' expects at most one argument.");
      p.redispatch = enable;
      p.redispatch_interval = -1;
      if (enable && w.size() == 3) {
        const auto v = parse_loose_int(w[2]);
        if (!v.strict) warn(fmt::format("'option redispatch' reads '{}' as {}, as HAProxy does", w[2], v.value));
        p.redispatch_interval = static_cast<int>(v.value);
      }
      return;
    }
    if (name == "allbackups") return flag(p.allbackups, {ProxyKind::Frontend});
    if (name == "httplog" || name == "tcplog") {
      if (p.kind == ProxyKind::Backend)
        return warn(fmt::format("backend '{}' : 'option {}' directive is ignored in backends.", p.name, name));
      if (w.size() > 2 && name == "httplog" && w[2] != "clf")
        return alert(fmt::format("expected 'option httplog' or 'option httplog clf', found 'option httplog {}'.",
                                 w[2]));
      if (w.size() > 3 || (w.size() > 2 && name == "tcplog"))
        return alert(fmt::format("'option {}' does not expect any argument.", name));
      if (w.size() > 2) return alert("'option httplog clf' is a HAProxy format that lb does not support");
      if (name == "httplog") httplog_pos_ = pos();
      (name == "httplog" ? p.httplog : p.tcplog) = enable;
      (name == "httplog" ? p.tcplog : p.httplog) = false;
      return;
    }
    if (name == "dontlognull") return flag(p.dontlognull, {ProxyKind::Backend});
    if (name == "dontlog-normal") return flag(p.dontlog_normal, {ProxyKind::Backend});
    if (name == "http-keep-alive" || name == "http-server-close" || name == "httpclose") {
      if (w.size() > 2) return alert(fmt::format("'option {}' does not expect any argument.", name));
      const HttpConnMode mode = name == "httpclose"           ? HttpConnMode::Close
                                : name == "http-server-close" ? HttpConnMode::ServerClose
                                                              : HttpConnMode::KeepAlive;
      if (enable)
        p.http_conn_mode = mode;
      else if (p.http_conn_mode == mode)
        p.http_conn_mode = HttpConnMode::KeepAlive;
      return;
    }
    if (name == "log-health-checks") return flag(p.log_health_checks, {ProxyKind::Frontend});
    if (name == "forwardfor") {
      if (w.size() > 2) return alert(fmt::format("'option forwardfor {}' is not supported by lb (only the bare option)", w[2]));
      p.forwardfor = enable;
      return;
    }
    if (name == "httpchk") {
      if (!enable) {
        if (p.check.kind == CheckKind::HttpChk) p.check = CheckSpec{};
        return;
      }
      if (p.kind == ProxyKind::Frontend)
        return warn(fmt::format("'httpchk' ignored because frontend '{}' has no backend capability.", p.name));
      if (w.size() > 5) return alert(fmt::format("'option httpchk' cannot handle unexpected argument '{}'.", w[5]));
      own_httpchk_ = true;
      CheckSpec spec;
      spec.kind = CheckKind::HttpChk;
      spec.http_expects = p.check.http_expects;
      spec.disable_on_404 = p.check.disable_on_404;
      if (p.check.http_send) {
        // `http-check send` takes precedence over the request of `option httpchk`, whatever the order.
        spec.http = p.check.http;
        spec.http_send = true;
        p.check = std::move(spec);
        return;
      }
      if (w.size() == 3) spec.http.uri = w[2];
      if (w.size() >= 4) spec.http.method = w[2], spec.http.uri = w[3];
      if (w.size() == 5) {
        if (w[4].find('\r') != std::string::npos || w[4].find('\n') != std::string::npos)
          return alert("'option httpchk' with headers in the version string is deprecated; lb does not support it, "
                       "use 'http-check send hdr'");
        spec.http.version = w[4];
      }
      p.check = std::move(spec);
      return;
    }
    if (name == "tcp-check") {
      if (!enable) {
        if (p.check.kind == CheckKind::TcpCheck) p.check = CheckSpec{};
        return;
      }
      if (p.kind == ProxyKind::Frontend)
        return warn(fmt::format("'tcp-check' ignored because frontend '{}' has no backend capability.", p.name));
      if (w.size() > 2) return alert("'option tcp-check' does not expect any argument.");
      CheckSpec spec = p.check;
      spec.kind = CheckKind::TcpCheck;
      p.check = std::move(spec);
      return;
    }
    if (in(kIgnoredOptions, name)) return warn(fmt::format("'option {}' has no effect in lb and is ignored", name));
    if (in(kUnsupportedOptions, name))
      return alert(fmt::format("'option {}' is a HAProxy option that lb does not support", name));
    alert(fmt::format("unknown option '{}'.", name));
  }

  std::optional<ExpectRule> expect_rule(Words w, std::string_view directive, bool http) {
    // w starts after "expect".
    std::size_t i = 0;
    ExpectRule r;
    while (i < w.size()) {
      const std::string_view a = w[i];
      if (a == "comment") {
        if (i + 1 >= w.size()) {
          alert(fmt::format("'{} expect' : '{}' expects a string as argument.", directive, a));
          return std::nullopt;
        }
        i += 2;
        continue;
      }
      if (one_of(a, {"min-recv", "ok-status", "error-status", "tout-status", "on-success", "on-error", "status-code"})) {
        alert(fmt::format("'{} expect' : '{}' is a HAProxy option that lb does not support", directive, a));
        return std::nullopt;
      }
      break;
    }
    if (i < w.size() && w[i] == "!") {
      r.negate = true;
      ++i;
    }
    if (i >= w.size()) {
      alert(fmt::format("'{} expect' : expects at least a matching pattern as arguments.", directive));
      return std::nullopt;
    }
    const std::string_view m = w[i];
    if (m == "status" && http) r.kind = ExpectKind::Status;
    else if (m == "rstatus" && http) r.kind = ExpectKind::RStatus;
    else if (m == "string") r.kind = ExpectKind::String;
    else if (m == "rstring") r.kind = ExpectKind::RString;
    else if (m == "binary" && !http) r.kind = ExpectKind::Binary;
    else if (one_of(m, {"hdr", "fhdr", "rbinary", "string-lf", "binary-lf"})) {
      alert(fmt::format("'{} expect {}' is a HAProxy matching method that lb does not support", directive, m));
      return std::nullopt;
    } else {
      if (http)
        alert(fmt::format("'http-check expect' : 'only supports min-recv, [!]string', '[!]rstring', '[!]string-lf', "
                          "'[!]status', '[!]rstatus', [!]hdr, [!]fhdr or comment but got '{}' as argument..",
                          m));
      else
        alert(fmt::format("'tcp-check expect' : 'only supports min-recv, [!]string', '[!]rstring', '[!]string-lf', "
                          "'[!]binary', '[!]rbinary', '[!]binary-lf' or comment but got '{}' as argument..",
                          m));
      return std::nullopt;
    }
    if (i + 1 >= w.size()) {
      alert(fmt::format("'{} expect' : '{}' expects a <pattern> as argument.", directive, m));
      return std::nullopt;
    }
    r.pattern = w[i + 1];
    if (i + 2 < w.size()) {
      alert(fmt::format("'{} expect {}' : unexpected argument '{}'", directive, m, w[i + 2]));
      return std::nullopt;
    }
    if (r.kind == ExpectKind::Status && !parse_status_list(r.pattern)) {
      alert(fmt::format("'{} expect status' : invalid status list '{}'", directive, r.pattern));
      return std::nullopt;
    }
    if (r.kind == ExpectKind::RStatus || r.kind == ExpectKind::RString) {
      std::string why;
      if (!Regex::compile(r.pattern, &why)) {
        alert(fmt::format("'{} expect' : regex '{}' is invalid (error={}).", directive, r.pattern, why));
        return std::nullopt;
      }
    }
    if (r.kind == ExpectKind::Binary && !valid_hex(r.pattern)) {
      alert(fmt::format("'{} expect binary' : '{}' is not a valid hexadecimal string", directive, r.pattern));
      return std::nullopt;
    }
    return r;
  }

  static bool valid_hex(std::string_view s) { return !s.empty() && decode_hex(s).has_value(); }

  // HAProxy keeps a section's check rules in one list: the first rule a proxy declares replaces
  // the list inherited from defaults, including the request `option httpchk` put there.
  void declare_check_rule(ProxyConfig& p) {
    if (own_check_rules_) return;
    own_check_rules_ = true;
    if (p.kind == ProxyKind::Defaults) return;
    p.check.http_expects.clear();
    p.check.tcp_rules.clear();
    p.check.http_send = false;
    if (!own_httpchk_) p.check.http = HttpCheckRequest{};
  }

  void http_check(Words w, ProxyConfig& p) {
    if (p.kind == ProxyKind::Frontend) return not_allowed(w[0], section_name(p.kind));
    if (w.size() < 2) return alert("'http-check' expects 'disable-on-404', 'send-state', 'comment', 'connect', 'send', 'expect', 'set-var' or 'unset-var'.");
    const std::string_view sub = w[1];
    if (sub == "disable-on-404") {
      p.check.disable_on_404 = true;
      return;
    }
    if (sub == "expect") {
      auto r = expect_rule(w.subspan(2), "http-check", true);
      if (!r) return;
      declare_check_rule(p);
      p.check.http_expects.push_back(*r);
      return;
    }
    if (sub == "send") {
      if (own_check_rules_ && p.check.http_send)
        return alert("'http-check send' : lb supports one 'http-check send' per backend");
      declare_check_rule(p);
      HttpCheckRequest req = p.check.http;
      req.headers.clear();
      req.body.clear();
      for (std::size_t i = 2; i < w.size(); ++i) {
        const std::string_view a = w[i];
        auto need = [&](std::size_t n) {
          if (i + n < w.size()) return true;
          alert(fmt::format("'http-check send' : '{}' expects {} as argument..", a,
                            n == 2 ? "<name> and <value>" : "a string"));
          return false;
        };
        if (a == "meth") { if (!need(1)) return; req.method = w[++i]; }
        else if (a == "uri") { if (!need(1)) return; req.uri = w[++i]; }
        else if (a == "ver") { if (!need(1)) return; req.version = w[++i]; }
        else if (a == "hdr") { if (!need(2)) return; req.headers.emplace_back(w[i + 1], w[i + 2]); i += 2; }
        else if (a == "body") { if (!need(1)) return; req.body = w[++i]; }
        else if (a == "comment") { if (!need(1)) return; ++i; }
        else if (one_of(a, {"uri-lf", "body-lf"}))
          return alert(fmt::format("'http-check send' : '{}' is a HAProxy option that lb does not support", a));
        else
          return alert(fmt::format("'http-check send' : expects 'comment', 'meth', 'uri', 'uri-lf', 'ver', 'hdr', "
                                   "'body' or 'body-lf' but got '{}' as argument.", a));
      }
      p.check.http = std::move(req);
      p.check.http_send = true;
      p.check.send_request = true;
      return;
    }
    if (one_of(sub, {"send-state", "comment", "connect", "set-var", "unset-var"}))
      return alert(fmt::format("'http-check {}' is a HAProxy rule that lb does not support", sub));
    alert(fmt::format("'http-check' only supports 'disable-on-404', 'send-state', 'comment', 'connect', 'send', "
                      "'expect', 'set-var' and 'unset-var' (got '{}').", sub));
  }

  void tcp_check(Words w, ProxyConfig& p) {
    if (p.kind == ProxyKind::Frontend) return not_allowed(w[0], section_name(p.kind));
    if (w.size() < 2) return alert("'tcp-check' expects 'comment', 'connect', 'send', 'send-binary', 'expect', 'set-var' or 'unset-var'.");
    const std::string_view sub = w[1];
    TcpCheckRule rule;
    if (sub == "connect") {
      rule.kind = TcpCheckRule::Kind::Connect;
      for (std::size_t i = 2; i < w.size(); ++i) {
        if (w[i] == "port") {
          if (i + 1 >= w.size()) return alert("'tcp-check connect' : 'port' expects a port number as argument.");
          const auto v = parse_loose_int(w[i + 1]);
          if (!v.strict || v.value < 1 || v.value > 65535)
            return alert(fmt::format("'tcp-check connect' : invalid port '{}'", w[i + 1]));
          rule.port = static_cast<std::uint16_t>(v.value);
          ++i;
        } else if (w[i] == "comment") {
          if (i + 1 >= w.size()) return alert("'tcp-check connect' : 'comment' expects a string as argument.");
          ++i;
        } else if (one_of(w[i], {"default", "addr", "send-proxy", "via-socks4", "ssl", "sni", "alpn", "proto", "linger"})) {
          return alert(fmt::format("'tcp-check connect' : '{}' is a HAProxy option that lb does not support", w[i]));
        } else {
          return alert(fmt::format("'tcp-check connect' : unknown argument '{}'", w[i]));
        }
      }
    } else if (sub == "send" || sub == "send-binary") {
      rule.kind = sub == "send" ? TcpCheckRule::Kind::Send : TcpCheckRule::Kind::SendBinary;
      if (w.size() < 3) return alert(fmt::format("'tcp-check {}' expects a {} as argument.", sub, sub == "send" ? "string" : "hexadecimal string"));
      if (w.size() > 3 && !(w.size() == 5 && w[3] == "comment"))
        return alert(fmt::format("'tcp-check {}' : unexpected argument '{}'", sub, w[3]));
      rule.data = w[2];
      if (rule.kind == TcpCheckRule::Kind::SendBinary && !valid_hex(rule.data))
        return alert(fmt::format("'tcp-check send-binary' : '{}' is not a valid hexadecimal string", rule.data));
    } else if (sub == "expect") {
      auto r = expect_rule(w.subspan(2), "tcp-check", false);
      if (!r) return;
      rule.kind = TcpCheckRule::Kind::Expect;
      rule.expect = *r;
    } else if (one_of(sub, {"comment", "send-lf", "send-binary-lf", "set-var", "unset-var"})) {
      return alert(fmt::format("'tcp-check {}' is a HAProxy rule that lb does not support", sub));
    } else {
      return alert(fmt::format("'tcp-check' only supports 'comment', 'connect', 'send', 'send-binary', 'expect', "
                               "'set-var-fmt(*)', 'set-var(*)', 'unset-var(*)'. but got '{}'", sub));
    }
    declare_check_rule(p);
    p.check.tcp_rules.push_back(std::move(rule));
  }

  // ---------------------------------------------------------------- servers
  // A server's address, or nullopt after the alert (`who` names the server as haproxy does).
  std::optional<SocketAddress> server_address(std::string_view text, const std::string& who) {
    auto a = parse_socket_address(text, AddressUse::Server, variable_lookup());
    if (a && a->kind == SocketAddress::Kind::Fd) {  // sockpair@N (fd@N is refused by the address parser)
      if (const auto why = unusable_descriptor(*a, inherited_socket(*a))) {
        alert(who + *why, Form::Bracketed);
        return std::nullopt;
      }
    }
    if (!a) {
      // HAProxy ends its own server-address messages with a period only for these two.
      const auto& m = a.error().message;
      const bool period = m.starts_with("invalid address: ") || m.starts_with("invalid port ");
      alert(who + m + (period ? "." : ""), Form::Bracketed);
      return std::nullopt;
    }
    return std::move(*a);
  }

  void server(Words w, ProxyConfig& p) {
    if (w.size() < 3) return alert("'server' expects <name> and <addr>[:<port>] as arguments.", Form::Bracketed);
    ServerConfig s;
    s.name = w[1];
    s.pos = pos();
    const std::string who = fmt::format("'server {}/{}' : ", p.name, s.name);
    const auto a = server_address(w[2], who);
    if (!a) return;
    if (w[2].empty()) return alert(fmt::format("{}invalid address: '{}'.", who, w[2]), Form::Bracketed);
    if (a->kind == SocketAddress::Kind::UnixPath) s.host = unix_host({a->host, a->abstract});
    else if (a->kind == SocketAddress::Kind::Fd) s.host = unix_host({{}, false, a->fd});
    else s.host = a->host.empty() ? (a->family == AddressFamily::V6 ? "::" : "0.0.0.0") : a->host;
    // No host (":6378") stands for the address any; so it prints, and so it reads back.
    s.host_as_written = a->kind == SocketAddress::Kind::Fd ? s.host
                        : !a->host.empty()                  ? a->host_as_written
                        : s.host == "::"                    ? "[::]"
                                                            : s.host;
    s.family = a->family;
    s.port = a->port.value_or(0);
    note_loose_port(*a, "server");
    s.settings = p.default_server;
    if (!server_params(w.subspan(3), s.settings, who, s.name)) return;
    if (s.settings.resolvers_set && !is_address_literal(s.host) && !valid_dns_name(s.host))
      return alert(fmt::format("{}Can't create DNS resolution for server '{}'", who, s.name), Form::Bracketed);
    p.servers.push_back(std::move(s));
  }

  // `server-template PREFIX NUM|FIRST-LAST FQDN[:PORT] PARAMS`: servers PREFIXn sharing one name,
  // which run-time resolution spreads over the name's addresses.
  void server_template(Words w, ProxyConfig& p) {
    if (w.size() < 4)
      return alert("'server-template' expects <prefix> <nb | range> <addr>[:<port>] as arguments.", Form::Bracketed);
    if (auto c = invalid_name_char(w[1]))
      return alert(fmt::format("character '{}' is not permitted in server-template prefix '{}'.", *c, w[1]),
                   Form::Bracketed);
    const auto range = template_range(w[2]);
    if (!range) return alert(fmt::format("Wrong server-template number or range arg '{}'.", w[2]), Form::Bracketed);
    if (range->second - range->first >= kMaxTemplateServers)
      return alert(fmt::format("server-template '{}' asks for more than lb's {} servers per template.", w[2],
                               kMaxTemplateServers),
                   Form::Bracketed);
    if (!range->strict)
      warn(fmt::format("server-template reads '{}' as {}-{}, as HAProxy does", w[2], range->first, range->second),
           Form::Bracketed);
    // HAProxy names none of the servers yet while it reads the line.
    const std::string who = fmt::format("'server {}/(null)' : ", p.name);
    const auto a = server_address(w[3], who);
    if (!a) return;
    ServerSettings settings = p.default_server;
    if (!server_params(w.subspan(4), settings, who, "(null)")) return;
    // An SRV name ("_http._tcp.app") is read whatever the server's resolvers.
    if (a->host.starts_with('_') && !valid_dns_name(a->host))
      return alert(fmt::format("{}backend '{}', server '(null)': failed to parse FQDN '{}'", who, p.name, a->host),
                   Form::Bracketed);
    if (settings.resolvers_set && !is_ip_literal(a->host) && !valid_dns_name(a->host))
      return alert(fmt::format("{}Can't create DNS resolution for server '(null)'", who), Form::Bracketed);
    for (int n = range->first; n <= range->second; ++n) {
      ServerConfig s;
      s.name = fmt::format("{}{}", w[1], n);
      s.pos = pos();
      s.host = a->kind == SocketAddress::Kind::UnixPath ? unix_host({a->host, a->abstract}) : a->host;
      s.host_as_written = a->host_as_written;
      s.family = a->family;
      s.port = a->port.value_or(0);
      s.settings = settings;
      p.servers.push_back(std::move(s));
    }
  }

  // HAProxy's _srv_parse_tmpl_range(): "3" is 1-3, "5-7", "0-2"; both ends read with atoi()
  // ("3x" is 3, "3-5-7" is 3-5). `strict`: the text was exactly N or N-M.
  struct TemplateRange {
    long first = 0, second = 0;
    bool strict = false;
  };
  static std::optional<TemplateRange> template_range(std::string_view text) {
    const auto dash = text.find('-', text.starts_with('-') ? 1 : 0);
    const auto low = parse_loose_int(text);
    TemplateRange r;
    if (text.find('-') != std::string_view::npos) {
      const auto high = parse_loose_int(text.substr(text.find('-') + 1));
      r = {low.value, high.value, false};
      const auto lo_text = text.substr(0, dash);
      r.strict = dash != std::string_view::npos && parse_loose_int(lo_text).strict && high.strict;
    } else {
      r = {1, low.value, low.strict};
    }
    if (r.first < 0 || r.second < r.first) return std::nullopt;
    return r;
  }
  static constexpr int kMaxTemplateServers = 10000;

  // `who` prefixes messages ("'server apps/s1' : ", empty for default-server); `name` is how
  // HAProxy names the server inside them.
  bool server_params(Words w, ServerSettings& s, std::string_view who, std::string_view name) {
    auto fail = [&](std::string message) {
      alert(fmt::format("{}{}", who, message), Form::Bracketed);
      return false;
    };
    // haproxy reads keywords up to the first empty word (while (*args[cur_arg])), and no further.
    for (std::size_t i = 0; i < w.size() && !w[i].empty(); ++i) {
      const std::string_view kw = w[i];
      // `missing`: the keyword's own message (src/server.c, src/check.c) when its argument is not there.
      auto arg = [&](std::string_view missing) -> const std::string* {
        if (i + 1 < w.size()) return &w[++i];
        fail(fmt::format("'{}' {}.", kw, missing));
        return nullptr;
      };
      // A few keywords read their argument with atol() without testing it: "" is 0.
      auto unchecked_arg = [&]() -> std::string { return i + 1 < w.size() ? w[++i] : std::string(); };
      auto time_arg = [&](Ms& out) {
        if (i + 1 >= w.size()) return fail(fmt::format("'{}' expects a delay as argument..", kw));
        const std::string& a = w[++i];
        auto d = parse_duration(a);
        if (!d) {
          if (d.error().message == "timer overflow")
            return fail(fmt::format("timer overflow in argument <{}> to <{}> of server {}, maximum value is "
                                    "2147483647 ms (~24.8 days)..",
                                    a, kw, name));
          // HAProxy 2.6 names 'agent-inter' here whichever interval keyword was used.
          return fail(fmt::format("{} in 'agent-inter' argument of server {}..", d.error().message, name));
        }
        if (d->count() == 0) return fail(fmt::format("invalid value 0 for argument '{}' of server {}..", kw, name));
        out = *d;
        return true;
      };
      auto count_arg = [&](int& out) {
        const auto* a = arg("expects an integer argument.");
        if (!a) return false;
        const auto v = parse_loose_int(*a);
        if (v.value <= 0) return fail(fmt::format("'{}' has to be > 0..", kw));
        if (!v.strict) warn(fmt::format("{}'{}' reads '{}' as {}, as HAProxy does", who, kw, *a, v.value), Form::Bracketed);
        out = static_cast<int>(v.value);
        return true;
      };
      auto loose_warn = [&](const std::string& a, long value) {
        warn(fmt::format("{}'{}' reads '{}' as {}, as HAProxy does", who, kw, a, value), Form::Bracketed);
      };
      if (kw == "check") s.check = true;
      else if (kw == "no-check") s.check = false;
      else if (kw == "backup") s.backup = true;
      else if (kw == "no-backup") s.backup = false;
      else if (kw == "disabled") s.disabled = true;
      else if (kw == "enabled") s.disabled = false;
      else if (kw == "inter") { if (!time_arg(s.inter)) return false; }
      else if (kw == "fastinter") { Ms d{}; if (!time_arg(d)) return false; s.fastinter = d; }
      else if (kw == "downinter") { Ms d{}; if (!time_arg(d)) return false; s.downinter = d; }
      else if (kw == "rise") { if (!count_arg(s.rise)) return false; }
      else if (kw == "fall") { if (!count_arg(s.fall)) return false; }
      else if (kw == "port") {
        const auto* a = arg("expects a port number as argument.");
        if (!a) return false;
        const auto v = parse_loose_int(*a);
        if (v.value < 1 || v.value > 65535) return fail(fmt::format("invalid port '{}' for 'port'..", *a));
        if (!v.strict) loose_warn(*a, v.value);
        s.check_port = static_cast<std::uint16_t>(v.value);
      } else if (kw == "addr") {
        const auto* a = arg("expects <ipv4|ipv6> as argument.");
        if (!a) return false;
        auto hp = parse_host_port(*a);
        if (!hp || hp->host.empty()) return fail(fmt::format("invalid address '{}' for 'addr'..", *a));
        s.check_addr = hp->host;
        if (hp->port && !s.check_port) s.check_port = *hp->port;
      } else if (kw == "weight") {
        const auto a = unchecked_arg();
        const auto v = parse_loose_int(a);
        if (v.value < 0 || v.value > 256)
          return fail(fmt::format("weight of server {} is not within 0 and 256 ({})..", name, v.value));
        if (!v.strict) loose_warn(a, v.value);
        s.weight = static_cast<int>(v.value);
      } else if (kw == "maxconn") {
        const auto a = unchecked_arg();
        const auto v = parse_loose_int(a);
        if (!v.strict) loose_warn(a, v.value);
        s.maxconn = static_cast<int>(std::max(0L, v.value));
      } else if (kw == "resolvers" || kw == "resolve-prefer" || kw == "resolve-opts" || kw == "resolve-net" ||
                 kw == "init-addr") {
        // HAProxy hands these their next word even when the line ends there ("" then).
        const std::string value = i + 1 < w.size() ? w[++i] : std::string();
        if (!resolution_param(kw, value, s, fail)) return false;
      } else if (in(kUnsupportedServerKeywords, kw)) {
        return fail(fmt::format("'{}' is a HAProxy server keyword that lb does not support.", kw));
      } else {
        const auto hint = suggestion(kServerKeywords, kw);
        return fail(fmt::format("unknown keyword '{}'{}", kw, hint.empty() ? "." : hint));
      }
    }
    return true;
  }

  template <class Fail>
  bool resolution_param(std::string_view kw, const std::string& value, ServerSettings& s, Fail& fail) {
    auto comma_list = [](std::string_view text) {
      std::vector<std::string> items;
      while (!text.empty()) {
        const auto comma = text.find(',');
        items.emplace_back(text.substr(0, comma));
        if (comma == std::string_view::npos) break;
        text.remove_prefix(comma + 1);
      }
      return items;
    };
    if (kw == "resolvers") {
      s.resolvers = value;
      s.resolvers_set = true;
      return true;
    }
    if (kw == "resolve-prefer") {
      if (value != "ipv4" && value != "ipv6") return fail(fmt::format("'{}' expects either ipv4 or ipv6 as argument..", kw));
      s.prefer_ipv4 = value == "ipv4";
      return true;
    }
    if (kw == "resolve-opts") {
      for (const auto& opt : comma_list(value)) {
        if (opt == "allow-dup-ip") s.allow_dup_ip = true;
        else if (opt == "prevent-dup-ip") s.allow_dup_ip = false;
        else if (opt == "ignore-weight") s.ignore_weight = true;
        else
          return fail(fmt::format("'{}' : unknown resolve-opts option '{}', supported methods are 'allow-dup-ip', "
                                  "'ignore-weight', and 'prevent-dup-ip'..",
                                  kw, opt));
      }
      return true;
    }
    if (kw == "resolve-net") {
      if (value.empty()) return fail(fmt::format("'{}' expects a list of networks..", kw));
      for (const auto& net : comma_list(value)) {
        if (s.resolve_net.size() >= 5) return fail(fmt::format("'{}' exceed 5 networks..", kw));
        if (!parse_network(net)) return fail(fmt::format("'{}' invalid network '{}'..", kw, net));
        s.resolve_net.push_back(net);
      }
      return true;
    }
    // init-addr: a new list replaces the inherited one.
    s.init_addr.clear();
    bool have_ip = false;
    for (const auto& m : comma_list(value)) {
      InitAddrMethod method;
      if (m == "libc") method.kind = InitAddrMethod::Kind::Libc;
      else if (m == "last") method.kind = InitAddrMethod::Kind::Last;
      else if (m == "none") method.kind = InitAddrMethod::Kind::None;
      else if (is_ip_literal(m)) {
        if (have_ip) return fail(fmt::format("'{}' : initial address already specified, cannot add '{}'..", kw, m));
        have_ip = true;
        method = {InitAddrMethod::Kind::Ip, canonical_ip(m)};
      } else {
        return fail(fmt::format("'{}' : unknown init-addr method '{}', supported methods are 'libc', 'last', 'none'..",
                                kw, m));
      }
      // HAProxy packs the list in 30 bits, three per method.
      if (s.init_addr.size() >= 10)
        return fail(fmt::format("'{}' : too many init-addr methods when trying to add '{}'.", kw, m));
      s.init_addr.push_back(std::move(method));
    }
    return true;
  }

  // What HAProxy can write as a query name: no empty label, 255 bytes in all (it does not hold
  // labels to 63 bytes).
  static bool valid_dns_name(std::string_view name) {
    if (name.empty() || name.size() > 255) return false;
    while (!name.empty()) {
      const auto dot = name.find('.');
      const auto label = name.substr(0, dot);
      if (label.empty()) return false;
      if (dot == std::string_view::npos) break;
      name.remove_prefix(dot + 1);
    }
    return true;
  }

  // ---------------------------------------------------------------- whole-config checks
  void post(Diagnostic::Level level, SourcePos at, Form form, std::string message, bool while_reading = false) {
    out_.diagnostics.push_back({level, std::move(at), std::move(message), form, while_reading});
  }

  void validate() {
    using Level = Diagnostic::Level;
    auto& cfg = out_.config;
    add_default_resolvers();
    for (std::size_t i = 0; i < cfg.proxies.size(); ++i) {
      const auto& p = cfg.proxies[i];
      for (std::size_t j = 0; j < i; ++j) {
        const auto& q = cfg.proxies[j];
        if (q.name == p.name && (q.has_backend_role() == p.has_backend_role() || q.has_frontend_role() == p.has_frontend_role()))
          post(Level::Alert, p.pos, Form::ParsingUpper,
               fmt::format("{} '{}' has the same name as {} '{}' declared at {}:{}.", proxy_type(p.kind), p.name,
                           proxy_type(q.kind), q.name, q.pos.file, q.pos.line),
               /*while_reading=*/true);  // HAProxy finds it at the section line
      }
      for (std::size_t a = 0; a < p.servers.size(); ++a)
        for (std::size_t b = 0; b < a; ++b)
          if (p.servers[a].name == p.servers[b].name) {
            post(Level::Alert, p.servers[a].pos, Form::Parsing,
                 fmt::format("{} '{}', another server named '{}' was already defined at line {}, please use distinct "
                             "names.",
                             proxy_type(p.kind), p.name, p.servers[a].name, p.servers[b].pos.line));
            break;
          }
      // A server named by a host name has no address yet when HAProxy checks this.
      for (const auto& s : p.servers)
        if (s.settings.check && s.port == 0 && !check_port_known(s, p.check) && is_ip_literal(s.host))
          post(Level::Alert, s.pos, Form::Whole,
               fmt::format("config: {} '{}': server '{}' has neither service port nor check port.",
                           proxy_type(p.kind), p.name, s.name));
      auto need_backend = [&](const std::string& name, bool is_default) {
        if (name.empty()) return;
        const auto* be = cfg.find_backend(name);
        if (!be)
          return post(Level::Alert, p.pos, Form::Whole,
                      fmt::format("Proxy '{}': unable to find required {}: '{}'.", p.name,
                                  is_default ? "default_backend" : "use_backend", name));
        // A TCP frontend may hand over to an HTTP backend (HAProxy upgrades it); not the reverse.
        if (p.mode == Mode::Http && be->mode == Mode::Tcp)
          post(Level::Alert, p.pos, Form::Whole,
               fmt::format("{} {} '{}' ({}:{}) tries to use incompatible {} {} '{}' ({}:{}) {} (see 'mode').",
                           mode_name(p.mode), proxy_type(p.kind), p.name, p.pos.file, p.pos.line,
                           mode_name(be->mode), proxy_type(be->kind), be->name, be->pos.file, be->pos.line,
                           is_default ? "as its default backend" : "in a 'use_backend' rule"));
      };
      if (p.has_frontend_role()) {
        need_backend(p.default_backend, true);
        for (const auto& b : p.use_backends) need_backend(b, false);
        if (p.binds.empty())
          post(Level::Warning, p.pos, Form::Whole,
               fmt::format("Proxy '{}' has no 'bind' directive. Please declare it as a backend if this was intended.",
                           p.name));
      }
      if ((p.has_frontend_role() && !p.timeouts.client) ||
          (p.has_backend_role() && (!p.timeouts.connect || !p.timeouts.server)))
        post(Level::Warning, p.pos, Form::Whole,
             fmt::format("missing timeouts for {} '{}'.\n"
                         "   | While not properly invalid, you will certainly encounter various problems\n"
                         "   | with such a configuration. To fix this, please ensure that all following\n"
                         "   | timeouts are set to a non-zero value: 'client', 'connect', 'server'.",
                         proxy_type(p.kind), p.name));
    }
    finish_resolvers();
    if (out_.ok()) init_addresses();
  }

  // A server may name `resolvers default` without such a section: HAProxy then makes one from
  // /etc/resolv.conf, quietly, whatever that file holds.
  void add_default_resolvers() {
    auto& cfg = out_.config;
    if (cfg.find_resolvers("default")) return;
    const bool used = std::any_of(cfg.proxies.begin(), cfg.proxies.end(), [](const ProxyConfig& p) {
      return std::any_of(p.servers.begin(), p.servers.end(),
                         [](const ServerConfig& s) { return s.settings.resolvers_set && s.settings.resolvers == "default"; });
    });
    if (!used) return;
    ResolversConfig r;
    r.name = "default";
    r.pos = {"<internal>", 0};
    if (env_.resolv_conf) {
      const auto kept = out_.diagnostics.size();
      parse_resolv_conf(r);
      out_.diagnostics.resize(kept);
    }
    // HAProxy drops it again when /etc/resolv.conf gave no nameserver.
    if (!r.nameservers.empty()) cfg.resolvers.push_back(std::move(r));
  }

  // What HAProxy finds once the proxies are checked: sections without nameservers, nameservers
  // it cannot open, servers naming a section that does not exist.
  void finish_resolvers() {
    using Level = Diagnostic::Level;
    const auto& cfg = out_.config;
    for (const auto& r : cfg.resolvers)
      if (r.nameservers.empty())
        post(Level::Warning, r.pos, Form::Whole,
             fmt::format("resolvers '{}' [{}:{}] has no nameservers configured!", r.name, r.pos.file, r.pos.line));
    for (const auto& r : cfg.resolvers)
      for (const auto& ns : r.nameservers)
        if (ns.unix_socket)
          post(Level::Alert, ns.pos, Form::Whole,
               fmt::format("resolvers '{}': can't create socket for nameserver '{}'.", r.name, ns.name));
    for (const auto& p : cfg.proxies) {
      if (!p.has_backend_role()) continue;
      for (const auto& s : p.servers)
        if (s.settings.resolvers_set && !cfg.find_resolvers(s.settings.resolvers))
          post(Level::Alert, s.pos, Form::Whole,
               fmt::format("{} '{}', server '{}': unable to find required resolvers '{}'", proxy_type(p.kind), p.name,
                           s.name, s.settings.resolvers));
    }
  }

  // HAProxy's srv_init_addr(): each server named by a host name tries its `init-addr` methods in
  // order (default last,libc, then none when it has resolvers). There is no state file, so
  // `last` never gives an address.
  void init_addresses() {
    using Level = Diagnostic::Level;
    bool fatal = false;
    for (auto& p : out_.config.proxies) {
      if (!p.has_backend_role()) continue;
      for (auto& s : p.servers) {
        // A literal of the family its prefix asks for is its own address; one of the other family
        // goes to libc like a name, which finds nothing (`ipv4@::1`).
        const bool v6 = s.host.find(':') != std::string::npos;
        if (is_ip_literal(s.host) && (s.family == AddressFamily::Any || (s.family == AddressFamily::V6) == v6)) {
          s.start_address = canonical_ip(s.host);
          continue;
        }
        if (unix_address(s.host)) {
          s.start_address = s.host;
          continue;
        }
        const std::string who = fmt::format("'server {}/{}' : ", p.name, s.name);
        const std::string name = s.host_as_written.empty() ? s.host : s.host_as_written;
        std::vector<InitAddrMethod> methods = s.settings.init_addr;
        if (methods.empty()) {
          methods = {{InitAddrMethod::Kind::Last, {}}, {InitAddrMethod::Kind::Libc, {}}};
          if (s.settings.resolvers_set) methods.push_back({InitAddrMethod::Kind::None, {}});
        }
        bool failed = false, done = false;
        // An SRV name is no host name: libc has nothing to look up.
        const bool srv_name = s.host.starts_with('_');
        for (const auto& m : methods) {
          if (m.kind == InitAddrMethod::Kind::Last || (m.kind == InitAddrMethod::Kind::Libc && srv_name)) continue;
          if (m.kind == InitAddrMethod::Kind::Libc) {
            if (auto a = lookup(s.host, s.family)) {
              s.start_address = *a;
              done = true;
              break;
            }
            failed = true;
            continue;
          }
          if (m.kind == InitAddrMethod::Kind::None) {
            if (failed)
              post(Level::Warning, s.pos, Form::Bracketed,
                   fmt::format("{}could not resolve address '{}', disabling server.", who, name));
            done = true;
            break;
          }
          if (failed)
            post(Level::Warning, s.pos, Form::Bracketed,
                 fmt::format("{}could not resolve address '{}', falling back to configured address.", who, name));
          s.start_address = m.ip;
          done = true;
          break;
        }
        if (done) continue;
        post(Level::Alert, s.pos, Form::Bracketed,
             fmt::format("{}{} resolve address '{}'.", who, failed ? "could not" : "no method found to", name));
        fatal = true;
      }
    }
    if (!fatal) return;
    post(Level::Alert, {}, Form::Whole, "Failed to initialize server(s) addr.");
    out_.stopped_early = true;
  }

  static std::string_view mode_name(Mode m) { return m == Mode::Http ? "http" : "tcp"; }

  static bool check_port_known(const ServerConfig& s, const CheckSpec& spec) {
    if (s.settings.check_port) return true;
    return spec.kind == CheckKind::TcpCheck && !spec.tcp_rules.empty() &&
           spec.tcp_rules.front().kind == TcpCheckRule::Kind::Connect && spec.tcp_rules.front().port;
  }

  std::string file_;
  ParseEnvironment env_;
  std::map<std::string, std::string> variables_;
  std::optional<std::string> current_section_;
  int line_ = 0;
  Section section_ = Section::None;
  ProxyConfig defaults_;
  ProxyConfig current_;
  ProxyConfig* proxy_ = nullptr;
  bool in_proxy_ = false;
  bool aborted_ = false;  // HAProxy's ERR_ABORT: nothing after this line is read
  bool own_check_rules_ = false;  // the current section declared http-check/tcp-check rules
  std::optional<SourcePos> httplog_pos_;  // where the current section said `option httplog`
  bool own_httpchk_ = false;      // the current section declared `option httpchk`
  ParseResult out_;
};

}  // namespace

ParseResult parse_config(std::string_view text, std::string_view file_name, const ParseEnvironment& env) {
  return Parser(file_name, env).run(text);
}

ParseResult parse_config_files(const std::vector<ConfigFile>& files, const ParseEnvironment& env) {
  return Parser(files.empty() ? std::string_view{} : std::string_view(files.front().name), env).run_files(files);
}

std::string format_diagnostic(const Diagnostic& d) {
  using Form = Diagnostic::Form;
  switch (d.form) {
    case Form::Parsing: return fmt::format("config : parsing [{}:{}] : {}", d.pos.file, d.pos.line, d.message);
    case Form::ParsingTight: return fmt::format("config : parsing [{}:{}]: {}", d.pos.file, d.pos.line, d.message);
    case Form::ParsingUpper: return fmt::format("config : Parsing [{}:{}]: {}", d.pos.file, d.pos.line, d.message);
    case Form::Bracketed: return fmt::format("config : [{}:{}] : {}", d.pos.file, d.pos.line, d.message);
    case Form::Whole: return fmt::format("config : {}", d.message);
  }
  return d.message;
}

}  // namespace lb::core
