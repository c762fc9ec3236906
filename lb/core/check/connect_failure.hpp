#pragma once
// connect() failing at once, sorted as HAProxy 2.6 sorts its errno (proto_tcp.c
// tcp_connect_server, proto_uxst.c uxst_connect_server): a shortage of local resources (EAGAIN,
// EADDRNOTAVAIL, EADDRINUSE: no source port left, or a UNIX server's backlog full) is logged as
// "Connect() failed for backend B: WHY." and named by the check as such; anything else is a
// "General socket error (strerror)". Either way the next attempt needs no turn-around.
#include <string>
#include <string_view>

namespace lb::core {

struct ConnectFailure {
  std::string log_reason;  // "no free ports", ...; "" when it is no shortage
  std::string check_info;  // "Out of local source ports on the system", "General socket error"
  // What the check's info adds in parentheses: connect()'s own error, "" for EAGAIN (HAProxy's
  // unclean_errno() clears it); for a shortage the errno HAProxy's log writer leaves after the
  // log line replaces it (CheckEngine::ConnectShortageLog).
  std::string errno_text;
};

// `error`: connect()'s errno; `tcp`: a TCP socket (else UNIX).
ConnectFailure classify_connect_failure(int error, bool tcp);

// "Connect() failed for backend be: no free ports."
std::string connect_failed_line(std::string_view backend, std::string_view reason);

// The check's info: "INFO (ERRNO)", or INFO alone without an errno text.
std::string with_errno(std::string_view info, std::string_view errno_text);

}  // namespace lb::core
