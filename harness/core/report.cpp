#include "harness/core/report.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

namespace lbh {
namespace {

namespace json = boost::json;

std::string xml_escape(std::string_view s) {
  std::string out;
  for (const char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // XML 1.0 has no place for other control characters.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t' && c != '\r') out += ' ';
        else out += c;
    }
  }
  return out;
}

// Everything that made the run fail, one line each.
std::vector<std::string> problems(const ScenarioRun& r) {
  std::vector<std::string> out;
  for (const auto& w : r.worlds)
    for (const auto& f : w.failures)
      out.push_back(fmt::format("[{}] {}{}", w.name, f.line ? fmt::format("{}:{}: ", r.scenario->file, f.line) : "",
                                f.message));
  for (const auto& [world, ds] : r.differences)
    for (const auto& d : ds) out.push_back(fmt::format("{} vs haproxy: {}: {} | {}", world, d.what, d.left, d.right));
  return out;
}

json::object event_json(const Event& e) {
  json::object o{{"at_ms", e.at.count()}, {"kind", std::string(name(e.kind))}, {"proxy", e.proxy},
                 {"server", e.server}, {"reason", e.reason}, {"info", e.info}, {"line", e.line}};
  o["code"] = e.code ? json::value(*e.code) : json::value(nullptr);
  o["check_duration_ms"] = e.duration_ms ? json::value(*e.duration_ms) : json::value(nullptr);
  return o;
}

}  // namespace

bool ScenarioRun::ok() const {
  for (const auto& w : worlds)
    if (!w.failures.empty()) return false;
  for (const auto& [world, ds] : differences)
    if (!ds.empty()) return false;
  return true;
}

double ScenarioRun::ms() const {
  double t = 0;
  for (const auto& w : worlds) t += w.ms;
  return t;
}

std::string junit_xml(const std::vector<ScenarioRun>& runs, const std::string& target) {
  std::size_t failures = 0;
  double total = 0;
  for (const auto& r : runs) failures += !r.ok(), total += r.ms();
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += fmt::format("<testsuites name=\"lbharness\" tests=\"{}\" failures=\"{}\" time=\"{:.3f}\">\n", runs.size(),
                     failures, total / 1000);
  out += fmt::format("  <testsuite name=\"lbharness.{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"0\" time=\"{:.3f}\">\n",
                     xml_escape(target), runs.size(), failures, total / 1000);
  for (const auto& r : runs) {
    out += fmt::format("    <testcase classname=\"lbharness.{}\" name=\"{}\" file=\"{}\" time=\"{:.3f}\"", xml_escape(target),
                       xml_escape(r.scenario->name), xml_escape(r.scenario->file), r.ms() / 1000);
    const auto p = problems(r);
    if (p.empty()) {
      out += "/>\n";
      continue;
    }
    std::string body;
    for (const auto& line : p) body += line + "\n";
    out += fmt::format(">\n      <failure message=\"{}\" type=\"expectation\">{}</failure>\n    </testcase>\n",
                       xml_escape(p.front()), xml_escape(body));
  }
  out += "  </testsuite>\n</testsuites>\n";
  return out;
}

std::string json_report(const std::vector<ScenarioRun>& runs, const std::string& target) {
  json::array scenarios;
  for (const auto& r : runs) {
    json::array worlds;
    for (const auto& w : r.worlds) {
      json::array events, failures;
      for (const auto& e : w.trace.events) events.push_back(event_json(e));
      for (const auto& f : w.failures) failures.push_back(json::object{{"line", f.line}, {"message", f.message}});
      json::object routing, checks;
      for (const auto& [at, to] : w.trace.routing) routing[std::to_string(at.count())] = json::value_from(to);
      for (const auto& [backend, seen] : w.trace.checks) checks[backend] = json::value_from(seen);
      worlds.push_back(json::object{{"world", w.name},
                                    {"wall_ms", w.ms},
                                    {"events", std::move(events)},
                                    {"routing_by_step_ms", std::move(routing)},
                                    {"requests_seen_by_backend", std::move(checks)},
                                    {"errors", json::value_from(w.trace.errors)},
                                    {"failures", std::move(failures)}});
    }
    json::array differences;
    for (const auto& [world, ds] : r.differences)
      for (const auto& d : ds)
        differences.push_back(json::object{{"world", world}, {"what", d.what}, {"world_saw", d.left}, {"haproxy_saw", d.right}});
    scenarios.push_back(json::object{{"name", r.scenario->name},
                                     {"file", r.scenario->file},
                                     {"passed", r.ok()},
                                     {"duration_ms", r.scenario->duration.count()},
                                     {"worlds", std::move(worlds)},
                                     {"differences", std::move(differences)}});
  }
  return json::serialize(json::object{{"target", target}, {"scenarios", std::move(scenarios)}}) + "\n";
}

}  // namespace lbh
