#include "harness/core/import_log.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <regex>
#include <set>

#include "harness/core/events.hpp"
#include "lb/core/config/values.hpp"

namespace lbh {
namespace {

// One group of transitions per slot: the fault at +0.5 s, its transitions seen by the slot's end.
// A slot fits the slowest case of the generated config: `fall` (3) checks that each time out
// (timeout check 2s) with `inter` (1s) between them.
constexpr long kSlotMs = 12000;
constexpr long kStepOffsetMs = 500;
constexpr double kSameMomentS = 3;  // lines this close in the log happened together

// Seconds on some monotonic scale from the line's timestamp: ISO 8601, RFC 3164 syslog, or
// HAProxy's [01/Dec/2026:12:00:00.123]. nullopt when the line has none.
std::optional<double> timestamp(const std::string& line) {
  static const char* kMonths = "JanFebMarAprMayJunJulAugSepOctNovDec";
  auto month = [](const std::string& m) {
    const auto* p = std::strstr(kMonths, m.c_str());
    return p ? static_cast<int>(p - kMonths) / 3 : 0;
  };
  std::smatch m;
  static const std::regex kIso(R"((\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(\.\d+)?)");
  static const std::regex kHaproxy(R"((\d{2})/([A-Z][a-z]{2})/(\d{4}):(\d{2}):(\d{2}):(\d{2})(\.\d+)?)");
  static const std::regex kSyslog(R"(([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}))");
  auto clock = [&](int d, int h, int mi, int s, const std::string& frac) {
    return d * 86400.0 + h * 3600.0 + mi * 60.0 + s + (frac.empty() ? 0.0 : std::stod("0" + frac));
  };
  if (std::regex_search(line, m, kIso))
    return clock((std::stoi(m[1]) * 12 + std::stoi(m[2])) * 31 + std::stoi(m[3]), std::stoi(m[4]), std::stoi(m[5]),
                 std::stoi(m[6]), m[7]);
  if (std::regex_search(line, m, kHaproxy))
    return clock((std::stoi(m[3]) * 12 + month(m[2])) * 31 + std::stoi(m[1]), std::stoi(m[4]), std::stoi(m[5]),
                 std::stoi(m[6]), m[7]);
  if (std::regex_search(line, m, kSyslog))
    return clock(month(m[1]) * 31 + std::stoi(m[2]), std::stoi(m[3]), std::stoi(m[4]), std::stoi(m[5]), "");
  return std::nullopt;
}

std::string yaml_string(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// A backend name the scenario format accepts: letters, digits, '-', '_', a letter first.
std::string safe_name(std::string s) {
  for (auto& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '-';
  if (s.empty() || !std::isalpha(static_cast<unsigned char>(s.front()))) s = "s" + s;
  return s;
}

// The mockserver behaviour that makes a check fail with `e`'s reason: a step's key and value.
std::optional<std::pair<std::string, std::string>> fault_for(const Event& e) {
  if (e.reason == "Layer4 timeout") return std::pair{"fault", "blackhole"};
  if (e.reason == "Layer4 connection problem") return std::pair{"fault", "refuse"};
  if (e.reason == "Layer7 timeout") return std::pair{"fault", "hang"};
  if (e.reason == "Layer7 invalid response") return std::pair{"fault", "garbage"};
  if (e.reason == "Socket error") return std::pair{"fault", "reset"};
  if (e.reason == "Layer7 wrong status" && e.code) return std::pair{"rules", fmt::format("[\"-> status {}\"]", *e.code)};
  return std::nullopt;
}

bool layer7(const Event& e) { return e.reason.starts_with("Layer7"); }

// A time as scenario files write it (HAProxy's syntax: "500ms", "6500ms", "12s").
std::string time_value(Ms t) { return lb::core::format_duration(t); }

}  // namespace

ImportResult import_log(std::string_view log, std::string_view name, std::string_view file) {
  ImportResult out;
  struct Seen {
    Event event;
    std::optional<double> at;
  };
  std::vector<Seen> seen;
  std::size_t start = 0;
  while (start < log.size()) {
    auto end = log.find('\n', start);
    if (end == std::string_view::npos) end = log.size();
    const std::string line(log.substr(start, end - start));
    start = end + 1;
    if (auto e = parse_event(line)) seen.push_back({std::move(*e), timestamp(line)});
  }
  out.events = static_cast<int>(seen.size());
  if (seen.empty()) {
    out.warnings.push_back("no server state lines (\"Server X/Y is DOWN|UP\", \"has no server available!\") found");
    return out;
  }
  // Without a timestamp on every line, the lines' order is the timeline, one slot each.
  const bool timed = std::all_of(seen.begin(), seen.end(), [](const Seen& s) { return s.at.has_value(); });
  if (!timed) {
    out.warnings.push_back("not every line has a timestamp: one slot per line, in the log's order");
    for (std::size_t i = 0; i < seen.size(); ++i) seen[i].at = static_cast<double>(i) * 10 * kSameMomentS;
  }
  std::stable_sort(seen.begin(), seen.end(), [](const Seen& a, const Seen& b) { return *a.at < *b.at; });

  // Servers, per proxy in order of appearance; proxies checked over HTTP when a reason is Layer7.
  std::vector<std::string> proxies;
  std::map<std::string, std::vector<std::string>> servers;  // proxy -> servers
  std::map<std::string, bool> http, backup;                 // proxy / who
  std::map<std::string, std::string> backend_of;            // who -> scenario backend name
  std::set<std::string> taken;
  for (const auto& s : seen) {
    const auto& e = s.event;
    if (std::find(proxies.begin(), proxies.end(), e.proxy) == proxies.end()) proxies.push_back(e.proxy);
    if (layer7(e)) http[e.proxy] = true;
    if (e.server.empty() || backend_of.contains(e.who())) continue;
    auto b = safe_name(e.server);
    if (taken.contains(b)) b = safe_name(e.proxy + "-" + e.server);
    taken.insert(b);
    backend_of[e.who()] = b;
    servers[e.proxy].push_back(e.server);
    backup[e.who()] = e.backup;
  }

  // One slot per group of lines that happened together.
  std::string timeline, expect;
  long slot = -1;
  std::map<std::string, bool> none_left_before;  // proxy -> every server broken
  std::map<std::string, std::string> broken;  // who -> the key ("fault"/"rules") its failure used
  // Undoes what broke `who`, at `step_at`, and expects it UP again.
  auto recover = [&](const std::string& who, Ms step_at, const std::string& window, const std::string& reason,
                     std::optional<int> code) {
    const auto how = broken.contains(who) ? broken[who] : "fault";
    timeline += fmt::format("  - {{at: {}, backend: {}, {}}}\n", time_value(step_at), backend_of[who],
                            how == "rules" ? "rules: []" : "fault: none");
    broken.erase(who);
    std::string line = fmt::format("  - {{server: {}, is: UP", yaml_string(who));
    if (!reason.empty()) line += fmt::format(", reason: {}", yaml_string(reason));
    if (code) line += fmt::format(", code: {}", *code);
    expect += line + fmt::format(", within: {}}}\n", window);
  };
  // The lines in groups that happened together.
  std::vector<std::vector<const Seen*>> groups;
  double group_start = 0;
  for (const auto& s : seen) {
    if (groups.empty() || *s.at - group_start > kSameMomentS) groups.emplace_back(), group_start = *s.at;
    groups.back().push_back(&s);
  }
  for (const auto& group : groups) {
    // A server DOWN again with no UP logged in between: the excerpt missed its recovery, which
    // gets a slot of its own first.
    std::vector<const Event*> missed;
    for (const Seen* s : group)
      if (s->event.kind == Event::Kind::Down && broken.contains(s->event.who())) missed.push_back(&s->event);
    if (!missed.empty()) {
      ++slot;
      const Ms at{slot * kSlotMs + kStepOffsetMs};
      const auto window = fmt::format("[{}, {}]", time_value(at), time_value(Ms{(slot + 1) * kSlotMs}));
      for (const Event* e : missed) {
        out.warnings.push_back(fmt::format("{} is DOWN twice with no UP between: an UP is assumed before the second", e->who()));
        recover(e->who(), at, window, http[e->proxy] ? "Layer7 check passed" : "Layer4 check passed",
                http[e->proxy] ? std::optional(200) : std::nullopt);
        none_left_before[e->proxy] = false;
      }
    }
    ++slot;
    const Ms step_at{slot * kSlotMs + kStepOffsetMs};
    const Ms until{(slot + 1) * kSlotMs};
    const std::string window = fmt::format("[{}, {}]", time_value(step_at), time_value(until));
    for (const Seen* s : group) {
      const auto& e = s->event;
      if (e.kind == Event::Kind::NoServer) {
        expect += fmt::format("  - {{no_server_available: {}, within: {}}}\n", yaml_string(e.proxy), window);
        continue;
      }
      const auto& b = backend_of[e.who()];
      if (e.kind == Event::Kind::Up) {
        recover(e.who(), step_at, window, e.reason, e.code);
        continue;
      }
      if (e.kind == Event::Kind::Stopping) {
        out.warnings.push_back(fmt::format("{}: 'stopping' (disable-on-404) is not reproduced", e.who()));
        continue;
      }
      const auto f = fault_for(e);
      if (!f) {
        out.warnings.push_back(fmt::format("{}: no mockserver fault gives \"{}\"; not reproduced", e.who(),
                                           e.reason.empty() ? "(no reason)" : e.reason));
        continue;
      }
      timeline += fmt::format("  - {{at: {}, backend: {}, {}: {}}}\n", time_value(step_at), b, f->first,
                              f->first == "rules" ? f->second : yaml_string(f->second));
      broken[e.who()] = f->first;
      if (e.reason == "Layer4 connection problem" && !e.info.empty() && e.info != "Connection refused")
        out.warnings.push_back(fmt::format("{}: \"{}\" is reproduced as \"Connection refused\" on loopback", e.who(), e.info));
      std::string line = fmt::format("  - {{server: {}, is: DOWN", yaml_string(e.who()));
      if (!e.reason.empty()) line += fmt::format(", reason: {}", yaml_string(e.reason));
      if (e.code) line += fmt::format(", code: {}", *e.code);
      expect += line + fmt::format(", within: {}}}\n", window);
    }
    // A proxy left with no server: haproxy says so, whether or not the excerpt has that line.
    for (const auto& p : proxies) {
      const bool none_left = !servers[p].empty() && std::all_of(servers[p].begin(), servers[p].end(), [&](const auto& sv) {
        return broken.contains(p + "/" + sv);
      });
      const bool logged = std::any_of(group.begin(), group.end(), [&](const Seen* s) {
        return s->event.kind == Event::Kind::NoServer && s->event.proxy == p;
      });
      if (none_left && !none_left_before[p] && !logged) {
        out.warnings.push_back(fmt::format("{} has no server left here: 'has no server available!' is expected, though "
                                           "the log does not show it", p));
        expect += fmt::format("  - {{no_server_available: {}, within: {}}}\n", yaml_string(p), window);
      }
      none_left_before[p] = none_left;
    }
  }

  std::string backends, config = "  global\n      log stdout format raw local0\n  defaults\n      mode http\n"
                                 "      log global\n      timeout connect 2s\n      timeout client 10s\n"
                                 "      timeout server 10s\n      timeout check 2s\n";
  config += fmt::format("  frontend fe\n      bind 127.0.0.1:{{{{frontend}}}}\n      default_backend {}\n", proxies.front());
  for (const auto& p : proxies) {
    config += fmt::format("  backend {}\n", p);
    if (http[p]) config += "      option httpchk GET /\n";
    for (const auto& sv : servers[p]) {
      const auto who = p + "/" + sv;
      config += fmt::format("      server {} 127.0.0.1:{{{{{}}}}} check inter 1s{}\n", sv, backend_of[who],
                            backup[who] ? " backup" : "");
      backends += fmt::format("  {}: {{}}\n", backend_of[who]);
    }
  }
  out.yaml = fmt::format(
      "# Imported by `lbharness import-log` from {}: {} server state line(s).\n"
      "# Each transition is reproduced by the mockserver fault that gives its reason, applied at the\n"
      "# start of its slot; refine the config (timers, check) to match production.\n"
      "name: {}\nsummary: {}\nsource: {}\nduration: {}\nbackends:\n{}config: |\n{}{}{}",
      file, out.events, yaml_string(name), yaml_string(fmt::format("replay of {}", file)), yaml_string(file),
      time_value(Ms{(slot + 1) * kSlotMs}), backends, config, timeline.empty() ? "" : "timeline:\n" + timeline,
      expect.empty() ? "" : "expect:\n" + expect);
  return out;
}

}  // namespace lbh
