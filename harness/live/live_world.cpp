#include "harness/live/live_world.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <thread>

#include "harness/live/child.hpp"
#include "harness/live/http_client.hpp"
#include "harness/live/ports.hpp"
#include "harness/live/temp_dir.hpp"
#include "harness/core/behaviour.hpp"
#include "mockserver/core/spec.hpp"

namespace lbh {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

// The mockserver listener's rules and fault as its control API takes them, from the scenario's
// CLI forms; nullopt (with the errors said) when a text does not parse.
std::optional<std::string> rules_json(const std::string& backend, const std::vector<std::string>& texts,
                                      std::vector<std::string>& errors) {
  const auto before = errors.size();
  const auto rules = parse_rules(backend, texts, errors);
  if (errors.size() != before) return std::nullopt;
  json::array out;
  for (const auto& r : rules) out.push_back(mock::core::to_json(r));
  return json::serialize(json::object{{"rules", std::move(out)}});
}

std::optional<std::string> fault_json(const std::string& backend, const std::optional<std::string>& text,
                                      std::vector<std::string>& errors) {
  const auto before = errors.size();
  const auto fault = text ? parse_fault(backend, *text, errors) : std::nullopt;
  if (errors.size() != before) return std::nullopt;
  return json::serialize(json::object{{"fault", fault ? mock::core::to_json(*fault) : json::value(nullptr)}});
}

class Live {
 public:
  Live(const Scenario& s, const LiveOptions& o) : sc_(s), opt_(o) {}

  Trace play() {
    if (!start_mockserver() || !start_balancer() || !synchronise()) return finish();
    std::vector<const Step*> steps;
    for (const auto& s : sc_.timeline) steps.push_back(&s);
    std::stable_sort(steps.begin(), steps.end(), [](const Step* a, const Step* b) { return a->at < b->at; });
    for (const Step* st : steps) {
      std::this_thread::sleep_until(t0_ + st->at);
      if (!apply(*st)) return finish();
    }
    std::this_thread::sleep_until(t0_ + sc_.duration);
    return finish();
  }

 private:
  bool start_mockserver() {
    std::vector<std::string> args{"--admin", "127.0.0.1:0"};
    for (const auto& b : sc_.backends) {
      args.insert(args.end(), {"--listen", b.name + "=127.0.0.1:0"});
      for (const auto& r : b.rules) args.insert(args.end(), {"--rule", b.name + ": " + r});
      if (b.fault && *b.fault != "none") args.insert(args.end(), {"--fault", b.name + "=" + *b.fault});
    }
    try {
      mock_ = Child::start(opt_.mockserver, args);
    } catch (const std::exception& e) {
      trace_.errors.push_back(fmt::format("mockserver did not start: {}", e.what()));
      return false;
    }
    for (const auto& line : mock_.stdout_lines())
      if (line.starts_with("admin ")) admin_port_ = std::stoi(line.substr(line.rfind(':') + 1));
    ports_["frontend"] = free_tcp_port();
    for (const auto& b : sc_.backends) ports_[b.name] = mock_.port(b.name);
    return admin_port_ > 0;
  }

  bool start_balancer() {
    try {
      scratch_.emplace();
      const auto cfg = scratch_->write("haproxy.cfg", render_config(sc_.config, ports_));
      balancer_ = Child::start(opt_.balancer, {"-db", "-f", cfg.string()}, {.ready_line = ""});
    } catch (const std::exception& e) {
      trace_.errors.push_back(fmt::format("{} did not start: {}", opt_.balancer, e.what()));
      return false;
    }
    return true;
  }

  // Time zero: the first check any backend receives. mockserver's wait answers the moment its
  // journal has the first request; a plain TCP check sends none, so a connection it counted
  // (checked between waits, within 20 ms) does too. Fails when the balancer exits instead.
  bool synchronise() {
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (Clock::now() < deadline && balancer_.running()) {
      const auto r = admin("GET", "/v1/wait?count=1&timeout_ms=20", "", std::chrono::seconds(1));
      if (r.status == 200 || probes() > 0) {
        t0_ = Clock::now();
        return true;
      }
    }
    trace_.errors.push_back(balancer_.running() ? "no check reached any backend within 10 s"
                                                : fmt::format("{} exited: {}", opt_.balancer, balancer_.stderr_text()));
    return false;
  }

  long probes() {
    const auto r = admin("GET", "/v1/stats", "", std::chrono::seconds(1));
    if (r.status != 200) return 0;
    boost::system::error_code ec;
    const auto v = json::parse(r.body, ec);
    long n = 0;
    if (!ec && v.is_object() && v.as_object().contains("listeners"))
      for (const auto& l : v.at("listeners").as_array())
        if (l.is_object() && l.as_object().contains("probes")) n += l.at("probes").to_number<long>();
    return n;
  }

  HttpReply admin(std::string_view method, const std::string& target, const std::string& body = "",
                  std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    return http_call(admin_port_, method, target, body, timeout);
  }

  bool admin_ok(std::string_view method, const std::string& target, const std::string& body) {
    const auto r = admin(method, target, body);
    if (r.status == 200) return true;
    trace_.errors.push_back(fmt::format("mockserver {} {}: {} {}", method, target, r.status, r.error + r.body));
    return false;
  }

  bool apply(const Step& st) {
    if (st.requests > 0) {
      auto& went = trace_.routing[st.at];
      went.assign(static_cast<std::size_t>(st.requests), "");
      const int port = ports_["frontend"];
      auto one = [port](std::string& out) {
        const auto r = http_call(port, "GET", "/");
        if (r.status == 200 && r.body.starts_with("hello from "))
          out = r.body.substr(11);
        else if (r.status != 0)
          out = std::to_string(r.status);
        else
          out = "error: " + r.error;
      };
      if (!st.concurrent) {
        for (auto& out : went) one(out);
        return true;
      }
      std::vector<std::thread> clients;
      for (auto& out : went) clients.emplace_back(one, std::ref(out));
      for (auto& c : clients) c.join();
      return true;
    }
    const auto* b = backend(st.backend);
    const std::string at = "/v1/listeners/" + st.backend;
    if (st.rules) {
      const auto body = rules_json(st.backend, *st.rules, trace_.errors);
      return body && admin_ok("PUT", at + "/rules", *body);
    }
    if (st.fault) {
      const auto body = fault_json(st.backend, st.fault, trace_.errors);
      return body && admin_ok("PUT", at + "/fault", *body);
    }
    if (st.kill) return admin_ok("PATCH", at, R"({"mode":"refuse"})");
    // restart: as the process was first started, counters and timelines from zero
    const auto rules = rules_json(st.backend, b->rules, trace_.errors);
    const auto fault = fault_json(st.backend, b->fault, trace_.errors);
    return rules && fault && admin_ok("PUT", at + "/rules", *rules) && admin_ok("PUT", at + "/fault", *fault) &&
           admin_ok("PATCH", at, R"({"mode":"serve"})") && admin_ok("POST", at + "/reset", "");
  }

  const BackendSpec* backend(const std::string& name) const {
    for (const auto& b : sc_.backends)
      if (b.name == name) return &b;
    return nullptr;
  }

  Trace finish() {
    if (admin_port_ > 0 && mock_.running()) {
      const auto r = admin("GET", "/v1/journal?limit=100000");
      if (r.status == 200) {
        boost::system::error_code ec;
        const auto v = json::parse(r.body, ec);
        if (!ec && v.is_object() && v.as_object().contains("entries"))
          for (const auto& e : v.at("entries").as_array()) {
            const auto& o = e.as_object();
            if (!o.contains("method") || o.at("method").as_string().empty()) continue;
            trace_.checks[json::value_to<std::string>(o.at("listener"))].push_back(
                fmt::format("{} {}", o.at("method").as_string().c_str(), o.at("path").as_string().c_str()));
          }
      }
    }
    if (balancer_.pid() > 0) balancer_.stop();
    // The foreground copies of the balancer's server-state lines, as both lb and haproxy print
    // them on stderr whatever the config's log targets are.
    for (const auto& l : balancer_.stderr_lines()) {
      if (!l.text.starts_with("[")) continue;
      if (auto e = parse_event(l.text)) {
        e->at = std::chrono::duration_cast<Ms>(l.at - t0_);
        trace_.events.push_back(std::move(*e));
      }
    }
    if (mock_.pid() > 0) mock_.stop();
    return std::move(trace_);
  }

  const Scenario& sc_;
  const LiveOptions& opt_;
  std::optional<TempDir> scratch_;  // the rendered config
  Child mock_, balancer_;
  int admin_port_ = 0;
  std::map<std::string, int> ports_;
  Clock::time_point t0_ = Clock::now();
  Trace trace_;
};

}  // namespace

Trace play_live(const Scenario& scenario, const LiveOptions& options) { return Live(scenario, options).play(); }

}  // namespace lbh
