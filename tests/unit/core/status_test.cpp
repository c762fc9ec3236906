#include "lb/core/check/status.hpp"

#include <gtest/gtest.h>

namespace lb::core {
namespace {

TEST(CheckStatus, TableRowsAreInEnumOrder) {
  for (int i = 0; i <= static_cast<int>(CheckStatus::ProcOk); ++i)
    EXPECT_EQ(static_cast<int>(info(static_cast<CheckStatus>(i)).status), i);
}

TEST(CheckStatus, OnlyDataStatusesPrintACode) {
  EXPECT_TRUE(info(CheckStatus::L7Ok).prints_code);
  EXPECT_TRUE(info(CheckStatus::L7OkConditional).prints_code);
  EXPECT_TRUE(info(CheckStatus::L7WrongStatus).prints_code);
  EXPECT_FALSE(info(CheckStatus::L7Timeout).prints_code);
  EXPECT_FALSE(info(CheckStatus::L7InvalidResponse).prints_code);
  EXPECT_FALSE(info(CheckStatus::L4ConnectionProblem).prints_code);
}

TEST(CheckStatus, TagsRoundTrip) {
  for (int i = 0; i <= static_cast<int>(CheckStatus::ProcOk); ++i) {
    const auto s = static_cast<CheckStatus>(i);
    EXPECT_EQ(status_from_tag(info(s).tag), s) << info(s).tag;
  }
  EXPECT_EQ(status_from_tag("L7STS"), CheckStatus::L7WrongStatus);
  EXPECT_EQ(status_from_tag("nope"), std::nullopt);
}

struct ReasonCase {
  CheckResult result;
  std::string expected;
};

void PrintTo(const ReasonCase& c, std::ostream* os) { *os << c.expected; }

class FormatReason : public ::testing::TestWithParam<ReasonCase> {};

TEST_P(FormatReason, MatchesHaproxy) { EXPECT_EQ(format_reason(GetParam().result), GetParam().expected); }

// Lines observed on HAProxy 2.6.12 (shared/haproxy-checks.md §4.1).
INSTANTIATE_TEST_SUITE_P(
    Observed, FormatReason,
    ::testing::Values(
        ReasonCase{{CheckStatus::L7WrongStatus, 500, "X", Ms{1}},
                   ", reason: Layer7 wrong status, code: 500, info: \"X\", check duration: 1ms"},
        ReasonCase{{CheckStatus::L7WrongStatus, 404, "Not Found", Ms{1}},
                   ", reason: Layer7 wrong status, code: 404, info: \"Not Found\", check duration: 1ms"},
        ReasonCase{{CheckStatus::L7WrongStatus, 503, "", Ms{1}},
                   ", reason: Layer7 wrong status, code: 503, check duration: 1ms"},
        ReasonCase{{CheckStatus::L7Timeout, 0, "", Ms{2001}},
                   ", reason: Layer7 timeout, check duration: 2001ms"},
        ReasonCase{{CheckStatus::L4Timeout, 0, "", Ms{1002}},
                   ", reason: Layer4 timeout, check duration: 1002ms"},
        ReasonCase{{CheckStatus::L4ConnectionProblem, 0, "Connection refused", Ms{0}},
                   ", reason: Layer4 connection problem, info: \"Connection refused\", check duration: 0ms"},
        ReasonCase{{CheckStatus::L7InvalidResponse, 0, "", Ms{3}},
                   ", reason: Layer7 invalid response, check duration: 3ms"},
        ReasonCase{{CheckStatus::L7Ok, 200, "", Ms{1}},
                   ", reason: Layer7 check passed, code: 200, check duration: 1ms"},
        ReasonCase{{CheckStatus::L4Ok, 0, "", Ms{0}}, ", reason: Layer4 check passed, check duration: 0ms"},
        ReasonCase{{CheckStatus::L7Timeout, 0, " at step 1 of tcp-check (expect string 'OK')", Ms{1000}},
                   ", reason: Layer7 timeout, info: \" at step 1 of tcp-check (expect string 'OK')\", "
                   "check duration: 1000ms"},
        ReasonCase{{CheckStatus::L7Ok, 200, "", Ms{-1}}, ", reason: Layer7 check passed, code: 200"}));

TEST(AsciiEncode, EscapesQuotesAnglesAndControlBytes) {
  EXPECT_EQ(ascii_encode("a\"b<c>d\r\n\x7f\xc3"), "a<22>b<3C>c<3E>d<0D><0A><7F><C3>");
  EXPECT_EQ(ascii_encode("plain text 123"), "plain text 123");
}

TEST(FormatReason, TruncatesInfoTo127BytesBeforeEncoding) {
  const CheckResult r{CheckStatus::SocketError, 0, std::string(200, 'x'), Ms{-1}};
  EXPECT_EQ(format_reason(r), ", reason: Socket error, info: \"" + std::string(127, 'x') + "\"");
}

}  // namespace
}  // namespace lb::core
