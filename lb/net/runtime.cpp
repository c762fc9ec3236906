#include "lb/net/runtime.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <fmt/format.h>

#include <csignal>
#include <cstdio>
#include <random>
#include <vector>

#include "lb/core/api/runtime_api.hpp"
#include "lb/core/check/check_engine.hpp"
#include "lb/core/config/limits.hpp"
#include "lb/core/route/backends.hpp"
#include "lb/core/state/server_state.hpp"
#include "lb/core/stats/page.hpp"
#include "lb/core/dns/resolution.hpp"
#include "lb/net/asio_scheduler.hpp"
#include "lb/net/dns_transport.hpp"
#include "lb/net/listen_sockets.hpp"
#include "lb/net/proxy.hpp"
#include "lb/net/log_sink.hpp"
#include "lb/net/startup.hpp"
#include "lb/net/net_prober.hpp"
#include "lb/net/resolver.hpp"
#include "lb/net/stats_socket.hpp"

namespace lb::net {
namespace asio = boost::asio;

namespace {

// The engine and the proxy only see address literals: each server starts at the address
// `init-addr` gave it when the configuration was read (none: "", in maintenance), and run-time
// resolution moves it from there.
core::Config with_resolved_addresses(const core::Config& parsed) {
  core::Config config = core::with_start_addresses(parsed);
  for (auto& p : config.proxies)
    for (auto& s : p.servers) {
      if (s.settings.check_addr)
        if (auto a = resolve_host(*s.settings.check_addr)) s.settings.check_addr = *a;
    }
  return config;
}

// The descriptor limit as the process started, as connection_limits() reads it.
long fd_limit(const rlimit& r) { return r.rlim_cur == RLIM_INFINITY ? 1L << 20 : static_cast<long>(r.rlim_cur); }

// HAProxy sets the process's descriptor limit to the maxsock its maxconn needs, and refuses to
// start when the hard limit does not allow it (strict-limits, the 2.6 default).
bool set_fd_limit(const rlimit& r, const core::ConnectionLimits& limits, LogSink& log) {
  rlimit wanted = r;
  wanted.rlim_cur = static_cast<rlim_t>(limits.maxsock);
  if (wanted.rlim_cur > r.rlim_max || ::setrlimit(RLIMIT_NOFILE, &wanted) != 0) {
    log.process(core::Severity::Alert, fmt::format("[haproxy.main()] Cannot raise FD limit to {}, limit is {}.",
                                                   limits.maxsock, static_cast<long>(r.rlim_cur)));
    return false;
  }
  return true;
}

// "Proxy X stopped (cumulated conns: ...)." for every proxy, in HAProxy's order: those whose
// listeners stop (frontends, then the stats socket's GLOBAL, which a worker of a master does not
// report), then the others, then HAProxy's internal HTTP client, which every haproxy process has.
void log_stopped_proxies(const core::Config& config, const Proxy& proxy, const StatsSockets& stats, bool with_global,
                         LogSink& log) {
  for (std::size_t i = 0; i < config.proxies.size(); ++i)
    if (config.proxies[i].has_frontend_role()) {
      const auto [fe, be] = proxy.cumulated(i);
      log.server_state(i, core::proxy_stopped_line(config.proxies[i].name, fe, be));
    }
  if (with_global && !config.global.stats_sockets.empty())
    log.foreground_only(core::proxy_stopped_line("GLOBAL", stats.accepted(), stats.accepted()));
  for (std::size_t i = 0; i < config.proxies.size(); ++i)
    if (!config.proxies[i].has_frontend_role()) {
      const auto [fe, be] = proxy.cumulated(i);
      log.server_state(i, core::proxy_stopped_line(config.proxies[i].name, fe, be));
    }
  log.foreground_only(core::proxy_stopped_line("<HTTPCLIENT>", 0, 0));
}

}  // namespace

int run(const core::Config& parsed, const RuntimeOptions& options) {
  const core::Config config = with_resolved_addresses(parsed);
  std::signal(SIGPIPE, SIG_IGN);
  asio::io_context io(1);
  AsioScheduler scheduler(io);
  NetProber prober(io);
  LogSink log(config, io,
              LogIdentity{options.program, static_cast<int>(::getpid()), local_host_name(), options.master_pid},
              !options.quiet);
  rlimit nofile{};
  ::getrlimit(RLIMIT_NOFILE, &nofile);
  const auto limits = core::connection_limits(config, fd_limit(nofile));
  if (!set_fd_limit(nofile, limits, log)) return 1;

  core::Backends backends(config);
  core::CheckEngine* engine_ptr = nullptr;
  bool loading_state = false;
  bool proxy_accepting = true;
  core::ServerResolution* resolution_ptr = nullptr;
  core::CheckEngine engine(
      config, scheduler, prober,
      [&](const core::HealthEvent& e) {
        backends.follow(e, *engine_ptr);
        // While the saved state is applied, HAProxy's lines go to stderr only.
        if (e.line && loading_state) log.startup_warning(e.line->text);
        else if (e.line) log.server_state(e.key.proxy, *e.line);
        if (resolution_ptr) resolution_ptr->on_health_event(e);
      },
      [rng = std::mt19937_64(std::random_device{}())]() mutable {
        return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
      },
      [&](core::ServerKey key) { return backends.load(key); });
  engine_ptr = &engine;
  prober.on_warning([&](std::string_view text) { log.foreground_only({core::Severity::Warning, std::string(text), {}}); });
  engine.set_connect_shortage_log([&](core::ServerKey key, std::string_view reason) { return log.connect_failed(key.proxy, reason); });
  core::start_in_maintenance(config, engine);
  // The servers' state saved before a reload (server-state-file), as HAProxy applies it.
  loading_state = true;
  core::apply_server_state(parsed, core::read_state_file, engine, backends,
                           [&](const std::string& w) { log.startup_warning(w); });
  loading_state = false;

  // Names under `resolvers` are resolved again and again, through the parsed names.
  UdpDnsTransport dns(io, parsed, [&](std::size_t section, std::size_t ns, std::string_view bytes) {
    if (resolution_ptr) resolution_ptr->on_reply(section, ns, bytes);
  });
  core::ServerResolution resolution(parsed, core::start_addresses(parsed), scheduler, dns,
                                    [&](const core::ResolutionEvent& e) {
                                      core::apply_resolution_event(e, engine, backends);
                                      if (!e.line) return;
                                      // HAProxy sends an SRV slot's new name to the log targets only.
                                      if (e.kind == core::ResolutionEvent::Kind::FqdnChanged)
                                        return log.traffic(e.key.proxy, e.line->severity, e.line->text);
                                      log.server_state(e.key.proxy, *e.line);
                                    });
  resolution_ptr = &resolution;

  core::stats::Traffic traffic(config);
  Proxy proxy(config, limits, io, backends, log, traffic, scheduler);
  // The Runtime API names servers as the file does: it reads the parsed configuration.
  core::RuntimeApi api(parsed, engine, backends, scheduler, limits.maxconn);
  api.set_traffic(&traffic);
  StatsSockets stats(parsed, io, api, log);
  const auto started = std::chrono::steady_clock::now();
  const auto started_wall = std::chrono::system_clock::now();
  const auto process_info = [&] {
    core::stats::ProcessInfo p;
    p.pid = static_cast<int>(::getpid());
    p.uptime_s = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started).count();
    p.start_time_s = std::chrono::duration_cast<std::chrono::seconds>(started_wall.time_since_epoch()).count();
    p.ulimit_n = p.maxsock = limits.maxsock;
    p.maxconn = limits.maxconn;
    p.current_connections = proxy.connections();
    p.cli_sockets = stats.listening();
    p.listeners = static_cast<int>(proxy.listening().size() + p.cli_sockets.size());
    p.stopping = !proxy_accepting;
    p.node = local_host_name();
    return p;
  };
  api.set_process_info(process_info);
  // The stats page and the Prometheus exporter, answered from the same state.
  proxy.set_local_services(LocalServices{
      [&](std::size_t fe, const std::string& method, const std::string& target) {
        return core::stats::local_service(parsed.proxies[fe], method, target) != core::stats::Service::None;
      },
      [&](const LocalRequest& r) {
        const auto process = process_info();
        const core::stats::Source source{parsed, engine, backends, scheduler.now(), limits.maxconn, &process, &traffic};
        const core::stats::PageRequest req{r.method, r.target, r.authorization, r.body, r.http10, r.keep_alive,
                                           r.from_localhost};
        const auto& fe = parsed.proxies[r.frontend];
        const bool promex = core::stats::local_service(fe, r.method, r.target) == core::stats::Service::Prometheus;
        auto a = promex ? core::stats::prometheus(req, source) : core::stats::stats_page(fe, req, source, engine);
        return LocalAnswer{a.status, std::move(a.bytes), a.close, promex ? "<PROMEX>" : "<STATS>"};
      }});
  // A soft stop (SIGUSR1, sent by the process that replaces this one) as HAProxy 2.6 stops:
  // no more accepting or checking, idle client connections closed, the proxies' "stopped"
  // lines, then the sessions in flight may finish (until `hard-stop-after`, if set).
  const bool worker = options.master_channel >= 0;
  auto soft_stop = [&] {
    if (!proxy_accepting) return;
    proxy.stop_accepting();
    proxy_accepting = false;
    stats.stop(false);
    engine.stop();
    log_stopped_proxies(parsed, proxy, stats, !worker, log);
    proxy.drain(
        config.global.hard_stop_after, [&io] { io.stop(); },
        [&] {
          log.process(core::Severity::Warning, core::hard_stop_line().text);
          for (std::size_t i = 0; i < parsed.proxies.size(); ++i)
            if (parsed.proxies[i].has_frontend_role() && proxy.connections(i) > 0)
              log.server_state(i, core::proxy_hard_stopped_line(parsed.proxies[i].name, proxy.connections(i)));
        });
  };
  asio::signal_set soft_signals(io, SIGUSR1);
  soft_signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (!ec) soft_stop();
  });
  // A process taking over (-sf/-st) that cannot bind an abstract name this one holds sends
  // SIGTTOU for it (HAProxy's pause), and SIGTTIN if it gives up (its resume).
  asio::signal_set pause_signals(io, SIGTTOU, SIGTTIN);
  std::function<void()> await_pause = [&] {
    pause_signals.async_wait([&](const boost::system::error_code& ec, int signal) {
      if (ec) return;
      if (signal == SIGTTOU) proxy.release_abstract();
      else proxy.resume_released();
      await_pause();
    });
  };
  await_pause();
  // SIGTERM/SIGINT are caught before anything announces readiness, so a stop sent the moment lb
  // says "ready" is a graceful one. A worker dies of them, as HAProxy's do when their master
  // stops.
  asio::signal_set signals(io);
  if (worker) {
    std::signal(SIGTERM, SIG_DFL);
    std::signal(SIGINT, SIG_DFL);
  } else {
    signals.add(SIGTERM);
    signals.add(SIGINT);
    signals.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      proxy.stop_accepting();
      proxy_accepting = false;
      stats.stop();
      proxy.drain(options.grace, [&io] { io.stop(); });
    });
  }
  // A worker's signals stay blocked until its handlers are in place (master.cpp forks it so).
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  const int replacing = options.handover ? 0 : static_cast<int>(options.finish_pids.size());
  const auto tell_old = [&](int signal) {
    bool told = false;
    for (const int pid : options.finish_pids) told |= ::kill(pid, signal) == 0;
    return told;
  };
  if (!stats.bind_all(options.handover) || !proxy.bind_all(options.handover, replacing, [&] { return tell_old(SIGTTOU); })) {
    // The names it took are let go of, then the processes that gave them up take them back.
    proxy.stop_accepting();
    tell_old(SIGTTIN);
    return 1;
  }
  if (options.master_cli_channel >= 0) stats.serve_master(options.master_cli_channel);
  if (options.announce) {
    for (const auto& [frontend, address] : proxy.listening()) fmt::print("listening {} {}\n", frontend, address);
    fmt::print("ready\n");
    std::fflush(stdout);
  }
  if (!worker && options.on_ready) options.on_ready();
  if (worker && options.detach) detach_stdio();
  if (worker) {
    auto sockets = proxy.listen_sockets();
    for (auto& s : stats.listen_sockets()) sockets.push_back(std::move(s));
    send_sockets(options.master_channel, sockets);
    ::close(options.master_channel);
  }
  for (const int pid : options.finish_pids) ::kill(pid, options.terminate_old ? SIGTERM : SIGUSR1);

  engine.start();
  resolution.start();

  io.run();
  // A SIGTTOU or SIGTTIN that comes while lb exits must not stop it (their default action).
  pause_signals.clear();
  std::signal(SIGTTOU, SIG_IGN);
  std::signal(SIGTTIN, SIG_IGN);
  // Sessions still open at the end of a grace period or at `hard-stop-after` are closed by the
  // kernel as the process leaves, as HAProxy's hard stop leaves them; they are not unwound.
  if (proxy.connections() > 0) {
    std::fflush(stdout);
    std::fflush(stderr);
    std::_Exit(0);
  }
  return 0;
}

}  // namespace lb::net
