#include "mockserver/core/cli.hpp"

#include <gtest/gtest.h>

namespace mock::core {
namespace {

using namespace std::chrono_literals;

TEST(CliRule, OptionsGets500) {
  const auto r = parse_rule_arg("s1: method=OPTIONS -> status 500");
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->first, "s1");
  EXPECT_EQ(r->second.match.methods, (std::vector<std::string>{"OPTIONS"}));
  EXPECT_EQ(r->second.respond.status, 500);
  EXPECT_EQ(r->second.id, "rule-1");
}

TEST(CliRule, ReadsResponseOptionsAndQuotedValues) {
  const auto r = parse_rule_arg(R"(s1: id=slow path=/x -> status 503 reason=none body="busy now" delay=250 header=Retry-After:5)");
  ASSERT_TRUE(r) << r.error();
  const Response& re = r->second.respond;
  EXPECT_EQ(r->second.id, "slow");
  EXPECT_TRUE(re.omit_reason);
  EXPECT_EQ(re.body, "busy now");
  EXPECT_EQ(re.delay, 250ms);
  EXPECT_EQ(re.headers, (std::vector<std::pair<std::string, std::string>>{{"Retry-After", "5"}}));
}

TEST(CliRule, ReadsSchedulesAndFaults) {
  const auto r = parse_rule_arg("s1: flap=20000/5000/100 -> refuse");
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->second.schedule.flap, (TimeFlap{20000ms, 5000ms, 100ms}));
  EXPECT_EQ(r->second.fault->kind, FaultKind::Refuse);
  const auto d = parse_rule_arg("s1: requests=3..5 at_ms=100.. -> drip bytes=4 every_ms=10");
  ASSERT_TRUE(d) << d.error();
  EXPECT_EQ(d->second.schedule.requests, (Range{3, 5}));
  EXPECT_EQ(d->second.schedule.from, 100ms);
  EXPECT_EQ(d->second.fault->bytes, 4u);
  EXPECT_EQ(d->second.fault->every, 10ms);
}

TEST(CliRule, ErrorsSayWhatIsWrong) {
  EXPECT_NE(parse_rule_arg("s1 method=GET -> status 200").error().find("missing 'NAME:'"), std::string::npos);
  EXPECT_NE(parse_rule_arg("s1: method=GET").error().find("missing '->'"), std::string::npos);
  EXPECT_NE(parse_rule_arg("s1: colour=red -> status 200").error().find("unknown condition 'colour'"), std::string::npos);
  EXPECT_NE(parse_rule_arg("s1: -> status 1200").error().find("rule.respond.status: expected an integer 100..999"), std::string::npos);
  EXPECT_NE(parse_rule_arg("s1: -> explode").error().find("rule.fault.kind: unknown fault 'explode'"), std::string::npos);
  EXPECT_NE(parse_rule_arg("s1: -> status 200 body=\"open").error().find("unterminated quote"), std::string::npos);
}

TEST(CliListenAndFault, ParseNamesAndEndpoints) {
  EXPECT_EQ(*parse_listen_arg("s1=127.0.0.1:0"), (std::pair<std::string, Endpoint>{"s1", {"127.0.0.1", 0}}));
  EXPECT_EQ(parse_listen_arg("v6=[::1]:8080")->second, (Endpoint{"::1", 8080}));
  EXPECT_FALSE(parse_listen_arg("s1=127.0.0.1"));
  EXPECT_FALSE(parse_listen_arg("s1=127.0.0.1:70000"));
  EXPECT_FALSE(parse_listen_arg("=127.0.0.1:0"));
  EXPECT_EQ(parse_fault_arg("s1=hang")->second.kind, FaultKind::Hang);
  EXPECT_EQ(parse_fault_arg("s1=garbage bytes=9")->second.bytes, 9u);
  EXPECT_FALSE(parse_fault_arg("s1=garbage bytes"));
  EXPECT_FALSE(parse_fault_arg("s1=drip bytes=0"));
}

}  // namespace
}  // namespace mock::core
