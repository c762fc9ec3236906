#pragma once
// `lb -f FILE` at run time: resolves server names once, starts the check engine on Asio, the
// listeners of every frontend, and the log targets, then runs one event loop until SIGTERM or
// SIGINT. All decisions stay in lb/core; this only wires the pieces together.
#include <memory>
#include <optional>
#include <string>

#include "lb/core/config/model.hpp"

namespace lb::net {

struct RuntimeOptions {
  std::string program = "lb";   // log tag
  bool quiet = false;           // -q: no stderr copies of server-state lines
  std::chrono::milliseconds grace{5000};  // SIGTERM: how long in-flight requests may take
  // Print "listening FRONTEND ADDR:PORT" per bound listener, then "ready", on stdout once every
  // listener is bound.
  bool announce = false;
};

// Runs a configuration that parsed without alerts. Returns the process exit code: 0 after a
// SIGTERM/SIGINT, 1 when a listener cannot be bound (after HAProxy's alert lines).
int run(const core::Config& config, const RuntimeOptions& options);

}  // namespace lb::net
