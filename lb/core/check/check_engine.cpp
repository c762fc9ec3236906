#include "lb/core/check/check_engine.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "lb/core/check/check_run.hpp"

namespace lb::core {

// ----------------------------------------------------------------------------- timing rules

std::optional<ProbeTarget> check_target(const ServerConfig& server, const CheckSpec& spec) {
  ProbeTarget t{server.settings.check_addr.value_or(server.host), server.port};
  if (server.settings.check_port) t.port = *server.settings.check_port;
  if (spec.kind == CheckKind::TcpCheck && !spec.tcp_rules.empty() &&
      spec.tcp_rules.front().kind == TcpCheckRule::Kind::Connect && spec.tcp_rules.front().port)
    t.port = *spec.tcp_rules.front().port;
  if (t.port == 0) return std::nullopt;
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
    std::optional<Health> health;
    CheckStatus last_status = CheckStatus::Initializing;
    std::unique_ptr<Attempt> attempt;
    // The last finished attempt, kept until the next one starts: finish() may run inside one of
    // its callbacks, so it cannot be destroyed there (its connection is).
    std::unique_ptr<Attempt> retired;
    std::unique_ptr<Timer> deadline_timer;
    std::unique_ptr<Timer> next_timer;
    std::optional<TimePoint> next_at;
    bool maintenance = false;  // resolution maintenance (SRV_ADMF_RMAINT)

    bool disabled() const { return config->settings.disabled; }
    bool is_up() const { return !disabled() && !maintenance && (!health || health->up()); }
    bool is_usable() const { return is_up() && !(health && health->stopping()) && config->settings.weight > 0; }
  };

  Impl(const Config& c, Scheduler& s, Prober& p, HealthEventSink k, RandomSource r, ServerLoadSource l)
      : config(c), scheduler(s), prober(p), sink(std::move(k)), random(std::move(r)), load(std::move(l)) {
    if (config.global.spread_checks > 0 && !random)
      throw std::invalid_argument("CheckEngine: spread-checks needs a random source");
    index.resize(config.proxies.size());
    usable.resize(config.proxies.size());
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
        if (st.check) {
          sv->target = check_target(*sv->config, px.check);
          // A server named by an SRV record gets its port from the record, at run time.
          if (!sv->target && st.resolvers_set) sv->target = ProbeTarget{sv->config->host, 0};
          if (sv->target) {
            sv->health.emplace(st.rise, st.fall, st.disabled);
            Server* raw = sv.get();
            sv->next_timer = scheduler.make_timer([this, raw] {
              const TimePoint due = *raw->next_at;
              raw->next_at.reset();
              // A paused check keeps its beat: it wakes every `inter` and does nothing.
              if (raw->maintenance) return schedule_check(*raw, due + raw->config->settings.inter);
              start_check(*raw);
            });
            sv->deadline_timer = scheduler.make_timer([this, raw] {
              if (raw->attempt && !raw->attempt->run.done()) finish(*raw, raw->attempt->run.on_timeout());
            });
            any_check = true;
          }
        }
        if (sv->is_usable()) ++(st.backup ? usable[pi].backup : usable[pi].active);
        index[pi].push_back(sv.get());
        servers.push_back(std::move(sv));
      }
      if (any_check) compiled[pi] = compile_check(px.check);
    }
  }

  Server* find(ServerKey key) const {
    if (key.proxy >= index.size() || key.server >= index[key.proxy].size()) return nullptr;
    return index[key.proxy][key.server];
  }

  void emit(HealthEvent::Kind kind, const Server& s, const CheckResult& r, std::optional<LogLine> line = {}) {
    if (sink) sink(HealthEvent{kind, s.key, scheduler.now(), r, std::move(line)});
  }

  void schedule_check(Server& s, TimePoint when) {
    s.next_at = when;
    s.next_timer->arm_at(when);
  }

  void start_check(Server& s) {
    if (s.disabled()) return;  // maintenance pauses checks
    s.retired.reset();
    s.attempt = std::make_unique<Attempt>(*this, s);
    s.attempt->started = scheduler.now();
    emit(HealthEvent::Kind::CheckStarted, s, CheckResult{CheckStatus::Started});
    s.deadline_timer->arm_at(s.attempt->started + connect_deadline(s.config->settings, s.proxy->timeouts));
    ProbeTarget t = *s.target;
    t.delayed_ack = s.attempt->run.delayed_ack();
    s.attempt->conn = prober.connect(t, *s.attempt);
  }

  void finish(Server& s, CheckResult r) {
    s.retired = std::move(s.attempt);
    s.retired->conn.reset();  // closes the connection now, as HAProxy closes a finished check
    s.deadline_timer->disarm();
    r.duration = std::chrono::duration_cast<Ms>(scheduler.now() - s.retired->started);

    const auto& px = *s.proxy;
    const ServerRef ref{px.name, s.config->name, s.config->settings.backup};
    Health& h = *s.health;
    const int before = h.value();
    const bool was_stopping = h.stopping();
    const bool was_usable = s.is_usable();
    BackendCounts& counts = usable[s.key.proxy];
    const BackendCounts counts_before = counts;
    const Transition t = h.record(r.verdict(), px.check.disable_on_404);
    if (const bool now_usable = s.is_usable(); now_usable != was_usable)
      (s.config->settings.backup ? counts.backup : counts.active) += now_usable ? 1 : -1;

    std::optional<LogLine> check_line;
    if (px.log_health_checks && (r.status != s.last_status || h.value() != before))
      check_line = health_check_line(ref, r,
                                     health_display(h.value(), h.rise(), h.fall(), s.config->settings.weight == 0));
    s.last_status = r.status;
    emit(HealthEvent::Kind::CheckFinished, s, r, std::move(check_line));

    const CheckResult* reason = px.log_health_checks ? nullptr : &r;
    const BackendCounts after = counts;
    const ServerLoad sl = load ? load(s.key) : ServerLoad{};
    switch (t) {
      case Transition::WentDown:
        emit(HealthEvent::Kind::WentDown, s, r,
             server_down_line(ref, reason, after, sl.sessions_active, sl.requeued, sl.queued, was_stopping));
        if (after.active + after.backup == 0 && counts_before.active + counts_before.backup > 0)
          emit(HealthEvent::Kind::NoServerAvailable, s, r,
               no_server_available_line(px.name, px.kind == ProxyKind::Listen));
        break;
      case Transition::WentUp:
        emit(HealthEvent::Kind::WentUp, s, r, server_up_line(ref, reason, after, sl.requeued, sl.queued));
        break;
      case Transition::WentStopping:
        emit(HealthEvent::Kind::WentStopping, s, r, server_stopping_line(ref, reason, after, sl.requeued, sl.queued));
        break;
      case Transition::None:
        break;
    }
    const Ms interval = h.next_interval(interval_params(s.config->settings));
    schedule_check(s, scheduler.now() + with_spread(interval, config.global.spread_checks, random));
  }

  void enter_maintenance(Server& s, std::string_view cause, bool log) {
    if (s.maintenance) return;
    const bool was_up = s.is_up();
    const bool was_stopping = s.health && s.health->stopping();
    const bool was_usable = s.is_usable();
    BackendCounts& counts = usable[s.key.proxy];
    const BackendCounts before = counts;
    s.maintenance = true;
    if (s.attempt) {
      // The check in flight ends here; the paused beat goes on from now.
      s.retired = std::move(s.attempt);
      s.retired->conn.reset();
      s.deadline_timer->disarm();
      schedule_check(s, scheduler.now() + s.config->settings.inter);
    }
    if (s.health) s.health->enter_maintenance();
    if (was_usable) --(s.config->settings.backup ? counts.backup : counts.active);
    if (!log) return;
    const auto& px = *s.proxy;
    const ServerRef ref{px.name, s.config->name, s.config->settings.backup};
    const CheckResult none{CheckStatus::Unknown};
    if (!was_up) return emit(HealthEvent::Kind::EnteredMaintenance, s, none, server_down_to_maintenance_line(ref, cause));
    const ServerLoad sl = load ? load(s.key) : ServerLoad{};
    emit(HealthEvent::Kind::EnteredMaintenance, s, none,
         server_maintenance_line(ref, cause, counts, sl.sessions_active, sl.requeued, sl.queued, was_stopping));
    if (counts.active + counts.backup == 0 && before.active + before.backup > 0)
      emit(HealthEvent::Kind::NoServerAvailable, s, none, no_server_available_line(px.name, px.kind == ProxyKind::Listen));
  }

  void leave_maintenance(Server& s, std::string_view hostname) {
    if (!s.maintenance) return;
    s.maintenance = false;
    if (s.health) s.health->leave_maintenance();
    if (s.target && s.next_timer && !s.next_at && !s.attempt && !s.disabled())
      schedule_check(s, scheduler.now() + s.config->settings.inter);
    if (s.is_usable()) ++(s.config->settings.backup ? usable[s.key.proxy].backup : usable[s.key.proxy].active);
    const auto& px = *s.proxy;
    const ServerRef ref{px.name, s.config->name, s.config->settings.backup};
    emit(HealthEvent::Kind::LeftMaintenance, s, CheckResult{CheckStatus::Unknown},
         server_resolves_again_line(ref, hostname, s.is_up()));
  }

  const Config& config;
  Scheduler& scheduler;
  Prober& prober;
  HealthEventSink sink;
  RandomSource random;
  ServerLoadSource load;
  std::vector<std::unique_ptr<Server>> servers;
  std::vector<std::vector<Server*>> index;                       // [proxy][server]
  std::vector<BackendCounts> usable;                             // [proxy], kept current
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
      const Ms interval = h.next_interval(interval_params(sv.settings));
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

void CheckEngine::start() {
  const TimePoint now = impl_->scheduler.now();
  for (const auto& [key, delay] : initial_schedule(impl_->config)) {
    auto* s = impl_->find(key);
    if (s && !s->disabled()) impl_->schedule_check(*s, now + delay);
  }
}

bool CheckEngine::server_up(ServerKey key) const {
  const auto* s = impl_->find(key);
  return s && s->is_usable();
}

const Health* CheckEngine::health(ServerKey key) const {
  const auto* s = impl_->find(key);
  return s && s->health ? &*s->health : nullptr;
}

BackendCounts CheckEngine::counts(std::size_t proxy) const {
  return proxy < impl_->usable.size() ? impl_->usable[proxy] : BackendCounts{};
}

void CheckEngine::set_address(ServerKey key, const std::string& host, std::optional<std::uint16_t> port) {
  auto* s = impl_->find(key);
  if (!s || !s->target) return;
  if (!s->config->settings.check_addr) s->target->host = host;
  if (port && !s->config->settings.check_port) s->target->port = *port;
}

void CheckEngine::enter_maintenance(ServerKey key, std::string_view cause, bool log) {
  if (auto* s = impl_->find(key)) impl_->enter_maintenance(*s, cause, log);
}

void CheckEngine::leave_maintenance(ServerKey key, std::string_view hostname) {
  if (auto* s = impl_->find(key)) impl_->leave_maintenance(*s, hostname);
}

bool CheckEngine::in_maintenance(ServerKey key) const {
  const auto* s = impl_->find(key);
  return s && s->maintenance;
}

std::optional<TimePoint> CheckEngine::next_check_at(ServerKey key) const {
  const auto* s = impl_->find(key);
  return s ? s->next_at : std::nullopt;
}

}  // namespace lb::core
