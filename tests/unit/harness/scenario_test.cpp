// Scenario files: what loads, and what is refused with file, line and field named.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harness/core/scenario.hpp"
#include "tests/support/temp_file.hpp"

namespace lbh {
namespace {

using ::testing::HasSubstr;

constexpr const char* kValid = R"(name: t
duration: 10s
backends:
  app1: {rules: ["method=OPTIONS -> status 500"]}
  app2: {fault: hang}
config: |
  backend be
      server app1 127.0.0.1:{{app1}} check
timeline:
  - {at: 2s, backend: app1, rules: []}
  - {at: 3s, requests: 2}
expect:
  - {server: be/app1, is: DOWN, reason: Layer7 wrong status, code: 500, within: [0s, 1s]}
  - {no_server_available: be}
  - {requests_at: 3s, to: [app1, "503"]}
)";

std::vector<std::string> errors_of(std::string_view text) {
  std::vector<std::string> out;
  for (const auto& e : parse_scenario(text, "s.yaml").errors) out.push_back(e.text());
  return out;
}

TEST(Scenario, AValidFileLoadsEveryPart) {
  const auto r = parse_scenario(kValid, "s.yaml");
  ASSERT_TRUE(r.scenario) << (r.errors.empty() ? "" : r.errors[0].text());
  const auto& s = *r.scenario;
  EXPECT_EQ(s.duration, Ms{10000});
  ASSERT_EQ(s.backends.size(), 2u);
  EXPECT_EQ(s.backends[0].rules, std::vector<std::string>{"method=OPTIONS -> status 500"});
  EXPECT_EQ(s.backends[1].fault, "hang");
  ASSERT_EQ(s.timeline.size(), 2u);
  EXPECT_EQ(s.timeline[0].rules, std::vector<std::string>{});
  EXPECT_EQ(s.timeline[1].requests, 2);
  ASSERT_EQ(s.expect.size(), 3u);
  const auto& t = std::get<ExpectTransition>(s.expect[0].what);
  EXPECT_EQ(t.code, 500);
  EXPECT_EQ(t.until, Ms{1000});
  EXPECT_EQ(s.expect[0].line, 13);
  EXPECT_EQ(std::get<ExpectRouting>(s.expect[2].what).to, (std::vector<std::string>{"app1", "503"}));
}

TEST(Scenario, AnUnknownKeyIsAnErrorWithItsLineAndANearName) {
  EXPECT_THAT(errors_of("name: t\nduratoin: 10s\n"), ::testing::Contains("s.yaml:2: duratoin: unknown key; did you mean 'duration'?"));
  std::string text = kValid;
  text.replace(text.find("within"), 6, "witin");
  EXPECT_THAT(errors_of(text), ::testing::Contains("s.yaml:13: expect[0].witin: unknown key; did you mean 'within'?"));
}

TEST(Scenario, BadValuesNameTheirField) {
  std::string text = kValid;
  text.replace(text.find("at: 2s"), 6, "at: 2x");
  EXPECT_THAT(errors_of(text), ::testing::Contains(HasSubstr("s.yaml:10: timeline[0].at: '2x'")));
  text = kValid;
  text.replace(text.find("is: DOWN"), 8, "is: down");
  EXPECT_THAT(errors_of(text), ::testing::Contains("s.yaml:13: expect[0].is: 'down': expected DOWN, UP, stopping, MAINT, DRAIN or address"));
  text = kValid;
  text.replace(text.find("backend: app1"), 13, "backend: app9");
  EXPECT_THAT(errors_of(text), ::testing::Contains("s.yaml:10: timeline[0].backend: no backend 'app9' in backends"));
  text = kValid;
  text.replace(text.find("requests_at: 3s"), 15, "requests_at: 4s");
  EXPECT_THAT(errors_of(text), ::testing::Contains("s.yaml:15: expect[2].requests_at: no requests step at that time in the timeline"));
}

TEST(Scenario, MissingPartsAndBrokenYamlAreErrors) {
  EXPECT_THAT(errors_of("name: t\n"), ::testing::IsSupersetOf({"s.yaml:1: duration: missing", "s.yaml:1: backends: missing",
                                                                 "s.yaml:1: config: missing (or config_file)"}));
  EXPECT_THAT(errors_of("name: [t\n"), ::testing::ElementsAre(HasSubstr("s.yaml:2: ")));
  EXPECT_THAT(errors_of("- 1\n- 2\n"), ::testing::ElementsAre("s.yaml:1: expected a mapping"));
  EXPECT_FALSE(load_scenario("/nonexistent/x.yaml").errors.empty());
}

TEST(Scenario, AStepDoesOneThing) {
  std::string text = kValid;
  text.replace(text.find("{at: 3s, requests: 2}"), 21, "{at: 3s, requests: 2, backend: app1}");
  EXPECT_THAT(errors_of(text), ::testing::Contains(HasSubstr("timeline[1]")));
}

TEST(Scenario, MovesRatesAndCheckDurations) {
  const auto r = parse_scenario(R"(name: t
duration: 10s
backends: {app1: {}}
config: "backend be\n    server app1 127.0.0.1:{{app1}} check\n"
timeline:
  - {at: 1s, backend: app1, move_to: 127.0.0.2}
  - {at: 2s, rate: 4, for: 1s}
expect:
  - {server: be/app1, is: DOWN, duration: 2001ms}
  - {server: be/app1, is: DOWN, duration: [2000ms, 2003ms]}
  - {requests_at: 2s, to: [app1, app1, app1, app1]}
)", "s.yaml");
  ASSERT_TRUE(r.scenario) << r.errors.front().text();
  const auto& s = *r.scenario;
  EXPECT_EQ(s.timeline[0].move_to, "127.0.0.2");
  EXPECT_EQ(s.timeline[1].request_offsets(), (std::vector<Ms>{Ms{0}, Ms{250}, Ms{500}, Ms{750}}));
  const auto& exact = std::get<ExpectTransition>(s.expect[0].what);
  EXPECT_EQ(exact.duration_min, Ms{2001});
  EXPECT_EQ(exact.duration_max, Ms{2001});
  EXPECT_EQ(std::get<ExpectTransition>(s.expect[1].what).duration_max, Ms{2003});

  std::string text = kValid;
  text.replace(text.find("{at: 3s, requests: 2}"), 21, "{at: 3s, backend: app1, move_to: 10.0.0.2}");
  EXPECT_THAT(errors_of(text), ::testing::Contains(HasSubstr(
                                   "s.yaml:11: timeline[1].move_to: '10.0.0.2': expected a loopback IP address")));
  for (const auto& [step, message] : std::vector<std::pair<std::string, std::string>>{
           {"{at: 3s, rate: 5}", "timeline[1].for: missing: how long the rate lasts"},
           {"{at: 3s, requests: 2, for: 1s}", "timeline[1].for: only for a rate step"},
           {"{at: 3s, rate: 1000, for: 11s}", "timeline[1].for: more than 10000 requests in one rate step"},
           {"{at: 3s, rate: 5, for: 8s}", "timeline[1].for: the rate step runs past the end of the scenario"},
           // No `for` to point at: the step's line (found by the scenario fuzz target, which
           // crashed on the missing key's node).
           {"{at: 12s, rate: 5}", "s.yaml:11: timeline[1].for: the rate step runs past the end of the scenario"},
           {"{at: 3s, rate: 0, for: 1s}", "timeline[1].rate: '0': expected a whole number from 1 to 1000"},
           {"{at: 3s, rate: 2, for: 1s, requests: 2}", "timeline[1]: a step does one thing"}}) {
    text = kValid;
    text.replace(text.find("{at: 3s, requests: 2}"), 21, step);
    EXPECT_THAT(errors_of(text), ::testing::Contains(HasSubstr(message))) << step;
  }
  text = kValid;
  text.replace(text.find("{no_server_available: be}"), 25, "{no_server_available: be, duration: 2s}");
  EXPECT_THAT(errors_of(text), ::testing::Contains(HasSubstr("expect[1].duration: not part of a no_server_available")));
}

TEST(Scenario, PlaceholdersBecomePortsAndUnknownOnesStay) {
  EXPECT_EQ(render_config("a {{app1}} b {{frontend}} c {{nope}} {{", {{"app1", 1}, {"frontend", 2}}), "a 1 b 2 c {{nope}} {{");
}

}  // namespace
}  // namespace lbh

namespace lbh {
namespace {

TEST(Scenario, ShareReceivedAndConfigFileForms) {
  lb::test::TempDir dir;
  dir.write("site.cfg", "backend be\n    server app1 127.0.0.1:{{app1}} check\n");
  const auto path = dir.write("s.yaml", R"(name: t
duration: 5s
backends: {app1: {}}
config_file: site.cfg
timeline: [{at: 1s, requests: 10}]
expect:
  - {requests_at: 1s, share: {app1: 1.0}, tolerance: 0.1}
  - {backend: app1, received: "GET /", at_least: 10, at_most: 20}
)");
  const auto r = load_scenario(path.string());
  ASSERT_TRUE(r.scenario) << r.errors.front().text();
  EXPECT_THAT(r.scenario->config, ::testing::HasSubstr("server app1"));
  const auto& share = std::get<ExpectRouting>(r.scenario->expect[0].what);
  EXPECT_DOUBLE_EQ(share.share.at("app1"), 1.0);
  EXPECT_DOUBLE_EQ(share.tolerance, 0.1);
  const auto& got = std::get<ExpectReceived>(r.scenario->expect[1].what);
  EXPECT_EQ(got.at_most, 20);
  EXPECT_THAT(errors_of("name: t\nduration: 1s\nbackends: {a: {}}\nconfig_file: nope.cfg\n"),
              ::testing::Contains(HasSubstr("s.yaml:4: config_file: cannot read 'nope.cfg'")));
  EXPECT_THAT(errors_of("name: t\nduration: 1s\nbackends: {a: {}}\nconfig: x\ntimeline: [{at: 1s, requests: 2}]\n"
                        "expect: [{requests_at: 1s, share: {a: 2}}]\n"),
              ::testing::Contains(HasSubstr("expect[0].share.a: '2': expected a fraction from 0 to 1")));
}

}  // namespace
}  // namespace lbh

namespace lbh {
namespace {

TEST(Scenario, ADnsTableAndItsStepsAreJudgedByMockserversParser) {
  const std::string base = R"(name: t
duration: 10s
backends:
  app1: {}
dns:
  records: ["app1.lbh.test A 127.0.0.1"]
config: |
  backend be
      server app1 app1.lbh.test:{{app1}} check resolvers dns init-addr none
timeline:
)";
  const auto ok = parse_scenario(base + "  - {at: 2s, dns: [\"app1.lbh.test A 127.0.0.2\"]}\n  - {at: 3s, dns_faults: [\"nxdomain\"]}\n", "s.yaml");
  ASSERT_TRUE(ok.scenario) << (ok.errors.empty() ? "" : ok.errors[0].text());
  EXPECT_EQ(ok.scenario->dns->records, std::vector<std::string>{"app1.lbh.test A 127.0.0.1"});
  EXPECT_EQ(ok.scenario->timeline[0].dns_records, std::vector<std::string>{"app1.lbh.test A 127.0.0.2"});
  EXPECT_EQ(ok.scenario->timeline[1].dns_faults, std::vector<std::string>{"nxdomain"});
  EXPECT_THAT(errors_of(base + "  - {at: 2s, dns: [\"app1.lbh.test MX 1\"]}\n"),
              ::testing::Contains(::testing::StartsWith("s.yaml:11: timeline[0].dns[0]: 'app1.lbh.test MX 1': ")));
  EXPECT_THAT(errors_of(base + "  - {at: 2s, dns: [], backend: app1}\n"),
              ::testing::Contains("s.yaml:11: timeline[0].backend: a dns step changes the DNS table, not a backend"));
  std::string no_table = base;
  no_table.erase(no_table.find("dns:\n"), std::string_view("dns:\n  records: [\"app1.lbh.test A 127.0.0.1\"]\n").size());
  EXPECT_THAT(errors_of(no_table + "  - {at: 2s, dns_faults: []}\n"),
              ::testing::Contains("s.yaml:9: timeline[0].dns_faults: the scenario has no dns section"));
}

TEST(Scenario, ARuntimeApiStepNeedsTheAdminSocketInTheConfig) {
  const std::string head = R"(name: t
duration: 10s
backends:
  app1: {}
config: |
  global
      stats socket {{api}} level admin
  backend be
      server app1 127.0.0.1:{{app1}} check
timeline:
)";
  const auto ok = parse_scenario(head + "  - {at: 2s, api: [\"disable server be/app1\", \"get weight be/app1\"]}\n"
                                        "  - {at: 3s, api: \"enable server be/app1\"}\n",
                                 "s.yaml");
  ASSERT_TRUE(ok.scenario) << (ok.errors.empty() ? "" : ok.errors[0].text());
  EXPECT_EQ(ok.scenario->timeline[0].api, (std::vector<std::string>{"disable server be/app1", "get weight be/app1"}));
  EXPECT_EQ(ok.scenario->timeline[1].api, std::vector<std::string>{"enable server be/app1"});
  EXPECT_THAT(errors_of(head + "  - {at: 2s, api: []}\n"),
              ::testing::Contains(::testing::StartsWith("s.yaml:11: timeline[0].api: expected Runtime API commands")));
  EXPECT_THAT(errors_of(head + "  - {at: 2s, api: [\"x\"], backend: app1}\n"),
              ::testing::Contains("s.yaml:11: timeline[0].backend: an api, reload or get step talks to the balancer, not to a backend"));
  std::string no_socket = head;
  no_socket.erase(no_socket.find("  global\n"), std::string_view("  global\n      stats socket {{api}} level admin\n").size());
  EXPECT_THAT(errors_of(no_socket + "  - {at: 2s, api: [\"x\"]}\n"),
              ::testing::Contains("s.yaml:9: timeline[0].api: the config has no admin socket: add `stats socket "
                                  "{{api}} level admin` to global"));
  EXPECT_EQ(render_config("stats socket {{api}} x {{app1}}", {{"app1", 1}}, {{"api", "/tmp/a.sock"}}),
            "stats socket /tmp/a.sock x 1");
}

TEST(Scenario, AReloadStepAndStatExpectations) {
  const std::string head = R"(name: t
duration: 10s
backends:
  app1: {}
config: |
  global
      stats socket {{api}} level admin
      server-state-file {{state}}
  backend be
      server app1 127.0.0.1:{{app1}} check
timeline:
  - {at: 1s, api: ["show stat"]}
)";
  const auto ok = parse_scenario(head + "  - {at: 2s, reload: true}\n  - {at: 3s, reload: true, save_state: true}\n"
                                        "expect:\n  - {stat_at: 1s, row: be/app1, field: status, equals: UP}\n",
                                 "s.yaml");
  ASSERT_TRUE(ok.scenario) << (ok.errors.empty() ? "" : ok.errors[0].text());
  EXPECT_TRUE(ok.scenario->timeline[1].reload);
  EXPECT_FALSE(ok.scenario->timeline[1].save_state);
  EXPECT_TRUE(ok.scenario->timeline[2].save_state);
  const auto& stat = std::get<ExpectStat>(ok.scenario->expect[0].what);
  EXPECT_EQ(stat.step_at, Ms{1000});
  EXPECT_EQ(stat.proxy, "be");
  EXPECT_EQ(stat.row, "app1");
  EXPECT_EQ(stat.field, "status");
  EXPECT_EQ(stat.equals, "UP");
  EXPECT_THAT(errors_of(head + "  - {at: 2s, save_state: true}\n"),
              ::testing::Contains("s.yaml:13: timeline[1].save_state: only for a reload step (reload: true)"));
  EXPECT_THAT(errors_of(head + "  - {at: 2s, reload: true, backend: app1}\n"),
              ::testing::Contains("s.yaml:13: timeline[1].backend: an api, reload or get step talks to the balancer, not to a backend"));
  EXPECT_THAT(errors_of(head + "  - {at: 2s, reload: true, requests: 2}\n"),
              ::testing::Contains(::testing::HasSubstr("a step does one thing")));
  std::string no_state = head;
  no_state.erase(no_state.find("      server-state-file {{state}}\n"), std::string_view("      server-state-file {{state}}\n").size());
  EXPECT_THAT(errors_of(no_state + "  - {at: 2s, reload: true, save_state: true}\n"),
              ::testing::Contains(::testing::StartsWith("s.yaml:12: timeline[1].save_state: the config loads no state file")));
  EXPECT_THAT(errors_of(head + "expect:\n  - {stat_at: 2s, row: be/app1, field: status, equals: UP}\n"),
              ::testing::Contains("s.yaml:14: expect[0].stat_at: no api step with `show stat` at that time in the timeline"));
  EXPECT_THAT(errors_of(head + "expect:\n  - {stat_at: 1s, row: app1, field: stauts, equals: UP}\n"),
              ::testing::IsSupersetOf({"s.yaml:14: expect[0].row: expected PROXY/SERVER, PROXY/FRONTEND or PROXY/BACKEND",
                                       "s.yaml:14: expect[0].field: 'stauts' is not a column of HAProxy's stats CSV"}));
  EXPECT_THAT(errors_of(head + "expect:\n  - {stat_at: 1s, row: be/app1, field: status}\n"),
              ::testing::Contains("s.yaml:14: expect[0].equals: missing: the value expected, e.g. MAINT"));
  // A page step and the metrics read from it.
  const auto page = parse_scenario(head + "  - {at: 2s, get: /metrics}\nexpect:\n  - {metric_at: 2s, metric: "
                                          "'haproxy_backend_active_servers{proxy=\"be\"}', equals: \"1\"}\n",
                                   "s.yaml");
  ASSERT_TRUE(page.scenario) << (page.errors.empty() ? "" : page.errors[0].text());
  EXPECT_EQ(page.scenario->timeline[1].get, "/metrics");
  EXPECT_EQ(std::get<ExpectMetric>(page.scenario->expect[0].what).metric, "haproxy_backend_active_servers{proxy=\"be\"}");
  EXPECT_THAT(errors_of(head + "  - {at: 2s, get: metrics}\n"),
              ::testing::Contains("s.yaml:13: timeline[1].get: 'metrics': expected a path, e.g. /metrics"));
  EXPECT_THAT(errors_of(head + "expect:\n  - {metric_at: 3s, metric: x, equals: \"1\"}\n"),
              ::testing::Contains("s.yaml:14: expect[0].metric_at: no get step at that time in the timeline"));
}

}  // namespace
}  // namespace lbh
