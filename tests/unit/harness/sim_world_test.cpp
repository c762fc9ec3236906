// The sim world: scenarios played by lb's own engine and router against mockserver's own
// behaviour model, on simulated time; and the judging of what they saw.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "harness/core/diff.hpp"
#include "harness/core/sim_world.hpp"
#include "harness/core/verdict.hpp"
#include "tests/support/temp_file.hpp"

namespace lbh {
namespace {

using ::testing::HasSubstr;

// One backend `app` with `fault` (or rules), checked by `option httpchk GET /health` every 1s.
Scenario one_backend(std::string fault, std::vector<std::string> rules = {}, std::string extra = "") {
  Scenario s;
  s.file = "t.yaml";
  s.name = "t";
  s.duration = Ms{6000};
  BackendSpec b;
  b.name = "app";
  b.rules = std::move(rules);
  if (!fault.empty()) b.fault = fault;
  s.backends.push_back(b);
  s.config = "defaults\n    mode http\n    timeout connect 2s\n    timeout check 2s\n" + extra +
             "backend be\n    option httpchk GET /health\n    server app 127.0.0.1:{{app}} check inter 1s\n";
  return s;
}

std::string first_line(const Trace& t) { return t.events.empty() ? "(none)" : t.events.front().line; }

TEST(SimWorld, EachFaultGivesTheCheckStatusItGivesOnSockets) {
  struct Case {
    std::string fault;
    std::string reason;
  };
  for (const Case& c : std::vector<Case>{{"refuse", "Layer4 connection problem, info: \"Connection refused\""},
                                         {"blackhole", "Layer4 timeout, check duration: 1000ms"},  // min(timeout connect, inter)
                                         {"hang", "Layer7 timeout, check duration: 2000ms"},
                                         {"reset", "Socket error, info: \"Connection reset by peer\""},
                                         {"close", "Layer7 invalid response"},
                                         {"garbage", "Layer7 invalid response"}}) {
    const auto t = play_sim(one_backend(c.fault));
    ASSERT_TRUE(t.errors.empty()) << t.errors.front();
    EXPECT_THAT(first_line(t), HasSubstr("Server be/app is DOWN, reason: " + c.reason)) << c.fault;
  }
}

TEST(SimWorld, RulesAnswerTheChecksAndTheJournalHasWhatTheyAsked) {
  const auto t = play_sim(one_backend("", {"path=/health -> status 503"}));
  EXPECT_EQ(first_line(t),
            "Server be/app is DOWN, reason: Layer7 wrong status, code: 503, info: \"Service Unavailable\", check "
            "duration: 0ms. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.");
  ASSERT_FALSE(t.checks.at("app").empty());
  EXPECT_EQ(t.checks.at("app").front(), "GET /health");
  EXPECT_EQ(t.checks.at("app").size(), 7u);  // at 0s, 1s, ... 6s
}

TEST(SimWorld, TheSameScenarioPlaysTheSameWayEveryTime) {
  const auto s = one_backend("", {"flap=1500/700 -> refuse"});
  const auto a = play_sim(s), b = play_sim(s);
  ASSERT_EQ(a.events.size(), b.events.size());
  for (std::size_t i = 0; i < a.events.size(); ++i) {
    EXPECT_EQ(a.events[i].line, b.events[i].line);
    EXPECT_EQ(a.events[i].at, b.events[i].at);
  }
}

TEST(SimWorld, ABadConfigOrRuleIsReportedNotPlayed) {
  auto s = one_backend("", {"method=OPTIONS -> statuss 500"});
  EXPECT_THAT(play_sim(s).errors, ::testing::ElementsAre(HasSubstr("backend app: rule 'method=OPTIONS -> statuss 500'")));
  s = one_backend("");
  s.config += "    nosuchkw 1\n";
  EXPECT_THAT(play_sim(s).errors, ::testing::ElementsAre(HasSubstr("unknown keyword 'nosuchkw'")));
  // What a scenario's plain listener could not be started with (mockserver would refuse it).
  EXPECT_THAT(play_sim(one_backend("tls-wrong-cert")).errors,
              ::testing::ElementsAre(HasSubstr("backend app: fault 'tls-wrong-cert': 'tls-wrong-cert' needs a TLS listener")));
  EXPECT_THAT(play_sim(one_backend("", {"-> proxy"})).errors,
              ::testing::ElementsAre(HasSubstr("the listener has no upstream to proxy to")));
}

TEST(SimWorld, JudgingNamesWhatWasMissingAndWhatWasNotExpected) {
  auto s = one_backend("refuse");
  s.expect.push_back({ExpectTransition{"be/app", Event::Kind::Down, std::string("Layer7 timeout"), {}, {}, Ms{0}, Ms{1000}}, 7});
  const auto failures = judge(s, play_sim(s));
  ASSERT_EQ(failures.size(), 3u);
  EXPECT_EQ(failures[0].line, 7);
  EXPECT_THAT(failures[0].message, HasSubstr("expected be/app DOWN, reason: Layer7 timeout within [0s, 1s]; be/app logged:"));
  EXPECT_THAT(failures[0].message, HasSubstr("at 0s: Server be/app is DOWN, reason: Layer4 connection problem"));
  EXPECT_THAT(failures[1].message, HasSubstr("unexpected at 0s: Server be/app is DOWN"));
  EXPECT_EQ(failures[2].message, "unexpected at 0s: backend be has no server available!");
  s.other_transitions_allowed = true;
  s.expect.clear();
  EXPECT_TRUE(judge(s, play_sim(s)).empty());
}

TEST(SimWorld, AKilledBackendClosesTheCheckItWasHolding) {
  // A hung check is let go at the kill (the kernel closes the socket), not at `timeout check`.
  auto s = one_backend("hang");
  s.config = "defaults\n    mode http\n    timeout connect 2s\n    timeout check 5s\n"
             "backend be\n    option httpchk GET /health\n    server app 127.0.0.1:{{app}} check inter 1s\n";
  s.timeline.push_back({.at = Ms{2500}, .backend = "app", .kill = true});
  const auto t = play_sim(s);
  ASSERT_FALSE(t.check_marks.empty());
  EXPECT_EQ(t.check_marks.front().at, Ms{2499});  // the step lands a millisecond before its instant
  EXPECT_EQ(t.check_marks.front().status, "L7RSP");
  EXPECT_THAT(t.check_marks.front().detail, HasSubstr("check duration: 2499ms"));
}

TEST(SimWorld, AMovedBackendIsNotFoundAtTheAddressTheBalancerResolved) {
  auto s = one_backend("");
  s.config = "defaults\n    mode http\n    timeout connect 1s\nfrontend fe\n    bind 127.0.0.1:{{frontend}}\n"
             "    default_backend be\nbackend be\n    option httpchk GET /health\n"
             "    server app 127.0.0.1:{{app}} check inter 1s\n";
  s.timeline.push_back({.at = Ms{1500}, .backend = "app", .move_to = "127.0.0.2"});
  s.timeline.push_back({.at = Ms{5500}, .requests = 1});
  const auto t = play_sim(s);
  EXPECT_THAT(first_line(t), HasSubstr("Server be/app is DOWN, reason: Layer4 connection problem, info: "
                                       "\"Connection refused\""));
  EXPECT_EQ(t.events.front().at, Ms{4000});  // fall 3: the checks at 2s, 3s and 4s
  EXPECT_EQ(t.routing.at(Ms{5500}), std::vector<std::string>{"503"});
}

TEST(SimWorld, ARateStepSendsEachRequestAtItsInstant) {
  auto s = one_backend("");
  s.backends.push_back({.name = "b"});
  s.config = "defaults\n    mode http\nfrontend fe\n    bind 127.0.0.1:{{frontend}}\n    default_backend be\n"
             "backend be\n    option httpchk GET /health\n    server app 127.0.0.1:{{app}} check inter 1s\n"
             "    server b 127.0.0.1:{{b}} check inter 1s\n";
  // Requests at 2, 2.25, 2.5 and 2.75 s; app dies at 2.4 s and is still UP for the balancer, so
  // the request roundrobin gives it fails its retries (no redispatch): 503.
  s.timeline.push_back({.at = Ms{2000}, .rate = 4, .rate_for = Ms{1000}});
  s.timeline.push_back({.at = Ms{2400}, .backend = "app", .kill = true});
  s.other_transitions_allowed = true;
  const auto t = play_sim(s);
  EXPECT_EQ(t.routing.at(Ms{2000}), (std::vector<std::string>{"app", "b", "503", "b"}));
}

TEST(SimWorld, CheckDurationsAreJudged) {
  auto s = one_backend("hang");
  s.duration = Ms{8000};
  s.expect.push_back({ExpectTransition{.server = "be/app", .to = Event::Kind::Down,
                                       .duration_min = Ms{2000}, .duration_max = Ms{2000}}, 3});
  s.other_transitions_allowed = true;
  EXPECT_TRUE(judge(s, play_sim(s)).empty());
  std::get<ExpectTransition>(s.expect[0].what).duration_min = Ms{2001};
  std::get<ExpectTransition>(s.expect[0].what).duration_max = Ms{2003};
  const auto failures = judge(s, play_sim(s));
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_THAT(failures[0].message, HasSubstr("expected be/app DOWN, check duration: 2001ms to 2003ms"));
}

TEST(SimWorld, SecondsAreWrittenShort) {
  EXPECT_EQ(seconds(Ms{2001}), "2.001s");
  EXPECT_EQ(seconds(Ms{500}), "0.5s");
  EXPECT_EQ(seconds(Ms{12000}), "12s");
}

// The library: every scenario of scenarios/ loads and passes on simulated time.
class Library : public ::testing::TestWithParam<std::string> {};

TEST_P(Library, PassesOnSimulatedTime) {
  const auto r = load_scenario(GetParam());
  ASSERT_TRUE(r.scenario) << r.errors.front().text();
  const auto failures = judge(*r.scenario, play_sim(*r.scenario));
  for (const auto& f : failures) ADD_FAILURE() << GetParam() << ":" << f.line << ": " << f.message;
}

std::vector<std::string> library() {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(lb::test::source_path("scenarios")))
    if (e.path().extension() == ".yaml") out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

INSTANTIATE_TEST_SUITE_P(Scenarios, Library, ::testing::ValuesIn(library()), [](const auto& info) {
  auto n = std::filesystem::path(info.param).stem().string();
  for (auto& c : n)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return n;
});

}  // namespace
}  // namespace lbh

namespace lbh {
namespace {

TEST(SimWorld, SharesAndWhatABackendReceivedAreJudged) {
  Scenario s;
  s.file = "t.yaml";
  s.name = "t";
  s.duration = Ms{3000};
  s.backends = {{"a", {}, {}, 1}, {"b", {}, {}, 2}};
  s.config = "defaults\n    mode http\nfrontend fe\n    bind 127.0.0.1:{{frontend}}\n    default_backend be\nbackend be\n"
             "    server a 127.0.0.1:{{a}} weight 3\n    server b 127.0.0.1:{{b}} weight 1\n";
  s.timeline.push_back({.at = Ms{1000}, .requests = 8, .line = 1});
  ExpectRouting share;
  share.step_at = Ms{1000};
  share.share = {{"a", 0.75}, {"b", 0.25}};
  s.expect.push_back({share, 1});
  s.expect.push_back({ExpectReceived{"a", "GET /", 6, 6}, 2});
  for (const auto& f : judge(s, play_sim(s))) ADD_FAILURE() << f.message;
  std::get<ExpectRouting>(s.expect[0].what).share = {{"a", 0.5}};
  std::get<ExpectReceived>(s.expect[1].what).at_most = 5;
  const auto failures = judge(s, play_sim(s));
  ASSERT_EQ(failures.size(), 2u);
  EXPECT_EQ(failures[0].message, "requests at 1s: a took 0.750 of 8, expected 0.500 ± 0.050");
  EXPECT_EQ(failures[1].message, "a received 6 request(s) \"GET /...\", expected 6 to 5");
}

}  // namespace
}  // namespace lbh

namespace lbh {
namespace {

TEST(SimWorld, ConcurrentRequestsHoldTheirServersUntilAllAreRouted) {
  Scenario s;
  s.file = "t.yaml";
  s.name = "t";
  s.duration = Ms{2000};
  s.backends = {{"a", {}, {}, 1}, {"b", {}, {}, 2}};
  s.config = "defaults\n    mode http\nfrontend fe\n    bind 127.0.0.1:{{frontend}}\n    default_backend be\nbackend be\n"
             "    balance leastconn\n    server a 127.0.0.1:{{a}}\n    server b 127.0.0.1:{{b}}\n";
  Step burst{.at = Ms{1000}, .requests = 4, .concurrent = true, .line = 1};
  s.timeline = {burst};
  const auto t = play_sim(s);
  ASSERT_TRUE(t.errors.empty()) << t.errors.front();
  auto went = t.routing.at(Ms{1000});
  std::sort(went.begin(), went.end());
  EXPECT_EQ(went, (std::vector<std::string>{"a", "a", "b", "b"}));
  // In the other order, or as a set, a concurrent step is the same step to diff.
  Trace other = t;
  std::reverse(other.routing[Ms{1000}].begin(), other.routing[Ms{1000}].end());
  EXPECT_TRUE(diff_traces(t, other, Ms{10}, "x", "y", {Ms{1000}}).empty());
  EXPECT_EQ(diff_traces(t, other, Ms{10}, "x", "y").size(), 1u);
}

}  // namespace
}  // namespace lbh

namespace lbh {
namespace {

// A reload on simulated time: the new balancer starts from the configuration (app1 ready again
// and UP), or, with the state saved first, from the file (app1 still in maintenance); the stats
// expectations read `show stat` answers.
TEST(SimWorld, AReloadStartsANewBalancerFromTheConfigurationOrTheStateFile) {
  Scenario s;
  s.file = "t.yaml";
  s.name = "t";
  s.duration = Ms{3000};
  s.backends = {{"a", {}, {}, 1}, {"b", {}, {}, 2}};
  s.config = "global\n    stats socket {{api}} level admin\n    server-state-file {{state}}\n"
             "defaults\n    mode http\n    load-server-state-from-file global\n"
             "frontend fe\n    bind 127.0.0.1:{{frontend}}\n    default_backend be\nbackend be\n"
             "    server a 127.0.0.1:{{a}} check inter 1s\n    server b 127.0.0.1:{{b}} check inter 1s\n";
  s.other_transitions_allowed = true;
  s.timeline.push_back({.at = Ms{500}, .api = std::vector<std::string>{"disable server be/a"}, .line = 1});
  s.timeline.push_back({.at = Ms{1000}, .reload = true, .line = 2});
  s.timeline.push_back({.at = Ms{1100}, .api = std::vector<std::string>{"show stat"}, .line = 3});
  s.timeline.push_back({.at = Ms{1200}, .requests = 2, .line = 4});
  s.expect.push_back({ExpectStat{Ms{1100}, "be", "a", "status", "UP"}, 1});
  s.expect.push_back({ExpectRouting{Ms{1200}, {"a", "b"}, {}, 0.05}, 2});
  for (const auto& f : judge(s, play_sim(s))) ADD_FAILURE() << f.message;

  s.timeline[1].save_state = true;
  s.expect[1] = {ExpectRouting{Ms{1200}, {"b", "b"}, {}, 0.05}, 2};
  const auto trace = play_sim(s);
  const auto failures = judge(s, trace);
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].message, "stats at 1.1s: be/a status is 'MAINT', expected 'UP'");
  // The exporter, on a frontend that serves it, says the same.
  s.config.insert(s.config.find("    default_backend be"), "    http-request use-service prometheus-exporter if { path /metrics }\n");
  s.timeline.push_back({.at = Ms{1150}, .get = std::string("/metrics"), .line = 5});
  s.expect.push_back({ExpectMetric{Ms{1150}, "haproxy_server_status{proxy=\"be\",server=\"a\",state=\"MAINT\"}", "1"}, 3});
  s.expect.push_back({ExpectMetric{Ms{1150}, "haproxy_backend_active_servers{proxy=\"be\"}", "2"}, 4});
  const auto with_page = judge(s, play_sim(s));
  ASSERT_EQ(with_page.size(), 2u);
  EXPECT_EQ(with_page[1].message, "metrics at 1.15s: haproxy_backend_active_servers{proxy=\"be\"} is 1, expected 2");
  // The loader's line, as the new balancer reads the file at the reload.
  EXPECT_TRUE(std::any_of(trace.events.begin(), trace.events.end(), [](const Event& e) {
    return e.who() == "be/a" && e.reason == "changed from server-state after a reload";
  }));
}

}  // namespace
}  // namespace lbh
