#pragma once
// `lb -f FILE` at run time: resolves server names once, starts the check engine on Asio, the
// listeners of every frontend, and the log targets, then runs one event loop until SIGTERM or
// SIGINT. All decisions stay in lb/core; this only wires the pieces together.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lb/core/api/master_cli.hpp"
#include "lb/core/config/model.hpp"

namespace lb::net {

class ListenSockets;

struct RuntimeOptions {
  std::string program = "lb";   // log tag
  bool quiet = false;           // -q: no stderr copies of server-state lines
  std::chrono::milliseconds grace{5000};  // SIGTERM: how long in-flight requests may take
  // Print "listening FRONTEND ADDR:PORT" per bound listener, then "ready", on stdout once every
  // listener is bound.
  bool announce = false;
  // -sf / -st PID...: once listening, tell these processes to finish (SIGUSR1) or to stop at
  // once (SIGTERM), as a legacy HAProxy reload does.
  std::vector<int> finish_pids;
  bool terminate_old = false;
  // A worker of `lb -W` (master.hpp): the listening sockets its master hands over, the channel
  // it reports its own sockets on once it is ready, and the master's pid, which names the
  // start-up lines (the server-state loader's) as HAProxy's master prints them.
  // Once the listeners are bound: `on_ready` tells whoever started lb (lb -D's command; in
  // master-worker mode the master calls it when its first worker is ready), `detach` sends this
  // process's stdio to /dev/null (-D), and `systemd` has the master notify systemd (-Ws).
  std::function<void()> on_ready;
  bool detach = false;
  bool systemd = false;
  ListenSockets* handover = nullptr;
  int master_channel = -1;
  int master_pid = 0;
  // -S: the master CLI's sockets (the master's); a worker serves the master's commands on
  // `master_cli_channel` (StatsSockets::serve_master).
  std::vector<core::mcli::MasterSocket> master_sockets;
  int master_cli_channel = -1;
};

// Runs a configuration that parsed without alerts. Returns the process exit code: 0 after a
// SIGTERM/SIGINT, or once a soft stop (SIGUSR1: a reload's old process) has let the last
// session end; 1 when a listener cannot be bound (after HAProxy's alert lines). A worker of
// `lb -W` dies of SIGTERM/SIGINT at once, as HAProxy's workers do.
int run(const core::Config& config, const RuntimeOptions& options);

}  // namespace lb::net
