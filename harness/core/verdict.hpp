#pragma once
// Judges what a world saw against what the scenario expects: each expected transition, alert
// and routing must be there, and, unless the scenario allows others, nothing else happened.
#include <string>
#include <vector>

#include "harness/core/scenario.hpp"
#include "harness/core/sim_world.hpp"

namespace lbh {

struct Failure {
  int line = 0;  // the expectation's line in the scenario file; 0: not tied to one
  std::string message;
};

std::vector<Failure> judge(const Scenario& scenario, const Trace& trace);

// "2.001s", "0.5s", "12s": how times appear in messages.
std::string seconds(Ms t);

}  // namespace lbh
