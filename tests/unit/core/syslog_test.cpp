#include <gtest/gtest.h>

#include "lb/core/log/syslog.hpp"

namespace lb::core {
namespace {

// 2026-12-01 09:05:07.042 UTC; the tests run with TZ=UTC (set below) so local time is UTC.
const auto kWhen = std::chrono::system_clock::time_point{std::chrono::milliseconds{1796115907042}};
const SyslogIdentity kWho{"lb", 4242, "host1"};

class SyslogFraming : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("TZ", "UTC", 1);
    ::tzset();
  }
  static std::string frame(std::string format, Severity s = Severity::Alert, std::string facility = "local0",
                           SyslogIdentity who = kWho) {
    return frame_log_message(LogTarget{"stdout", std::move(format), std::move(facility)}, s, "msg", kWhen, who);
  }
};

TEST_F(SyslogFraming, RawIsTheMessageAlone) { EXPECT_EQ(frame("raw"), "msg"); }

TEST_F(SyslogFraming, ShortCarriesTheSeverityOnlyAndPriorityAddsTheFacility) {
  EXPECT_EQ(frame("short", Severity::Alert), "<1>msg");
  EXPECT_EQ(frame("short", Severity::Emerg), "<0>msg");
  EXPECT_EQ(frame("priority", Severity::Notice), "<133>msg");  // local0 = 16: 16*8+5
  EXPECT_EQ(frame("priority", Severity::Notice, "daemon"), "<29>msg");
}

TEST_F(SyslogFraming, Rfc3164PadsTheDayAndSendsNoHostnameUnlessAsked) {
  EXPECT_EQ(frame("rfc3164", Severity::Notice, "local0", {"lb", 4242, ""}), "<133>Dec  1 09:05:07 lb[4242]: msg");
  EXPECT_EQ(frame("rfc3164", Severity::Notice), "<133>Dec  1 09:05:07 host1 lb[4242]: msg");
  EXPECT_EQ(frame("local", Severity::Notice), "<133>Dec  1 09:05:07 lb[4242]: msg");
}

TEST_F(SyslogFraming, Rfc5424HasVersionIsoTimeHostTagPidAndNoStructuredData) {
  EXPECT_EQ(frame("rfc5424", Severity::Alert), "<129>1 2026-12-01T09:05:07.042000+00:00 host1 lb 4242 - - msg");
}

TEST_F(SyslogFraming, TimedAndIsoPrefixTheSeverityAndATimestamp) {
  EXPECT_EQ(frame("timed", Severity::Info), "<6>Dec  1 09:05:07 msg");
  EXPECT_EQ(frame("iso", Severity::Info), "<6>2026-12-01T09:05:07.042000+00:00 msg");
}

TEST(SyslogLevels, ATargetTakesItsMaxLevelAndEverythingMoreSevere) {
  LogTarget t{"stdout", "raw", "local0", "notice"};
  EXPECT_TRUE(target_accepts(t, Severity::Emerg));
  EXPECT_TRUE(target_accepts(t, Severity::Notice));
  EXPECT_FALSE(target_accepts(t, Severity::Info));
  EXPECT_TRUE(target_accepts(LogTarget{}, Severity::Debug));
  EXPECT_EQ(facility_code("local7"), 23);
  EXPECT_EQ(facility_code("kern"), 0);
  EXPECT_EQ(facility_code("nope"), std::nullopt);
}

TEST(ForegroundLines, EmergenciesAreAlertsEverythingElseAWarningWithHaproxysWording) {
  EXPECT_EQ(foreground_line(no_server_available_line("apps", false), 7),
            "[ALERT]    (7) : backend 'apps' has no server available!");
  const BackendCounts left{2, 0};
  const CheckResult r{CheckStatus::L4ConnectionProblem, 0, "Connection refused", Ms{0}};
  EXPECT_EQ(foreground_line(server_down_line({"apps", "s1"}, &r, left), 7).substr(0, 43),
            "[WARNING]  (7) : Server apps/s1 is DOWN, re");
}

}  // namespace
}  // namespace lb::core
