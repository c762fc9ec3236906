#include "mockserver/core/schedule.hpp"

#include <gtest/gtest.h>

namespace mock::core {
namespace {

using namespace std::chrono_literals;

TEST(Schedule, EmptyIsAlwaysActive) {
  EXPECT_TRUE(active(Schedule{}, {}, {}, 0ms));
}

TEST(Schedule, CountsSelectRequestsAndMatches) {
  Schedule s{.matches = Range{3, 3}};
  EXPECT_FALSE(active(s, {}, {.matches = 2}, 0ms));
  EXPECT_TRUE(active(s, {}, {.matches = 3}, 0ms));
  EXPECT_FALSE(active(s, {}, {.matches = 4}, 0ms));
  Schedule after{.requests = Range{11, std::nullopt}};
  EXPECT_FALSE(active(after, {.requests = 10}, {}, 0ms));
  EXPECT_TRUE(active(after, {.requests = 1000}, {}, 0ms));
  Schedule times{.times = 2};
  EXPECT_TRUE(active(times, {}, {.fired = 1}, 0ms));
  EXPECT_FALSE(active(times, {}, {.fired = 2}, 0ms));
  Schedule every{.every = 3};
  EXPECT_FALSE(active(every, {}, {.matches = 2}, 0ms));
  EXPECT_TRUE(active(every, {}, {.matches = 6}, 0ms));
}

TEST(Schedule, WindowIsHalfOpen) {
  Schedule s{.from = 100ms, .until = 200ms};
  EXPECT_FALSE(active(s, {}, {}, 99ms));
  EXPECT_TRUE(active(s, {}, {}, 100ms));
  EXPECT_TRUE(active(s, {}, {}, 199ms));
  EXPECT_FALSE(active(s, {}, {}, 200ms));
  EXPECT_EQ(next_change(s, 0ms), 100ms);
  EXPECT_EQ(next_change(s, 100ms), 200ms);
  EXPECT_EQ(next_change(s, 200ms), std::nullopt);
}

TEST(Schedule, DownFiveSecondsEveryTwenty) {
  Schedule s{.flap = TimeFlap{20s, 5s, 0ms}};
  EXPECT_TRUE(active(s, {}, {}, 0ms));
  EXPECT_TRUE(active(s, {}, {}, 4999ms));
  EXPECT_FALSE(active(s, {}, {}, 5s));
  EXPECT_FALSE(active(s, {}, {}, 19999ms));
  EXPECT_TRUE(active(s, {}, {}, 20s));
  EXPECT_EQ(next_change(s, 0ms), 5s);
  EXPECT_EQ(next_change(s, 7s), 20s);
}

TEST(Schedule, FlapOffsetShiftsThePhase) {
  Schedule s{.flap = TimeFlap{100ms, 10ms, 50ms}};
  EXPECT_FALSE(active(s, {}, {}, 0ms));
  EXPECT_TRUE(active(s, {}, {}, 50ms));
  EXPECT_TRUE(active(s, {}, {}, 150ms));
  EXPECT_EQ(next_change(s, 0ms), 50ms);
}

TEST(Schedule, FlapByRequests) {
  Schedule s{.flap_requests = CountFlap{5, 3, 0}};
  std::string pattern;
  for (std::uint64_t i = 1; i <= 10; ++i) pattern += active(s, {.requests = i}, {}, 0ms) ? 'D' : 'u';
  EXPECT_EQ(pattern, "DDDuuDDDuu");
}

}  // namespace
}  // namespace mock::core
