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
bool eventually(Pred pred, milliseconds limit = kPatience) {
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

// Time windows are relative to the listener's arming. Each test re-arms it with POST /v1/reset
// right before probing, so a slow start-up cannot eat the window, and every window is wide enough
// (hundreds of ms) that one probe stalled by a loaded machine cannot step over it.
// The server keeps time in whole milliseconds (both ends truncated), so a window edge may open
// up to 1 ms early by the test's finer clock.
void rearm(const Mock& m) { ASSERT_EQ(m.call("POST", "/v1/reset").status, 200); }
constexpr milliseconds kTick{1};

TEST(MockTimeline, AfterTimeTheRuleStartsApplying) {
  Mock m = with_rules({"s1: after_ms=200 -> status 503"});
  const auto start = Clock::now();
  rearm(m);
  EXPECT_TRUE(eventually([&] { return status_of(http(m.port(), "GET", "/").bytes) == 503; }));
  EXPECT_GE(Clock::now() - start, milliseconds(200) - kTick);
}

TEST(MockTimeline, TimeWindowOpensAndCloses) {
  Mock m = with_rules({"s1: at_ms=200..1000 -> status 503"});
  const auto start = Clock::now();
  rearm(m);
  EXPECT_TRUE(eventually([&] { return status_of(http(m.port(), "GET", "/").bytes) == 503; }));
  EXPECT_GE(Clock::now() - start, milliseconds(200) - kTick);
  EXPECT_TRUE(eventually([&] { return status_of(http(m.port(), "GET", "/").bytes) == 200; }));
  EXPECT_GE(Clock::now() - start, milliseconds(1000) - kTick);
  // One window, in the server's own order: 200s, then 503s, then 200s only.
  std::string shape;
  for (const auto& e : m.journal("listener=s1&limit=100000")) {
    const char c = e.at("outcome") == "503" ? 'x' : '.';
    if (shape.empty() || shape.back() != c) shape += c;
  }
  EXPECT_TRUE(shape == "x." || shape == ".x.") << shape;
}

TEST(MockTimeline, FlappingListenerAlternatesBetweenRefusingAndServing) {
  // Down 250 ms of every 500 ms: both states show up, and again after a full period.
  Mock m = with_rules({"s1: flap=500/250 -> refuse"});
  for (int round = 0; round < 2; ++round) {
    EXPECT_TRUE(eventually([&] { return connect_to(m.port()).error == ECONNREFUSED; }));
    EXPECT_TRUE(eventually([&] { return connect_to(m.port()).error == 0; }));
  }
}

TEST(MockTimeline, BlackholeWindowEndsOnTime) {
  Mock m = with_rules({"s1: at_ms=0..1000 -> blackhole"});
  const auto start = Clock::now();
  rearm(m);
  // Only meaningful while the window is surely open; a stalled test skips the first check.
  const auto early = connect_to(m.port(), milliseconds(100));
  if (Clock::now() - start < milliseconds(900)) {
    EXPECT_EQ(early.error, ETIMEDOUT);
  }
  // After the window new connects complete (a dropped SYN would wait for its retransmit).
  EXPECT_TRUE(eventually([&] { return connect_to(m.port(), milliseconds(50)).error == 0; }));
  EXPECT_GE(Clock::now() - start, milliseconds(1000) - kTick);
}

}  // namespace
}  // namespace lb::test
