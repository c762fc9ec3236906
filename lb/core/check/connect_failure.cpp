#include "lb/core/check/connect_failure.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

namespace lb::core {

ConnectFailure classify_connect_failure(int error, bool tcp) {
  // chk_report_conn_err() shows errno unless unclean_errno() clears it (EAGAIN among others).
  const std::string errno_text = error == EAGAIN || error == EWOULDBLOCK ? std::string() : std::strerror(error);
  if (error == EAGAIN || error == EWOULDBLOCK || error == EADDRNOTAVAIL)
    return {tcp ? "no free ports" : "can't connect to destination unix socket, check backlog size on the server",
            "Out of local source ports on the system", errno_text};  // CO_ER_FREE_PORTS
  if (error == EADDRINUSE)
    return {"local address already in use", "Local source address already in use", errno_text};  // CO_ER_ADDR_INUSE
  return {{}, "General socket error", errno_text};  // CO_ER_SOCK_ERR
}

std::string connect_failed_line(std::string_view backend, std::string_view reason) {
  return fmt::format("Connect() failed for backend {}: {}.", backend, reason);
}

std::string with_errno(std::string_view info, std::string_view errno_text) {
  return errno_text.empty() ? std::string(info) : fmt::format("{} ({})", info, errno_text);
}

}  // namespace lb::core
