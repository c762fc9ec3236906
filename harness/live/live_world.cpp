#include "harness/live/live_world.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <memory>
#include <thread>

#include "harness/live/child.hpp"
#include "harness/live/cli_client.hpp"
#include "harness/live/http_client.hpp"
#include "harness/live/ports.hpp"
#include "harness/live/temp_dir.hpp"
#include "harness/core/behaviour.hpp"
#include "lb/core/config/parser.hpp"
#include "lb/core/text.hpp"
#include "mockserver/core/dns.hpp"
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
      if (st->rate > 0) {
        start_rate(*st);
        continue;
      }
      if (!apply(*st)) return finish();
    }
    std::this_thread::sleep_until(t0_ + sc_.duration);
    return finish();
  }

 private:
  bool start_mockserver() {
    // Its timelines start at the first check, as the scenario's and the sim world's do.
    std::vector<std::string> args{"--admin", "127.0.0.1:0", "--timeline-start", "first-connection"};
    for (const auto& b : sc_.backends) {
      args.insert(args.end(), {"--listen", b.name + "=127.0.0.1:0"});
      for (const auto& r : b.rules) args.insert(args.end(), {"--rule", b.name + ": " + r});
      if (b.fault && *b.fault != "none") args.insert(args.end(), {"--fault", b.name + "=" + *b.fault});
    }
    // The DNS table may name the backends' ports ({{app1}} in an SRV record): it is set through
    // the control API once they are known, before the balancer starts.
    if (sc_.dns) args.insert(args.end(), {"--dns", "127.0.0.1:0"});
    try {
      mock_ = Child::start(opt_.mockserver, args);
    } catch (const std::exception& e) {
      trace_.errors.push_back(fmt::format("mockserver did not start: {}", e.what()));
      return false;
    }
    for (const auto& line : mock_.stdout_lines())
      if (line.starts_with("admin ") || line.starts_with("dns "))
        (line.starts_with("admin ") ? admin_port_ : ports_["dns"]) = std::stoi(line.substr(line.rfind(':') + 1));
    ports_["frontend"] = free_tcp_port();
    for (const auto& b : sc_.backends) ports_[b.name] = mock_.port(b.name);
    if (admin_port_ <= 0) return false;
    if (!sc_.dns) return true;
    Step table;
    table.dns_records = sc_.dns->records;
    table.dns_faults = sc_.dns->faults;
    return put_dns(table, true) && put_dns(table, false);
  }

  // The balancer's admin socket, in the scratch directory ({{api}} in the config).
  std::string api_socket() const { return scratch_ ? (scratch_->path() / "api.sock").string() : std::string(); }
  // The server-state file a reload step saves ({{state}} in the config).
  std::string state_file() const { return scratch_ ? (scratch_->path() / "state").string() : std::string(); }
  std::map<std::string, std::string> texts() const { return {{"api", api_socket()}, {"state", state_file()}}; }
  bool reloads() const {
    return std::any_of(sc_.timeline.begin(), sc_.timeline.end(), [](const Step& s) { return s.reload; });
  }

  bool start_balancer() {
    try {
      scratch_.emplace();
      const auto cfg = scratch_->write("haproxy.cfg", render_config(sc_.config, ports_, texts()));
      // A scenario that reloads runs the balancer as a master and its worker (-W), as HAProxy
      // 2.6 users run it; the others as one process.
      std::vector<std::string> args{"-db", "-f", cfg.string()};
      if (reloads()) args.insert(args.begin(), "-W");
      balancer_ = Child::start(opt_.balancer, args, {.ready_line = ""});
    } catch (const std::exception& e) {
      trace_.errors.push_back(fmt::format("{} did not start: {}", opt_.balancer, e.what()));
      return false;
    }
    return true;
  }

  // Time zero: the balancer's first checks, which it starts as it begins to listen. Seen as
  // whichever comes first: its frontend listening, or a backend's first journal entry (a
  // request, or a connection closed without one). A backend that refuses, or checks that never
  // complete a handshake (connect-only ones), leave the frontend to tell. mockserver's
  // timelines start there too, unless the first connection has started them already. Fails
  // when the balancer exits instead.
  bool synchronise() {
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (Clock::now() < deadline && balancer_.running()) {
      const bool listening = tcp_port_listening(ports_["frontend"]);
      if (listening || admin("GET", "/v1/wait?count=1&timeout_ms=2", "", std::chrono::seconds(1)).status == 200) {
        t0_ = Clock::now();
        // The first connection's accept, when one started mockserver's timelines: read on
        // mockserver's clock (the same monotonic clock), it is exact where this loop is late.
        const auto r = admin("POST", "/v1/timelines/start");
        boost::system::error_code ec;
        const auto v = r.status == 200 ? json::parse(r.body, ec) : json::value();
        if (ec || !v.is_object() || !v.as_object().contains("origin_ms")) {
          trace_.errors.push_back(fmt::format("mockserver POST /v1/timelines/start: {} {}", r.status, r.error + r.body));
          return false;
        }
        mock_zero_ = Clock::time_point(std::chrono::nanoseconds(v.at("clock_origin_ns").to_number<std::int64_t>()));
        t0_ = std::min(t0_, mock_zero_ + std::chrono::milliseconds(v.at("origin_ms").to_number<std::int64_t>()));
        return true;
      }
    }
    trace_.errors.push_back(balancer_.running() ? "no check reached any backend within 10 s"
                                                : fmt::format("{} exited: {}", opt_.balancer, balancer_.stderr_text()));
    return false;
  }

  // One request through the balancer; `out` says who answered: the server's name (from
  // mockserver's default body), else the status, else why nothing came.
  static void request_one(int port, std::string& out) {
    const auto r = http_call(port, "GET", "/");
    if (r.status == 200 && r.body.starts_with("hello from "))
      out = r.body.substr(11);
    else if (r.status != 0)
      out = std::to_string(r.status);
    else
      out = "error: " + r.error;
  }

  // A rate step plays in the background while later steps go on: each request leaves at its
  // instant, whether or not the ones before it have been answered (open loop).
  void start_rate(const Step& st) {
    auto& went = trace_.routing[st.at];  // map nodes stay put while others are added
    const auto offsets = st.request_offsets();
    went.assign(offsets.size(), "");
    background_.emplace_back([this, &went, offsets, at = st.at, port = ports_["frontend"]] {
      struct Client {
        std::thread thread;
        std::shared_ptr<std::atomic<bool>> done;
      };
      std::vector<Client> clients;
      auto join_finished = [&clients](bool all) {
        for (auto it = clients.begin(); it != clients.end();) {
          if (!all && !it->done->load()) {
            ++it;
            continue;
          }
          it->thread.join();
          it = clients.erase(it);
        }
      };
      for (std::size_t i = 0; i < offsets.size(); ++i) {
        std::this_thread::sleep_until(t0_ + at + offsets[i]);
        join_finished(false);
        auto done = std::make_shared<std::atomic<bool>>(false);
        clients.push_back({std::thread([port, &out = went[i], done] {
                             request_one(port, out);
                             *done = true;
                           }),
                           done});
      }
      join_finished(true);
    });
  }

  HttpReply admin(std::string_view method, const std::string& target, const std::string& body = "",
                  std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    return http_call(admin_port_, method, target, body, timeout);
  }

  bool admin_ok(std::string_view method, const std::string& target, const std::string& body) {
    auto r = admin(method, target, body);
    // Listening again on a backend's port (a restart, a move back) can meet the port held for a
    // moment by another process of a parallel run (an ephemeral source port, say): a few tries
    // over a bounded 1 s let it go.
    for (int retry = 0; retry < 40 && r.status == 503 && r.body.find("Address already in use") != std::string::npos; ++retry) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
      r = admin(method, target, body);
    }
    if (r.status == 200) return true;
    trace_.errors.push_back(fmt::format("mockserver {} {}: {} {}", method, target, r.status, r.error + r.body));
    return false;
  }

  bool apply(const Step& st) {
    if (st.requests > 0) {
      auto& went = trace_.routing[st.at];
      went.assign(static_cast<std::size_t>(st.requests), "");
      const int port = ports_["frontend"];
      if (!st.concurrent) {
        for (auto& out : went) request_one(port, out);
        return true;
      }
      std::vector<std::thread> clients;
      for (auto& out : went) clients.emplace_back(request_one, port, std::ref(out));
      for (auto& c : clients) c.join();
      return true;
    }
    if (st.dns_step()) return apply_dns(st);
    if (st.reload) return reload(st);
    if (st.get) {
      const auto r = http_call(ports_["frontend"], "GET", *st.get);
      trace_.pages.push_back({st.at, *st.get, r.status, r.body});
      return true;
    }
    if (st.api) {
      std::string bytes;
      for (const auto& c : *st.api) bytes += c + "\n";
      const auto r = cli_call(api_socket(), bytes);
      if (!r.error.empty()) {
        trace_.errors.push_back(fmt::format("Runtime API at {} ms: {}", st.at.count(), r.error));
        return false;
      }
      trace_.api.push_back({st.at, *st.api, r.answer});
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
    // A killed process refuses new connections, and the kernel closes the ones it had.
    if (st.kill) return admin_ok("PATCH", at, R"({"mode":"refuse"})") && admin_ok("POST", at + "/close-connections", "");
    if (st.move_to) {
      const mock::core::Endpoint to{*st.move_to, static_cast<std::uint16_t>(ports_[st.backend])};
      return admin_ok("PATCH", at, json::serialize(json::object{{"listen", mock::core::to_string(to)}}));
    }
    // restart: as the process was first started, counters and timelines from zero
    const auto rules = rules_json(st.backend, b->rules, trace_.errors);
    const auto fault = fault_json(st.backend, b->fault, trace_.errors);
    return rules && fault && admin_ok("PUT", at + "/rules", *rules) && admin_ok("PUT", at + "/fault", *fault) &&
           admin_ok("PATCH", at, R"({"mode":"serve"})") && admin_ok("POST", at + "/reset", "");
  }

  // What a reload script does: the state saved first when asked, then SIGUSR2 to the master.
  bool reload(const Step& st) {
    if (st.save_state) {
      const auto r = cli_call(api_socket(), "show servers state\n");
      if (!r.error.empty()) {
        trace_.errors.push_back(fmt::format("saving the server state at {} ms: {}", st.at.count(), r.error));
        return false;
      }
      std::ofstream(state_file(), std::ios::trunc) << r.answer;
    }
    if (::kill(balancer_.pid(), SIGUSR2) != 0) {
      trace_.errors.push_back(fmt::format("reload at {} ms: {} is gone", st.at.count(), opt_.balancer));
      return false;
    }
    return true;
  }

  // A DNS step through the control API: the records or the faults, replaced whole.
  bool apply_dns(const Step& st) { return put_dns(st, st.dns_records.has_value()); }

  // The step's records (or faults), their {{placeholders}} rendered, through the control API.
  bool put_dns(const Step& st, bool records) {
    const auto table = parse_dns_table(st.dns_records.value_or(std::vector<std::string>{}),
                                       st.dns_faults.value_or(std::vector<std::string>{}), ports_, trace_.errors);
    const auto body = mock::core::to_json(table).as_object();
    if (records) return admin_ok("PUT", "/v1/dns/records", json::serialize(body.at("records")));
    return admin_ok("PUT", "/v1/dns/faults", json::serialize(body.at("faults")));
  }

  // What each backend received, and a check mark for each of the balancer's checks, from
  // mockserver's journal: when it arrived, what the backend answered, and how long the
  // exchange lasted on the backend's side.
  void read_journal(const json::array& entries) {
    const auto servers = servers_by_port();
    for (const auto& e : entries) {
      const auto& o = e.as_object();
      const auto listener = json::value_to<std::string>(o.at("listener"));
      if (listener == "dns") continue;  // the resolvers' queries, not a backend's requests
      const auto method = json::value_to<std::string>(o.at("method"));
      const auto path = json::value_to<std::string>(o.at("path"));
      if (!method.empty()) trace_.checks[listener].push_back(method + " " + path);
      bool from_harness = false;
      for (const auto& h : o.at("headers").as_array())
        from_harness |= lb::core::iequals(h.as_array().at(0).as_string(), kRequestMarker);
      if (from_harness) continue;
      const auto outcome = json::value_to<std::string>(o.at("outcome"));
      const auto t = o.at("t_ms").to_number<std::int64_t>();
      const bool answered_ok = outcome.size() == 3 && (outcome[0] == '2' || outcome[0] == '3');
      std::string detail = method.empty() ? " (a connection without a request)" : fmt::format(" to {} {}", method, path);
      if (!o.at("end_ms").is_null())
        detail += fmt::format(", over after {}ms on the backend's side", o.at("end_ms").to_number<std::int64_t>() - t);
      detail += fmt::format(" (end: {})", json::value_to<std::string>(o.at("end")));
      const auto it = servers.find(ports_[listener]);
      const auto at = std::chrono::duration_cast<Ms>(mock_zero_ + std::chrono::milliseconds(t) - t0_);
      for (const auto& who : it == servers.end() ? std::vector<std::string>{listener} : it->second)
        trace_.check_marks.push_back({at, who, "backend answered " + outcome,
                                      answered_ok || outcome == "no-request", detail});
    }
  }

  // "proxy/server" names the balancer gives each backend port, from the config it runs.
  std::map<int, std::vector<std::string>> servers_by_port() const {
    std::map<int, std::vector<std::string>> out;
    const auto parsed = lb::core::parse_config(render_config(sc_.config, ports_, texts()), sc_.file);
    for (const auto& px : parsed.config.proxies)
      for (const auto& sv : px.servers) out[sv.settings.check_port.value_or(sv.port)].push_back(px.name + "/" + sv.name);
    return out;
  }

  const BackendSpec* backend(const std::string& name) const {
    for (const auto& b : sc_.backends)
      if (b.name == name) return &b;
    return nullptr;
  }

  Trace finish() {
    for (auto& t : background_) t.join();
    background_.clear();
    if (admin_port_ > 0 && mock_.running()) {
      const auto r = admin("GET", "/v1/journal?limit=100000");
      boost::system::error_code ec;
      const auto v = r.status == 200 ? json::parse(r.body, ec) : json::value();
      if (!ec && v.is_object() && v.as_object().contains("entries")) read_journal(v.at("entries").as_array());
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
  Clock::time_point mock_zero_ = t0_;  // mockserver's time 0, on this clock
  Trace trace_;
  std::vector<std::thread> background_;  // rate steps still sending
};

}  // namespace

Trace play_live(const Scenario& scenario, const LiveOptions& options) { return Live(scenario, options).play(); }

}  // namespace lbh
