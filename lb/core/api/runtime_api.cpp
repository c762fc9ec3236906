#include "lb/core/api/runtime_api.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <climits>

#include "lb/core/config/values.hpp"
#include "lb/core/stats/stats.hpp"

namespace lb::core {
namespace {

constexpr std::string_view kNotImplemented = "lb does not implement this command.\n";
constexpr std::string_view kSetServerUsage =
    "usage: set server <backend>/<server> addr | agent | agent-addr | agent-port | agent-send | check-addr | "
    "check-port | fqdn | health | ssl | state | weight\n";

// strtol(): leading blanks, a sign, digits; `end` is where the digits stop (0 when none).
struct Number {
  long long value = 0;
  std::size_t end = 0;  // 0: no digits read
  bool overflow = false;
};
Number read_long(std::string_view text) {
  Number n;
  std::size_t i = 0;
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  bool negative = false;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
  const std::size_t digits = i;
  long long v = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    if (v > (LLONG_MAX - (text[i] - '0')) / 10) n.overflow = true;
    else v = v * 10 + (text[i] - '0');
    ++i;
  }
  if (i == digits) return n;
  n.end = i;
  n.value = negative ? -v : v;
  // strtol saturates at LONG_MAX (64 bits here) and reports ERANGE.
  return n;
}

std::string arg(const std::vector<std::string>& words, std::size_t i) { return i < words.size() ? words[i] : std::string(); }

bool starts(const std::vector<std::string>& words, std::initializer_list<std::string_view> prefix) {
  std::size_t i = 0;
  for (const auto w : prefix) {
    if (i >= words.size() || words[i] != w) return false;
    ++i;
  }
  return true;
}

// What `show servers state` prints for an address: the literal, the unset address, or "-" for
// a UNIX socket (haproxy's addr_to_str knows IP families only).
std::string shown_address(const std::string& address, AddressFamily family) {
  if (unix_address(address)) return "-";
  if (!address.empty()) return address;
  return family == AddressFamily::V6 ? "::" : "0.0.0.0";
}

}  // namespace

RuntimeApi::RuntimeApi(const Config& config, CheckEngine& engine, Backends& backends, const Clock& clock,
                       int global_maxconn)
    : config_(config), engine_(engine), backends_(backends), clock_(clock), global_maxconn_(global_maxconn) {}

cli::Connection::Handler RuntimeApi::handler() {
  return [this](const std::vector<std::string>& words, cli::Connection& c) { return run(words, c.level()); };
}

std::optional<std::size_t> RuntimeApi::find_backend(std::string_view name) const {
  for (std::size_t i = 0; i < config_.proxies.size(); ++i)
    if (config_.proxies[i].has_backend_role() && config_.proxies[i].name == name) return i;
  return std::nullopt;
}

// cli_find_server: "backend/server", the server also as "#<id>".
RuntimeApi::Found RuntimeApi::find_server(std::string_view text) const {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == text.size())
    return {{}, "Require 'backend/server'.\n"};
  const auto be = find_backend(text.substr(0, slash));
  if (!be) return {{}, "No such backend.\n"};
  const auto name = text.substr(slash + 1);
  const auto& servers = config_.proxies[*be].servers;
  for (std::size_t i = 0; i < servers.size(); ++i) {
    const bool by_id = name.front() == '#' && read_long(name.substr(1)).value == static_cast<long long>(i + 1);
    if (by_id || servers[i].name == name) return {{*be, i}, {}};
  }
  return {{}, "No such server.\n"};
}

std::optional<cli::Connection::Answer> RuntimeApi::run(const std::vector<std::string>& words, cli::Level level) {
  using cli::Level;
  const auto answer = [](std::string text) { return std::optional(cli::Connection::Answer{std::move(text)}); };
  const auto denied = [&](Level needed) { return level < needed; };
  const std::string permission(cli::kPermissionDenied);

  if (starts(words, {"show", "servers", "state"})) return answer(servers_state(words, false));
  if (starts(words, {"show", "servers", "conn"})) return answer(servers_state(words, true));
  if (starts(words, {"show", "stat"})) return answer(show_stat(words, level));
  if (starts(words, {"show", "info"})) {
    auto format = stats::InfoFormat::Plain;
    for (std::size_t i = 2; i < words.size(); ++i) {
      if (words[i] == "typed") format = stats::InfoFormat::Typed;
      else if (words[i] == "json") format = stats::InfoFormat::Json;
      else if (words[i] == "desc" || words[i] == "float") return answer(std::string(kNotImplemented));
    }
    return answer(stats::show_info(process_ ? process_() : stats::ProcessInfo{}, format));
  }
  if (starts(words, {"show", "backend"})) {
    std::string out = "# name\n";
    for (const auto& p : config_.proxies)
      if (p.has_backend_role()) out += p.name + "\n";
    return answer(out);
  }
  if (starts(words, {"show", "cli", "level"})) return answer(fmt::format("{}\n", cli::level_name(level)));
  if (starts(words, {"show", "cli", "sockets"})) {
    // Every stats socket with its level, served by all processes (lb runs one thread).
    std::string out = "# socket lvl processes\n";
    for (const auto& s : process_ ? process_().cli_sockets : std::vector<std::string>{}) out += s + " all\n";
    return answer(out);
  }
  if (starts(words, {"show", "version"})) return answer(fmt::format("{}\n", stats::kVersion));
  if (starts(words, {"get", "weight"})) {
    const auto f = find_server(arg(words, 2));
    if (!f.error.empty()) return answer(f.error);
    const auto st = engine_.status(f.key);
    return answer(fmt::format("{} (initial {})\n", st.uweight, st.iweight));
  }
  if (starts(words, {"set", "weight"})) {
    if (denied(Level::Admin)) return answer(permission);
    const auto f = find_server(arg(words, 2));
    if (!f.error.empty()) return answer(f.error);
    return answer(set_weight(f.key, arg(words, 3)));
  }
  if (starts(words, {"set", "server"})) {
    if (denied(Level::Admin)) return answer(permission);
    return answer(set_server(words));
  }
  const bool disable = starts(words, {"disable"});
  if ((disable || starts(words, {"enable"})) && words.size() >= 2 &&
      (words[1] == "server" || words[1] == "health" || words[1] == "agent")) {
    if (denied(Level::Admin)) return answer(permission);
    const auto f = find_server(arg(words, 2));
    if (!f.error.empty()) return answer(f.error);
    if (words[1] == "server") {
      // srv_adm_set_maint / srv_adm_set_ready
      if (disable) {
        engine_.set_admin(f.key, admin::kForcedMaint);
        engine_.clear_admin(f.key, admin::kForcedDrain);
      } else {
        engine_.clear_admin(f.key, admin::kForcedDrain);
        engine_.clear_admin(f.key, admin::kForcedMaint);
      }
      return answer({});
    }
    if (words[1] == "health") {
      if (!engine_.set_check_enabled(f.key, !disable) && !disable)
        return answer("Health check was not configured on this server, cannot enable.\n");
      return answer({});
    }
    // lb has no agent checks: disabling one is a no-op, enabling one is refused as HAProxy
    // refuses it for a server without `agent-check`.
    if (!disable) return answer("Agent was not configured on this server, cannot enable.\n");
    return answer({});
  }
  if (starts(words, {"clear", "counters"})) {
    const bool all = arg(words, 2) == "all";
    if (denied(Level::Operator) || (all && denied(Level::Admin))) return answer(permission);
    if (all) engine_.clear_counters();
    return answer({});
  }

  // A command HAProxy has and lb does not run: said plainly rather than as unknown.
  for (const auto& k : cli::keywords()) {
    if (k.words.empty() || k.words.size() > words.size()) continue;
    if (std::equal(k.words.begin(), k.words.end(), words.begin())) return answer(std::string(kNotImplemented));
  }
  return std::nullopt;
}

std::string RuntimeApi::servers_state(const std::vector<std::string>& words, bool connections) const {
  std::optional<std::size_t> only;
  if (words.size() > 3 && !words[3].empty()) {
    only = find_backend(words[3]);
    if (!only) return "Can't find backend.\n";
  }
  std::string out = connections ? "# bkname/svname bkid/svid addr port - purge_delay used_cur used_max need_est "
                                  "unsafe_nb safe_nb idle_lim idle_cur idle_per_thr[1]\n"
                                : "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state "
                                  "srv_uweight srv_iweight srv_time_since_last_change srv_check_status "
                                  "srv_check_result srv_check_health srv_check_state srv_agent_state "
                                  "bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl "
                                  "srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n";
  const TimePoint now = clock_.now();
  for (std::size_t pi = 0; pi < config_.proxies.size(); ++pi) {
    const auto& px = config_.proxies[pi];
    if (!px.has_backend_role() || (only && *only != pi)) continue;
    for (std::size_t si = 0; si < px.servers.size(); ++si) {
      const auto& sv = px.servers[si];
      const ServerKey key{pi, si};
      const auto st = engine_.status(key);
      const std::string addr = shown_address(backends_.address(key), sv.family);
      if (connections) {
        // HAProxy counts its check connections among the server's used ones.
        const auto c = backends_.connections(key);
        const int used_max = std::max(c.max, st.checks_started > 0 ? 1 : 0);
        out += fmt::format("{}/{} {}/{} {} {} - 5000 {} {} {} 0 0 -1 0 0\n", px.name, sv.name, config_.proxy_id(pi), si + 1,
                           addr, backends_.port(key), c.current, used_max, used_max);
        continue;
      }
      const bool srv_record = !sv.host.empty() && sv.host.front() == '_';
      const bool named = !is_address_literal(sv.host) && !sv.host.empty() && !srv_record;
      const long since = static_cast<long>(
          std::chrono::duration_cast<std::chrono::seconds>(now - st.last_change).count());
      // CHK_ST_CONFIGURED 0x02, ENABLED 0x04, PAUSED 0x08 (enabled, in maintenance), INPROGRESS 0x01
      int check_state = 0;
      if (st.check_configured) {
        check_state = 0x02;
        if (st.check_enabled) check_state |= 0x04;
        if (st.check_enabled && (st.admin & admin::kAnyMaint)) check_state |= 0x08;
        if (st.check_running) check_state |= 0x01;
      }
      out += fmt::format("{} {} {} {} {} {} {} {} {} {} {} {} {} {} 0 0 0 {} {} {} 0 {} {} - 0\n", config_.proxy_id(pi),
                         px.name, si + 1, sv.name, addr, static_cast<int>(st.op), st.admin, st.uweight, st.iweight,
                         since, check_status_number(st.last_check.status),
                         static_cast<int>(st.last_check.verdict()), st.health, check_state,
                         named ? sv.host : std::string("-"), backends_.port(key),
                         srv_record ? sv.host : std::string("-"), sv.settings.check_port.value_or(0),
                         sv.settings.check_addr.value_or("-"));
    }
  }
  return out;
}

// cli_parse_show_stat: [domain proxy] [IID|PROXY TYPE SID] [typed|json|desc|no-maint|up]...
std::string RuntimeApi::show_stat(const std::vector<std::string>& words, cli::Level level) const {
  std::size_t arg = 2;
  if (arg < words.size() && words[arg] == "domain") {
    ++arg;
    if (arg < words.size() && words[arg] == "proxy") ++arg;
    else if (arg < words.size() && words[arg] == "resolvers") return std::string(kNotImplemented);
    else return "Invalid statistics domain.\n";
  }
  stats::Filter filter;
  filter.legends = level >= cli::Level::Operator;
  const auto given = [&](std::size_t i) { return i < words.size() && !words[i].empty(); };
  if (given(arg) && given(arg + 1) && given(arg + 2)) {
    int iid = 0;
    for (std::size_t pi = 0; pi < config_.proxies.size() && !iid; ++pi)
      if (config_.proxies[pi].name == words[arg]) iid = config_.proxy_id(pi);
    if (!iid) iid = static_cast<int>(read_long(words[arg]).value);
    if (!iid) return "No such proxy.\n";
    filter.iid = iid;
    filter.types = static_cast<int>(read_long(words[arg + 1]).value);
    filter.sid = static_cast<int>(read_long(words[arg + 2]).value);
    arg += 3;
  }
  bool typed = false, json = false;
  for (; arg < words.size(); ++arg) {
    if (words[arg] == "desc") return std::string(kNotImplemented);
    if (words[arg] == "typed") typed = true;
    if (words[arg] == "json") json = true;
    if (words[arg] == "no-maint") filter.hide_maint = true;
    if (words[arg] == "up") filter.hide_down = true;
  }
  const stats::Source source{config_, engine_, backends_, clock_.now(), global_maxconn_, nullptr, traffic_};
  const auto rows = stats::rows(source, filter);
  if (json) return stats::json_stats(rows);
  if (typed) return stats::typed_stats(rows);
  std::string out = stats::csv_header();
  for (const auto& row : rows) out += stats::csv_line(row);
  return out;
}

std::string RuntimeApi::set_server(const std::vector<std::string>& words) {
  const auto f = find_server(arg(words, 2));
  if (!f.error.empty()) return f.error;
  const std::string what = arg(words, 3), value = arg(words, 4);
  if (what == "weight") return set_weight(f.key, value);
  if (what == "state") {
    // srv_adm_set_ready / srv_adm_set_drain / srv_adm_set_maint
    if (value == "ready") {
      engine_.clear_admin(f.key, admin::kForcedDrain);
      engine_.clear_admin(f.key, admin::kForcedMaint);
    } else if (value == "drain") {
      engine_.set_admin(f.key, admin::kForcedDrain);
      engine_.clear_admin(f.key, admin::kForcedMaint);
    } else if (value == "maint") {
      engine_.set_admin(f.key, admin::kForcedMaint);
      engine_.clear_admin(f.key, admin::kForcedDrain);
    } else {
      return "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n";
    }
    return {};
  }
  if (what == "health") {
    if (value == "up") engine_.force_state(f.key, OpState::Running, "changed from CLI");
    else if (value == "stopping") engine_.force_state(f.key, OpState::Stopping, "changed from CLI");
    else if (value == "down") engine_.force_state(f.key, OpState::Stopped, "changed from CLI");
    else return "'set server <srv> health' expects 'up', 'stopping', or 'down'.\n";
    return {};
  }
  if (what == "agent" || what == "agent-send") return "agent checks are not enabled on this server.\n";
  if (what == "addr") {
    if (value.empty()) return "set server <b>/<s> addr requires an address and optionally a port.\n";
    std::optional<std::string_view> port;
    if (arg(words, 5) == "port") port = words.size() > 6 ? std::string_view(words[6]) : std::string_view();
    std::string out = set_address(f.key, value, port);
    // Whatever the address said, the server leaves resolution maintenance (as in HAProxy).
    engine_.clear_admin(f.key, admin::kResolutionMaint, config_.proxies[f.key.proxy].servers[f.key.server].host);
    return out;
  }
  if (what == "agent-addr" || what == "agent-port" || what == "check-addr" || what == "check-port" ||
      what == "fqdn" || what == "ssl")
    return std::string(kNotImplemented);
  return std::string(kSetServerUsage);
}

// server_parse_weight_change_request
std::string RuntimeApi::set_weight(ServerKey key, std::string_view text) {
  if (text.empty()) return "Require <weight> or <weight%>.\n";
  const Number n = read_long(text);
  if (n.end == 0) return "Empty weight string empty or preceded by garbage";
  long long w = n.overflow ? LLONG_MAX : n.value;
  const auto rest = text.substr(n.end);
  const auto st = engine_.status(key);
  if (rest == "%") {
    if (w < 0) return "Relative weight must be positive.\n";
    w = std::min<long long>(w, 25600);
    w = std::min<long long>(st.iweight * w / 100, 256);
  } else if (w < 0 || w > 256) {
    return "Absolute weight can only be between 0 and 256 inclusive.\n";
  } else if (!rest.empty()) {
    return "Trailing garbage in weight string";
  }
  engine_.set_weight(key, static_cast<int>(w));
  return {};
}

// srv_update_addr_port: the answer says what changed, or why nothing did.
std::string RuntimeApi::set_address(ServerKey key, std::string_view addr, std::optional<std::string_view> port) {
  std::string msg;
  bool changed = false;
  const auto& sv = config_.proxies[key.proxy].servers[key.server];
  std::string address = backends_.address(key);
  std::uint16_t svc_port = backends_.port(key);
  const auto finish = [&] {
    if (changed) {
      engine_.set_address(key, address, svc_port);
      backends_.set_address(key, address);
      backends_.set_port(key, svc_port);
    }
    return msg + " by 'stats socket command'\n";
  };
  const std::string wanted = addr == "*" ? std::string("0.0.0.0") : std::string(addr);
  if (!is_ip_literal(wanted)) {
    msg = fmt::format("Invalid addr '{}'", addr);
    return finish();
  }
  if (unix_address(address)) {
    msg = "Update for the current server address family is only supported through configuration file";
    return finish();
  }
  const std::string current = shown_address(address, sv.family);
  if (canonical_ip(wanted) == canonical_ip(current)) {
    msg = "no need to change the addr";
  } else {
    address = canonical_ip(wanted);
    changed = true;
    msg = fmt::format("IP changed from '{}' to '{}'", current, addr);
  }
  if (port) {
    msg += ", ";
    const Number n = read_long(*port);
    if (n.end == 0 || n.overflow) {
      msg += fmt::format("problem converting port '{}' to an int", *port);
      return finish();
    }
    // HAProxy keeps the low 16 bits, as its uint16_t does; "+N"/"-N" port maps are lb-less.
    const auto new_port = static_cast<std::uint16_t>(n.value);
    if (new_port != svc_port) {
      msg += fmt::format("port changed from '{}' to '{}'", svc_port, new_port);
      svc_port = new_port;
      changed = true;
    } else {
      msg += "no need to change the port";
    }
  }
  return finish();
}

}  // namespace lb::core
