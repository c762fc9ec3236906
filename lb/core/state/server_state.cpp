#include "lb/core/state/server_state.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <map>

#include "lb/core/dns/resolution.hpp"
#include "lb/core/input_file.hpp"
#include "lb/core/time/clock.hpp"

namespace lb::core {
namespace {

constexpr std::size_t kMinFields = 20;  // SRV_STATE_FILE_MIN_FIELDS_VERSION_1
constexpr std::size_t kMaxFields = 25;  // SRV_STATE_FILE_MAX_FIELDS
constexpr int kStatusCount = 21;        // HCHK_STATUS_SIZE

using Line = std::vector<std::string>;

// Warnings go out as they arise, in order with the engine's lines.
struct Warnings {
  const std::function<void(const std::string&)>& out;
  void push_back(const std::string& w) const {
    if (out) out(w);
  }
};

// How a file is named in the warnings: "global server state file '/x'" or "server state file '/x'".
struct Named {
  std::string prefix;  // "config: " or "Proxy 'apps': "
  std::string what;    // "global server state file" or "server state file"
  std::string path;
};

// The version line, then one line per server; a line that is not whole (no LF) or has fewer
// than 20 fields spoils the file, which is then ignored whole (srv_state_parse_line).
std::optional<std::vector<Line>> read_lines(const std::string& text, const Named& n, const Warnings& warnings) {
  if (!text.starts_with("1\n")) {
    warnings.push_back(fmt::format("{}Can't get version of the {} '{}'.", n.prefix, n.what, n.path));
    return std::nullopt;
  }
  std::vector<Line> lines;
  std::size_t at = 2;
  int number = 0;
  while (at < text.size()) {
    ++number;
    const auto lf = text.find('\n', at);
    if (lf == std::string::npos) {
      warnings.push_back(fmt::format("{}corrupted {} '{}' at line {}.", n.prefix, n.what, n.path, number));
      return std::nullopt;
    }
    const std::string_view line(text.data() + at, lf - at);
    at = lf + 1;
    auto first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos || line[first] == '#') continue;
    Line fields;
    while (first != std::string_view::npos && fields.size() < kMaxFields) {
      const auto end = line.find_first_of(" \t", first);
      fields.emplace_back(line.substr(first, end == std::string_view::npos ? std::string_view::npos : end - first));
      first = end == std::string_view::npos ? end : line.find_first_not_of(" \t", end);
    }
    if (fields.size() < kMinFields) {
      warnings.push_back(fmt::format("{}corrupted {} '{}' at line {}.", n.prefix, n.what, n.path, number));
      return std::nullopt;
    }
    lines.push_back(std::move(fields));
  }
  return lines;
}

// strtol: nullopt when no digit starts the text (or it overflows).
std::optional<long> number(const std::string& s) {
  errno = 0;
  char* end = nullptr;
  const long v = std::strtol(s.c_str(), &end, 10);
  if (end == s.c_str() || errno == ERANGE) return std::nullopt;
  return v;
}

CheckStatus status_of_number(long n) {
  for (int i = 0; i <= static_cast<int>(CheckStatus::ProcOk); ++i)
    if (check_status_number(static_cast<CheckStatus>(i)) == n) return static_cast<CheckStatus>(i);
  return CheckStatus::Unknown;  // HCHK_STATUS_L57DATA, a marker
}

// srv_state_srv_update: every value checked first (a bad one leaves the server as it is), then
// applied.
void update_server(const Line& l, const ProxyConfig& px, ServerKey key, CheckEngine& engine, Backends& backends,
                   const Warnings& warnings) {
  const auto f = [&](std::size_t i) -> const std::string& { return l[4 + i]; };
  std::string bad;
  const auto invalid = [&](const char* name, std::size_t i) { bad += fmt::format(", invalid {} value '{}'", name, f(i)); };
  const auto op = number(f(1));
  if (!op || *op < 0 || *op > 3) invalid("srv_op_state", 1);
  auto adm = number(f(2));
  if (adm) *adm &= ~(0x10L | 0x02L | 0x40L | 0x20L);  // inherited and DNS flags are not restored
  const long allowed[] = {0, 0x01, 0x04, 0x05, 0x0c, 0x08};
  if (!adm || std::find(std::begin(allowed), std::end(allowed), *adm) == std::end(allowed)) invalid("srv_admin_state", 2);
  const auto uw = number(f(3));
  if (!uw || *uw > 256) invalid("srv_uweight", 3);
  const auto iw = number(f(4));
  if (!iw || *iw > 256) invalid("srv_iweight", 4);
  const auto since = number(f(5));
  if (!since) invalid("srv_last_time_change", 5);
  const auto status = number(f(6));
  if (!status || *status >= kStatusCount) invalid("srv_check_status", 6);
  const auto result = number(f(7));
  if (!result || *result < 0 || *result > 4) invalid("srv_check_result", 7);
  const auto health = number(f(8));
  if (!health) invalid("srv_check_health", 8);
  const auto cstate = number(f(9));
  if (!cstate || (*cstate & ~0x1fL)) invalid("srv_check_state", 9);
  const auto astate = number(f(10));
  if (!astate || (*astate & ~0x1fL)) invalid("srv_agent_state", 10);
  for (const auto& [name, i] : {std::pair{"bk_f_forced_id", 11}, std::pair{"srv_f_forced_id", 12}}) {
    const auto v = number(f(static_cast<std::size_t>(i)));
    if (!v || (*v != 0 && *v != 1)) invalid(name, static_cast<std::size_t>(i));
  }
  std::optional<long> port;
  if (const auto p = number(f(14)); p && *p >= 0) {
    if (*p > 65535) invalid("srv_port", 14);
    else port = *p;
  }
  const auto& sv = px.servers[key.server];
  if (!bad.empty()) {
    warnings.push_back(fmt::format("server-state application failed for server '{}/{}'{}", px.name, sv.name, bad));
    return;
  }
  CheckEngine::SavedState s;
  s.op = static_cast<OpState>(*op);
  s.admin = static_cast<unsigned>(*adm);
  s.uweight = static_cast<int>(*uw);
  s.iweight = static_cast<int>(*iw);
  s.since_change_s = *since;
  s.check_status = status_of_number(*status);
  s.check_health = static_cast<int>(*health);
  s.check_state = static_cast<unsigned>(*cstate);
  engine.restore(key, s, "changed from server-state after a reload");
  // The saved port is taken, the saved address is not: lb resolved the configured one.
  if (port) {
    const auto p16 = static_cast<std::uint16_t>(*port);
    backends.set_port(key, p16);
    engine.set_address(key, backends.address(key), p16);
  }
}

std::optional<std::size_t> server_index(const ProxyConfig& px, const std::string& name) {
  for (std::size_t i = 0; i < px.servers.size(); ++i)
    if (px.servers[i].name == name) return i;
  return std::nullopt;
}

std::string with_base(const Config& c, const std::string& name) {
  if (name.empty() || name.front() == '/' || c.global.server_state_base.empty()) return name;
  const auto& base = c.global.server_state_base;
  return base.back() == '/' ? base + name : base + "/" + name;
}

}  // namespace

std::string global_state_file(const Config& config) { return with_base(config, config.global.server_state_file); }

std::string local_state_file(const Config& config, const ProxyConfig& backend) {
  return with_base(config, backend.server_state_file_name.empty() ? backend.name : backend.server_state_file_name);
}

void apply_server_state(const Config& config, const StateFileReader& read, CheckEngine& engine, Backends& backends,
                        const std::function<void(const std::string&)>& warn) {
  Warnings warnings{warn};
  using L = ProxyConfig::LoadState;
  // The global file is read whenever it is named, whoever uses it; its first line for a server wins.
  std::map<std::string, Line> global;
  if (!config.global.server_state_file.empty()) {
    const auto path = global_state_file(config);
    const auto file = read(path);
    if (!file.text)
      warnings.push_back(fmt::format("config: Can't open global server state file '{}': {}", path, file.error));
    else if (auto lines = read_lines(*file.text, {"config: ", "global server state file", path}, warnings))
      for (auto& l : *lines) global.emplace(l[1] + " " + l[3], std::move(l));
  }
  for (std::size_t pi = 0; pi < config.proxies.size(); ++pi) {
    const auto& px = config.proxies[pi];
    if (!px.has_backend_role() || px.load_server_state == L::None) continue;
    if (px.load_server_state == L::Global) {
      if (config.global.server_state_file.empty()) {
        warnings.push_back(fmt::format("backend '{}' configured to load server state file from global section "
                                       "'server-state-file' directive. Unfortunately, 'server-state-file' is not set!",
                                       px.name));
        continue;
      }
      for (std::size_t si = 0; si < px.servers.size(); ++si)
        if (const auto it = global.find(px.name + " " + px.servers[si].name); it != global.end())
          update_server(it->second, px, {pi, si}, engine, backends, warnings);
      continue;
    }
    const auto path = local_state_file(config, px);
    const std::string who = fmt::format("Proxy '{}': ", px.name);
    const auto file = read(path);
    if (!file.text) {
      warnings.push_back(fmt::format("{}Can't open server state file '{}': {}.", who, path, file.error));
      continue;
    }
    const auto lines = read_lines(*file.text, {who, "server state file", path}, warnings);
    if (!lines) continue;
    // First every line is judged against this backend (HAProxy warns of them all first), then
    // the kept ones are applied in server-name order, the first line of a server winning.
    std::map<std::string, const Line*> kept;
    for (const auto& l : *lines) {
      const bool same_id = number(l[0]).value_or(-1) == config.proxy_id(pi);
      if (l[1] != px.name) {
        if (!same_id) continue;
        warnings.push_back(fmt::format("{}backend name mismatch: from server state file: '{}', from running config '{}'",
                                       who, l[1], px.name));
        // Kept only for a backend whose id was forced (PR_O_FORCED_ID): the value check refuses it later.
        if (!(number(l[15]).value_or(0) & 0x80)) continue;
      } else if (!same_id) {
        warnings.push_back(fmt::format("{}backend ID mismatch: from server state file: '{}', from running config '{}'", who,
                                       l[0], config.proxy_id(pi)));
      }
      kept.emplace(l[3], &l);
    }
    for (const auto& [name, l] : kept) {
      const auto si = server_index(px, name);
      if (!si) {
        warnings.push_back(fmt::format("{}can't find server '{}' in backend '{}'", who, name, px.name));
        continue;
      }
      update_server(*l, px, {pi, *si}, engine, backends, warnings);
    }
  }
}

StateFileText read_state_file(const std::string& path) {
  auto f = read_input_file(path);
  return f ? StateFileText{std::move(f.text), {}} : StateFileText{std::nullopt, f.reason()};
}

namespace {
// The checker's engine never starts, so it never dials.
class NoProber final : public Prober {
 public:
  std::unique_ptr<ProbeConnection> connect(const ProbeTarget&, ProbeEvents&) override { return nullptr; }
};
}  // namespace

std::vector<std::string> state_loading_lines(const Config& config, const StateFileReader& read) {
  std::vector<std::string> lines;
  const Config addressed = with_start_addresses(config);
  SimScheduler scheduler;
  NoProber prober;
  Backends backends(addressed);
  CheckEngine* engine_ptr = nullptr;
  CheckEngine engine(addressed, scheduler, prober, [&](const HealthEvent& e) {
    backends.follow(e, *engine_ptr);
    if (e.line) lines.push_back(e.line->text);
  });
  engine_ptr = &engine;
  start_in_maintenance(addressed, engine);
  lines.clear();  // the loader's lines only
  apply_server_state(config, read, engine, backends, [&](const std::string& w) { lines.push_back(w); });
  return lines;
}

}  // namespace lb::core
