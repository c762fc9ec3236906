#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "lb/core/check/health.hpp"

namespace lb::core {
namespace {

// Reference model straight from HAProxy's description: UP after `rise` consecutive passes from
// DOWN, DOWN after `fall` consecutive failures from fully UP, and the very first failure of a
// fresh server is enough.
enum class Transition { None, WentUp, WentDown };

struct CounterModel {
  int rise, fall;
  bool up = true;
  bool fresh = true;  // no check has completed yet
  int passes = 0, fails = 0;
  Transition apply(bool pass) {
    if (pass) {
      ++passes;
      fails = 0;
      if (fresh) {
        fresh = false;
        passes = rise;  // reaching fully UP from the initial `rise`
      }
      if (!up && passes >= rise) {
        up = true;
        return Transition::WentUp;
      }
      return Transition::None;
    }
    ++fails;
    passes = 0;
    if (up && (fresh || fails >= fall)) {
      fresh = false;
      up = false;
      return Transition::WentDown;
    }
    fresh = false;
    return Transition::None;
  }
};

RC_GTEST_PROP(HealthCounter, TransitionsMatchConsecutiveCountModel, ()) {
  const int rise = *rc::gen::inRange(1, 10);
  const int fall = *rc::gen::inRange(1, 10);
  const auto checks = *rc::gen::container<std::vector<bool>>(rc::gen::arbitrary<bool>());
  Health h(rise, fall);
  CounterModel m{rise, fall};
  bool up = true;  // the server's state, as the engine keeps it from the notifications
  for (const bool pass : checks) {
    const auto notify = h.record(pass ? CheckVerdict::Passed : CheckVerdict::Failed);
    Transition t = Transition::None;
    if (notify == CheckNotify::Failure && up) t = Transition::WentDown, up = false;
    if (notify == CheckNotify::Success && !up) t = Transition::WentUp, up = true;
    RC_ASSERT(t == m.apply(pass));
    RC_ASSERT(up == m.up);
    RC_ASSERT(h.value() >= 0 && h.value() <= rise + fall - 1);
  }
}

}  // namespace
}  // namespace lb::core
