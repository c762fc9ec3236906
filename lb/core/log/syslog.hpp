#pragma once
// How HAProxy 2.6 frames a log message for a `log` target (src/log.c): the formats raw, short,
// priority, timed, iso, rfc3164/local and rfc5424, the PRI value, and the level filter. Pure:
// the caller passes the wall-clock instant.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "lb/core/config/model.hpp"
#include "lb/core/log/log_lines.hpp"

namespace lb::core {

// "local0" -> 16; nullopt for an unknown name (the parser has already rejected those).
std::optional<int> facility_code(std::string_view name);
std::optional<Severity> severity_from_name(std::string_view name);

struct SyslogIdentity {
  std::string_view tag;       // the program name, as HAProxy's default log-tag
  int pid = 0;
  std::string_view hostname;  // rfc5424 always sends one; rfc3164 only with log-send-hostname
};

// Whether `target` takes a message of severity `s` (its optional max level).
bool target_accepts(const LogTarget& target, Severity s);

// The bytes sent to `target` for `message` (no trailing newline).
std::string frame_log_message(const LogTarget& target, Severity s, std::string_view message,
                              std::chrono::system_clock::time_point when, const SyslogIdentity& who);

// The stderr copy HAProxy prints in the foreground: "[ALERT]    (pid) : ..." for emergencies
// (no server available), "[WARNING]  (pid) : ..." for every other server-state line.
std::string foreground_line(const LogLine& line, int pid);

}  // namespace lb::core
