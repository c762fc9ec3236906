#include "lb/core/check/check_engine.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "lb/core/check/check_run.hpp"
#include "lb/core/check/connect_failure.hpp"
#include "lb/core/config/values.hpp"

namespace lb::core {

// ----------------------------------------------------------------------------- timing rules

std::optional<ProbeTarget> check_target(const ServerConfig& server, const CheckSpec& spec) {
  ProbeTarget t{server.settings.check_addr.value_or(server.host), server.port};
  if (server.settings.check_port) t.port = *server.settings.check_port;
  if (spec.kind == CheckKind::TcpCheck && !spec.tcp_rules.empty() &&
      spec.tcp_rules.front().kind == TcpCheckRule::Kind::Connect && spec.tcp_rules.front().port)
    t.port = *spec.tcp_rules.front().port;
  if (t.port == 0 && !unix_address(t.host)) return std::nullopt;  // a UNIX socket needs no port
  return t;
}

Ms connect_deadline(const ServerSettings& s, const Timeouts& t) {
  if (t.check && t.connect) return std::min(s.inter, *t.connect);
  return s.inter;
}

std::optional<Ms> response_deadline(const Timeouts& t) { return t.check; }

namespace {

IntervalParams interval_params(const ServerSettings& s) { return {s.inter, s.fastinter, s.downinter}; }

Ms with_spread(Ms interval, int spread_pct, const RandomSource& random) {
  if (spread_pct <= 0 || !random) return interval;
  const auto r = interval.count() * spread_pct / 100;
  return Ms{interval.count() + r - static_cast<long>(std::floor(2.0 * static_cast<double>(r) * random()))};
}

}  // namespace

// ----------------------------------------------------------------------------- engine state

struct CheckEngine::Impl {
  struct Server;

  // One check in flight: owns the connection and the pure conversation.
  struct Attempt final : ProbeEvents {
    // disable-on-404 applies to a server that is UP, stopping included, never to a DOWN one.
    Attempt(Impl& e, Server& s) : engine(e), server(s), run(e.compiled[s.key.proxy], s.is_up()) {}
    void on_connected() override {
      if (run.done()) return;
      if (auto t = response_deadline(server.proxy->timeouts))
        server.deadline_timer->arm_at(engine.scheduler.now() + *t);
      apply(run.on_connected());
    }
    void on_data(std::string_view bytes) override {
      if (!run.done()) apply(run.on_data(bytes));
    }
    void on_peer_closed() override {
      if (!run.done()) apply(run.on_peer_closed());
    }
    void on_error(std::string_view os_error) override {
      if (!run.done()) engine.finish(server, run.on_error(os_error));
    }
    void on_connect_failed(int error, bool tcp) override {
      if (run.done()) return;
      auto failure = classify_connect_failure(error, tcp);
      if (!failure.log_reason.empty() && engine.shortage_log)
        if (auto left = engine.shortage_log(server.key, failure.log_reason); !left.empty()) failure.errno_text = std::move(left);
      engine.finish(server, run.on_connect_failed(with_errno(failure.check_info, failure.errno_text), tcp));
    }
    void on_data_then_error(std::string_view bytes, std::string_view os_error) override {
      if (!run.done()) engine.finish(server, run.on_data_then_error(bytes, os_error));
    }
    void apply(const CheckStep& step) {
      if (!step.send.empty() && conn) conn->send(step.send);
      if (step.result) return engine.finish(server, *step.result);
      if (step.reconnect) {
        // A later `tcp-check connect`: the old connection goes (allowed from inside its own
        // events), the new one gets a connect deadline of its own.
        ProbeTarget t = *server.target;
        t.port = *step.reconnect ? *step.reconnect : server.config->settings.check_port.value_or(server.config->port);
        t.delayed_ack = run.delayed_ack();
        conn.reset();
        server.deadline_timer->arm_at(engine.scheduler.now() +
                                      connect_deadline(server.config->settings, server.proxy->timeouts));
        conn = engine.prober.connect(t, *this);
      }
    }

    Impl& engine;
    Server& server;
    CheckRun run;
    std::unique_ptr<ProbeConnection> conn;
    TimePoint started;
  };

  struct Server {
    ServerKey key;
    const ProxyConfig* proxy = nullptr;
    const ServerConfig* config = nullptr;
    std::optional<ProbeTarget> target;  // nullopt: no health check runs
    std::optional<Health> health;       // every server has the counter; only checks move it
    bool check_enabled = false;
    unsigned admin = 0;
    OpState op = OpState::Running;
    int uweight = 1, iweight = 1;
    CheckResult last{CheckStatus::Initializing};
    TimePoint last_change{};
    int down_transitions = 0;
    long failed_checks = 0;
    long checks_started = 0;
    Ms downtime{0};
    std::unique_ptr<Attempt> attempt;
    // The last finished attempt, kept until the next one starts: finish() may run inside one of
    // its callbacks, so it cannot be destroyed there (its connection is).
    std::unique_ptr<Attempt> retired;
    std::unique_ptr<Timer> deadline_timer;
    std::unique_ptr<Timer> next_timer;
    std::optional<TimePoint> next_at;

    bool in_maintenance() const { return (admin & admin::kAnyMaint) != 0; }
    bool is_up() const { return !in_maintenance() && op != OpState::Stopped; }
    ServerRef ref() const { return {proxy->name, config->name, config->settings.backup}; }
    ServerStatus status() const {
      ServerStatus st;
      st.admin = admin;
      st.op = op;
      st.uweight = uweight;
      st.iweight = iweight;
      st.check_configured = target.has_value();
      st.check_enabled = check_enabled;
      st.check_running = attempt != nullptr;
      st.checks_started = checks_started;
      st.health = health->value();
      st.rise = health->rise();
      st.fall = health->fall();
      st.last_check = last;
      st.last_change = last_change;
      st.down_transitions = down_transitions;
      st.failed_checks = failed_checks;
      st.downtime = downtime;
      return st;
    }
    bool is_usable() const { return status().usable(); }
  };

  Impl(const Config& c, Scheduler& s, Prober& p, HealthEventSink k, RandomSource r, ServerLoadSource l)
      : config(c), scheduler(s), prober(p), sink(std::move(k)), random(std::move(r)), load(std::move(l)) {
    if (config.global.spread_checks > 0 && !random)
      throw std::invalid_argument("CheckEngine: spread-checks needs a random source");
    index.resize(config.proxies.size());
    compiled.resize(config.proxies.size());
    for (std::size_t pi = 0; pi < config.proxies.size(); ++pi) {
      const auto& px = config.proxies[pi];
      if (!px.has_backend_role()) continue;
      bool any_check = false;
      for (std::size_t si = 0; si < px.servers.size(); ++si) {
        auto sv = std::make_unique<Server>();
        sv->key = {pi, si};
        sv->proxy = &px;
        sv->config = &px.servers[si];
        const auto& st = sv->config->settings;
        sv->uweight = sv->iweight = st.weight;
        sv->last_change = scheduler.now();
        // `disabled`: in maintenance from the start, checks paused, DOWN.
        if (st.disabled) {
          sv->admin = admin::kForcedMaint | admin::kConfigMaint;
          sv->op = OpState::Stopped;
        }
        sv->health.emplace(st.rise, st.fall, st.disabled);
        if (st.check) {
          sv->target = check_target(*sv->config, px.check);
          // A server named by an SRV record gets its port from the record, at run time.
          if (!sv->target && st.resolvers_set) sv->target = ProbeTarget{sv->config->host, 0};
          if (sv->target) {
            sv->check_enabled = true;
            Server* raw = sv.get();
            sv->next_timer = scheduler.make_timer([this, raw] {
              const TimePoint due = *raw->next_at;
              raw->next_at.reset();
              // A paused or disabled check keeps its beat: it wakes every `inter` and does nothing.
              if (raw->in_maintenance() || !raw->check_enabled)
                return schedule_check(*raw, due + raw->config->settings.inter);
              start_check(*raw);
            });
            sv->deadline_timer = scheduler.make_timer([this, raw] {
              if (raw->attempt && !raw->attempt->run.done()) finish(*raw, raw->attempt->run.on_timeout());
            });
            any_check = true;
          }
        }
        index[pi].push_back(sv.get());
        servers.push_back(std::move(sv));
      }
      if (any_check) compiled[pi] = compile_check(px.check);
    }
    backends_state.assign(config.proxies.size(), BackendStatus{0, scheduler.now(), Ms{0}, false});
  }

  Server* find(ServerKey key) const {
    if (key.proxy >= index.size() || key.server >= index[key.proxy].size()) return nullptr;
    return index[key.proxy][key.server];
  }

  // Usable servers of a backend, as HAProxy's recount_servers counts them.
  BackendCounts counts(std::size_t proxy) const {
    BackendCounts c;
    if (proxy >= index.size()) return c;
    for (const auto* s : index[proxy])
      if (s->is_usable()) ++(s->config->settings.backup ? c.backup : c.active);
    return c;
  }
  static int total(BackendCounts c) { return c.active + c.backup; }

  void emit(HealthEvent::Kind kind, const Server& s, const CheckResult& r, std::optional<LogLine> line = {}) {
    if (sink) sink(HealthEvent{kind, s.key, scheduler.now(), r, std::move(line)});
  }

  // HAProxy's set_backend_down: the backend has just lost its last usable server; or, the other
  // way, its first server is back (the proxy's last_change and down_time, as srv_update_status
  // keeps them).
  void backend_down_check(const Server& s, int before, BackendCounts after, const CheckResult& r, bool log = true) {
    log = log && !starting;
    BackendStatus& b = backends_state[s.key.proxy];
    if (before == 0 && total(after) > 0 && b.down) {
      b.downtime += std::chrono::duration_cast<Ms>(scheduler.now() - b.last_change);
      b.last_change = scheduler.now();
      b.down = false;
    }
    if (before == 0 || total(after) != 0) return;
    ++b.down_transitions;
    b.last_change = scheduler.now();
    b.down = true;
    if (log) emit(HealthEvent::Kind::NoServerAvailable, s, r,
                  no_server_available_line(s.proxy->name, s.proxy->kind == ProxyKind::Listen));
  }

  // HAProxy's srv_update_status ends every update of a drained server (not in maintenance)
  // whose drain flag did not change with this line.
  void note_drain(const Server& s) {
    if (s.in_maintenance() || !(s.admin & admin::kForcedDrain)) return;
    emit(HealthEvent::Kind::StateNotice, s, CheckResult{CheckStatus::Unknown}, server_remains_in_drain_line(s.ref()));
  }

  void schedule_check(Server& s, TimePoint when) {
    if (stopped) return;
    s.next_at = when;
    s.next_timer->arm_at(when);
  }

  void start_check(Server& s) {
    s.retired.reset();
    s.attempt = std::make_unique<Attempt>(*this, s);
    s.attempt->started = scheduler.now();
    ++s.checks_started;
    emit(HealthEvent::Kind::CheckStarted, s, CheckResult{CheckStatus::Started});
    s.deadline_timer->arm_at(s.attempt->started + connect_deadline(s.config->settings, s.proxy->timeouts));
    ProbeTarget t = *s.target;
    t.delayed_ack = s.attempt->run.delayed_ack();
    s.attempt->conn = prober.connect(t, *s.attempt);
  }

  // The check in flight ends here (maintenance); the paused beat goes on from now.
  void abandon_check(Server& s) {
    if (!s.attempt) return;
    s.retired = std::move(s.attempt);
    s.retired->conn.reset();
    s.deadline_timer->disarm();
    schedule_check(s, scheduler.now() + s.config->settings.inter);
  }

  void finish(Server& s, CheckResult r) {
    s.retired = std::move(s.attempt);
    s.retired->conn.reset();  // closes the connection now, as HAProxy closes a finished check
    s.deadline_timer->disarm();
    r.duration = std::chrono::duration_cast<Ms>(scheduler.now() - s.retired->started);

    const auto& px = *s.proxy;
    Health& h = *s.health;
    const int before = h.value();
    if (r.verdict() == CheckVerdict::Failed && before > 0) ++s.failed_checks;
    const CheckNotify notify = h.record(r.verdict(), px.check.disable_on_404);

    std::optional<LogLine> check_line;
    if (px.log_health_checks && (r.status != s.last.status || h.value() != before))
      check_line = health_check_line(s.ref(), r, health_display(h.value(), h.rise(), h.fall(), s.uweight == 0));
    s.last = r;
    emit(HealthEvent::Kind::CheckFinished, s, r, std::move(check_line));

    // With option log-health-checks the reason was in the check line already.
    const StateCause cause = px.log_health_checks ? StateCause{} : StateCause{&r};
    if (!s.in_maintenance()) switch (notify) {
        case CheckNotify::Failure:
          change_op(s, OpState::Stopped, r, cause);
          break;
        case CheckNotify::Success:
          change_op(s, OpState::Running, r, cause);
          break;
        case CheckNotify::Stopping:
          change_op(s, OpState::Stopping, r, cause);
          break;
        case CheckNotify::None:
          break;
      }
    const Ms interval = h.next_interval(interval_params(s.config->settings), s.op == OpState::Stopped);
    schedule_check(s, scheduler.now() + with_spread(interval, config.global.spread_checks, random));
  }

  // --- HAProxy's srv_set_stopped / srv_set_running / srv_set_stopping (src/server.c) ----------

  // The operational part of srv_update_status: a new state, its line, the backend's counts.
  // Nothing changes in maintenance or when the server is already in `to`.
  void change_op(Server& s, OpState to, const CheckResult& r, StateCause cause) {
    if (s.in_maintenance() || s.op == to) return;
    const bool was_stopping = s.op == OpState::Stopping || (s.admin & admin::kAnyDrain);
    const int before = total(counts(s.key.proxy));
    if (s.op == OpState::Stopped && (to == OpState::Running || to == OpState::Starting))
      s.downtime += std::chrono::duration_cast<Ms>(scheduler.now() - s.last_change);
    if (to == OpState::Stopped) ++s.down_transitions;
    s.op = to;
    s.last_change = scheduler.now();
    const BackendCounts after = counts(s.key.proxy);
    const ServerLoad sl = load ? load(s.key) : ServerLoad{};
    switch (to) {
      case OpState::Stopped:
        emit(HealthEvent::Kind::WentDown, s, r,
             server_down_line(s.ref(), cause, after, sl.sessions_active, sl.requeued, sl.queued, was_stopping));
        break;
      case OpState::Stopping:
        emit(HealthEvent::Kind::WentStopping, s, r,
             server_stopping_line(s.ref(), cause, after, sl.requeued, sl.queued));
        break;
      case OpState::Running:
      case OpState::Starting:
        emit(HealthEvent::Kind::WentUp, s, r, server_up_line(s.ref(), cause, after, sl.requeued, sl.queued));
        break;
    }
    backend_down_check(s, before, after, r);
    note_drain(s);
  }

  // --- HAProxy's srv_set_admin_flag / srv_clr_admin_flag, through srv_update_status -----------

  void set_admin(Server& s, unsigned flag, std::string_view cause, bool log) {
    if (!flag || (s.admin & flag) == flag) return;
    const unsigned before_admin = s.admin;
    const bool was_stopping = s.op == OpState::Stopping || (before_admin & admin::kAnyDrain);
    const int before = total(counts(s.key.proxy));
    s.admin |= flag;
    const CheckResult none{CheckStatus::Unknown};
    if ((flag & admin::kAnyMaint) && !(before_admin & admin::kAnyMaint)) {
      abandon_check(s);
      if (s.check_enabled) s.health->set(0);
      if (s.op == OpState::Stopped)
        return emit(HealthEvent::Kind::EnteredMaintenance, s, none,
                    log ? std::optional(server_down_to_maintenance_line(s.ref(), cause)) : std::nullopt);
      s.health->set(0);
      s.op = OpState::Stopped;
      s.last_change = scheduler.now();
      ++s.down_transitions;
      const BackendCounts after = counts(s.key.proxy);
      const ServerLoad sl = load ? load(s.key) : ServerLoad{};
      emit(HealthEvent::Kind::EnteredMaintenance, s, none,
           log ? std::optional(server_maintenance_line(s.ref(), cause, after, sl.sessions_active, sl.requeued,
                                                       sl.queued, was_stopping))
               : std::nullopt);
      return backend_down_check(s, before, after, none, log);
    }
    if ((flag & admin::kAnyDrain) && !(before_admin & (admin::kAnyMaint | admin::kAnyDrain))) {
      s.last_change = scheduler.now();
      const BackendCounts after = counts(s.key.proxy);
      const ServerLoad sl = load ? load(s.key) : ServerLoad{};
      emit(HealthEvent::Kind::EnteredDrain, s, none,
           log ? std::optional(server_drain_line(s.ref(), cause, after, s.op == OpState::Stopped, sl.sessions_active,
                                                 sl.requeued, sl.queued))
               : std::nullopt);
      backend_down_check(s, before, after, none, log);
    }
  }

  void clear_admin(Server& s, unsigned flag, std::string_view hostname) {
    if (!flag || !(s.admin & flag)) return;
    s.admin &= ~flag;
    const CheckResult none{CheckStatus::Unknown};
    if (flag & admin::kAnyMaint) {
      if (s.in_maintenance()) {
        // Another maintenance flag stays: HAProxy says so, and nothing else changes.
        if (flag & admin::kForcedMaint)
          emit(HealthEvent::Kind::StateNotice, s, none, server_remains_in_maintenance_line(s.ref()));
        else if (flag & admin::kResolutionMaint)
          emit(HealthEvent::Kind::StateNotice, s, none,
               server_resolves_but_remains_in_maintenance_line(s.ref(), hostname));
        return;
      }
      if (s.check_enabled) s.health->set(s.health->rise());  // start OK but check immediately
      if (s.target && s.next_timer && !s.next_at && !s.attempt)
        schedule_check(s, scheduler.now() + s.config->settings.inter);
      if (!s.check_enabled || s.health->passing()) {
        s.op = OpState::Running;
        s.last_change = scheduler.now();
      }
      const bool up = s.op != OpState::Stopped;
      const bool drain = s.admin & admin::kAnyDrain;
      emit(HealthEvent::Kind::LeftMaintenance, s, none,
           (flag & admin::kResolutionMaint) ? server_resolves_again_line(s.ref(), hostname, up, drain)
                                            : server_leaving_maintenance_line(s.ref(), up, drain));
      return note_drain(s);
    }
    if ((flag & admin::kAnyDrain) && !s.in_maintenance() && !(s.admin & admin::kAnyDrain)) {
      // HAProxy counts the drained time as down time.
      s.downtime += std::chrono::duration_cast<Ms>(scheduler.now() - s.last_change);
      s.last_change = scheduler.now();
      emit(HealthEvent::Kind::LeftDrain, s, none, server_leaving_drain_line(s.ref(), s.op != OpState::Stopped));
    }
  }

  void force_state(Server& s, OpState state, std::string_view reason) {
    const CheckResult none{CheckStatus::Unknown};
    switch (state) {
      case OpState::Running:
      case OpState::Starting:
        s.health->set(s.health->max());
        return change_op(s, OpState::Running, none, StateCause{reason});
      case OpState::Stopping:
        s.health->set(s.health->max());
        return change_op(s, OpState::Stopping, none, StateCause{reason});
      case OpState::Stopped:
        s.health->set(0);
        return change_op(s, OpState::Stopped, none, StateCause{reason});
    }
  }

  // server_recalc_eweight + srv_update_status: run even when the weight stays the same.
  void set_weight(Server& s, int weight) {
    const int before = total(counts(s.key.proxy));
    const bool changed = weight != s.uweight;
    s.uweight = weight;
    const CheckResult none{CheckStatus::Unknown};
    if (changed) emit(HealthEvent::Kind::WeightChanged, s, none);
    backend_down_check(s, before, counts(s.key.proxy), none);
    note_drain(s);
  }

  const Config& config;
  Scheduler& scheduler;
  Prober& prober;
  HealthEventSink sink;
  ConnectShortageLog shortage_log;
  RandomSource random;
  ServerLoadSource load;
  std::vector<std::unique_ptr<Server>> servers;
  bool stopped = false;  // stop(): no check is scheduled any more
  std::vector<std::vector<Server*>> index;                       // [proxy][server]
  std::vector<BackendStatus> backends_state;                     // [proxy]
  bool starting = false;  // applying saved state: HAProxy's MODE_STARTING keeps some lines quiet
  std::vector<std::shared_ptr<const CompiledCheck>> compiled;    // [proxy], once per proxy
};

// ----------------------------------------------------------------------------- public API

CheckEngine::CheckEngine(const Config& config, Scheduler& scheduler, Prober& prober, HealthEventSink sink,
                         RandomSource random, ServerLoadSource load)
    : impl_(std::make_unique<Impl>(config, scheduler, prober, std::move(sink), std::move(random), std::move(load))) {}

CheckEngine::~CheckEngine() = default;

std::vector<std::pair<ServerKey, Ms>> CheckEngine::initial_schedule(const Config& config) {
  struct Checked {
    ServerKey key;
    Ms interval;
  };
  std::vector<Checked> checks;
  Ms min_inter{0};
  for (std::size_t pi = 0; pi < config.proxies.size(); ++pi) {
    const auto& px = config.proxies[pi];
    if (!px.has_backend_role()) continue;
    for (std::size_t si = 0; si < px.servers.size(); ++si) {
      const auto& sv = px.servers[si];
      if (!sv.settings.check || !check_target(sv, px.check)) continue;
      const Health h(sv.settings.rise, sv.settings.fall, sv.settings.disabled);
      const Ms interval = h.next_interval(interval_params(sv.settings), sv.settings.disabled);
      // Checks faster than one second start on their own and do not dictate the spread.
      if (interval >= Ms{1000} && (min_inter.count() == 0 || interval < min_inter)) min_inter = interval;
      checks.push_back({{pi, si}, interval});
    }
  }
  std::vector<std::pair<ServerKey, Ms>> out;
  const auto n = static_cast<long>(checks.size());
  for (long pos = 0; pos < n; ++pos) {
    const auto& c = checks[static_cast<std::size_t>(pos)];
    // HAProxy 2.6 spreads first checks by position only; spread-checks jitter starts later.
    Ms m = std::max(min_inter, c.interval);
    if (config.global.max_spread_checks && m > *config.global.max_spread_checks) m = *config.global.max_spread_checks;
    out.emplace_back(c.key, Ms{m.count() * pos / n});
  }
  return out;
}

void CheckEngine::set_connect_shortage_log(ConnectShortageLog log) { impl_->shortage_log = std::move(log); }

void CheckEngine::start() {
  const TimePoint now = impl_->scheduler.now();
  for (const auto& [key, delay] : initial_schedule(impl_->config)) {
    // A disabled server's check beats too, paused, as HAProxy starts every configured check.
    if (auto* s = impl_->find(key)) impl_->schedule_check(*s, now + delay);
  }
}

void CheckEngine::stop() {
  impl_->stopped = true;
  for (auto& s : impl_->servers) {
    if (s->attempt) {
      s->retired = std::move(s->attempt);
      s->retired->conn.reset();
    }
    if (s->deadline_timer) s->deadline_timer->disarm();
    if (s->next_timer) s->next_timer->disarm();
    s->next_at.reset();
  }
}

bool CheckEngine::server_up(ServerKey key) const {
  const auto* s = impl_->find(key);
  return s && s->is_usable();
}

const Health* CheckEngine::health(ServerKey key) const {
  const auto* s = impl_->find(key);
  return s && s->target ? &*s->health : nullptr;
}

BackendCounts CheckEngine::counts(std::size_t proxy) const { return impl_->counts(proxy); }

BackendStatus CheckEngine::backend_status(std::size_t proxy) const {
  return proxy < impl_->backends_state.size() ? impl_->backends_state[proxy] : BackendStatus{};
}

ServerStatus CheckEngine::status(ServerKey key) const {
  const auto* s = impl_->find(key);
  return s ? s->status() : ServerStatus{};
}

void CheckEngine::set_address(ServerKey key, const std::string& host, std::optional<std::uint16_t> port) {
  auto* s = impl_->find(key);
  if (!s || !s->target) return;
  if (!s->config->settings.check_addr) s->target->host = host;
  if (port && !s->config->settings.check_port) s->target->port = *port;
}

void CheckEngine::set_admin(ServerKey key, unsigned flag, std::string_view cause, bool log) {
  if (auto* s = impl_->find(key)) impl_->set_admin(*s, flag, cause, log);
}

void CheckEngine::clear_admin(ServerKey key, unsigned flag, std::string_view hostname) {
  if (auto* s = impl_->find(key)) impl_->clear_admin(*s, flag, hostname);
}

void CheckEngine::force_state(ServerKey key, OpState state, std::string_view reason) {
  if (auto* s = impl_->find(key)) impl_->force_state(*s, state, reason);
}

void CheckEngine::set_weight(ServerKey key, int weight) {
  if (auto* s = impl_->find(key)) impl_->set_weight(*s, weight);
}

bool CheckEngine::set_check_enabled(ServerKey key, bool enabled) {
  auto* s = impl_->find(key);
  if (!s || !s->target) return false;
  s->check_enabled = enabled;
  return true;
}

void CheckEngine::restore(ServerKey key, const SavedState& saved, std::string_view reason) {
  auto* sp = impl_->find(key);
  if (!sp) return;
  auto& s = *sp;
  auto& h = *s.health;
  impl_->starting = true;
  const CheckResult none{CheckStatus::Unknown};
  const StateCause cause{reason};
  h.set(saved.check_health);
  switch (saved.op) {
    case OpState::Stopped:
      h.set(0);
      impl_->change_op(s, OpState::Stopped, none, cause);
      break;
    case OpState::Starting:
      if (h.rise() == 1) {
        h.set(h.max());
        impl_->change_op(s, OpState::Running, none, cause);
      } else {
        h.set(std::clamp(saved.check_health, 1, h.rise() - 1));
      }
      break;
    case OpState::Stopping:
      if (h.fall() == 1) {
        h.set(0);
        impl_->change_op(s, OpState::Stopped, none, cause);
      } else {
        h.set(std::clamp(saved.check_health, h.rise(), h.max() - 1));
        impl_->change_op(s, OpState::Stopping, none, cause);
      }
      break;
    case OpState::Running:
      h.set(h.max());
      impl_->change_op(s, OpState::Running, none, cause);
      break;
  }
  // The configuration's `disabled` wins over the file's; otherwise the file's maintenance, then
  // its drain (dropped when the server was saved at weight 0 and is configured heavier now).
  const bool config_disabled = s.config->settings.disabled;
  if (config_disabled == bool(saved.admin & admin::kConfigMaint)) {
    if (saved.admin & admin::kForcedMaint) impl_->set_admin(s, admin::kForcedMaint, "", false);
    if (!s.in_maintenance() && (saved.admin & admin::kForcedDrain) && !(saved.iweight == 0 && s.iweight > 0))
      impl_->set_admin(s, admin::kForcedDrain, "", false);
  }
  impl_->set_weight(s, saved.iweight == s.iweight ? saved.uweight : s.uweight);
  s.last_change = impl_->scheduler.now() - std::chrono::seconds(saved.since_change_s);
  s.last.status = saved.check_status;
  if (s.target && (saved.check_state & 0x02) && !(saved.check_state & 0x04)) s.check_enabled = false;
  impl_->starting = false;
}

void CheckEngine::clear_counters() {
  for (auto& s : impl_->servers) {
    s->failed_checks = 0;
    s->down_transitions = 0;
  }
}

std::optional<TimePoint> CheckEngine::next_check_at(ServerKey key) const {
  const auto* s = impl_->find(key);
  return s ? s->next_at : std::nullopt;
}

}  // namespace lb::core
