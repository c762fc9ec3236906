#include <gtest/gtest.h>

#include <vector>

#include "lb/core/time/clock.hpp"

namespace lb::core {
namespace {

long at(const SimScheduler& s) { return s.now().time_since_epoch().count(); }

TEST(SimScheduler, RunsTimersInTimeThenArmingOrderAtTheirInstant) {
  SimScheduler s;
  std::vector<std::pair<int, long>> ran;
  auto t1 = s.make_timer([&] { ran.emplace_back(1, at(s)); });
  auto t2 = s.make_timer([&] { ran.emplace_back(2, at(s)); });
  auto t3 = s.make_timer([&] { ran.emplace_back(3, at(s)); });
  t1->arm_at(TimePoint{Ms{20}});
  t2->arm_at(TimePoint{Ms{10}});
  t3->arm_at(TimePoint{Ms{10}});
  s.advance(Ms{15});
  EXPECT_EQ(ran, (std::vector<std::pair<int, long>>{{2, 10}, {3, 10}}));
  EXPECT_EQ(s.now(), TimePoint{Ms{15}});
  s.advance(Ms{5});
  EXPECT_EQ(ran.back(), (std::pair<int, long>{1, 20}));
  EXPECT_TRUE(s.idle());
}

TEST(SimScheduler, PastInstantsRunAtNow) {
  SimScheduler s(TimePoint{Ms{100}});
  TimePoint when{};
  auto t = s.make_timer([&] { when = s.now(); });
  t->arm_at(TimePoint{Ms{50}});
  s.run_next();
  EXPECT_EQ(when, TimePoint{Ms{100}});
}

TEST(SimScheduler, RunUntilStopsAtTheInstantAndMovesTimeThere) {
  SimScheduler s;
  int fired = 0;
  auto t = s.make_timer([&] { ++fired; });
  t->arm_at(TimePoint{Ms{30}});
  s.run_until(TimePoint{Ms{29}});
  EXPECT_EQ(fired, 0);
  EXPECT_EQ(s.next_due(), TimePoint{Ms{30}});
  s.run_until(TimePoint{Ms{30}});
  EXPECT_EQ(fired, 1);
}

}  // namespace
}  // namespace lb::core

// The contract every Scheduler keeps, on simulated time.
#include "tests/support/scheduler_conformance.hpp"

namespace lb::test {
namespace {
struct SimWorld {
  core::SimScheduler sim;
  core::Scheduler& scheduler() { return sim; }
  void run_until_idle() {
    while (sim.run_next()) {
    }
  }
};
using SimWorlds = ::testing::Types<SimWorld>;
}  // namespace
INSTANTIATE_TYPED_TEST_SUITE_P(Sim, SchedulerConformance, SimWorlds);
}  // namespace lb::test
