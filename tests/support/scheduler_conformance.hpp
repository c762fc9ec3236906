#pragma once
// One behaviour contract for every core::Scheduler: the simulated one (unit tests) and the
// Asio one (net tests) instantiate this suite with a World that owns the scheduler and runs it
// until nothing is pending.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "lb/core/time/clock.hpp"

namespace lb::test {

template <class World>
class SchedulerConformance : public ::testing::Test {
 protected:
  World world_;
  core::Scheduler& sched() { return world_.scheduler(); }
  void run() { world_.run_until_idle(); }
  core::TimePoint in(int ms) { return sched().now() + core::Ms{ms}; }
};
TYPED_TEST_SUITE_P(SchedulerConformance);

TYPED_TEST_P(SchedulerConformance, TimersRunInTimeOrderNotBeforeTheirInstant) {
  std::vector<std::string> ran;
  bool early = false;
  auto make = [&](std::string name, int ms) {
    const auto when = this->in(ms);
    auto t = this->sched().make_timer([&, name, when] {
      ran.push_back(name);
      early = early || this->sched().now() < when;
    });
    t->arm_at(when);
    return t;
  };
  auto a = make("a", 20), b = make("b", 5), c = make("c", 12);
  this->run();
  EXPECT_EQ(ran, (std::vector<std::string>{"b", "c", "a"}));
  EXPECT_FALSE(early);
}

TYPED_TEST_P(SchedulerConformance, ADisarmedTimerNeverRunsEvenIfItsExpiryIsAlreadyDue) {
  bool second_ran = false;
  std::unique_ptr<core::Timer> second = this->sched().make_timer([&] { second_ran = true; });
  auto first = this->sched().make_timer([&] { second->disarm(); });
  // Both are due at once, so the loop may already hold the second's expiry when the first runs.
  first->arm_at(this->sched().now());
  second->arm_at(this->sched().now());
  this->run();
  EXPECT_FALSE(second_ran);
  EXPECT_FALSE(second->armed());
}

TYPED_TEST_P(SchedulerConformance, ADestroyedTimerNeverRuns) {
  bool second_ran = false;
  std::unique_ptr<core::Timer> second = this->sched().make_timer([&] { second_ran = true; });
  auto first = this->sched().make_timer([&] { second.reset(); });
  first->arm_at(this->sched().now());
  second->arm_at(this->sched().now());
  this->run();
  EXPECT_FALSE(second_ran);
}

TYPED_TEST_P(SchedulerConformance, ReArmingReplacesThePreviousExpiry) {
  int fired = 0;
  auto t = this->sched().make_timer([&] { ++fired; });
  const auto start = this->sched().now();
  t->arm_at(this->in(60'000));
  t->arm_at(this->in(3));
  EXPECT_TRUE(t->armed());
  this->run();
  EXPECT_EQ(fired, 1);
  EXPECT_FALSE(t->armed());
  EXPECT_LT(this->sched().now() - start, core::Ms{60'000});
}

TYPED_TEST_P(SchedulerConformance, ACallbackMayReArmOrDestroyItsOwnTimer) {
  int fired = 0;
  std::unique_ptr<core::Timer> t;
  t = this->sched().make_timer([&] {
    if (++fired < 3)
      t->arm_at(this->in(1));
    else
      t.reset();
  });
  t->arm_at(this->in(1));
  this->run();
  EXPECT_EQ(fired, 3);
  EXPECT_EQ(t, nullptr);
}

TYPED_TEST_P(SchedulerConformance, PostedFunctionsRunInOrderNeverInsideThePost) {
  std::vector<int> ran;
  bool inside_post = false;
  this->sched().post([&] {
    ran.push_back(1);
    inside_post = true;
    this->sched().post([&] { ran.push_back(3); });
    this->sched().post([&] { ran.push_back(4); });
    inside_post = false;
    ran.push_back(2);
  });
  EXPECT_TRUE(ran.empty());
  this->run();
  EXPECT_FALSE(inside_post);
  EXPECT_EQ(ran, (std::vector<int>{1, 2, 3, 4}));
}

TYPED_TEST_P(SchedulerConformance, ArmingFromACallbackForNowRunsAfterIt) {
  std::vector<int> ran;
  auto later = this->sched().make_timer([&] { ran.push_back(2); });
  auto first = this->sched().make_timer([&] {
    later->arm_at(this->sched().now());
    ran.push_back(1);
  });
  first->arm_at(this->sched().now());
  this->run();
  EXPECT_EQ(ran, (std::vector<int>{1, 2}));
}

REGISTER_TYPED_TEST_SUITE_P(SchedulerConformance, TimersRunInTimeOrderNotBeforeTheirInstant,
                            ADisarmedTimerNeverRunsEvenIfItsExpiryIsAlreadyDue, ADestroyedTimerNeverRuns,
                            ReArmingReplacesThePreviousExpiry, ACallbackMayReArmOrDestroyItsOwnTimer,
                            PostedFunctionsRunInOrderNeverInsideThePost, ArmingFromACallbackForNowRunsAfterIt);

}  // namespace lb::test
