// The files a run writes: JUnit XML, the JSON trace and the HTML timeline page.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <regex>

#include "harness/core/report.hpp"

namespace lbh {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct Fixture {
  Scenario scenario;
  std::vector<ScenarioRun> runs;
  Fixture(bool failing) {
    scenario.file = "s<1>.yaml";
    scenario.name = "options-500 & co";
    scenario.duration = Ms{3000};
    scenario.config = "backend be\n    option httpchk\n    server app1 127.0.0.1:{{app1}} check inter 1s\n";
    scenario.backends.push_back({"app1", {"method=OPTIONS -> status 500"}, {}, 1});
    scenario.timeline.push_back({.at = Ms{2000}, .requests = 2, .line = 3});
    if (failing)
      scenario.expect.push_back({ExpectTransition{"be/app1", Event::Kind::Up, {}, {}, {}, Ms{0}, Ms{1000}}, 9});
    else
      scenario.other_transitions_allowed = true;
    ScenarioRun r{&scenario};
    WorldRun w{"sim", play_sim(scenario)};
    w.failures = judge(scenario, w.trace);
    r.worlds.push_back(std::move(w));
    runs.push_back(std::move(r));
  }
};

TEST(Report, JunitCountsFailuresAndEscapesWhatItQuotes) {
  Fixture ok(false), ko(true);
  const auto good = junit_xml(ok.runs, "sim");
  EXPECT_THAT(good, HasSubstr("<testsuite name=\"lbharness.sim\" tests=\"1\" failures=\"0\""));
  EXPECT_THAT(good, HasSubstr("name=\"options-500 &amp; co\" file=\"s&lt;1&gt;.yaml\""));
  EXPECT_THAT(good, Not(HasSubstr("<failure")));
  const auto bad = junit_xml(ko.runs, "sim");
  EXPECT_THAT(bad, HasSubstr("failures=\"1\""));
  EXPECT_THAT(bad, HasSubstr("<failure message=\"[sim] s&lt;1&gt;.yaml:9: expected be/app1 UP"));
}

TEST(Report, ShardsJunitFilesMergeIntoTheFileOfTheWholeRun) {
  Fixture ok(false), ko(true);
  // Whole milliseconds, so that the sums of the merged file are those of the whole run.
  ok.runs[0].worlds[0].ms = 12;
  ko.runs[0].worlds[0].ms = 30;
  std::vector<ScenarioRun> both;
  both.push_back(ok.runs[0]);
  both.push_back(ko.runs[0]);
  std::string error;
  const auto merged = merge_junit({{"shard1.xml", junit_xml(ok.runs, "lb")}, {"shard2.xml", junit_xml(ko.runs, "lb")}}, error);
  ASSERT_TRUE(merged) << error;
  EXPECT_EQ(*merged, junit_xml(both, "lb"));
  EXPECT_THAT(*merged, HasSubstr("<testsuites name=\"lbharness\" tests=\"2\" failures=\"1\" time=\"0.042\">"));
  // Other targets stay suites of their own.
  const auto mixed = merge_junit({{"a.xml", junit_xml(ok.runs, "lb")}, {"b.xml", junit_xml(ko.runs, "sim")}}, error);
  ASSERT_TRUE(mixed);
  EXPECT_THAT(*mixed, HasSubstr("<testsuite name=\"lbharness.lb\" tests=\"1\""));
  EXPECT_THAT(*mixed, HasSubstr("<testsuite name=\"lbharness.sim\" tests=\"1\""));

  for (const auto& [text, message] : std::vector<std::pair<std::string, std::string>>{
           {"<testsuites><testsuite", "x.xml:1: not XML"},
           {"<html/>", "x.xml: expected one <testsuites> element"},
           {"<testsuites><suite/></testsuites>", "x.xml: <suite> in <testsuites>: expected <testsuite>"},
           {"<testsuites><testsuite name=\"s\"><testcase name=\"t\" time=\"soon\"/></testsuite></testsuites>",
            "x.xml: testcase \"t\": time=\"soon\" is not a number of seconds"}}) {
    EXPECT_FALSE(merge_junit({{"x.xml", text}}, error)) << text;
    EXPECT_THAT(error, HasSubstr(message));
  }
}

TEST(Report, JsonHoldsEveryEventWithItsTime) {
  Fixture ok(false);
  const auto v = boost::json::parse(json_report(ok.runs, "sim"));
  const auto& world = v.at("scenarios").at(0).at("worlds").at(0);
  const auto& e = world.at("events").at(0);
  EXPECT_EQ(e.at("kind").as_string(), "DOWN");
  EXPECT_EQ(e.at("code").as_int64(), 500);
  EXPECT_EQ(e.at("at_ms").as_int64(), 0);
  EXPECT_EQ(world.at("routing_by_step_ms").at("2000").at(0).as_string(), "503");
  EXPECT_EQ(v.at("scenarios").at(0).at("passed").as_bool(), true);
}

TEST(Report, TheHtmlPageIsSelfContainedWithALanePerServerAndATickPerCheck) {
  Fixture ko(true);
  const auto html = html_report(ko.runs, "sim");
  EXPECT_THAT(html, HasSubstr("<!DOCTYPE html>"));
  EXPECT_EQ(std::count(html.begin(), html.end(), '\0'), 0);
  // Nothing is fetched: the only URL is the SVG namespace.
  std::smatch m;
  std::string rest = html;
  static const std::regex kUrl(R"(https?://[^"' <]+)");
  while (std::regex_search(rest, m, kUrl)) {
    EXPECT_EQ(m.str(), "http://www.w3.org/2000/svg");
    rest = m.suffix();
  }
  EXPECT_THAT(html, HasSubstr("<svg"));
  EXPECT_THAT(html, HasSubstr(">be/app1 <tspan class=\"world\">sim</tspan>"));
  EXPECT_THAT(html, HasSubstr("class=\"s-down\""));
  EXPECT_THAT(html, HasSubstr("class=\"c-ko\"><title>0s: check L7STS, reason: Layer7 wrong status, code: 500"));
  EXPECT_THAT(html, HasSubstr("class=\"step\""));
  EXPECT_THAT(html, HasSubstr("<span class=\"fail\">FAIL</span> options-500 &amp; co"));
  EXPECT_THAT(html, HasSubstr("expected be/app1 UP"));  // the failure is on the page
}

}  // namespace
}  // namespace lbh
