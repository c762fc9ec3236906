#pragma once
// The `lb` and `haproxy` worlds: a scenario played by real processes on loopback. One mockserver
// serves every backend (its --rule/--fault flags are the scenario's backends, its control API
// plays the timeline), the balancer runs the rendered config in the foreground, and its own
// stderr lines ("[WARNING]  (pid) : Server ... is DOWN, ...") are the events. Time zero is the
// first check a backend receives, not the spawn: a balancer that starts slower or faster sees
// every step at the same phase of its checks.
#include <string>

#include "harness/core/scenario.hpp"
#include "harness/core/sim_world.hpp"

namespace lbh {

struct LiveOptions {
  std::string balancer;    // the lb or haproxy binary
  std::string mockserver;  // the mockserver binary
};

Trace play_live(const Scenario& scenario, const LiveOptions& options);

}  // namespace lbh
