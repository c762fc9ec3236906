// The stats CSV inside Runtime API answers: found, read by row and column, and cut down to the
// columns of state for comparing two balancers.
#include <gtest/gtest.h>

#include "harness/core/stats_csv.hpp"

namespace lbh {
namespace {

constexpr std::string_view kAnswer =
    "# pxname,svname,bin,status,weight,lastchg,\n"
    "be,app1,120,UP,1,3,\n"
    "be,BACKEND,120,UP,1,7,\n"
    "\n";

TEST(StatsCsv, RowsAndColumnsByName) {
  const auto csv = find_stats_csv(kAnswer);
  ASSERT_TRUE(csv);
  EXPECT_EQ(csv->columns, (std::vector<std::string>{"pxname", "svname", "bin", "status", "weight", "lastchg"}));
  EXPECT_EQ(csv->value("be", "app1", "status"), "UP");
  EXPECT_EQ(csv->value("be", "BACKEND", "bin"), "120");
  EXPECT_EQ(csv->value("be", "app2", "status"), std::nullopt);
  EXPECT_EQ(csv->value("be", "app1", "nope"), std::nullopt);
  EXPECT_FALSE(find_stats_csv("Unknown command.\n\n"));
}

TEST(StatsCsv, QuotedCellsAreUnquoted) {
  const auto csv = find_stats_csv("# pxname,svname,last_chk,status,\nbe,s,\"a, \"\"b\"\"\",UP,\nbe,t,\"\",DOWN,\n\n");
  ASSERT_TRUE(csv);
  EXPECT_EQ(csv->value("be", "s", "last_chk"), "a, \"b\"");
  EXPECT_EQ(csv->value("be", "s", "status"), "UP");
  EXPECT_EQ(csv->value("be", "t", "last_chk"), "");
  EXPECT_EQ(csv->value("be", "t", "status"), "DOWN");
}

TEST(StatsCsv, OnlyTheColumnsOfStateAreCompared) {
  const std::string before = "\n" + std::string(kAnswer) + "after\n";
  const auto cut = state_columns_only(before);
  EXPECT_EQ(cut.substr(0, 1), "\n");
  EXPECT_NE(cut.find("\nbe,app1,UP,1,,,,,,,,,,,\n"), std::string::npos) << cut;
  EXPECT_EQ(cut.find("120"), std::string::npos);
  EXPECT_TRUE(cut.ends_with("\nafter\n"));
  // Counters and times differ, state does not: the same cut.
  std::string other = before;
  other.replace(other.find("120"), 3, "999");
  EXPECT_EQ(state_columns_only(other), cut);
  EXPECT_EQ(state_columns_only("no csv\n"), "no csv\n");
}

}  // namespace
}  // namespace lbh
