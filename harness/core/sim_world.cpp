#include "harness/core/sim_world.hpp"

#include "harness/core/behaviour.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <random>
#include <set>

#include "lb/core/api/runtime_api.hpp"
#include "lb/core/check/check_engine.hpp"
#include "lb/core/config/parser.hpp"
#include "lb/core/dns/resolution.hpp"
#include "lb/core/route/backends.hpp"
#include "lb/core/route/retry.hpp"
#include "lb/core/state/server_state.hpp"
#include "lb/core/stats/page.hpp"
#include "lb/core/time/clock.hpp"
#include "mockserver/core/dns.hpp"
#include "mockserver/core/engine.hpp"
#include "mockserver/core/request.hpp"

namespace lbh {
namespace {

using lb::core::ProbeConnection;
using lb::core::ProbeEvents;
using lb::core::ProbeTarget;
using lb::core::Scheduler;
using lb::core::TimePoint;

constexpr int kFirstPort = 20001;  // the ports the sim world "allocates": any fixed numbers do
constexpr int kFrontendPort = 20000;
constexpr int kDnsPort = 19999;
// The admin socket is never bound here (the API is called directly), and the state file a
// reload step saves is kept in memory under this name ({{state}}).
constexpr std::string_view kStateFile = "/lbharness-sim/state";

// One balancer process on simulated time: its routing, check engine, name resolution and
// Runtime API. A reload step replaces it with a new one.
struct SimBalancer {
  explicit SimBalancer(const lb::core::Config& config) : routing(config) {}
  lb::core::Backends routing;
  std::unique_ptr<lb::core::CheckEngine> engine;
  std::unique_ptr<lb::core::ServerResolution> resolution;
  std::unique_ptr<lb::core::RuntimeApi> api;
};

// The scenario's DNS table as mockserver's responder holds it.
// The resolvers' nameservers on simulated time: every query, whichever nameserver it is for, is
// answered by mockserver's own responder from the scenario's table, as the live worlds' single
// mockserver answers it; the reply arrives on the next turn of the loop.
class SimDns final : public lb::core::DnsTransport {
 public:
  SimDns(lb::core::SimScheduler& s, const mock::core::DnsSpec& spec) : sched_(s), spec_(spec) {}
  lb::core::ServerResolution* resolution = nullptr;
  bool send(std::size_t section, std::size_t ns, std::string_view query) override {
    const auto answer = mock::core::answer_dns(spec_, query, std::chrono::duration_cast<lb::core::Ms>(sched_.now() - TimePoint{}), false);
    if (!answer.reply) return true;
    sched_.post([this, section, ns, reply = *answer.reply] {
      if (resolution) resolution->on_reply(section, ns, reply);
    });
    return true;
  }

 private:
  lb::core::SimScheduler& sched_;
  const mock::core::DnsSpec& spec_;
};

class SimConnection;

// One simulated mockserver listener: its behaviour model, whether its process is alive, and
// where it listens once moved.
struct SimBackend {
  std::string name;
  mock::core::ListenerSpec initial;
  std::unique_ptr<mock::core::Listener> model;
  bool killed = false;
  std::optional<std::string> moved_to;  // the balancer still dials the address it resolved
  std::vector<std::string>* checks = nullptr;  // the trace's journal of this backend
  std::set<SimConnection*> open;         // check connections the process holds

  bool listens_at(const std::string& host) const { return host == moved_to.value_or(initial.listen.host); }
};

// A check connection to a SimBackend, run on the scheduler: the request the engine sends is
// parsed by mockserver's parser, answered by mockserver's rules, and the answer's write plan
// (bytes, pauses, close, reset, hold) is played back as connection events.
class SimConnection final : public ProbeConnection {
 public:
  SimConnection(Scheduler& s, SimBackend& b, ProbeEvents& e) : sched_(s), backend_(b), events_(&e) {
    backend_.open.insert(this);
  }
  ~SimConnection() override {
    *alive_ = false;
    backend_.open.erase(this);
  }

  // The backend's process died: the kernel closes the socket, with an RST when the check's
  // request was never read (hang-no-read, a connection left in the backlog), else a FIN.
  void process_died() {
    if (!events_) return;
    if (unread_) return later([](SimConnection& c) { c.error("Connection reset by peer"); });
    later([](SimConnection& c) { c.closed(); });
  }

  // The outcome of the connect, from the listener's mode and its accept decision.
  void start() {
    if (backend_.killed) return later([](SimConnection& c) { c.error("Connection refused"); });
    switch (backend_.model->mode_at(sched_.now())) {
      case mock::core::Mode::Refuse: return later([](SimConnection& c) { c.error("Connection refused"); });
      case mock::core::Mode::Blackhole: return;  // SYNs dropped: the engine's connect deadline decides
      case mock::core::Mode::SlowAccept:  // the kernel completes the handshake; nothing is ever read
        holding_ = unread_ = true;
        return later([](SimConnection& c) { c.events_->on_connected(); });
      case mock::core::Mode::Serve: break;
    }
    const auto d = backend_.model->on_accept(sched_.now());
    later([d](SimConnection& c) {
      const auto alive = c.alive_;
      c.events_->on_connected();  // may end the check, and this connection with it
      if (!*alive || !d.fault || !c.events_) return;
      switch (d.fault->kind) {
        case mock::core::FaultKind::ResetOnAccept: return c.error("Connection reset by peer");
        case mock::core::FaultKind::CloseBeforeRequest: return c.closed();
        default: c.holding_ = c.unread_ = true;  // hang-no-read
      }
    });
  }

  void send(std::string_view bytes) override {
    if (holding_) return;
    in_.append(bytes);
    if (!answering_) next_request();
  }

 private:
  template <class F>
  void after(lb::core::Ms delay, F f) {
    timers_.push_back(sched_.make_timer([this, a = alive_, f] {
      if (*a && events_) f(*this);
    }));
    timers_.back()->arm_at(sched_.now() + delay);
  }
  template <class F>
  void later(F f) {
    after(lb::core::Ms{0}, f);
  }

  // The next request in, answered as mockserver answers it; on a kept-alive connection the one
  // after it is read once the answer is out.
  void next_request() {
    const auto r = parser_.parse(in_);
    if (r.status == mock::core::ParseStatus::Incomplete) return;
    answering_ = true;
    steps_.clear();
    if (r.status != mock::core::ParseStatus::Done) {
      steps_.push_back({mock::core::StepKind::Send, mock::core::reject_response(
                                                       r.status == mock::core::ParseStatus::Bad            ? 400
                                                       : r.status == mock::core::ParseStatus::BodyTooLarge ? 413
                                                                                                            : 431)});
      steps_.push_back({mock::core::StepKind::Close});
      in_.clear();
      return later([](SimConnection& c) { c.play(0); });
    }
    const auto& req = parser_.request();
    if (backend_.checks) backend_.checks->push_back(fmt::format("{} {}", req.method, req.target));
    mock::core::Decision d;
    backend_.model->on_request(req, sched_.now(), d);
    if (!d.prepared.empty()) {
      steps_.push_back({mock::core::StepKind::Send, std::string(d.prepared)});
      if (d.prepared_closes) steps_.push_back({mock::core::StepKind::Close});
    } else {
      steps_ = std::move(d.plan.steps);
      if (!d.plan.keep_alive) steps_.push_back({mock::core::StepKind::Close});
    }
    in_.erase(0, r.consumed);  // the views into it are no longer needed
    later([](SimConnection& c) { c.play(0); });
  }

  // Plays the write plan from step `i` on. Any event may end the check and destroy this
  // connection: `alive` says whether it still exists.
  void play(std::size_t i) {
    const auto alive = alive_;
    for (; i < steps_.size() && events_; ++i) {
      const auto& s = steps_[i];
      switch (s.kind) {
        case mock::core::StepKind::Send:
          events_->on_data(s.bytes);
          if (!*alive) return;
          break;
        case mock::core::StepKind::Pause: return after(s.pause, [i](SimConnection& c) { c.play(i + 1); });
        case mock::core::StepKind::Pieces: return play_pieces(i, 0);
        case mock::core::StepKind::Close: return closed();
        case mock::core::StepKind::Reset: return error("Connection reset by peer");
        case mock::core::StepKind::Hold: return;
      }
    }
    if (!events_) return;
    answering_ = false;  // kept alive: the next request
    next_request();
  }
  void play_pieces(std::size_t i, std::size_t piece) {
    const auto& s = steps_[i];
    std::string out;
    mock::core::piece_write(s, piece, out);
    const auto alive = alive_;
    events_->on_data(out);
    if (!*alive || !events_) return;
    if (piece + 1 >= mock::core::piece_writes(s)) return play(i + 1);
    after(s.pause, [i, piece](SimConnection& c) { c.play_pieces(i, piece + 1); });
  }

  void error(std::string_view text) {
    auto* e = std::exchange(events_, nullptr);
    e->on_error(text);
  }
  void closed() {
    auto* e = std::exchange(events_, nullptr);
    e->on_peer_closed();
  }

  Scheduler& sched_;
  SimBackend& backend_;
  ProbeEvents* events_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::vector<std::unique_ptr<lb::core::Timer>> timers_;
  std::string in_;
  mock::core::RequestParser parser_;
  bool holding_ = false;
  bool unread_ = false;  // holding without reading: the request stays in the socket
  bool answering_ = false;
  std::vector<mock::core::Step> steps_;
};

class SimProber final : public lb::core::Prober {
 public:
  SimProber(Scheduler& s, std::map<int, SimBackend*> by_port) : sched_(s), by_port_(std::move(by_port)) {}
  std::unique_ptr<ProbeConnection> connect(const ProbeTarget& target, ProbeEvents& events) override {
    const auto it = by_port_.find(target.port);
    SimBackend& b = it != by_port_.end() && it->second->listens_at(target.host) ? *it->second : nobody_;
    auto c = std::make_unique<SimConnection>(sched_, b, events);
    c->start();
    return c;
  }

 private:
  Scheduler& sched_;
  std::map<int, SimBackend*> by_port_;
  SimBackend nobody_{"", {}, nullptr, true};
};

// What a client of the balancer reads back from the server a request went to, in the terms the
// live worlds use: the server's name for mockserver's default "hello from NAME", else the status;
// a fault (which the balancer would turn into its own 502 or 504) as "fault:NAME".
std::string served_by(SimBackend& b, TimePoint now) {
  static constexpr std::string_view kRequest = "GET / HTTP/1.1\r\nHost: lbharness\r\nConnection: close\r\n\r\n";
  mock::core::RequestParser parser;
  parser.parse(kRequest);
  mock::core::Decision d;
  b.model->on_request(parser.request(), now, d);
  if (d.fault) return fmt::format("fault:{}", mock::core::info(*d.fault).name);
  std::string bytes(d.prepared);
  for (const auto& s : d.plan.steps)
    if (s.kind == mock::core::StepKind::Send || s.kind == mock::core::StepKind::Pieces) bytes += s.bytes;
  const auto body_at = bytes.find("\r\n\r\n");
  const auto body = body_at == std::string::npos ? std::string() : bytes.substr(body_at + 4);
  if (d.status == 200 && body.starts_with("hello from ")) return body.substr(11);
  return std::to_string(d.status);
}

}  // namespace

Trace play_sim(const Scenario& sc) {
  Trace trace;
  std::map<std::string, int> ports{{"frontend", kFrontendPort}};
  std::vector<std::unique_ptr<SimBackend>> backends;
  std::map<int, SimBackend*> by_port;
  for (std::size_t i = 0; i < sc.backends.size(); ++i) {
    const auto& spec = sc.backends[i];
    const int port = kFirstPort + static_cast<int>(i);
    ports[spec.name] = port;
    auto b = std::make_unique<SimBackend>();
    b->name = spec.name;
    b->initial.name = spec.name;
    b->initial.listen = {"127.0.0.1", static_cast<std::uint16_t>(port)};
    b->initial.rules = parse_rules(spec.name, spec.rules, trace.errors);
    if (spec.fault) b->initial.fault = parse_fault(spec.name, *spec.fault, trace.errors);
    b->checks = &trace.checks[spec.name];
    by_port[port] = b.get();
    backends.push_back(std::move(b));
  }
  mock::core::DnsSpec dns;
  if (sc.dns) {
    ports["dns"] = kDnsPort;
    dns = parse_dns_table(sc.dns->records, sc.dns->faults, ports, trace.errors);
  }
  const auto parsed = lb::core::parse_config(
      render_config(sc.config, ports, {{"api", "/lbharness-sim/api.sock"}, {"state", std::string(kStateFile)}}),
      sc.file + " (config)");
  for (const auto& d : parsed.diagnostics)
    if (d.level == lb::core::Diagnostic::Level::Alert) trace.errors.push_back(lb::core::format_diagnostic(d));
  if (!trace.errors.empty()) return trace;
  // The engine and the traffic side see addresses; resolution works on the names.
  const lb::core::Config config = lb::core::with_start_addresses(parsed.config);

  lb::core::SimScheduler sched;
  for (auto& b : backends) b->model = std::make_unique<mock::core::Listener>(b->initial, sched.now());
  SimProber prober(sched, by_port);
  SimDns nameservers(sched, dns);
  // The state files reload steps saved, by path, for the next balancer to read.
  std::map<std::string, std::string> state_files;
  // A balancer process: started at the beginning, and again at each reload, from the
  // configuration and the state file it loads, as lb's runtime starts one.
  auto start_balancer = [&]() {
    auto bal = std::make_unique<SimBalancer>(config);
    SimBalancer* self = bal.get();
    bal->engine = std::make_unique<lb::core::CheckEngine>(
        config, sched, prober,
        [&trace, &config, self](const lb::core::HealthEvent& e) {
          self->routing.follow(e, *self->engine);
          if (e.kind == lb::core::HealthEvent::Kind::CheckFinished) {
            const auto& px = config.proxies[e.key.proxy];
            trace.check_marks.push_back({std::chrono::duration_cast<Ms>(e.at - TimePoint{}),
                                         px.name + "/" + px.servers[e.key.server].name,
                                         std::string(lb::core::info(e.result.status).tag),
                                         e.result.verdict() == lb::core::CheckVerdict::Passed ||
                                             e.result.verdict() == lb::core::CheckVerdict::ConditionallyPassed,
                                         lb::core::format_reason(e.result)});
          }
          if (self->resolution) self->resolution->on_health_event(e);
          if (!e.line) return;
          if (auto ev = parse_event(e.line->text)) {
            ev->at = std::chrono::duration_cast<Ms>(e.at - TimePoint{});
            trace.events.push_back(std::move(*ev));
          }
        },
        [rng = std::mt19937_64(1)]() mutable { return std::uniform_real_distribution<double>(0.0, 1.0)(rng); },
        [self](lb::core::ServerKey key) { return self->routing.load(key); });
    lb::core::start_in_maintenance(config, *bal->engine);
    lb::core::apply_server_state(
        parsed.config,
        [&state_files](const std::string& path) {
          const auto it = state_files.find(path);
          return it != state_files.end() ? lb::core::StateFileText{it->second, {}}
                                         : lb::core::StateFileText{std::nullopt, "No such file or directory"};
        },
        *bal->engine, bal->routing, [](const std::string&) {});
    bal->resolution = std::make_unique<lb::core::ServerResolution>(
        parsed.config, lb::core::start_addresses(parsed.config), sched, nameservers,
        [&trace, &sched, self](const lb::core::ResolutionEvent& e) {
          lb::core::apply_resolution_event(e, *self->engine, self->routing);
          if (!e.line) return;
          if (auto ev = parse_event(e.line->text)) {
            ev->at = std::chrono::duration_cast<Ms>(sched.now() - TimePoint{});
            trace.events.push_back(std::move(*ev));
          }
        },
        [id = std::uint16_t{0}]() mutable { return ++id; });
    nameservers.resolution = bal->resolution.get();
    bal->api = std::make_unique<lb::core::RuntimeApi>(parsed.config, *bal->engine, bal->routing, sched);
    bal->engine->start();
    bal->resolution->start();
    return bal;
  };

  std::optional<std::size_t> frontend;
  for (std::size_t i = 0; i < config.proxies.size() && !frontend; ++i)
    if (config.proxies[i].has_frontend_role()) frontend = i;
  auto bal = start_balancer();
  const auto backend = frontend ? bal->routing.backend_of(*frontend) : std::nullopt;

  // The steps in time order; a rate step is one action per request it sends.
  struct Action {
    Ms at;
    const Step* step;
  };
  std::vector<Action> actions;
  for (const auto& s : sc.timeline) {
    if (s.rate > 0)
      for (const auto offset : s.request_offsets()) actions.push_back({s.at + offset, &s});
    else
      actions.push_back({s.at, &s});
  }
  std::stable_sort(actions.begin(), actions.end(), [](const Action& a, const Action& b) { return a.at < b.at; });
  for (const auto& action : actions) {
    const Step* st = action.step;
    // A step lands before the checks due at its instant, as it does against real balancers,
    // whose timers fire a millisecond or two after they are due (haproxy's poller, and lb's).
    sched.run_until(TimePoint{action.at} - Ms{1});
    if (st->sends_requests()) {
      auto& went = trace.routing[st->at];
      const auto& be_cfg = backend ? config.proxies[*backend] : config.proxies.front();
      // Concurrent requests all hold their server until the last is routed (leastconn sees them).
      std::vector<lb::core::ServerKey> held;
      const int count = st->rate > 0 ? 1 : st->requests;
      for (int i = 0; i < count; ++i) {
        const auto pick = backend ? bal->routing.pick(*backend) : lb::core::Backends::Pick{};
        if (!pick.server) {
          went.push_back("503");
          continue;
        }
        // The connect, its retries and redispatches, as the proxy makes them.
        lb::core::ServerKey key{*backend, *pick.server};
        bal->routing.request_started(key);
        std::string outcome = "503";
        for (int retries = 0;;) {
          const auto it = by_port.find(bal->routing.port(key));
          SimBackend* b = it == by_port.end() ? nullptr : it->second;
          const bool there = b && !b->killed && b->listens_at(bal->routing.address(key));
          const auto mode = there ? b->model->mode_at(sched.now()) : mock::core::Mode::Refuse;
          if (mode == mock::core::Mode::Serve || mode == mock::core::Mode::SlowAccept) {
            outcome = mode == mock::core::Mode::Serve ? served_by(*b, sched.now()) : "fault:slow-accept";
            if (mode == mock::core::Mode::Serve && b->checks) b->checks->push_back("GET /");  // as the live journal has it
            break;
          }
          if (retries >= be_cfg.retries) break;
          ++retries;
          if (lb::core::redispatch_on_retry(be_cfg, bal->routing, key, retries))
            if (const auto other = bal->routing.pick(key.proxy).server) {
              bal->routing.request_finished(key);
              key.server = *other;
              bal->routing.request_started(key);
            }
        }
        if (st->concurrent)
          held.push_back(key);
        else
          bal->routing.request_finished(key);
        went.push_back(outcome);
      }
      for (const auto& key : held) bal->routing.request_finished(key);
      continue;
    }
    if (st->api) {
      // One connection, the commands on their own lines, answered as over the socket.
      lb::core::cli::Connection conn(lb::core::cli::Level::Admin, bal->api->handler());
      std::string bytes;
      for (const auto& c : *st->api) bytes += c + "\n";
      trace.api.push_back({st->at, *st->api, conn.feed(bytes)});
      continue;
    }
    if (st->get) {
      // The frontend's own services answer as lb's proxy hands them the request.
      PageFetch page{st->at, *st->get, 404, {}};
      if (frontend) {
        const auto& fe = parsed.config.proxies[*frontend];
        const lb::core::stats::Source source{parsed.config, *bal->engine, bal->routing, sched.now(), 0, nullptr, nullptr};
        const lb::core::stats::PageRequest req{"GET", *st->get, std::nullopt, "", true, false, true};
        const auto service = lb::core::stats::local_service(fe, "GET", *st->get);
        if (service != lb::core::stats::Service::None) {
          const auto a = service == lb::core::stats::Service::Prometheus ? lb::core::stats::prometheus(req, source)
                                                                         : lb::core::stats::stats_page(fe, req, source, *bal->engine);
          page.status = a.status;
          const auto body = a.bytes.find("\r\n\r\n");
          page.body = body == std::string::npos ? std::string() : a.bytes.substr(body + 4);
        }
      }
      trace.pages.push_back(std::move(page));
      continue;
    }
    if (st->reload) {
      if (st->save_state) {
        lb::core::cli::Connection conn(lb::core::cli::Level::Admin, bal->api->handler());
        state_files[std::string(kStateFile)] = conn.feed("show servers state\n");
      }
      // The old process stops checking; the new one starts from the configuration (and the file).
      bal->engine->stop();
      bal = start_balancer();
      continue;
    }
    if (st->dns_step()) {
      const auto replaced = parse_dns_table(st->dns_records.value_or(std::vector<std::string>{}),
                                            st->dns_faults.value_or(std::vector<std::string>{}), ports, trace.errors);
      if (st->dns_records) dns.records = replaced.records;
      if (st->dns_faults) dns.faults = replaced.faults;
      continue;
    }
    auto it = std::find_if(backends.begin(), backends.end(), [&](const auto& b) { return b->name == st->backend; });
    if (it == backends.end()) continue;  // the loader rejects unknown backends
    SimBackend& b = **it;
    if (st->rules) b.model->set_rules(parse_rules(b.name, *st->rules, trace.errors));
    if (st->fault) b.model->set_fault(parse_fault(b.name, *st->fault, trace.errors));
    if (st->kill) {
      b.killed = true;
      for (auto* c : std::vector<SimConnection*>(b.open.begin(), b.open.end())) c->process_died();
    }
    if (st->move_to) b.moved_to = *st->move_to;
    if (st->restart) {  // a new process: the behaviour it was started with
      b.killed = false;
      b.model = std::make_unique<mock::core::Listener>(b.initial, sched.now());
    }
  }
  sched.run_until(TimePoint{sc.duration});
  return trace;
}

}  // namespace lbh
