#pragma once
// HAProxy 2.6's server-state messages, built byte for byte (src/server.c, src/backend.c).
// Core code never writes logs: it returns these strings and lb/net/logger prints them.
#include <cstddef>
#include <string>
#include <string_view>

#include "lb/core/check/status.hpp"

namespace lb::core {

// Syslog severities, as HAProxy numbers them.
enum class Severity { Emerg = 0, Alert, Crit, Err, Warning, Notice, Info, Debug };
std::string_view severity_name(Severity s);  // "emerg" .. "debug"

// The counts HAProxy prints after a transition, taken after the change.
struct BackendCounts {
  int active = 0;  // usable active servers
  int backup = 0;  // usable backup servers
};

struct ServerRef {
  std::string_view backend;
  std::string_view server;
  bool backup = false;
};

struct LogLine {
  Severity severity;
  std::string text;         // as sent to log targets, without the stderr "[LEVEL] (pid) : " prefix
  std::string stderr_text;  // set where HAProxy's stderr wording differs from `text`
  bool operator==(const LogLine&) const = default;
};

// Why a server's state changed, as HAProxy appends it (srv_append_status): the check that caused
// it (", reason: Layer7 ..."), a text (", changed from CLI"), or nothing (a null check: as with
// option log-health-checks, where the reason was logged by the health-check line).
struct StateCause {
  StateCause(std::nullptr_t = nullptr) {}
  StateCause(const CheckResult* c) : check(c) {}
  StateCause(std::string_view t) : text(t) {}
  const CheckResult* check = nullptr;
  std::string_view text;
};

LogLine server_down_line(ServerRef s, StateCause reason, BackendCounts after,
                         int sessions_active = 0, int requeued = 0, int queued = 0,
                         bool was_stopping = false);
LogLine server_up_line(ServerRef s, StateCause reason, BackendCounts after,
                       int requeued = 0, int queued = 0);
LogLine server_stopping_line(ServerRef s, StateCause reason, BackendCounts after,
                             int requeued = 0, int queued = 0);

// Maintenance entered because the server's name stopped resolving (`cause`: "DNS NX status",
// "DNS timeout status", ...): from UP, with the counts; from DOWN, without them.
LogLine server_maintenance_line(ServerRef s, std::string_view cause, BackendCounts after, int sessions_active = 0,
                                int requeued = 0, int queued = 0, bool was_stopping = false);
LogLine server_down_to_maintenance_line(ServerRef s, std::string_view cause);
// Leaving forced maintenance (`disable server` undone): "Server be/s is UP/READY (leaving forced
// maintenance)." (DOWN when its checks disagree, DRAIN when a drain flag remains).
LogLine server_leaving_maintenance_line(ServerRef s, bool up, bool drain);
LogLine server_remains_in_maintenance_line(ServerRef s);              // forced flag gone, another stays
LogLine server_resolves_but_remains_in_maintenance_line(ServerRef s, std::string_view hostname);
// `set server be/s state drain`: "Server be/s enters drain state. ..." with the counts of a DOWN
// line when the server is DOWN, of an UP line otherwise.
LogLine server_drain_line(ServerRef s, std::string_view cause, BackendCounts after, bool down,
                          int sessions_active = 0, int requeued = 0, int queued = 0);
LogLine server_leaving_drain_line(ServerRef s, bool up);
LogLine server_remains_in_drain_line(ServerRef s);  // "Server be/s remains in forced drain mode."
// Leaving resolution maintenance: "Server be/s ('app.example') is UP/READY (resolves again).",
// then the resolver's own "Server be/s administratively READY thanks to valid DNS answer."
LogLine server_resolves_again_line(ServerRef s, std::string_view hostname, bool up, bool drain = false);
LogLine server_dns_ready_line(ServerRef s);
// "be/s changed its IP from 127.0.0.2 to 127.0.0.3 by dns/ns1." (`from` "(none)" when it had none;
// `by` "RESOLVERS/NAMESERVER", or "DNS cache" for a server sharing another's answer).
LogLine address_changed_line(ServerRef s, std::string_view from, std::string_view to, std::string_view by);

// "backend apps has no server available!" (`is_listen` says "proxy"); on stderr HAProxy quotes
// the name: "backend 'apps' has no server available!".
LogLine no_server_available_line(std::string_view proxy, bool is_listen);

// A stopping process (a reload's old one) as it stops proxy `proxy`: "Proxy fe stopped
// (cumulated conns: FE: 76, BE: 0)."; at `hard-stop-after`, "soft-stop running for too long,
// performing a hard-stop." then per frontend "Proxy fe hard-stopped (1 remaining conns will be
// closed)."
LogLine proxy_stopped_line(std::string_view proxy, long frontend_conns, long backend_conns);
LogLine hard_stop_line();
LogLine proxy_hard_stopped_line(std::string_view proxy, int remaining);

// option log-health-checks: "Health check for server b/s failed, reason: ..., status: 1/2 UP."
struct HealthDisplay {
  int x;
  int y;
  bool up;
  bool drain = false;
};
HealthDisplay health_display(int health, int rise, int fall, bool drain = false);
LogLine health_check_line(ServerRef s, const CheckResult& r, HealthDisplay h);

// The stderr line HAProxy prints for a message: "[WARNING]  (123) : text".
std::string stderr_line(std::string_view level, int pid, std::string_view text);

}  // namespace lb::core
