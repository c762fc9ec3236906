#include "lb/core/log/log_lines.hpp"

#include <array>

namespace lb::core {
namespace {

std::string server_prefix(ServerRef s) {
  return fmt::format("{}Server {}/{}", s.backup ? "Backup " : "", s.backend, s.server);
}

std::string running_on_backup(BackendCounts c) {
  return (c.active == 0 && c.backup > 0) ? " Running on backup." : "";
}

std::string reason_text(StateCause c) {
  if (c.check) return format_reason(*c.check);
  return c.text.empty() ? std::string{} : fmt::format(", {}", c.text);
}

std::string cause_text(std::string_view cause) { return cause.empty() ? std::string() : fmt::format(" ({})", cause); }

std::string left_counts(BackendCounts after, int sessions_active, int requeued, int queued) {
  return fmt::format(". {} active and {} backup servers left.{} {} sessions active, {} requeued, {} remaining in queue.",
                     after.active, after.backup, running_on_backup(after), sessions_active, requeued, queued);
}

std::string online_counts(BackendCounts after, int requeued, int queued) {
  return fmt::format(". {} active and {} backup servers online.{} {} sessions requeued, {} total in queue.",
                     after.active, after.backup, running_on_backup(after), requeued, queued);
}

}  // namespace

std::string_view severity_name(Severity s) {
  static constexpr std::array<std::string_view, 8> kNames{"emerg", "alert",  "crit", "err",
                                                          "warning", "notice", "info", "debug"};
  return kNames[static_cast<std::size_t>(s)];
}

LogLine server_down_line(ServerRef s, StateCause reason, BackendCounts after, int sessions_active, int requeued,
                         int queued, bool was_stopping) {
  return {was_stopping ? Severity::Notice : Severity::Alert,
          fmt::format("{} is DOWN{}{}", server_prefix(s), reason_text(reason),
                      left_counts(after, sessions_active, requeued, queued))};
}

LogLine server_up_line(ServerRef s, StateCause reason, BackendCounts after, int requeued, int queued) {
  return {Severity::Notice,
          fmt::format("{} is UP{}{}", server_prefix(s), reason_text(reason), online_counts(after, requeued, queued))};
}

LogLine server_stopping_line(ServerRef s, StateCause reason, BackendCounts after, int requeued, int queued) {
  return {Severity::Notice, fmt::format("{} is stopping{}{}", server_prefix(s), reason_text(reason),
                                        online_counts(after, requeued, queued))};
}

LogLine server_maintenance_line(ServerRef s, std::string_view cause, BackendCounts after, int sessions_active,
                                int requeued, int queued, bool was_stopping) {
  return {was_stopping ? Severity::Notice : Severity::Alert,
          fmt::format("{} is going DOWN for maintenance{}{}", server_prefix(s), cause_text(cause),
                      left_counts(after, sessions_active, requeued, queued))};
}

LogLine server_down_to_maintenance_line(ServerRef s, std::string_view cause) {
  return {Severity::Notice, fmt::format("{} was DOWN and now enters maintenance{}.", server_prefix(s), cause_text(cause))};
}

LogLine server_leaving_maintenance_line(ServerRef s, bool up, bool drain) {
  return {Severity::Notice, fmt::format("{} is {}/{} (leaving forced maintenance).", server_prefix(s),
                                        up ? "UP" : "DOWN", drain ? "DRAIN" : "READY")};
}

LogLine server_remains_in_maintenance_line(ServerRef s) {
  return {Severity::Notice, fmt::format("{} is leaving forced maintenance but remains in maintenance.", server_prefix(s))};
}

LogLine server_resolves_but_remains_in_maintenance_line(ServerRef s, std::string_view hostname) {
  return {Severity::Notice,
          fmt::format("{} ('{}') resolves again but remains in maintenance.", server_prefix(s), hostname)};
}

LogLine server_drain_line(ServerRef s, std::string_view cause, BackendCounts after, bool down, int sessions_active,
                          int requeued, int queued) {
  return {Severity::Notice, fmt::format("{} enters drain state{}{}", server_prefix(s), cause_text(cause),
                                        down ? left_counts(after, sessions_active, requeued, queued)
                                             : online_counts(after, requeued, queued))};
}

LogLine server_leaving_drain_line(ServerRef s, bool up) {
  return {Severity::Notice, fmt::format("{} is {} (leaving forced drain).", server_prefix(s), up ? "UP" : "DOWN")};
}

LogLine server_remains_in_drain_line(ServerRef s) {
  return {Severity::Notice, fmt::format("{} remains in forced drain mode.", server_prefix(s))};
}

LogLine server_resolves_again_line(ServerRef s, std::string_view hostname, bool up, bool drain) {
  return {Severity::Notice, fmt::format("{} ('{}') is {}/{} (resolves again).", server_prefix(s), hostname,
                                        up ? "UP" : "DOWN", drain ? "DRAIN" : "READY")};
}

LogLine server_dns_ready_line(ServerRef s) {
  return {Severity::Notice,
          fmt::format("Server {}/{} administratively READY thanks to valid DNS answer.", s.backend, s.server)};
}

LogLine address_changed_line(ServerRef s, std::string_view from, std::string_view to, std::string_view by) {
  return {Severity::Notice, fmt::format("{}/{} changed its IP from {} to {} by {}.", s.backend, s.server, from, to, by)};
}

LogLine no_server_available_line(std::string_view proxy, bool is_listen) {
  const std::string_view kind = is_listen ? "proxy" : "backend";
  return {Severity::Emerg, fmt::format("{} {} has no server available!", kind, proxy),
          fmt::format("{} '{}' has no server available!", kind, proxy)};
}

LogLine proxy_stopped_line(std::string_view proxy, long frontend_conns, long backend_conns) {
  return {Severity::Warning,
          fmt::format("Proxy {} stopped (cumulated conns: FE: {}, BE: {}).", proxy, frontend_conns, backend_conns), {}};
}

LogLine hard_stop_line() { return {Severity::Warning, "soft-stop running for too long, performing a hard-stop.", {}}; }

LogLine proxy_hard_stopped_line(std::string_view proxy, int remaining) {
  return {Severity::Warning, fmt::format("Proxy {} hard-stopped ({} remaining conns will be closed).", proxy, remaining), {}};
}

HealthDisplay health_display(int health, int rise, int fall, bool drain) {
  if (health >= rise) return {health - rise + 1, fall, true, drain};
  return {health, rise, false, false};
}

LogLine health_check_line(ServerRef s, const CheckResult& r, HealthDisplay h) {
  const char* outcome = "failed";
  if (r.verdict() == CheckVerdict::Passed) outcome = "succeeded";
  if (r.verdict() == CheckVerdict::ConditionallyPassed) outcome = "conditionally succeeded";
  return {Severity::Notice,
          fmt::format("Health check for {}server {}/{} {}{}, status: {}/{} {}.",
                      s.backup ? "backup " : "", s.backend, s.server, outcome, format_reason(r),
                      h.x, h.y, h.up ? (h.drain ? "DRAIN" : "UP") : "DOWN")};
}

std::string stderr_line(std::string_view level, int pid, std::string_view text) {
  // HAProxy pads "[LEVEL]" to a fixed width of 10 columns before " (pid) : ".
  const std::string tag = fmt::format("[{}]", level);
  return fmt::format("{:<10} ({}) : {}", tag, pid, text);
}

}  // namespace lb::core
