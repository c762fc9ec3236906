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
