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

// HAProxy's MAX_SYSLOG_LEN: a target's `len` by default (LogTarget::max_length).
inline constexpr std::size_t kDefaultLogLength = 1024;

struct SyslogIdentity {
  std::string_view tag;  // `log-tag`, else the program name (HAProxy's default)
  int pid = 0;
  // `log-send-hostname`'s name, when given. Without it rfc3164 says "localhost", rfc5424 "-",
  // and a target with no format sends `local` (no host field).
  std::optional<std::string_view> hostname;
  // The longest message text: HAProxy builds each line in a buffer of the longest `len` of any
  // target (1024 at least), less its NUL.
  std::size_t max_message = kDefaultLogLength - 1;
};

// The longest message text of `config`'s targets (SyslogIdentity::max_message).
std::size_t max_log_message(const Config& config);

// Whether `target` is a stream (stdout, stderr, fd@N), where the newline counts in its `len`;
// a datagram's newline comes on top (__do_send_log, fd_write_frag_line).
bool log_target_is_stream(const LogTarget& target);

// Whether `target` takes a message of severity `s` (its optional max level).
bool target_accepts(const LogTarget& target, Severity s);

// The bytes sent to `target` for `message`, its trailing newline included: the message cut at
// who.max_message, then header and message together at the target's `len` (less one byte on a
// stream), as HAProxy cuts them.
std::string frame_log_message(const LogTarget& target, Severity s, std::string_view message,
                              std::chrono::system_clock::time_point when, const SyslogIdentity& who);

// The stderr copy HAProxy prints in the foreground: "[ALERT]    (pid) : ..." for emergencies
// (no server available), "[WARNING]  (pid) : ..." for every other server-state line.
std::string foreground_line(const LogLine& line, int pid);

}  // namespace lb::core
