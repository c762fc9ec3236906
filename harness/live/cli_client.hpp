#pragma once
// The live worlds' Runtime API client: one connection to a balancer's UNIX admin socket, the
// commands sent at once, everything it answers read until it closes (as `socat` would).
#include <chrono>
#include <string>
#include <string_view>

namespace lbh {

struct CliReply {
  std::string answer;
  std::string error;  // why the exchange failed ("No such file or directory", "timed out", ...)
};

CliReply cli_call(const std::string& socket_path, std::string_view commands,
                  std::chrono::milliseconds timeout = std::chrono::seconds(3));

}  // namespace lbh
