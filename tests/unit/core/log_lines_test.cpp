#include "lb/core/log/log_lines.hpp"

#include <gtest/gtest.h>

namespace lb::core {
namespace {

TEST(LogLines, DownLineWithReasonMatchesHaproxy) {
  const CheckResult r{CheckStatus::L7WrongStatus, 500, "Internal Server Error", Ms{1}};
  EXPECT_EQ(server_down_line({"apps", "s2"}, &r, {2, 0}).text,
            "Server apps/s2 is DOWN, reason: Layer7 wrong status, code: 500, info: \"Internal Server "
            "Error\", check duration: 1ms. 2 active and 0 backup servers left. 0 sessions active, 0 "
            "requeued, 0 remaining in queue.");
  EXPECT_EQ(server_down_line({"apps", "s2"}, &r, {2, 0}).severity, Severity::Alert);
}

TEST(LogLines, DownLineRunningOnBackupHasNoReasonWithLogHealthChecks) {
  EXPECT_EQ(server_down_line({"apps", "s2"}, nullptr, {0, 1}).text,
            "Server apps/s2 is DOWN. 0 active and 1 backup servers left. Running on backup. 0 "
            "sessions active, 0 requeued, 0 remaining in queue.");
}

TEST(LogLines, UpLine) {
  const CheckResult r{CheckStatus::L7Ok, 200, "", Ms{1}};
  const auto line = server_up_line({"apps", "s1"}, &r, {3, 0});
  EXPECT_EQ(line.text,
            "Server apps/s1 is UP, reason: Layer7 check passed, code: 200, check duration: 1ms. 3 "
            "active and 0 backup servers online. 0 sessions requeued, 0 total in queue.");
  EXPECT_EQ(line.severity, Severity::Notice);
}

TEST(LogLines, BackupServerLinesStartWithBackup) {
  const CheckResult r{CheckStatus::L4ConnectionProblem, 0, "Connection refused", Ms{0}};
  EXPECT_EQ(server_down_line({"apps", "b1", true}, &r, {0, 0}).text,
            "Backup Server apps/b1 is DOWN, reason: Layer4 connection problem, info: \"Connection "
            "refused\", check duration: 0ms. 0 active and 0 backup servers left. 0 sessions active, "
            "0 requeued, 0 remaining in queue.");
}

TEST(LogLines, NoServerAvailable) {
  EXPECT_EQ(no_server_available_line("apps", false).text, "backend apps has no server available!");
  EXPECT_EQ(no_server_available_line("apps", false).severity, Severity::Emerg);
  EXPECT_EQ(no_server_available_line("web", true).text, "proxy web has no server available!");
  EXPECT_EQ(no_server_available_line("be_server", false).stderr_text,
            "backend 'be_server' has no server available!");
}

TEST(LogLines, HealthCheckLinesShowTheCounter) {
  const CheckResult failed{CheckStatus::L7WrongStatus, 404, "Not Found", Ms{1}};
  EXPECT_EQ(health_check_line({"apps", "s1"}, failed, health_display(2, 2, 2)).text,
            "Health check for server apps/s1 failed, reason: Layer7 wrong status, code: 404, info: "
            "\"Not Found\", check duration: 1ms, status: 1/2 UP.");
  const CheckResult ok{CheckStatus::L7Ok, 200, "", Ms{1}};
  EXPECT_EQ(health_check_line({"apps", "b1", true}, ok, health_display(3, 2, 2)).text,
            "Health check for backup server apps/b1 succeeded, reason: Layer7 check passed, code: "
            "200, check duration: 1ms, status: 2/2 UP.");
  EXPECT_EQ(health_check_line({"apps", "s1"}, failed, health_display(1, 2, 2)).text,
            "Health check for server apps/s1 failed, reason: Layer7 wrong status, code: 404, info: "
            "\"Not Found\", check duration: 1ms, status: 1/2 DOWN.");
}

TEST(LogLines, StderrPrefixIsPaddedLikeHaproxy) {
  EXPECT_EQ(stderr_line("WARNING", 42, "x"), "[WARNING]  (42) : x");
  EXPECT_EQ(stderr_line("ALERT", 42, "x"), "[ALERT]    (42) : x");
  EXPECT_EQ(stderr_line("NOTICE", 42, "x"), "[NOTICE]   (42) : x");
}

}  // namespace
}  // namespace lb::core
