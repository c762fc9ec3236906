#pragma once
// Two worlds compared: the same transitions and alerts (server, state, reason, code, info) at
// about the same time, and the same routing. HAProxy is the reference: a difference is lb's.
#include <set>
#include <string>
#include <vector>

#include "harness/core/sim_world.hpp"

namespace lbh {

struct Difference {
  std::string what;   // "only in lb", "timing", "routing at 8s", ...
  std::string left;   // what the first world saw ("" when nothing)
  std::string right;  // what the second world saw
};

// `tolerance`: how far apart the same event may be logged in the two worlds. `unordered`: the
// times of request steps whose requests run concurrently, so that only where they went counts,
// not in which order they were sent.
std::vector<Difference> diff_traces(const Trace& left, const Trace& right, Ms tolerance,
                                    const std::string& left_name, const std::string& right_name,
                                    const std::set<Ms>& unordered = {});

}  // namespace lbh
