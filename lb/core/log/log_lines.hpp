#pragma once
// HAProxy 2.6's server-state messages, built byte for byte (src/server.c, src/backend.c).
// Core code never writes logs: it returns these strings and lb/net/logger prints them.
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

// `reason` is the check that caused the change; nullopt prints no reason (as with
// option log-health-checks, where the reason was logged by the health-check line).
LogLine server_down_line(ServerRef s, const CheckResult* reason, BackendCounts after,
                         int sessions_active = 0, int requeued = 0, int queued = 0,
                         bool was_stopping = false);
LogLine server_up_line(ServerRef s, const CheckResult* reason, BackendCounts after,
                       int requeued = 0, int queued = 0);
LogLine server_stopping_line(ServerRef s, const CheckResult* reason, BackendCounts after,
                             int requeued = 0, int queued = 0);

// Maintenance entered because the server's name stopped resolving (`cause`: "DNS NX status",
// "DNS timeout status", ...): from UP, with the counts; from DOWN, without them.
LogLine server_maintenance_line(ServerRef s, std::string_view cause, BackendCounts after, int sessions_active = 0,
                                int requeued = 0, int queued = 0, bool was_stopping = false);
LogLine server_down_to_maintenance_line(ServerRef s, std::string_view cause);
// Leaving resolution maintenance: "Server be/s ('app.example') is UP/READY (resolves again).",
// then the resolver's own "Server be/s administratively READY thanks to valid DNS answer."
LogLine server_resolves_again_line(ServerRef s, std::string_view hostname, bool up);
LogLine server_dns_ready_line(ServerRef s);
// "be/s changed its IP from 127.0.0.2 to 127.0.0.3 by dns/ns1." (`from` "(none)" when it had none;
// `by` "RESOLVERS/NAMESERVER", or "DNS cache" for a server sharing another's answer).
LogLine address_changed_line(ServerRef s, std::string_view from, std::string_view to, std::string_view by);

// "backend apps has no server available!" (`is_listen` says "proxy"); on stderr HAProxy quotes
// the name: "backend 'apps' has no server available!".
LogLine no_server_available_line(std::string_view proxy, bool is_listen);

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
