// The idle pool's size (lb/core/route/idle_need): HAProxy 2.6's purge arithmetic, and the cap
// that keeps reconnecting clients from piling up idle connections.
#include <gtest/gtest.h>

#include "lb/core/route/idle_need.hpp"

namespace lb::core {
namespace {

TEST(IdleNeed, TheFirstIdleConnectionIsAlwaysKept) {
  IdleNeed n;
  n.taken();
  EXPECT_TRUE(n.keeps(0));
  n.given_back();
  EXPECT_EQ(n.used, 0);
  EXPECT_EQ(n.max_used, 1);
}

// Ten clients in use at once, then each request going back: all ten fit what was used; one
// more idle one than the server ever used at once does not.
TEST(IdleNeed, ConnectionsComingBackAreKeptUpToThePeakInUse) {
  IdleNeed n;
  for (int i = 0; i < 10; ++i) n.taken();
  int idle = 0;
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(n.keeps(idle)) << i;
    n.given_back();
    ++idle;
  }
  EXPECT_EQ(n.used, 0);
  // Reconnected clients: each first request takes a new connection while ten sit idle.
  n.taken();
  EXPECT_FALSE(n.keeps(idle));
}

// srv_cleanup_idle_conns: half the excess (rounded up) goes, the estimate moves toward the
// period's peak and never below it, the peak restarts from what is in use.
TEST(IdleNeed, APurgeClosesHalfTheExcessAndFollowsThePeak) {
  IdleNeed n{.used = 2, .max_used = 4, .est_need = 0};
  EXPECT_EQ(n.purge(9), 4);  // 2 + 9 - 4 = 7 in excess: 4 go
  EXPECT_EQ(n.est_need, 4);
  EXPECT_EQ(n.max_used, 2);
  EXPECT_EQ(n.purge(5), 2);  // 2 + 5 - max(2, 4) = 3: 2 go
  EXPECT_EQ(n.est_need, 3);  // (4 + 2) / 2
  EXPECT_EQ(n.purge(0), 0);  // nothing idle: not looked at
  EXPECT_EQ(n.est_need, 3);
  EXPECT_EQ(n.purge(1), 0);  // within the need
}

}  // namespace
}  // namespace lb::core
