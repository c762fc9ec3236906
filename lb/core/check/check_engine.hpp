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
    EnteredMaintenance, // forced (Runtime API) or resolution maintenance began
    LeftMaintenance,    // the last maintenance flag went
    EnteredDrain,       // `set server ... state drain`
    LeftDrain,
    WeightChanged,      // the user weight changed (Runtime API)
    StateNotice,        // a line without a change: one maintenance flag went and another stays, a
                        // drained server's update ("remains in forced drain mode")
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

// HAProxy's administrative flags (SRV_ADMF_*, numbered as the Runtime API and the state file
// print them). CMAINT marks a server `disabled` in the configuration; it comes with FMAINT, and
// `enable server` clears only FMAINT.
namespace admin {
inline constexpr unsigned kForcedMaint = 0x01;      // FMAINT: disable server, state maint
inline constexpr unsigned kConfigMaint = 0x04;      // CMAINT
inline constexpr unsigned kForcedDrain = 0x08;      // FDRAIN: state drain
inline constexpr unsigned kResolutionMaint = 0x20;  // RMAINT: the name stopped resolving
inline constexpr unsigned kAnyMaint = 0x23;         // SRV_ADMF_MAINT
inline constexpr unsigned kAnyDrain = 0x18;         // SRV_ADMF_DRAIN
}  // namespace admin

// HAProxy's operational state (SRV_ST_*), numbered as it prints them.
enum class OpState { Stopped = 0, Starting = 1, Running = 2, Stopping = 3 };

// One server as the Runtime API and the stats show it.
struct ServerStatus {
  unsigned admin = 0;
  OpState op = OpState::Running;
  int uweight = 1;  // the weight in force (user weight)
  int iweight = 1;  // the configured one
  bool check_configured = false;
  bool check_enabled = false;  // `disable health` clears it
  bool check_running = false;  // a check is in flight
  long checks_started = 0;
  int health = 0;              // the check counter (every server has one; checks move it)
  int rise = 0, fall = 0;
  CheckResult last_check{CheckStatus::Initializing};
  TimePoint last_change{};  // last operational or administrative change
  int down_transitions = 0;
  long failed_checks = 0;
  Ms downtime{0};  // total time DOWN before the current period
  bool usable() const {
    return uweight > 0 && !(admin & (admin::kAnyMaint | admin::kAnyDrain)) &&
           (op == OpState::Running || op == OpState::Starting);
  }
};

// A backend as the stats show it: how often it lost its last server, since when it is in its
// current state (up, or without any server), and how long it has spent without one.
struct BackendStatus {
  int down_transitions = 0;
  TimePoint last_change{};
  Ms downtime{0};
  bool down = false;  // no usable server now
};

class CheckEngine {
 public:
  // `config`, `scheduler` and `prober` outlive the engine. Sink and load source are called from
  // the scheduler's callbacks only.
  CheckEngine(const Config& config, Scheduler& scheduler, Prober& prober, HealthEventSink sink,
              RandomSource random = {}, ServerLoadSource load = {});
  ~CheckEngine();
  CheckEngine(const CheckEngine&) = delete;
  CheckEngine& operator=(const CheckEngine&) = delete;

  // A check's connect() that failed for want of local resources (ConnectFailure::log_reason)
  // is logged by the edge, as HAProxy logs "Connect() failed for backend B: WHY.": `log` does
  // it and returns the errno text its log writer left ("" when it left connect()'s own), which
  // the check's info then shows (ConnectFailure::errno_text).
  using ConnectShortageLog = std::function<std::string(ServerKey server, std::string_view reason)>;
  void set_connect_shortage_log(ConnectShortageLog log);

  // Schedules every server's first check, spread over one interval as HAProxy does.
  void start();
  // Soft stop (a reload's old process): no check runs any more, the one in flight is dropped;
  // states stay as they are. HAProxy 2.6 stops a stopping process's checks the same way.
  void stop();

  // Whether the server is usable for traffic now (UP, not stopping, not disabled).
  bool server_up(ServerKey key) const;
  const Health* health(ServerKey key) const;  // nullptr for a server without checks
  BackendCounts counts(std::size_t proxy) const;
  BackendStatus backend_status(std::size_t proxy) const;
  // When the server's next check starts (nullopt: no check scheduled).
  std::optional<TimePoint> next_check_at(ServerKey key) const;

  ServerStatus status(ServerKey key) const;  // a default ServerStatus for an unknown key

  // Run-time resolution and the Runtime API drive these. A new address takes effect at the
  // next check (a server checked at `addr` keeps checking there).
  // `port`: an SRV record's port, or `set server addr ... port`: it replaces the service port
  // (a check `port` stays).
  void set_address(ServerKey key, const std::string& host, std::optional<std::uint16_t> port = std::nullopt);
  // HAProxy's srv_set_admin_flag / srv_clr_admin_flag for one admin:: flag. Maintenance pauses
  // the server's checks and takes it out of traffic; drain takes it out of new traffic only.
  // `cause` is HAProxy's ("DNS NX status"); `log` false at start-up, where HAProxy logs nothing
  // of it. `hostname` names the address in the "resolves again" lines.
  void set_admin(ServerKey key, unsigned flag, std::string_view cause = {}, bool log = true);
  void clear_admin(ServerKey key, unsigned flag, std::string_view hostname = {});
  // `set server be/s health up|stopping|down`: the state and the check counter, "changed from
  // CLI" (ignored in maintenance, as HAProxy ignores it).
  void force_state(ServerKey key, OpState state, std::string_view reason);
  // The user weight, 0..256 (a new weight of 0 takes the server out of traffic).
  void set_weight(ServerKey key, int weight);
  // `enable|disable health`: a disabled check does not run and its counter no longer keeps
  // the server DOWN. False when the server has no check configured.
  bool set_check_enabled(ServerKey key, bool enabled);
  // A server's state as a state file saved it before a reload (HAProxy's srv_state_srv_update),
  // applied at start-up: the state (a DOWN one logs `reason`), the admin flags (silently), the
  // weight when the configured one has not changed, the time of the last change, the last
  // check's status, a disabled check. The backend's "no server available" is not logged then.
  struct SavedState {
    OpState op = OpState::Running;
    unsigned admin = 0;  // FMAINT, CMAINT, FDRAIN only
    int uweight = 1, iweight = 1;
    long since_change_s = 0;
    CheckStatus check_status = CheckStatus::Initializing;
    int check_health = 0;
    unsigned check_state = 0;  // CHK_ST_* bits
  };
  void restore(ServerKey key, const SavedState& saved, std::string_view reason);
  // `clear counters all`: the failed-check and DOWN-transition counters start again from 0.
  void clear_counters();

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
