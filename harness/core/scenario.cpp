#include "harness/core/scenario.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <array>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <regex>

#include "lb/core/config/values.hpp"
#include "lb/core/input_file.hpp"
#include "lb/core/stats/stats.hpp"
#include "lb/core/text.hpp"
#include "mockserver/core/dns.hpp"

namespace lbh {
namespace {

constexpr std::array kTopKeys{"name", "summary", "source", "duration", "backends", "dns", "config", "config_file",
                              "timeline", "expect", "other_transitions"};
constexpr std::array kDnsKeys{"records", "faults"};
constexpr std::array kBackendKeys{"rules", "fault"};
constexpr std::array kStepKeys{"at",       "backend",    "rules", "fault", "kill", "restart",
                               "move_to",  "requests",   "concurrent", "rate", "for", "dns", "dns_faults", "api",
                               "reload",   "save_state", "get"};
constexpr std::array kExpectKeys{"server", "is", "reason", "code", "info", "within", "duration", "no_server_available",
                                 "requests_at", "to", "share", "tolerance", "backend", "received", "at_least",
                                 "at_most", "stat_at", "row", "field", "equals", "metric_at", "metric"};

// The ground rules keep traffic on loopback: 127.0.0.0/8 or ::1.
bool loopback_address(const std::string& text) {
  in_addr v4{};
  in6_addr v6{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  return inet_pton(AF_INET6, text.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

class Reader {
 public:
  explicit Reader(std::string_view file) : file_(file) {}

  // `n` may be a missing key's node, which has no place in the file (and whose Mark() throws):
  // the error then names the file without a line.
  void error(const YAML::Node& n, std::string field, std::string message) {
    const int line = n.IsDefined() && !n.Mark().is_null() ? n.Mark().line + 1 : 0;
    errors_.push_back({file_, line, std::move(field), std::move(message)});
  }

  // Every key of map `n` must be one of `known`.
  template <std::size_t N>
  bool keys_known(const YAML::Node& n, const std::string& field, const std::array<const char*, N>& known) {
    if (!n.IsMap()) {
      error(n, field, "expected a mapping");
      return false;
    }
    bool ok = true;
    for (const auto& kv : n) {
      const auto key = kv.first.as<std::string>("");
      if (std::find_if(known.begin(), known.end(), [&](const char* k) { return key == k; }) != known.end()) continue;
      const auto near = lb::core::closest_word(known, key);
      error(kv.first, field.empty() ? key : field + "." + key,
            near.empty() ? "unknown key" : fmt::format("unknown key; did you mean '{}'?", near));
      ok = false;
    }
    return ok;
  }

  std::optional<std::string> text(const YAML::Node& n, const std::string& field) {
    if (!n.IsScalar()) {
      error(n, field, "expected a string");
      return std::nullopt;
    }
    return n.as<std::string>();
  }

  std::optional<Ms> duration(const YAML::Node& n, const std::string& field) {
    const auto t = text(n, field);
    if (!t) return std::nullopt;
    auto d = lb::core::parse_duration(*t);
    if (!d) {
      error(n, field, fmt::format("'{}': {} (a time such as 500ms, 2s, 1m)", *t, d.error().message));
      return std::nullopt;
    }
    return *d;
  }

  std::optional<int> integer(const YAML::Node& n, const std::string& field, int min, int max) {
    const auto t = text(n, field);
    if (!t) return std::nullopt;
    int v = 0;
    const auto [end, ec] = std::from_chars(t->data(), t->data() + t->size(), v);
    if (ec != std::errc() || end != t->data() + t->size() || v < min || v > max) {
      error(n, field, fmt::format("'{}': expected a whole number from {} to {}", *t, min, max));
      return std::nullopt;
    }
    return v;
  }

  std::optional<double> fraction(const YAML::Node& n, const std::string& field) {
    const auto t = text(n, field);
    if (!t) return std::nullopt;
    char* end = nullptr;
    const double v = std::strtod(t->c_str(), &end);
    if (end != t->c_str() + t->size() || t->empty() || v < 0 || v > 1) {
      error(n, field, fmt::format("'{}': expected a fraction from 0 to 1, e.g. 0.5", *t));
      return std::nullopt;
    }
    return v;
  }

  std::optional<bool> boolean(const YAML::Node& n, const std::string& field) {
    const auto t = text(n, field);
    if (!t) return std::nullopt;
    if (*t == "true" || *t == "yes") return true;
    if (*t == "false" || *t == "no") return false;
    error(n, field, fmt::format("'{}': expected true or false", *t));
    return std::nullopt;
  }

  std::optional<std::vector<std::string>> strings(const YAML::Node& n, const std::string& field) {
    if (!n.IsSequence()) {
      error(n, field, "expected a list of strings");
      return std::nullopt;
    }
    std::vector<std::string> out;
    for (std::size_t i = 0; i < n.size(); ++i)
      if (auto s = text(n[i], fmt::format("{}[{}]", field, i))) out.push_back(*s);
    return out;
  }

  // [from, until]
  bool window(const YAML::Node& n, const std::string& field, Ms& from, std::optional<Ms>& until) {
    if (!n.IsSequence() || n.size() != 2) {
      error(n, field, "expected [FROM, UNTIL], e.g. [0s, 5s]");
      return false;
    }
    const auto a = duration(n[0], field + "[0]");
    const auto b = duration(n[1], field + "[1]");
    if (!a || !b) return false;
    if (*b < *a) {
      error(n, field, "UNTIL is before FROM");
      return false;
    }
    from = *a;
    until = *b;
    return true;
  }

  void backends(const YAML::Node& n, Scenario& s) {
    if (!n.IsMap() || n.size() == 0) return error(n, "backends", "expected a mapping of backend names");
    for (const auto& kv : n) {
      BackendSpec b;
      b.name = kv.first.as<std::string>("");
      b.line = kv.first.Mark().line + 1;
      const std::string field = "backends." + b.name;
      static const std::regex kName("[A-Za-z][A-Za-z0-9_-]*");
      if (!std::regex_match(b.name, kName)) error(kv.first, field, "a backend name is a letter, then letters, digits, '-' or '_'");
      if (b.name == "frontend" || b.name == "dns")
        error(kv.first, field, fmt::format("'{}' names the {} port; pick another name", b.name, b.name == "dns" ? "DNS server's" : "frontend"));
      const YAML::Node& v = kv.second;
      if (!v.IsNull()) {
        if (!keys_known(v, field, kBackendKeys)) continue;
        if (v["rules"])
          if (auto r = strings(v["rules"], field + ".rules")) b.rules = *r;
        if (v["fault"]) b.fault = text(v["fault"], field + ".fault");
      }
      s.backends.push_back(std::move(b));
    }
  }

  // mockserver's --dns-record / --dns-fault texts, each judged by mockserver's own parser.
  // Placeholders ({{app1}} for a port in an SRV record) are judged as a port would be.
  std::optional<std::vector<std::string>> dns_texts(const YAML::Node& n, const std::string& field, bool records,
                                                    const Scenario& sc) {
    auto list = strings(n, field);
    if (!list) return std::nullopt;
    std::map<std::string, int> ports{{"frontend", 1}, {"dns", 1}};
    for (const auto& b : sc.backends) ports[b.name] = 1;
    for (std::size_t i = 0; i < list->size(); ++i) {
      const auto t = render_config((*list)[i], ports);
      std::string problem;
      if (records) {
        if (auto r = mock::core::parse_dns_record_arg(t); !r) problem = r.error();
      } else if (auto f = mock::core::parse_dns_fault_arg(t); !f) {
        problem = f.error();
      }
      if (!problem.empty()) error(n[i], fmt::format("{}[{}]", field, i), fmt::format("'{}': {}", (*list)[i], problem));
    }
    return list;
  }

  void dns(const YAML::Node& n, Scenario& s) {
    if (!n.IsMap()) return error(n, "dns", "expected a mapping: records, faults");
    if (!keys_known(n, "dns", kDnsKeys)) return;
    DnsTable t;
    t.line = n.Mark().line + 1;
    if (n["records"])
      if (auto r = dns_texts(n["records"], "dns.records", true, s)) t.records = *r;
    if (n["faults"])
      if (auto f = dns_texts(n["faults"], "dns.faults", false, s)) t.faults = *f;
    s.dns = std::move(t);
  }

  bool has_backend(const Scenario& s, std::string_view name) const {
    return std::any_of(s.backends.begin(), s.backends.end(), [&](const BackendSpec& b) { return b.name == name; });
  }

  void timeline(const YAML::Node& n, Scenario& s) {
    if (!n.IsSequence()) return error(n, "timeline", "expected a list of steps");
    for (std::size_t i = 0; i < n.size(); ++i) {
      const auto& v = n[i];
      const std::string field = fmt::format("timeline[{}]", i);
      if (!keys_known(v, field, kStepKeys)) continue;
      Step st;
      st.line = v.Mark().line + 1;
      if (!v["at"]) {
        error(v, field + ".at", "missing: when the step happens, e.g. at: 5s");
        continue;
      }
      if (auto at = duration(v["at"], field + ".at")) st.at = *at;
      if (v["requests"])
        if (auto r = integer(v["requests"], field + ".requests", 1, 100000)) st.requests = *r;
      if (v["backend"])
        if (auto b = text(v["backend"], field + ".backend")) st.backend = *b;
      if (v["rules"])
        if (auto r = strings(v["rules"], field + ".rules")) st.rules = *r;
      if (v["fault"]) st.fault = text(v["fault"], field + ".fault");
      if (v["kill"]) st.kill = boolean(v["kill"], field + ".kill").value_or(false);
      if (v["restart"]) st.restart = boolean(v["restart"], field + ".restart").value_or(false);
      if (v["move_to"])
        if (auto to = text(v["move_to"], field + ".move_to")) {
          if (!loopback_address(*to))
            error(v["move_to"], field + ".move_to",
                  fmt::format("'{}': expected a loopback IP address such as 127.0.0.2 (the port stays)", *to));
          st.move_to = *to;
        }
      for (const auto& [key, records] : {std::pair{"dns", true}, std::pair{"dns_faults", false}}) {
        if (!v[key]) continue;
        if (!s.dns) error(v[key], field + "." + key, "the scenario has no dns section");
        auto list = dns_texts(v[key], field + "." + key, records, s);
        (records ? st.dns_records : st.dns_faults) = list.value_or(std::vector<std::string>{});
      }
      if (v["api"]) {
        st.api = v["api"].IsScalar() ? std::optional(std::vector<std::string>{v["api"].as<std::string>()})
                                     : strings(v["api"], field + ".api");
        if (!st.api || st.api->empty()) error(v["api"], field + ".api", "expected Runtime API commands, e.g. api: [\"disable server be/app1\"]");
        if (s.config.find("{{api}}") == std::string::npos)
          error(v["api"], field + ".api", "the config has no admin socket: add `stats socket {{api}} level admin` to global");
      }
      if (v["reload"]) st.reload = boolean(v["reload"], field + ".reload").value_or(false);
      if (v["get"]) {
        st.get = text(v["get"], field + ".get");
        if (st.get && !st.get->starts_with("/"))
          error(v["get"], field + ".get", fmt::format("'{}': expected a path, e.g. /metrics", *st.get));
      }
      if (v["save_state"]) {
        st.save_state = boolean(v["save_state"], field + ".save_state").value_or(false);
        if (!st.reload) error(v["save_state"], field + ".save_state", "only for a reload step (reload: true)");
        if (s.config.find("{{state}}") == std::string::npos)
          error(v["save_state"], field + ".save_state",
                "the config loads no state file: add `server-state-file {{state}}` to global and "
                "`load-server-state-from-file global` to defaults");
        if (s.config.find("{{api}}") == std::string::npos)
          error(v["save_state"], field + ".save_state",
                "the state is saved over the admin socket: add `stats socket {{api}} level admin` to global");
      }
      if (v["concurrent"]) {
        st.concurrent = boolean(v["concurrent"], field + ".concurrent").value_or(false);
        if (st.requests == 0) error(v["concurrent"], field + ".concurrent", "only for a requests step");
      }
      if (v["rate"]) {
        st.rate = integer(v["rate"], field + ".rate", 1, 1000).value_or(0);
        if (!v["for"]) error(v, field + ".for", "missing: how long the rate lasts, e.g. for: 5s");
      }
      if (v["for"]) {
        if (!v["rate"]) error(v["for"], field + ".for", "only for a rate step (rate: N requests a second)");
        if (auto d = duration(v["for"], field + ".for")) {
          st.rate_for = *d;
          if (st.rate > 0 && st.request_offsets().size() > 10000)
            error(v["for"], field + ".for", "more than 10000 requests in one rate step");
          if (st.rate > 0 && st.request_offsets().empty())
            error(v["for"], field + ".for", "too short for one request at this rate");
        }
      }
      const int actions = (st.requests > 0) + (st.rate > 0) + st.rules.has_value() + st.fault.has_value() +
                          st.kill + st.restart + st.move_to.has_value() + st.dns_records.has_value() +
                          st.dns_faults.has_value() + st.api.has_value() + st.reload + st.get.has_value();
      if (actions != 1)
        error(v, field,
              "a step does one thing: requests, rate, rules, fault, kill, restart, move_to, dns, dns_faults, api, "
              "reload or get");
      if ((st.api || st.reload || st.get) && !st.backend.empty())
        error(v["backend"], field + ".backend", "an api, reload or get step talks to the balancer, not to a backend");
      const bool backend_step = !st.sends_requests() && !st.dns_step() && !st.api && !st.reload && !st.get;
      if (st.dns_step() && !st.backend.empty()) error(v["backend"], field + ".backend", "a dns step changes the DNS table, not a backend");
      if (backend_step && st.backend.empty()) error(v, field + ".backend", "missing: the backend the step changes");
      if (!backend_step && !st.backend.empty()) error(v["backend"], field + ".backend", "requests go to the frontend, not to a backend");
      if (!st.backend.empty() && !has_backend(s, st.backend))
        error(v["backend"], field + ".backend", fmt::format("no backend '{}' in backends", st.backend));
      if (st.at > s.duration) error(v["at"], field + ".at", "after the end of the scenario (duration)");
      if (st.rate > 0 && st.at + st.rate_for > s.duration)
        error(v["for"] ? v["for"] : v, field + ".for", "the rate step runs past the end of the scenario (duration)");
      s.timeline.push_back(std::move(st));
    }
  }

  void expectations(const YAML::Node& n, Scenario& s) {
    if (!n.IsSequence()) return error(n, "expect", "expected a list");
    for (std::size_t i = 0; i < n.size(); ++i) {
      const auto& v = n[i];
      const std::string field = fmt::format("expect[{}]", i);
      if (!keys_known(v, field, kExpectKeys)) continue;
      Expectation e;
      e.line = v.Mark().line + 1;
      if (v["server"]) {
        ExpectTransition t;
        t.server = text(v["server"], field + ".server").value_or("");
        if (t.server.find('/') == std::string::npos) error(v["server"], field + ".server", "expected BACKEND/SERVER");
        if (!v["is"]) {
          error(v, field + ".is", "missing: DOWN, UP, stopping, MAINT, DRAIN or address");
        } else {
          const auto is = text(v["is"], field + ".is").value_or("");
          if (is == "DOWN") t.to = Event::Kind::Down;
          else if (is == "UP") t.to = Event::Kind::Up;
          else if (is == "stopping") t.to = Event::Kind::Stopping;
          else if (is == "MAINT") t.to = Event::Kind::Maintenance;
          else if (is == "address") t.to = Event::Kind::Address;
          else if (is == "DRAIN") t.to = Event::Kind::Drain;
          else error(v["is"], field + ".is", fmt::format("'{}': expected DOWN, UP, stopping, MAINT, DRAIN or address", is));
        }
        if (v["reason"]) t.reason = text(v["reason"], field + ".reason");
        if (v["code"]) t.code = integer(v["code"], field + ".code", 0, 999);
        if (v["info"]) t.info = text(v["info"], field + ".info");
        if (v["within"]) window(v["within"], field + ".within", t.from, t.until);
        if (v["duration"]) {
          if (v["duration"].IsSequence()) {
            Ms lo{0};
            std::optional<Ms> hi;
            if (window(v["duration"], field + ".duration", lo, hi)) t.duration_min = lo, t.duration_max = hi;
          } else if (auto d = duration(v["duration"], field + ".duration")) {
            t.duration_min = t.duration_max = *d;
          }
        }
        for (const char* k : {"no_server_available", "requests_at", "to"})
          if (v[k]) error(v[k], field + "." + k, "not part of a transition expectation");
        e.what = std::move(t);
      } else if (v["no_server_available"]) {
        ExpectNoServer a;
        a.backend = text(v["no_server_available"], field + ".no_server_available").value_or("");
        if (v["within"]) window(v["within"], field + ".within", a.from, a.until);
        for (const char* k : {"is", "reason", "code", "info", "duration", "requests_at", "to"})
          if (v[k]) error(v[k], field + "." + k, "not part of a no_server_available expectation");
        e.what = std::move(a);
      } else if (v["requests_at"]) {
        ExpectRouting r;
        r.step_at = duration(v["requests_at"], field + ".requests_at").value_or(Ms{0});
        if (v["to"] && v["share"]) error(v, field, "give `to` (the order) or `share` (the proportions), not both");
        if (!v["to"] && !v["share"]) error(v, field + ".to", "missing: where the requests went, e.g. [app1, app2, 503]");
        if (v["to"])
          if (auto to = strings(v["to"], field + ".to")) r.to = *to;
        if (v["share"]) {
          if (!v["share"].IsMap()) error(v["share"], field + ".share", "expected SERVER: FRACTION pairs, e.g. {app1: 0.5, app2: 0.5}");
          else
            for (const auto& kv : v["share"]) {
              const auto server = kv.first.as<std::string>("");
              const auto f = fraction(kv.second, field + ".share." + server);
              if (f) r.share[server] = *f;
            }
        }
        if (v["tolerance"])
          if (auto f = fraction(v["tolerance"], field + ".tolerance")) r.tolerance = *f;
        const bool step_exists = std::any_of(s.timeline.begin(), s.timeline.end(), [&](const Step& st) {
          return st.sends_requests() && st.at == r.step_at;
        });
        if (!step_exists) error(v["requests_at"], field + ".requests_at", "no requests step at that time in the timeline");
        e.what = std::move(r);
      } else if (v["backend"]) {
        ExpectReceived x;
        x.backend = text(v["backend"], field + ".backend").value_or("");
        if (!has_backend(s, x.backend)) error(v["backend"], field + ".backend", fmt::format("no backend '{}' in backends", x.backend));
        if (!v["received"]) error(v, field + ".received", "missing: the requests to count, e.g. \"OPTIONS /\"");
        else x.request = text(v["received"], field + ".received").value_or("");
        if (v["at_least"]) x.at_least = integer(v["at_least"], field + ".at_least", 0, 1000000).value_or(1);
        if (v["at_most"]) x.at_most = integer(v["at_most"], field + ".at_most", 0, 1000000);
        e.what = std::move(x);
      } else if (v["stat_at"]) {
        ExpectStat x;
        x.step_at = duration(v["stat_at"], field + ".stat_at").value_or(Ms{0});
        const bool asked = std::any_of(s.timeline.begin(), s.timeline.end(), [&](const Step& st) {
          return st.api && st.at == x.step_at &&
                 std::any_of(st.api->begin(), st.api->end(), [](const std::string& c) { return c.starts_with("show stat"); });
        });
        if (!asked) error(v["stat_at"], field + ".stat_at", "no api step with `show stat` at that time in the timeline");
        const auto row = v["row"] ? text(v["row"], field + ".row") : std::nullopt;
        if (!v["row"]) error(v, field + ".row", "missing: the row, PROXY/SERVER or PROXY/FRONTEND or PROXY/BACKEND");
        else if (row && row->find('/') == std::string::npos)
          error(v["row"], field + ".row", "expected PROXY/SERVER, PROXY/FRONTEND or PROXY/BACKEND");
        else if (row) x.proxy = row->substr(0, row->find('/')), x.row = row->substr(row->find('/') + 1);
        if (!v["field"]) error(v, field + ".field", "missing: the column, e.g. status, weight, chkfail");
        else if (auto f = text(v["field"], field + ".field")) {
          x.field = *f;
          if (std::find(lb::core::stats::kFieldNames.begin(), lb::core::stats::kFieldNames.end(), x.field) ==
              lb::core::stats::kFieldNames.end())
            error(v["field"], field + ".field", fmt::format("'{}' is not a column of HAProxy's stats CSV", x.field));
        }
        if (!v["equals"]) error(v, field + ".equals", "missing: the value expected, e.g. MAINT");
        else x.equals = text(v["equals"], field + ".equals").value_or("");
        e.what = std::move(x);
      } else if (v["metric_at"]) {
        ExpectMetric x;
        x.step_at = duration(v["metric_at"], field + ".metric_at").value_or(Ms{0});
        const bool fetched = std::any_of(s.timeline.begin(), s.timeline.end(),
                                         [&](const Step& st) { return st.get && st.at == x.step_at; });
        if (!fetched) error(v["metric_at"], field + ".metric_at", "no get step at that time in the timeline");
        if (!v["metric"]) error(v, field + ".metric", "missing: the sample, e.g. haproxy_server_status{proxy=\"be\",server=\"app1\",state=\"UP\"}");
        else x.metric = text(v["metric"], field + ".metric").value_or("");
        if (!v["equals"]) error(v, field + ".equals", "missing: the value expected, e.g. 1");
        else x.equals = text(v["equals"], field + ".equals").value_or("");
        e.what = std::move(x);
      } else {
        error(v, field,
              "expected one of: server (a transition), no_server_available, requests_at, backend (received), stat_at, "
              "metric_at");
        continue;
      }
      s.expect.push_back(std::move(e));
    }
  }

  LoadResult read(std::string_view input) {
    LoadResult out;
    YAML::Node root;
    try {
      root = YAML::Load(std::string(input));
    } catch (const YAML::Exception& e) {
      errors_.push_back({file_, e.mark.is_null() ? 0 : e.mark.line + 1, "", e.msg});
      out.errors = std::move(errors_);
      return out;
    }
    Scenario s;
    s.file = file_;
    if (!keys_known(root, "", kTopKeys)) {
      out.errors = std::move(errors_);
      return out;
    }
    auto required = [&](const char* key) {
      if (!root[key]) error(root, key, "missing");
      return static_cast<bool>(root[key]);
    };
    if (required("name")) s.name = text(root["name"], "name").value_or("");
    if (root["summary"]) s.summary = text(root["summary"], "summary").value_or("");
    if (root["source"]) s.source = text(root["source"], "source").value_or("");
    if (required("duration")) s.duration = duration(root["duration"], "duration").value_or(Ms{0});
    if (required("backends")) backends(root["backends"], s);
    if (root["dns"]) dns(root["dns"], s);
    if (root["config"] && root["config_file"]) error(root["config_file"], "config_file", "give config or config_file, not both");
    if (!root["config"] && !root["config_file"]) error(root, "config", "missing (or config_file)");
    if (root["config"]) {
      s.config = text(root["config"], "config").value_or("");
      s.config_line = root["config"].Mark().line + 1;
    }
    if (root["config_file"]) {
      const auto name = text(root["config_file"], "config_file").value_or("");
      const auto path = std::filesystem::path(file_).parent_path() / name;
      if (auto file = lb::core::read_input_file(path.string()))
        s.config = std::move(file.text);
      else
        error(root["config_file"], "config_file", fmt::format("cannot read '{}': {}", path.string(), file.reason()));
    }
    if (root["other_transitions"])
      s.other_transitions_allowed = text(root["other_transitions"], "other_transitions").value_or("") == "allowed";
    if (root["timeline"]) timeline(root["timeline"], s);
    if (root["expect"]) expectations(root["expect"], s);
    if (errors_.empty()) out.scenario = std::move(s);
    out.errors = std::move(errors_);
    return out;
  }

 private:
  std::string file_;
  std::vector<ScenarioError> errors_;
};

}  // namespace

std::string ScenarioError::text() const {
  std::string where = line > 0 ? fmt::format("{}:{}", file, line) : file;
  return field.empty() ? fmt::format("{}: {}", where, message) : fmt::format("{}: {}: {}", where, field, message);
}

std::vector<Ms> Step::request_offsets() const {
  std::vector<Ms> out;
  if (rate <= 0) return out;
  // The k-th request at k/rate seconds, to the millisecond, while inside `for`.
  for (long k = 0;; ++k) {
    const Ms at{k * 1000 / rate};
    if (at >= rate_for || out.size() > 10000) break;
    out.push_back(at);
  }
  return out;
}

LoadResult parse_scenario(std::string_view text, std::string_view file) { return Reader(file).read(text); }

LoadResult load_scenario(const std::string& path) {
  const auto file = lb::core::read_input_file(path);
  if (!file) return {std::nullopt, {{path, 0, "", fmt::format("cannot read the file: {}", file.reason())}}};
  return parse_scenario(file.text, path);
}

std::string render_config(const std::string& config, const std::map<std::string, int>& ports,
                          const std::map<std::string, std::string>& texts) {
  std::string out;
  std::size_t at = 0;
  while (at < config.size()) {
    const auto open = config.find("{{", at);
    if (open == std::string::npos) break;
    const auto close = config.find("}}", open + 2);
    if (close == std::string::npos) break;
    out.append(config, at, open - at);
    const auto name = config.substr(open + 2, close - open - 2);
    if (const auto it = ports.find(name); it != ports.end())
      out += std::to_string(it->second);
    else if (const auto t = texts.find(name); t != texts.end())
      out += t->second;
    else
      out.append(config, open, close + 2 - open);
    at = close + 2;
  }
  out.append(config, at, std::string::npos);
  return out;
}

}  // namespace lbh
