#pragma once
// A small blocking HTTP/1.1 client for the live worlds: one request per connection, `Connection:
// close`, read to EOF, every step bounded by the timeout. Enough for mockserver's control API and
// for the requests a scenario sends through a balancer.
#include <chrono>
#include <string>
#include <string_view>

namespace lbh {

struct HttpReply {
  int status = 0;     // 0 when no response came
  std::string body;   // what followed the head
  std::string error;  // why no response came ("Connection refused", "timed out", ...)
};

// Every request carries this header, so that a backend's journal tells the requests a scenario
// sent through the balancer from the balancer's own health checks.
constexpr std::string_view kRequestMarker = "X-Lbharness-Request";

HttpReply http_call(int port, std::string_view method, std::string_view target, std::string_view body = "",
                    std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace lbh
