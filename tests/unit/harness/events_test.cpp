// Reading balancer log lines back into events: the lines lb prints and haproxy prints, bare and
// with the prefixes they come with.
#include <gtest/gtest.h>

#include "harness/core/events.hpp"

namespace lbh {
namespace {

TEST(Events, ADownLineGivesServerReasonCodeInfoAndDuration) {
  const auto e = parse_event(
      "Server be_server/app1 is DOWN, reason: Layer7 wrong status, code: 500, info: \"Internal Server Error\", check "
      "duration: 1ms. 2 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, Event::Kind::Down);
  EXPECT_EQ(e->who(), "be_server/app1");
  EXPECT_EQ(e->reason, "Layer7 wrong status");
  EXPECT_EQ(e->code, 500);
  EXPECT_EQ(e->info, "Internal Server Error");
  EXPECT_EQ(e->duration_ms, 1);
}

TEST(Events, TimeoutsAndRefusalsAsHaproxyWordsThem) {
  auto e = parse_event("[WARNING]  (4242) : Server apps/s2 is DOWN, reason: Layer7 timeout, check duration: 2001ms. 2 "
                       "active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->reason, "Layer7 timeout");
  EXPECT_FALSE(e->code);
  EXPECT_EQ(e->duration_ms, 2001);
  EXPECT_EQ(e->line.substr(0, 7), "Server ");  // the prefix is gone
  e = parse_event("<129>Dec  1 12:00:00 haproxy[7]: Server be/app2 is DOWN, reason: Layer4 connection problem, info: "
                  "\"Connection refused\", check duration: 0ms. 1 active and 0 backup servers left. 0 sessions active, "
                  "0 requeued, 0 remaining in queue.");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->reason, "Layer4 connection problem");
  EXPECT_EQ(e->info, "Connection refused");
  EXPECT_EQ(e->duration_ms, 0);
}

TEST(Events, UpBackupStoppingAndNoServerLines) {
  auto e = parse_event("Backup Server be/b1 is UP, reason: Layer7 check passed, code: 200, check duration: 0ms. 0 "
                       "active and 1 backup servers online. Running on backup. 0 sessions requeued, 0 total in queue.");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, Event::Kind::Up);
  EXPECT_TRUE(e->backup);
  EXPECT_EQ(e->code, 200);
  e = parse_event("Server be/s1 is stopping, reason: Layer7 check conditionally passed, code: 404, check duration: 0ms. "
                  "1 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, Event::Kind::Stopping);
  e = parse_event("backend be_server has no server available!");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, Event::Kind::NoServer);
  EXPECT_EQ(e->who(), "be_server");
  e = parse_event("[ALERT]    (1) : backend 'be_server' has no server available!");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->proxy, "be_server");
  // Without a reason (option log-health-checks logs it on the health-check line instead).
  e = parse_event("Server be/s1 is DOWN. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.");
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->reason.empty());
}

TEST(Events, OtherLinesAreNotEvents) {
  EXPECT_FALSE(parse_event(""));
  EXPECT_FALSE(parse_event("127.0.0.1:4000 [01/Dec/2026:12:00:00.000] fe be/s1 0/0/0/0/0 200 51 - - ---- 1/1/0/0/0 0/0 \"GET / HTTP/1.1\""));
  EXPECT_FALSE(parse_event("Health check for server be/s1 failed, reason: Layer4 timeout, status: 0/2 DOWN."));
  EXPECT_FALSE(parse_event("Server be/s1 is somewhere"));
  EXPECT_FALSE(parse_event("Server nobackend is DOWN."));
}

}  // namespace
}  // namespace lbh

namespace lbh {
namespace {

// Resolution's lines, as haproxy 2.6.12 printed them against mockserver's DNS responder.
TEST(Events, ResolutionLinesAreAddressMaintenanceAndUpEvents) {
  auto e = parse_event("[WARNING]  (77) : apps/s2 changed its IP from 127.0.0.2 to 127.0.0.3 by dns/ns1.");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, Event::Kind::Address);
  EXPECT_EQ(e->who(), "apps/s2");
  EXPECT_EQ(e->info, "127.0.0.3");
  EXPECT_EQ(e->reason, "dns/ns1");
  EXPECT_FALSE(is_state(e->kind));

  e = parse_event("Server apps/s2 is going DOWN for maintenance (DNS NX status). 1 active and 0 backup servers left. 0 "
                  "sessions active, 0 requeued, 0 remaining in queue.");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, Event::Kind::Maintenance);
  EXPECT_EQ(e->reason, "DNS NX status");
  EXPECT_EQ(name(e->kind), "MAINT");

  e = parse_event("Server apps/s2 was DOWN and now enters maintenance (DNS timeout status).");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, Event::Kind::Maintenance);
  EXPECT_EQ(e->who(), "apps/s2");
  EXPECT_EQ(e->reason, "DNS timeout status");

  e = parse_event("[WARNING]  (77) : Server apps/s2 ('app2.lbh.test') is UP/READY (resolves again).");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, Event::Kind::Up);
  EXPECT_EQ(e->who(), "apps/s2");
  EXPECT_EQ(e->reason, "resolves again");

  // The resolver's own afterword carries no state of its own.
  EXPECT_FALSE(parse_event("Server apps/s2 administratively READY thanks to valid DNS answer."));
}

TEST(Events, TheRuntimeApisMaintenanceDrainAndHealthLines) {
  auto e = parse_event("Server be/s1 is going DOWN for maintenance. 1 active and 0 backup servers left. 0 sessions "
                       "active, 0 requeued, 0 remaining in queue.");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, Event::Kind::Maintenance);
  EXPECT_EQ(e->reason, "");
  e = parse_event("[WARNING]  (1) : Server be/s1 is UP/READY (leaving forced maintenance).");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, Event::Kind::Up);
  EXPECT_EQ(e->reason, "leaving forced maintenance");
  e = parse_event("Server be/s1 is DOWN/DRAIN (leaving forced maintenance).");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, Event::Kind::Down);
  e = parse_event("Backup Server be/b1 enters drain state. 1 active and 0 backup servers online. 0 sessions requeued, 0 "
                  "total in queue.");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, Event::Kind::Drain);
  EXPECT_EQ(e->who(), "be/b1");
  EXPECT_TRUE(e->backup);
  e = parse_event("Server be/s1 is DOWN (leaving forced drain).");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, Event::Kind::Down);
  EXPECT_EQ(e->reason, "leaving forced drain");
  e = parse_event("Server be/s1 is UP, changed from CLI. 2 active and 0 backup servers online. 0 sessions requeued, 0 "
                  "total in queue.");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, Event::Kind::Up);
  EXPECT_EQ(e->reason, "changed from CLI");
  EXPECT_FALSE(parse_event("Server be/s1 remains in forced drain mode."));
  EXPECT_EQ(name(Event::Kind::Drain), "DRAIN");
}

}  // namespace
}  // namespace lbh
