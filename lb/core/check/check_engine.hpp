#pragma once
// Runs the active health checks of every server of a configuration, as HAProxy 2.6 does:
// staggered first checks, connect/response deadlines, the health counter, inter/fastinter/
// downinter, and the UP/DOWN/"no server available" messages. Time and I/O are injected
// (Scheduler, Prober), so this same engine runs in lb and in the simulator.
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "lb/core/check/health.hpp"
#include "lb/core/check/prober.hpp"
#include "lb/core/config/model.hpp"
#include "lb/core/log/log_lines.hpp"

namespace lb::core {

struct ServerKey {
  std::size_t proxy = 0;   // index in Config::proxies
  std::size_t server = 0;  // index in ProxyConfig::servers
  bool operator==(const ServerKey&) const = default;
};

struct HealthEvent {
  enum class Kind {
    CheckStarted,       // a check connection is being opened
    CheckFinished,      // one check completed (line set only with option log-health-checks)
    WentUp,
    WentDown,
    WentStopping,       // http-check disable-on-404 saw 404 on an UP server
    EnteredMaintenance, // its name stopped resolving (HAProxy's resolution maintenance)
    LeftMaintenance,    // its name resolves again
    NoServerAvailable,  // the backend has just lost its last usable server
  };
  Kind kind;
  ServerKey key;
  TimePoint at;
  CheckResult result;           // for CheckFinished and transitions
  std::optional<LogLine> line;  // what HAProxy logs for this event, if anything
};

using HealthEventSink = std::function<void(const HealthEvent&)>;

// Uniform draw in [0, 1), for spread-checks jitter; injected so tests can pin it.
using RandomSource = std::function<double()>;

// What the traffic side knows of a server when its state changes: HAProxy prints these counts
// in the DOWN/UP lines ("N sessions active, N requeued, N remaining in queue").
struct ServerLoad {
  int sessions_active = 0;
  int requeued = 0;
  int queued = 0;
};
using ServerLoadSource = std::function<ServerLoad(ServerKey)>;

class CheckEngine {
 public:
  // `config`, `scheduler` and `prober` outlive the engine. Sink and load source are called from
  // the scheduler's callbacks only.
  CheckEngine(const Config& config, Scheduler& scheduler, Prober& prober, HealthEventSink sink,
              RandomSource random = {}, ServerLoadSource load = {});
  ~CheckEngine();
  CheckEngine(const CheckEngine&) = delete;
  CheckEngine& operator=(const CheckEngine&) = delete;

  // Schedules every server's first check, spread over one interval as HAProxy does.
  void start();

  // Whether the server is usable for traffic now (UP, not stopping, not disabled).
  bool server_up(ServerKey key) const;
  const Health* health(ServerKey key) const;  // nullptr for a server without checks
  BackendCounts counts(std::size_t proxy) const;
  // When the server's next check starts (nullopt: no check scheduled).
  std::optional<TimePoint> next_check_at(ServerKey key) const;

  // Run-time resolution (lb/core/dns/resolution) drives these. A new address takes effect at the
  // next check (a server checked at `addr` keeps checking there).
  // `port`: an SRV record's port, which replaces the service port (a check `port` stays).
  void set_address(ServerKey key, const std::string& host, std::optional<std::uint16_t> port = std::nullopt);
  // Maintenance pauses the server's checks and takes it out of traffic; `cause` is HAProxy's
  // ("DNS NX status"). `log` false at start-up, where HAProxy logs nothing of it.
  void enter_maintenance(ServerKey key, std::string_view cause, bool log = true);
  // `hostname` is how the line names the server's address ("app2.example").
  void leave_maintenance(ServerKey key, std::string_view hostname);
  bool in_maintenance(ServerKey key) const;

  // The delay before the first check of each checked server, in check order (exposed for tests
  // and for the simulator's trace).
  static std::vector<std::pair<ServerKey, Ms>> initial_schedule(const Config& config);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The address and port a server's checks connect to (HAProxy: rule port, else `port`, else the
// port of `addr`, else the service port; `addr` else the server address); nullopt = no port.
std::optional<ProbeTarget> check_target(const ServerConfig& server, const CheckSpec& spec);

// The deadline of the connect phase (HAProxy: `inter`, or min(inter, timeout connect) when
// `timeout check` is also set) and of the phase after the connection is established.
Ms connect_deadline(const ServerSettings& s, const Timeouts& t);
std::optional<Ms> response_deadline(const Timeouts& t);

}  // namespace lb::core
