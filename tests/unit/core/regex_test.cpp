#include "lb/core/regex.hpp"

#include <gtest/gtest.h>

namespace lb::core {
namespace {

TEST(Regex, SearchesAnywhereWithPerlSyntax) {
  const auto r = Regex::compile(R"(^HTTP/1\.[01] \d{3})");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->search("HTTP/1.1 200 OK"));
  EXPECT_FALSE(r->search("xHTTP/1.1 200"));
  EXPECT_TRUE(Regex::compile("ok|fine")->search("all fine here"));
  EXPECT_TRUE(Regex::compile("(?i)pong")->search("+PONG\r\n"));
}

TEST(Regex, AnchorsAndDotFollowPcreDefaultsAsHaproxyUses) {
  EXPECT_FALSE(Regex::compile(R"(^\+OK)")->search("-ERR\r\n+OK"));
  EXPECT_TRUE(Regex::compile(R"(^\+OK)")->search("+OK\r\n"));
  EXPECT_FALSE(Regex::compile("a.b")->search("a\nb"));
  EXPECT_TRUE(Regex::compile("(?m)^b")->search("a\nb"));  // explicit modifiers still work
}

TEST(Regex, ARunawaySearchOnAFullReplyGivesUpQuickly) {
  const auto r = Regex::compile(R"(x*y*.*\+OK)");
  ASSERT_TRUE(r);
  // Nested stars over a 16 KB reply: the state bound stops the search (no match) in milliseconds
  // where Boost's default bound took seconds; ctest's timeout catches a regression.
  for (int i = 0; i < 20; ++i) EXPECT_FALSE(r->search(std::string(16000, 'x')));
}

TEST(Regex, InvalidPatternsAreReportedNotThrown) {
  std::string why;
  EXPECT_FALSE(Regex::compile("(unclosed", &why));
  EXPECT_FALSE(why.empty());
  EXPECT_FALSE(Regex::compile(std::string(30000, '(') + "a" + std::string(30000, ')')));
}

TEST(Regex, CatastrophicBacktrackingCountsAsNoMatchInsteadOfHanging) {
  const auto r = Regex::compile("((a+)+)$");
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->search(std::string(40, 'a') + "b"));
}

TEST(Regex, LongSubjectsDoNotOverflowTheStack) {
  const auto r = Regex::compile(R"((.|\n)*OK)");
  ASSERT_TRUE(r);
  std::string body(16384, 'x');
  body += "OK";
  EXPECT_TRUE(r->search(body));
}

}  // namespace
}  // namespace lb::core
