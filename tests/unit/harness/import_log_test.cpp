// import-log: an incident's log lines become a scenario that loads, replays the same transitions
// and passes on simulated time.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harness/core/import_log.hpp"
#include "harness/core/scenario.hpp"
#include "harness/core/sim_world.hpp"
#include "harness/core/verdict.hpp"

namespace lbh {
namespace {

using ::testing::HasSubstr;

constexpr const char* kIncident =
    "Dec  1 10:00:01 lb1 haproxy[812]: Server be_server/app1 is DOWN, reason: Layer7 wrong status, code: 500, info: "
    "\"Internal Server Error\", check duration: 1ms. 2 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 "
    "remaining in queue.\n"
    "Dec  1 10:00:02 lb1 haproxy[812]: Server be_server/app2 is DOWN, reason: Layer7 wrong status, code: 500, info: "
    "\"Internal Server Error\", check duration: 1ms. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 "
    "remaining in queue.\n"
    "Dec  1 10:00:02 lb1 haproxy[812]: backend be_server has no server available!\n"
    "Dec  1 10:14:40 lb1 haproxy[812]: Server be_server/app1 is UP, reason: Layer7 check passed, code: 200, check "
    "duration: 0ms. 1 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.\n"
    "Dec  1 10:20:00 lb1 haproxy[812]: Server be_server/app1 is DOWN, reason: Layer7 timeout, check duration: 2001ms. 0 "
    "active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.\n"
    "Dec  1 10:20:00 lb1 haproxy[812]: Server be_server/app2 is DOWN, reason: Layer4 connection problem, info: \"No "
    "route to host\", check duration: 0ms. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 "
    "remaining in queue.\n"
    "127.0.0.1:4000 [01/Dec/2026:10:20:01.000] fe be_server/<NOSRV> 0/-1/-1/-1/0 503 217 - - SC-- 1/1/0/0/0 0/0 \"GET / HTTP/1.1\"\n";

TEST(ImportLog, AnIncidentBecomesAScenarioThatReplaysItOnSimulatedTime) {
  const auto r = import_log(kIncident, "incident", "incident.log");
  EXPECT_EQ(r.events, 6);  // the httplog line is not a server state line
  const auto loaded = parse_scenario(r.yaml, "incident.yaml");
  ASSERT_TRUE(loaded.scenario) << loaded.errors.front().text() << "\n" << r.yaml;
  const auto& s = *loaded.scenario;
  EXPECT_EQ(s.backends.size(), 2u);
  EXPECT_THAT(s.config, HasSubstr("option httpchk"));
  EXPECT_THAT(r.yaml, HasSubstr("rules: [\"-> status 500\"]"));
  EXPECT_THAT(r.yaml, HasSubstr("fault: \"hang\""));
  EXPECT_THAT(r.yaml, HasSubstr("fault: \"refuse\""));
  const auto failures = judge(s, play_sim(s));
  for (const auto& f : failures) ADD_FAILURE() << f.line << ": " << f.message << "\n" << r.yaml;
  // app2 goes DOWN twice with no UP between; "No route to host" cannot be had on loopback.
  EXPECT_THAT(r.warnings, ::testing::Contains(HasSubstr("be_server/app2 is DOWN twice with no UP between")));
  EXPECT_THAT(r.warnings, ::testing::Contains(HasSubstr("\"No route to host\" is reproduced as \"Connection refused\"")));
}

TEST(ImportLog, LinesWithoutTimesKeepTheirOrderAndUnknownReasonsAreNamed) {
  const auto r = import_log(
      "[WARNING]  (1) : Server be/a is DOWN, reason: Layer6 invalid response, info: \"SSL handshake failure\", check "
      "duration: 3ms. 1 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.\n"
      "[WARNING]  (1) : Server be/b is DOWN, reason: Layer4 timeout, check duration: 2001ms. 0 active and 0 backup "
      "servers left. 0 sessions active, 0 requeued, 0 remaining in queue.\n",
      "x", "x.log");
  EXPECT_THAT(r.warnings, ::testing::Contains(HasSubstr("one slot per line, in the log's order")));
  EXPECT_THAT(r.warnings, ::testing::Contains("be/a: no mockserver fault gives \"Layer6 invalid response\"; not reproduced"));
  const auto loaded = parse_scenario(r.yaml, "x.yaml");
  ASSERT_TRUE(loaded.scenario) << r.yaml;
  EXPECT_THAT(r.yaml, HasSubstr("fault: \"blackhole\""));
}

TEST(ImportLog, ALogWithoutServerLinesSaysSo) {
  const auto r = import_log("hello\nworld\n", "x", "x.log");
  EXPECT_EQ(r.events, 0);
  EXPECT_TRUE(r.yaml.empty());
  EXPECT_THAT(r.warnings, ::testing::ElementsAre(HasSubstr("no server state lines")));
}

}  // namespace
}  // namespace lbh
