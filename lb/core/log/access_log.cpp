#include "lb/core/log/access_log.hpp"

#include <fmt/format.h>

#include <array>
#include <ctime>

namespace lb::core {
namespace {

std::string client_of(const AccessRecord& r) { return fmt::format("{}:{}", r.client, r.client_port); }

std::string counters(const AccessRecord& r) {
  return fmt::format("{}/{}/{}/{}/{}{} {}/{}", r.actconn, r.feconn, r.beconn, r.srvconn, r.redispatched ? "+" : "",
                     r.retries, r.srv_queue, r.backend_queue);
}

// %{+Q}r: the request line in double quotes, with '"' and control bytes escaped as #XX.
std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (const unsigned char c : s) {
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '#')
      out += fmt::format("#{:02X}", c);
    else
      out += static_cast<char>(c);
  }
  out += '"';
  return out;
}

}  // namespace

std::string log_date(std::chrono::system_clock::time_point t) {
  static constexpr std::array<std::string_view, 12> kMonths{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  ::localtime_r(&secs, &tm);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() % 1000;
  return fmt::format("{:02}/{}/{:04}:{:02}:{:02}:{:02}.{:03}", tm.tm_mday, kMonths[static_cast<std::size_t>(tm.tm_mon)],
                     tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

bool abnormal_exchange(const AccessRecord& r, bool http) {
  return r.redispatched || (r.term.cause != '-' && r.term.cause != 'L') || (r.term.cause == '-' && r.retries > 0) ||
         (http && r.status >= 500);
}

std::string httplog_line(const AccessRecord& r) {
  return fmt::format("{} [{}] {} {}/{} {}/{}/{}/{}/{} {} {} - - {}{}-- {} {}", client_of(r), log_date(r.date),
                     r.frontend, r.backend, r.server, r.TR, r.Tw, r.Tc, r.Tr, r.Ta, r.status, r.bytes, r.term.cause,
                     r.term.phase, counters(r), quoted(r.request_line));
}

std::string tcplog_line(const AccessRecord& r) {
  return fmt::format("{} [{}] {} {}/{} {}/{}/{} {} {}{} {}", client_of(r), log_date(r.date), r.frontend, r.backend,
                     r.server, r.Tw, r.Tc, r.Ta, r.bytes, r.term.cause, r.term.phase, counters(r));
}

std::string connect_line(std::string_view client, std::uint16_t client_port, std::string_view local,
                         std::uint16_t local_port, std::string_view frontend, bool http) {
  return fmt::format("Connect from {}:{} to {}:{} ({}/{})", client, client_port, local, local_port, frontend,
                     http ? "HTTP" : "TCP");
}

std::string unix_connect_line(int listener_id, std::string_view frontend, bool http) {
  return fmt::format("Connect to unix:{} ({}/{})", listener_id, frontend, http ? "HTTP" : "TCP");
}

}  // namespace lb::core
