#include <gtest/gtest.h>

#include <vector>

#include "lb/core/time/clock.hpp"

namespace lb::core {
namespace {

TEST(SimScheduler, RunsTimersInTimeThenCreationOrderAtTheirInstant) {
  SimScheduler s;
  std::vector<std::pair<int, long>> ran;
  s.schedule_at(TimePoint{Ms{20}}, [&] { ran.emplace_back(1, s.now().time_since_epoch().count()); });
  s.schedule_at(TimePoint{Ms{10}}, [&] { ran.emplace_back(2, s.now().time_since_epoch().count()); });
  s.schedule_at(TimePoint{Ms{10}}, [&] { ran.emplace_back(3, s.now().time_since_epoch().count()); });
  s.advance(Ms{15});
  EXPECT_EQ(ran, (std::vector<std::pair<int, long>>{{2, 10}, {3, 10}}));
  EXPECT_EQ(s.now(), TimePoint{Ms{15}});
  s.advance(Ms{5});
  EXPECT_EQ(ran.back(), (std::pair<int, long>{1, 20}));
  EXPECT_TRUE(s.idle());
}

TEST(SimScheduler, CancelledTimerNeverRuns) {
  SimScheduler s;
  bool ran = false;
  const auto id = s.schedule_at(TimePoint{Ms{5}}, [&] { ran = true; });
  s.cancel(id);
  s.cancel(id);  // twice is harmless
  s.advance(Ms{10});
  EXPECT_FALSE(ran);
}

TEST(SimScheduler, TimerScheduledFromATimerAtTheSameInstantRunsInTheSameAdvance) {
  SimScheduler s;
  int count = 0;
  s.schedule_at(TimePoint{Ms{1}}, [&] {
    ++count;
    s.schedule_at(s.now(), [&] { ++count; });
  });
  s.advance(Ms{1});
  EXPECT_EQ(count, 2);
}

TEST(SimScheduler, PastInstantsRunAtNow) {
  SimScheduler s(TimePoint{Ms{100}});
  TimePoint at{};
  s.schedule_at(TimePoint{Ms{50}}, [&] { at = s.now(); });
  s.run_next();
  EXPECT_EQ(at, TimePoint{Ms{100}});
}

}  // namespace
}  // namespace lb::core
