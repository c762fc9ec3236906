// The statistics rows' rules that the captured `show stat` answers (runtime_api_vs_haproxy_test)
// do not all reach: every server status string of stats.c's srv_hlt_st[], and the CSV encoding.
#include "lb/core/stats/stats.hpp"

#include <gtest/gtest.h>

namespace lb::core::stats {
namespace {

ServerStatus checked(OpState op, int health, unsigned admin = 0) {
  ServerStatus s;
  s.op = op;
  s.health = health;
  s.rise = 2;
  s.fall = 3;  // UP at 2..4
  s.check_configured = s.check_enabled = true;
  s.admin = admin;
  return s;
}

TEST(StatsServerStatus, EveryStateAsHaproxyWordsIt) {
  EXPECT_EQ(server_status(checked(OpState::Running, 4)), "UP");
  EXPECT_EQ(server_status(checked(OpState::Running, 3)), "UP 2/3");
  EXPECT_EQ(server_status(checked(OpState::Running, 2)), "UP 1/3");
  EXPECT_EQ(server_status(checked(OpState::Stopped, 0)), "DOWN");
  EXPECT_EQ(server_status(checked(OpState::Stopped, 1)), "DOWN 1/2");
  EXPECT_EQ(server_status(checked(OpState::Stopping, 4)), "NOLB");
  EXPECT_EQ(server_status(checked(OpState::Stopping, 3)), "NOLB 2/3");
  EXPECT_EQ(server_status(checked(OpState::Running, 4, admin::kForcedDrain)), "DRAIN");
  EXPECT_EQ(server_status(checked(OpState::Running, 3, admin::kForcedDrain)), "DRAIN 2/3");
  EXPECT_EQ(server_status(checked(OpState::Stopped, 0, admin::kForcedDrain)), "DOWN");
  EXPECT_EQ(server_status(checked(OpState::Stopped, 0, admin::kForcedMaint)), "MAINT");
  EXPECT_EQ(server_status(checked(OpState::Stopped, 0, admin::kForcedMaint | admin::kResolutionMaint)),
            "MAINT (resolution)");
  auto unchecked = checked(OpState::Running, 2);
  unchecked.check_configured = unchecked.check_enabled = false;
  EXPECT_EQ(server_status(unchecked), "no check");
  unchecked.admin = admin::kForcedDrain;
  EXPECT_EQ(server_status(unchecked), "DRAIN");
  unchecked.admin = 0;
  unchecked.op = OpState::Stopped;
  EXPECT_EQ(server_status(unchecked), "DOWN");
  unchecked.op = OpState::Stopping;
  EXPECT_EQ(server_status(unchecked), "NOLB");
  auto disabled = checked(OpState::Running, 3);
  disabled.check_enabled = false;  // `disable health`: the counter no longer says anything
  EXPECT_EQ(server_status(disabled), "no check");
}

TEST(StatsCsv, TheHeaderHas128NamesAndFieldsAreQuotedOnlyWhenNeeded) {
  const auto header = csv_header();
  EXPECT_EQ(header.substr(0, 16), "# pxname,svname,");
  EXPECT_EQ(std::count(header.begin(), header.end(), ','), 128);
  EXPECT_NE(header.find(",uweight,agg_server_status,agg_server_check_status,agg_check_status,-,ssl_sess,"),
            std::string::npos);
  Row r;
  r.set("pxname", std::string("a,b"));
  r.set("svname", std::string("say \"hi\""));
  r.set("scur", 3);
  const auto line = csv_line(r);
  EXPECT_TRUE(line.starts_with("\"a,b\",\"say \"\"hi\"\"\",,,3,")) << line;
  EXPECT_EQ(std::count(line.begin(), line.end(), ',') - 1, 128);  // one comma is inside quotes
  EXPECT_EQ(line.back(), '\n');
}

}  // namespace
}  // namespace lb::core::stats
