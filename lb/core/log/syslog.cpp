#include "lb/core/log/syslog.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <ctime>

namespace lb::core {
namespace {

constexpr std::array<std::string_view, 24> kFacilities{
    "kern", "user",  "mail",   "daemon", "auth",   "syslog", "lpr",    "news",   "uucp",   "cron",   "auth2",  "ftp",
    "ntp",  "audit", "alert",  "cron2",  "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"};

std::tm local_tm(std::chrono::system_clock::time_point when) {
  const std::time_t t = std::chrono::system_clock::to_time_t(when);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  return tm;
}

// "Dec  1 09:30:00": rfc3164's timestamp, the day padded with a blank.
std::string rfc3164_time(std::chrono::system_clock::time_point when) {
  static constexpr std::array<std::string_view, 12> kMonths{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::tm tm = local_tm(when);
  return fmt::format("{} {:>2} {:02}:{:02}:{:02}", kMonths[static_cast<std::size_t>(tm.tm_mon)], tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec);
}

// "2026-12-01T09:30:00.123456+00:00": rfc5424's and iso's timestamp, local time with offset.
std::string iso_time(std::chrono::system_clock::time_point when) {
  const std::tm tm = local_tm(when);
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(when.time_since_epoch()).count() % 1'000'000;
  const long off = tm.tm_gmtoff / 60;
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}{}{:02}:{:02}", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, us, off < 0 ? '-' : '+', std::abs(off) / 60,
                     std::abs(off) % 60);
}

}  // namespace

std::optional<int> facility_code(std::string_view name) {
  for (std::size_t i = 0; i < kFacilities.size(); ++i)
    if (kFacilities[i] == name) return static_cast<int>(i);
  return std::nullopt;
}

std::optional<Severity> severity_from_name(std::string_view name) {
  for (int i = 0; i <= static_cast<int>(Severity::Debug); ++i)
    if (severity_name(static_cast<Severity>(i)) == name) return static_cast<Severity>(i);
  return std::nullopt;
}

bool target_accepts(const LogTarget& target, Severity s) {
  if (target.level.empty()) return true;
  const auto max = severity_from_name(target.level);
  return !max || static_cast<int>(s) <= static_cast<int>(*max);
}

std::size_t max_log_message(const Config& config) {
  std::size_t longest = kDefaultLogLength;
  for (const auto& t : config.global.logs) longest = std::max(longest, t.max_length);
  for (const auto& p : config.proxies)
    for (const auto& t : p.logs) longest = std::max(longest, t.max_length);
  return longest - 1;
}

bool log_target_is_stream(const LogTarget& target) {
  return target.target == "stdout" || target.target == "stderr" || target.target.starts_with("fd@");
}

std::string frame_log_message(const LogTarget& target, Severity s, std::string_view message,
                              std::chrono::system_clock::time_point when, const SyslogIdentity& who) {
  message = message.substr(0, who.max_message);
  const int sev = static_cast<int>(s);
  const int pri = facility_code(target.facility).value_or(16) * 8 + sev;
  // No format given: rfc3164 when there is a host name to send, else local (build_log_header).
  std::string_view f = target.format;
  if (f.empty()) f = who.hostname ? "rfc3164" : "local";
  std::string header;
  if (f == "short") header = fmt::format("<{}>", sev);
  else if (f == "priority") header = fmt::format("<{}>", pri);
  else if (f == "timed") header = fmt::format("<{}>{} ", sev, rfc3164_time(when));
  else if (f == "iso") header = fmt::format("<{}>{} ", sev, iso_time(when));
  else if (f == "rfc5424")
    header = fmt::format("<{}>1 {} {} {} {} - - ", pri, iso_time(when), who.hostname ? *who.hostname : "-", who.tag, who.pid);
  else if (f == "rfc3164")
    header = fmt::format("<{}>{} {} {}[{}]: ", pri, rfc3164_time(when), who.hostname ? *who.hostname : "localhost", who.tag,
                         who.pid);
  else if (f == "local") header = fmt::format("<{}>{} {}[{}]: ", pri, rfc3164_time(when), who.tag, who.pid);
  std::string out = std::move(header);
  out += message;
  out.resize(std::min(out.size(), log_target_is_stream(target) ? target.max_length - 1 : target.max_length));
  out += '\n';
  return out;
}

std::string foreground_line(const LogLine& line, int pid) {
  const std::string_view text = line.stderr_text.empty() ? std::string_view(line.text) : line.stderr_text;
  return stderr_line(line.severity == Severity::Emerg ? "ALERT" : "WARNING", pid, text);
}

}  // namespace lb::core
