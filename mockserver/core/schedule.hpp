#pragma once
// Schedules evaluated on counters and on elapsed time since the listener was armed (started or
// reset). Pure: the caller supplies the time, so simulated milliseconds work exactly.
#include <cstdint>
#include <optional>

#include "mockserver/core/model.hpp"

namespace mock::core {

struct ListenerCounters {
  std::uint64_t probes = 0;    // connections accepted, including the current one
  std::uint64_t requests = 0;  // requests read, including the current one
};

struct RuleCounters {
  std::uint64_t matches = 0;  // requests the rule's match accepted, including the current one
  std::uint64_t fired = 0;    // times the rule answered, excluding the current one
};

bool in_flap(const TimeFlap& f, Ms elapsed);
bool in_flap(const CountFlap& f, std::uint64_t index);

bool active(const Schedule& s, const ListenerCounters& lc, const RuleCounters& rc, Ms elapsed);

// The first instant strictly after `elapsed` at which a time condition of `s` may change value;
// nullopt when none ever will. The edge re-evaluates listener modes there.
std::optional<Ms> next_change(const Schedule& s, Ms elapsed);

}  // namespace mock::core
