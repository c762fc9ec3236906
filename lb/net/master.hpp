#pragma once
// `lb -W` (also -Ws, or `master-worker` in global): HAProxy 2.6's master-worker mode, the way
// Debian's haproxy.service runs it. The master reads the configuration and forks a worker that
// runs it (runtime.hpp). SIGUSR2 reloads: the master reads the files again; if they are bad it
// says "Loading failure!" and the worker goes on; else it forks a new worker, which takes over
// the listening sockets (listen_sockets.hpp) and reports ready, and the old workers get SIGUSR1
// (a soft stop: they finish their sessions and exit). The master's stderr lines are HAProxy's:
// "Reloading HAProxy", "New worker (N) forked", "Loading success.", "Former worker (N) exited
// with code 0 (Exit)", "Exiting Master process...", "All workers exited. Exiting... (0)".
#include <functional>
#include <optional>

#include "lb/core/config/model.hpp"
#include "lb/net/runtime.hpp"

namespace lb::net {

// Reads and judges the configuration files, printing haproxy's diagnostics; nullopt when they
// cannot run.
using ConfigLoader = std::function<std::optional<core::Config>()>;

// Runs the master until its last worker is gone; returns its exit code. `first` is the
// configuration already loaded for the start.
int run_master(const core::Config& first, const ConfigLoader& reload, const RuntimeOptions& worker_options);

}  // namespace lb::net
