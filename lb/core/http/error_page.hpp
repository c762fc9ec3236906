#pragma once
// The responses HAProxy 2.6 generates itself (src/http.c http_err_msgs): status line, headers and
// HTML body, byte for byte, for the statuses lb produces.
#include <cstdint>
#include <string>

namespace lb::core {

// `close`: the connection ends after this response (adds HAProxy's `connection: close`);
// `head`: the request was HEAD, so no body is sent (content-length still says its size).
// Statuses without a page of their own get 500's.
std::string haproxy_error_response(int status, bool close, bool head = false);
// What HAProxy logs as %B for that response (0 for 400, 408 and 422).
std::uint64_t logged_error_size(int status);

}  // namespace lb::core
