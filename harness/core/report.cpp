#include "harness/core/report.hpp"

#include <boost/json.hpp>
#include <algorithm>
#include <fmt/format.h>

namespace lbh {

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

namespace {

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
  JunitSuite suite{"lbharness." + target, {}};
  for (const auto& r : runs) {
    JunitCase c{"lbharness." + target, r.scenario->name, r.scenario->file, r.ms() / 1000, std::nullopt, ""};
    const auto p = problems(r);
    if (!p.empty()) {
      c.failure = p.front();
      for (const auto& line : p) c.failure_text += line + "\n";
    }
    suite.cases.push_back(std::move(c));
  }
  return write_junit({suite});
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
      json::array marks;
      for (const auto& m : w.trace.check_marks)
        marks.push_back(json::object{{"at_ms", m.at.count()}, {"server", m.who}, {"status", m.status},
                                     {"passed", m.passed}, {"detail", m.detail}});
      for (const auto& [at, to] : w.trace.routing) routing[std::to_string(at.count())] = json::value_from(to);
      for (const auto& [backend, seen] : w.trace.checks) checks[backend] = json::value_from(seen);
      json::array api;
      for (const auto& x : w.trace.api)
        api.push_back(json::object{{"at_ms", x.at.count()}, {"commands", json::value_from(x.commands)}, {"answer", x.answer}});
      worlds.push_back(json::object{{"world", w.name},
                                    {"wall_ms", w.ms},
                                    {"events", std::move(events)},
                                    {"checks", std::move(marks)},
                                    {"routing_by_step_ms", std::move(routing)},
                                    {"requests_seen_by_backend", std::move(checks)},
                                    {"api", std::move(api)},
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

namespace {

std::string step_text(const Step& st) {
  if (st.requests > 0) return fmt::format("{} request(s){}", st.requests, st.concurrent ? " at once" : "");
  if (st.rate > 0) return fmt::format("{} request(s) a second for {}", st.rate, seconds(st.rate_for));
  if (st.move_to) return fmt::format("{}: moved to {}", st.backend, *st.move_to);
  if (st.rules) return fmt::format("{}: rules [{}]", st.backend, fmt::join(*st.rules, "; "));
  if (st.fault) return fmt::format("{}: fault {}", st.backend, *st.fault);
  return fmt::format("{}: {}", st.backend, st.kill ? "killed" : "restarted");
}

// The lanes of one world: every server that logged, was checked, or took requests, in order.
std::vector<std::string> lanes_of(const Trace& t) {
  std::vector<std::string> out;
  auto add = [&](const std::string& who) {
    if (!who.empty() && std::find(out.begin(), out.end(), who) == out.end()) out.push_back(who);
  };
  for (const auto& m : t.check_marks) add(m.who);
  for (const auto& e : t.events)
    if (!e.server.empty()) add(e.who());
  return out;
}

constexpr int kLeft = 230, kWidth = 880, kLane = 22;

std::string svg_timeline(const ScenarioRun& r) {
  const auto& sc = *r.scenario;
  const double span = std::max<double>(1.0, static_cast<double>(sc.duration.count()));
  auto x = [&](Ms at) { return kLeft + static_cast<double>(at.count()) / span * kWidth; };
  struct Lane {
    std::string world, who;
  };
  std::vector<Lane> lanes;
  // Servers of every world side by side: lb's and haproxy's lanes of a server are neighbours.
  std::vector<std::string> servers;
  for (const auto& w : r.worlds)
    for (const auto& who : lanes_of(w.trace))
      if (std::find(servers.begin(), servers.end(), who) == servers.end()) servers.push_back(who);
  for (const auto& who : servers)
    for (const auto& w : r.worlds) lanes.push_back({w.name, who});
  const int top = 30, height = top + static_cast<int>(lanes.size()) * kLane + 60;
  std::string g = fmt::format("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" class=\"timeline\">\n",
                              kLeft + kWidth + 20, height);
  // time axis, a tick a second
  for (long s = 0; s * 1000 <= sc.duration.count(); ++s)
    g += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" class=\"grid\"/><text x=\"{0:.1f}\" y=\"{3}\" "
                     "class=\"axis\">{4}s</text>\n",
                     x(Ms{s * 1000}), top - 5, height - 50, top - 12, s);
  for (std::size_t i = 0; i < lanes.size(); ++i) {
    const auto& lane = lanes[i];
    const int y = top + static_cast<int>(i) * kLane;
    const auto* w = &*std::find_if(r.worlds.begin(), r.worlds.end(), [&](const WorldRun& wr) { return wr.name == lane.world; });
    g += fmt::format("<text x=\"4\" y=\"{}\" class=\"lane\">{} <tspan class=\"world\">{}</tspan></text>\n", y + 15,
                     xml_escape(lane.who), xml_escape(lane.world));
    // A server is UP until its first transition says otherwise (HAProxy's start state).
    std::string state = "UP";
    Ms from{0};
    auto segment = [&](Ms until) {
      g += fmt::format("<rect x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" height=\"{}\" class=\"s-{}\"><title>{} {} from {} to "
                       "{}</title></rect>\n",
                       x(from), y + 3, std::max(0.5, x(until) - x(from)), kLane - 8, state == "UP" ? "up" : state == "DOWN" ? "down" : state == "MAINT" ? "maint" : state == "DRAIN" ? "drain" : "stopping",
                       xml_escape(lane.who), state, seconds(from), seconds(until));
    };
    for (const auto& e : w->trace.events) {
      if (e.who() != lane.who || !is_state(e.kind)) continue;
      segment(e.at);
      state = std::string(name(e.kind));
      from = e.at;
      g += fmt::format("<circle cx=\"{:.1f}\" cy=\"{}\" r=\"4\" class=\"t-{}\"><title>{}: {}</title></circle>\n", x(e.at),
                       y + kLane / 2, state == "UP" ? "up" : "down", seconds(e.at), xml_escape(e.line));
    }
    segment(sc.duration);
    for (const auto& m : w->trace.check_marks) {
      if (m.who != lane.who) continue;
      g += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" class=\"c-{3}\"><title>{4}: check {5}{6}</title></line>\n",
                       x(m.at), y + 1, y + kLane - 3, m.passed ? "ok" : "ko", seconds(m.at), m.status, xml_escape(m.detail));
    }
  }
  // The steps, and where each request burst went, per world.
  const int steps_y = top + static_cast<int>(lanes.size()) * kLane;
  for (std::size_t i = 0; i < sc.timeline.size(); ++i) {
    const auto& st = sc.timeline[i];
    std::string went;
    for (const auto& w : r.worlds)
      if (const auto it = w.trace.routing.find(st.at); st.sends_requests() && it != w.trace.routing.end())
        went += fmt::format(" {}: {}", w.name, fmt::join(it->second, ","));
    g += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" class=\"step\"/><text x=\"{0:.1f}\" y=\"{3}\" "
                     "class=\"step\">{4}<title>{5} {6}{7}</title></text>\n",
                     x(st.at), top - 5, steps_y + 6, steps_y + 18 + static_cast<int>(i % 3) * 12, i + 1, seconds(st.at),
                     xml_escape(step_text(st)), xml_escape(went));
  }
  for (const auto& w : r.worlds)
    for (const auto& e : w.trace.events)
      if (e.kind == Event::Kind::NoServer)
        g += fmt::format("<text x=\"{:.1f}\" y=\"{}\" class=\"alert\">!<title>{} ({}): {}</title></text>\n", x(e.at), top - 2,
                         seconds(e.at), w.name, xml_escape(e.line));
  return g + "</svg>\n";
}

}  // namespace

std::string html_report(const std::vector<ScenarioRun>& runs, const std::string& target) {
  std::size_t failed = 0;
  for (const auto& r : runs) failed += !r.ok();
  std::string out = fmt::format(R"(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>lbharness report: {} scenario(s) on {}</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }}
h2 {{ margin: 28px 0 4px; font-size: 17px; }} .pass {{ color: #1a7f37; }} .fail {{ color: #c62828; }}
.summary {{ color: #555; margin: 0 0 6px; }} pre {{ background: #fbeaea; padding: 8px; white-space: pre-wrap; }}
svg.timeline {{ display: block; margin: 6px 0 10px; }} .grid {{ stroke: #eee; }} .axis {{ font-size: 10px; fill: #888; }}
.lane {{ font-size: 12px; fill: #333; }} .world {{ fill: #888; }}
.s-up {{ fill: #c8e6c9; }} .s-down {{ fill: #ffcdd2; }} .s-stopping {{ fill: #ffe0b2; }} .s-maint {{ fill: #cfd8dc; }} .s-drain {{ fill: #bbdefb; }}
.t-up {{ fill: #2e7d32; }} .t-down {{ fill: #c62828; }} .c-ok {{ stroke: #2e7d32; stroke-width: 1.5; }} .c-ko {{ stroke: #c62828; stroke-width: 1.5; }}
line.step {{ stroke: #1565c0; stroke-dasharray: 3 3; }} text.step {{ fill: #1565c0; font-size: 11px; }} .alert {{ fill: #c62828; font-weight: bold; }}
table {{ border-collapse: collapse; font-size: 12px; }} td, th {{ border: 1px solid #ddd; padding: 2px 6px; text-align: left; }}
</style></head><body>
<h1>lbharness: {} scenario(s) on {}, {} passed, {} failed</h1>
<p class="summary">Lanes: a server per world (UP green, DOWN red, stopping orange, MAINT grey, DRAIN blue); ticks: checks — on sim as
the check engine judged them (green passed, red failed), on lb and haproxy as the backend saw them (green: it answered
2xx/3xx, or the check only connected; red: anything else) — hover for the reason or the answer; dashed blue: the timeline's steps (hover for what they did and where requests went);
red !: "has no server available!".</p>
)",
                                runs.size(), xml_escape(target), runs.size(), xml_escape(target), runs.size() - failed, failed);
  for (const auto& r : runs) {
    const auto& sc = *r.scenario;
    out += fmt::format("<h2 id=\"{0}\"><span class=\"{1}\">{2}</span> {0}</h2>\n<p class=\"summary\">{3} — {4} ({5})</p>\n",
                       xml_escape(sc.name), r.ok() ? "pass" : "fail", r.ok() ? "PASS" : "FAIL", xml_escape(sc.summary),
                       xml_escape(sc.source), xml_escape(sc.file));
    const auto p = problems(r);
    if (!p.empty()) {
      std::string body;
      for (const auto& line : p) body += line + "\n";
      out += "<pre>" + xml_escape(body) + "</pre>\n";
    }
    out += svg_timeline(r);
    out += "<table><tr><th>step</th><th>at</th><th>what</th>";
    for (const auto& w : r.worlds) out += "<th>requests went to (" + xml_escape(w.name) + ")</th>";
    out += "</tr>\n";
    for (std::size_t i = 0; i < sc.timeline.size(); ++i) {
      const auto& st = sc.timeline[i];
      out += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td>", i + 1, seconds(st.at), xml_escape(step_text(st)));
      for (const auto& w : r.worlds) {
        const auto it = w.trace.routing.find(st.at);
        out += "<td>" + (st.sends_requests() && it != w.trace.routing.end() ? xml_escape(fmt::format("{}", fmt::join(it->second, ", "))) : "") + "</td>";
      }
      out += "</tr>\n";
    }
    out += "</table>\n";
  }
  return out + "</body></html>\n";
}

}  // namespace lbh
