// Sequences and timelines on the real binary: counts, time windows, flapping.
#include <gtest/gtest.h>

#include <thread>

#include "tests/integration/mockserver_client.hpp"

namespace lb::test {
namespace {

constexpr std::string_view kCheck = "OPTIONS / HTTP/1.0\r\n\r\n";

Mock with_rules(std::vector<std::string> rules) {
  std::vector<std::string> args{"--listen", "s1=127.0.0.1:0"};
  for (auto& r : rules) args.insert(args.end(), {"--rule", r});
  return Mock(args);
}

// Polls until `pred` holds or `limit` passes; the server's state changes on its own clock.
template <class Pred>
bool eventually(Pred pred, milliseconds limit = milliseconds(2000)) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(milliseconds(5));  // a bounded poll, not a wait for a guess
  }
  return pred();
}

TEST(MockTimeline, TheThirdHealthCheckGets500) {
  Mock m = with_rules({"s1: method=OPTIONS nth=3 -> status 500"});
  std::vector<int> statuses;
  for (int i = 0; i < 5; ++i) {
    statuses.push_back(status_of(request_once(m.port(), kCheck).bytes));
    // Normal traffic in between does not count as a check.
    EXPECT_EQ(status_of(http(m.port(), "GET", "/").bytes), 200);
  }
  EXPECT_EQ(statuses, (std::vector<int>{200, 200, 500, 200, 200}));
}

TEST(MockTimeline, TimesServesTheFirstMatchesThenFallsThrough) {
  Mock m = with_rules({"s1: times=2 -> status 503"});
  std::vector<int> statuses;
  for (int i = 0; i < 4; ++i) statuses.push_back(status_of(http(m.port(), "GET", "/").bytes));
  EXPECT_EQ(statuses, (std::vector<int>{503, 503, 200, 200}));
}

TEST(MockTimeline, RefusesAfterNRequests) {
  Mock m = with_rules({"s1: after=2 -> refuse"});
  EXPECT_EQ(status_of(http(m.port(), "GET", "/").bytes), 200);
  EXPECT_EQ(status_of(http(m.port(), "GET", "/").bytes), 200);
  EXPECT_TRUE(m.wait_journal("listener=s1", 2));
  EXPECT_EQ(connect_to(m.port()).error, ECONNREFUSED);
  // Reset restarts the count and re-opens the listener on the same port.
  EXPECT_EQ(m.call("POST", "/v1/reset").status, 200);
  EXPECT_EQ(status_of(http(m.port(), "GET", "/").bytes), 200);
}

TEST(MockTimeline, FlapsByRequestCount) {
  Mock m = with_rules({"s1: flap_requests=3/1 -> status 500"});
  std::vector<int> statuses;
  for (int i = 0; i < 6; ++i) statuses.push_back(status_of(http(m.port(), "GET", "/").bytes));
  EXPECT_EQ(statuses, (std::vector<int>{500, 200, 200, 500, 200, 200}));
}

TEST(MockTimeline, AfterTimeTheRuleStartsApplying) {
  const auto start = Clock::now();
  Mock m = with_rules({"s1: after_ms=200 -> status 503"});
  EXPECT_TRUE(eventually([&] { return status_of(http(m.port(), "GET", "/").bytes) == 503; }));
  EXPECT_GE(Clock::now() - start, milliseconds(200));
}

TEST(MockTimeline, TimeWindowOpensAndCloses) {
  Mock m = with_rules({"s1: at_ms=100..250 -> status 503"});
  EXPECT_TRUE(eventually([&] { return status_of(http(m.port(), "GET", "/").bytes) == 503; }));
  EXPECT_TRUE(eventually([&] { return status_of(http(m.port(), "GET", "/").bytes) == 200; }));
}

TEST(MockTimeline, FlappingListenerAlternatesBetweenRefusingAndServing) {
  // Down 100 ms of every 200 ms: both states show up, and again after a full period.
  Mock m = with_rules({"s1: flap=200/100 -> refuse"});
  for (int round = 0; round < 2; ++round) {
    EXPECT_TRUE(eventually([&] { return connect_to(m.port()).error == ECONNREFUSED; }));
    EXPECT_TRUE(eventually([&] { return connect_to(m.port()).error == 0; }));
  }
}

TEST(MockTimeline, BlackholeWindowEndsOnTime) {
  Mock m = with_rules({"s1: at_ms=0..300 -> blackhole"});
  EXPECT_EQ(connect_to(m.port(), milliseconds(100)).error, ETIMEDOUT);
  // After the window new connects complete (a dropped SYN would wait for its retransmit).
  EXPECT_TRUE(eventually([&] {
    return connect_to(m.port(), milliseconds(50)).error == 0;
  }));
}

}  // namespace
}  // namespace lb::test
