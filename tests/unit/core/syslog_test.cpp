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
  // The framing without its newline (every frame ends with one).
  static std::string frame(std::string format, Severity s = Severity::Alert, std::string facility = "local0",
                           SyslogIdentity who = kWho) {
    auto out = frame_log_message(LogTarget{"stdout", std::move(format), std::move(facility)}, s, "msg", kWhen, who);
    EXPECT_TRUE(out.ends_with('\n')) << out;
    if (!out.empty()) out.pop_back();
    return out;
  }
};

TEST_F(SyslogFraming, RawIsTheMessageAlone) { EXPECT_EQ(frame("raw"), "msg"); }

TEST_F(SyslogFraming, ShortCarriesTheSeverityOnlyAndPriorityAddsTheFacility) {
  EXPECT_EQ(frame("short", Severity::Alert), "<1>msg");
  EXPECT_EQ(frame("short", Severity::Emerg), "<0>msg");
  EXPECT_EQ(frame("priority", Severity::Notice), "<133>msg");  // local0 = 16: 16*8+5
  EXPECT_EQ(frame("priority", Severity::Notice, "daemon"), "<29>msg");
}

// build_log_header(): rfc3164's host field is mandatory ("localhost" without log-send-hostname),
// `local` has none, and a target without a format is rfc3164 only when there is a host name.
TEST_F(SyslogFraming, Rfc3164PadsTheDayAndAlwaysHasAHost) {
  EXPECT_EQ(frame("rfc3164", Severity::Notice, "local0", {"lb", 4242, std::nullopt}), "<133>Dec  1 09:05:07 localhost lb[4242]: msg");
  EXPECT_EQ(frame("rfc3164", Severity::Notice), "<133>Dec  1 09:05:07 host1 lb[4242]: msg");
  EXPECT_EQ(frame("local", Severity::Notice), "<133>Dec  1 09:05:07 lb[4242]: msg");
  EXPECT_EQ(frame("", Severity::Notice), "<133>Dec  1 09:05:07 host1 lb[4242]: msg");
  EXPECT_EQ(frame("", Severity::Notice, "local0", {"haproxy", 7, std::nullopt}), "<133>Dec  1 09:05:07 haproxy[7]: msg");
}

TEST_F(SyslogFraming, Rfc5424HasVersionIsoTimeHostTagPidAndNoStructuredData) {
  EXPECT_EQ(frame("rfc5424", Severity::Alert), "<129>1 2026-12-01T09:05:07.042000+00:00 host1 lb 4242 - - msg");
  EXPECT_EQ(frame("rfc5424", Severity::Alert, "local0", {"lb", 4242, std::nullopt}),
            "<129>1 2026-12-01T09:05:07.042000+00:00 - lb 4242 - - msg");
}

// __do_send_log(): a datagram is header and text cut at `len`, then a newline; on a stream
// (fd_write_frag_line) the newline is one of the `len` bytes. The text itself is cut first at
// the longest `len` of the configuration less one.
TEST_F(SyslogFraming, LinesAreCutAtTheTargetsLengthAsHaproxyCutsThem) {
  const std::string text(2000, 'a');
  LogTarget udp{"127.0.0.1:514", "", "local0", "", 120};
  const SyslogIdentity who{"mytag", 8585, std::nullopt};
  const auto d = frame_log_message(udp, Severity::Info, text, kWhen, who);
  EXPECT_EQ(d, "<134>Dec  1 09:05:07 mytag[8585]: " + std::string(120 - 34, 'a') + "\n");
  udp.target = "stdout";
  EXPECT_EQ(frame_log_message(udp, Severity::Info, text, kWhen, who).size(), 120u);
  udp.format = "raw";
  udp.max_length = kDefaultLogLength;
  EXPECT_EQ(frame_log_message(udp, Severity::Info, text, kWhen, who), std::string(1023, 'a') + "\n");
  udp.target = "fd@2";
  EXPECT_EQ(frame_log_message(udp, Severity::Info, text, kWhen, who).size(), 1024u);
  udp.target = "/dev/log";  // a datagram: 1024 bytes of text and the newline, but the text stops at 1023
  EXPECT_EQ(frame_log_message(udp, Severity::Info, text, kWhen, who).size(), 1024u);
  udp.max_length = 4000;
  const SyslogIdentity longer{"mytag", 8585, std::nullopt, 3999};
  EXPECT_EQ(frame_log_message(udp, Severity::Info, text, kWhen, longer), text + "\n");
  EXPECT_EQ(frame_log_message(udp, Severity::Info, "short", kWhen, who), "short\n");
}

TEST(SyslogLengths, TheLongestLengthOfAnyTargetSetsTheTextLimit) {
  Config c;
  EXPECT_EQ(max_log_message(c), 1023u);
  c.global.logs.push_back(LogTarget{"stdout", "", "local0", "", 100});
  EXPECT_EQ(max_log_message(c), 1023u);
  c.proxies.emplace_back().logs.push_back(LogTarget{"127.0.0.1", "", "local0", "", 5000});
  EXPECT_EQ(max_log_message(c), 4999u);
  EXPECT_TRUE(log_target_is_stream(LogTarget{"stdout"}));
  EXPECT_TRUE(log_target_is_stream(LogTarget{"fd@3"}));
  EXPECT_FALSE(log_target_is_stream(LogTarget{"/dev/log"}));
  EXPECT_FALSE(log_target_is_stream(LogTarget{"udp@127.0.0.1:514"}));
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
