#include "mockserver/core/engine.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "mockserver/core/cli.hpp"

namespace mock::core {
namespace {

using namespace std::chrono_literals;

const TimePoint kT0{};

Rule rule(std::string_view text, std::size_t index = 0) {
  auto r = parse_rule_arg(text, index);
  EXPECT_TRUE(r) << r.error();
  return r ? r->second : Rule{};
}

// Feeds one request through the listener and returns its status (0 for a fault).
struct Harness {
  explicit Harness(std::vector<std::string_view> rules) : l(ListenerSpec{.name = "s1"}, kT0) {
    std::vector<Rule> rs;
    for (auto r : rules) rs.push_back(rule(r, rs.size()));
    l.set_rules(std::move(rs));
  }
  int send(std::string_view raw, TimePoint t = kT0) {
    RequestParser p;
    EXPECT_EQ(p.parse(raw).status, ParseStatus::Done);
    l.on_request(p.request(), t, d);
    return d.status;
  }
  Listener l;
  Decision d;
};

constexpr std::string_view kCheck = "OPTIONS / HTTP/1.0\r\n\r\n";
constexpr std::string_view kGet = "GET /app HTTP/1.1\r\nHost: x\r\n\r\n";

TEST(Listener, FirstMatchingRuleWins) {
  Harness h({"s1: method=OPTIONS -> status 500", "s1: -> status 201"});
  EXPECT_EQ(h.send(kCheck), 500);
  EXPECT_EQ(h.d.rule, "rule-1");
  EXPECT_EQ(h.send(kGet), 201);
  EXPECT_EQ(h.d.rule, "rule-2");
}

TEST(Listener, StaticAnswersAreServedFromPreparedBytes) {
  Harness h({"s1: method=OPTIONS -> status 500"});
  h.send(kCheck);
  EXPECT_TRUE(h.d.plan.steps.empty());
  EXPECT_EQ(h.d.prepared, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 13\r\nConnection: close\r\n\r\nhello from s1");
  EXPECT_TRUE(h.d.prepared_closes);
  h.send(kGet);
  EXPECT_EQ(h.d.prepared, "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nhello from s1");
  EXPECT_FALSE(h.d.prepared_closes);
}

TEST(Listener, TheThirdHealthCheckGets500) {
  Harness h({"s1: method=OPTIONS nth=3 -> status 500"});
  std::vector<int> got;
  for (int i = 0; i < 4; ++i) {
    got.push_back(h.send(kCheck));
    h.send(kGet);  // traffic does not move the check count
  }
  EXPECT_EQ(got, (std::vector<int>{200, 200, 500, 200}));
}

TEST(Listener, FaultRulesPlanTheirFault) {
  Harness h({"s1: path=/app -> hang"});
  EXPECT_EQ(h.send(kGet), 0);
  EXPECT_EQ(h.d.fault, FaultKind::Hang);
  EXPECT_EQ(h.d.plan.steps.at(0).kind, StepKind::Hold);
}

TEST(Listener, RawRulesPlanTheirBytesForTheirPath) {
  Harness h({"s1: path=/other -> status 201"});
  Rule raw;
  raw.id = "case1";
  raw.match.path = {PathMatch::Kind::Exact, "/app"};
  raw.raw = RawReply{{{Ms{0}, "HTTP/1.1 2"}, {Ms{10}, "04\r\n\r\n"}}, RawEnd::Close};
  h.l.set_rules({raw});
  EXPECT_EQ(h.send(kGet), 0);
  EXPECT_EQ(h.d.rule, "case1");
  EXPECT_TRUE(h.d.prepared.empty());
  EXPECT_EQ(h.d.plan.steps.size(), 4u);
  EXPECT_EQ(h.d.plan.steps.back().kind, StepKind::Close);
  EXPECT_EQ(h.send(kCheck), 200);  // no rule for "/": the default answer
}

TEST(Listener, DownFiveSecondsEveryTwentyOnSimulatedTime) {
  Harness h({"s1: flap=20000/5000 -> refuse"});
  EXPECT_EQ(h.l.mode_at(kT0), Mode::Refuse);
  EXPECT_EQ(h.l.next_mode_change(kT0), kT0 + 5s);
  EXPECT_EQ(h.l.mode_at(kT0 + 5s), Mode::Serve);
  EXPECT_EQ(h.l.next_mode_change(kT0 + 5s), kT0 + 20s);
  EXPECT_EQ(h.l.mode_at(kT0 + 20s), Mode::Refuse);
  h.l.reset(kT0 + 7s);  // the timeline restarts from the reset
  EXPECT_EQ(h.l.mode_at(kT0 + 7s), Mode::Refuse);
  EXPECT_EQ(h.l.mode_at(kT0 + 12s), Mode::Serve);
}

TEST(Listener, RefusesAfterNRequests) {
  Harness h({"s1: after=2 -> refuse"});
  EXPECT_TRUE(h.l.has_listener_rules());
  EXPECT_EQ(h.l.mode_at(kT0), Mode::Serve);
  h.send(kGet);
  EXPECT_EQ(h.l.mode_at(kT0), Mode::Serve);
  h.send(kGet);
  EXPECT_EQ(h.l.mode_at(kT0), Mode::Refuse);
}

TEST(Listener, ExplicitModeAndListenerFaultOverrideRules) {
  Harness h({"s1: -> status 201"});
  h.l.set_mode(Mode::Blackhole);
  EXPECT_EQ(h.l.mode_at(kT0), Mode::Blackhole);
  h.l.set_mode(Mode::Serve);
  h.l.set_fault(make_fault(FaultKind::Reset));
  EXPECT_EQ(h.send(kGet), 0);
  EXPECT_EQ(h.d.rule, "listener");
  h.l.set_fault(make_fault(FaultKind::SlowAccept));
  EXPECT_EQ(h.l.mode_at(kT0), Mode::SlowAccept);
}

TEST(Listener, ConnectionFaultsActOnAccept) {
  Harness h({"s1: probes=2 -> reset-on-accept"});
  EXPECT_FALSE(h.l.on_accept(kT0).fault);
  const auto second = h.l.on_accept(kT0);
  ASSERT_TRUE(second.fault);
  EXPECT_EQ(second.fault->kind, FaultKind::ResetOnAccept);
  EXPECT_FALSE(h.l.on_accept(kT0).fault);
}

// A connection fault ends its connection before a request is read: request counts are counted
// in connections, so that every window ends. Every connection fault, every schedule kind, ten
// connections: which of them the fault took.
TEST(Listener, ConnectionFaultsCountConnectionsSoEveryWindowEnds) {
  struct Case {
    const char* schedule;
    std::vector<int> faulted;  // 1-based connection indexes
  };
  const std::vector<Case> cases{{"requests=3..5", {3, 4, 5}},       {"probes=3..5", {3, 4, 5}},
                                {"after=7", {8, 9, 10}},            {"nth=2", {2}},
                                {"matches=2..3", {2, 3}},           {"times=2", {1, 2}},
                                {"every=4", {4, 8}},                {"flap_requests=4/1", {1, 5, 9}},
                                {"at_ms=0..1000", {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}}, {"after_ms=5000", {}}};
  for (const char* fault : {"reset-on-accept", "close-before-request", "hang-no-read"}) {
    for (const auto& c : cases) {
      Listener l(ListenerSpec{.name = "s1"}, kT0);
      l.set_rules({rule(fmt::format("s1: {} -> {}", c.schedule, fault))});
      std::vector<int> faulted;
      for (int i = 1; i <= 10; ++i)
        if (l.on_accept(kT0 + 10ms * i).fault) faulted.push_back(i);
      EXPECT_EQ(faulted, c.faulted) << fault << " " << c.schedule;
    }
  }
}

TEST(Listener, ProbabilitiesAreSeededAndReproducible) {
  auto answers = [](std::string_view rule) {
    Harness h({rule});
    std::string out;
    for (int i = 0; i < 1000; ++i) out += h.send(kGet) == 503 ? '1' : '0';
    return out;
  };
  const auto a = answers("s1: probability=0.3 seed=7 -> status 503");
  EXPECT_EQ(a, answers("s1: probability=0.3 seed=7 -> status 503"));  // the same every run
  EXPECT_NE(a, answers("s1: probability=0.3 seed=8 -> status 503"));
  const auto hits = std::count(a.begin(), a.end(), '1');
  EXPECT_GT(hits, 250);
  EXPECT_LT(hits, 350);
  EXPECT_EQ(answers("s1: probability=0 -> status 503"), std::string(1000, '0'));
  EXPECT_EQ(answers("s1: probability=1 -> status 503"), std::string(1000, '1'));
}

TEST(Listener, JitterVariesTheDelayAroundItsMean) {
  for (const bool normal : {false, true}) {
    Harness h({normal ? "s1: -> status 200 delay=100 jitter=20 jitter_dist=normal" : "s1: -> status 200 delay=100 jitter=20"});
    double sum = 0, sq = 0;
    long lo = 1 << 30, hi = 0;
    const int n = 2000;
    for (int i = 0; i < n; ++i) {
      h.send(kGet);
      ASSERT_FALSE(h.d.plan.steps.empty());
      const auto& first = h.d.plan.steps.front();
      const long ms = first.kind == StepKind::Pause ? first.pause.count() : 0;
      sum += static_cast<double>(ms);
      sq += static_cast<double>(ms * ms);
      lo = std::min(lo, ms), hi = std::max(hi, ms);
    }
    const double mean = sum / n, sd = std::sqrt(sq / n - mean * mean);
    EXPECT_NEAR(mean, 100, 2) << normal;
    if (normal) {
      EXPECT_NEAR(sd, 20, 2);
      EXPECT_GT(hi, 140);  // beyond two standard deviations, now and then
    } else {
      EXPECT_NEAR(sd, 20 / std::sqrt(3.0), 1.5);  // uniform on [80, 120]
      EXPECT_GE(lo, 80);
      EXPECT_LE(hi, 120);
    }
  }
}

TEST(Matching, QueryParametersAndBodies) {
  Harness h({"s1: query=debug:1 query=trace -> status 418", "s1: json=/items/1/id:7 -> status 201",
             "s1: body=exactly -> status 202", "s1: body*=part body~=^p -> status 203"});
  EXPECT_EQ(h.send("GET /?trace&debug=1 HTTP/1.1\r\n\r\n"), 418);
  EXPECT_EQ(h.send("GET /?debug=1 HTTP/1.1\r\n\r\n"), 200);  // both must hold
  EXPECT_EQ(h.send("GET /?debug=1+&trace HTTP/1.1\r\n\r\n"), 200);  // "1 " is not "1"
  auto post = [&](std::string_view body) {
    return h.send(fmt::format("POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n{}", body.size(), body));
  };
  EXPECT_EQ(post(R"({"items": [{"id": 1}, {"id": 7}]})"), 201);
  EXPECT_EQ(post(R"({"items": [{"id": 1}, {"id": "7"}]})"), 200);  // JSON equality: 7 is not "7"
  EXPECT_EQ(post(R"({"items": [{"id": 1}]})"), 200);               // no such element
  EXPECT_EQ(post("exactly"), 202);
  EXPECT_EQ(post("exactly not"), 200);
  EXPECT_EQ(post("partial"), 203);
  EXPECT_EQ(post("a part"), 200);  // contains, but not at the start
}

TEST(Matching, MethodPathAndHeaders) {
  RequestParser p;
  ASSERT_EQ(p.parse("GET /api/v2/users?id=1 HTTP/1.1\r\nX-Env: prod\r\n\r\n").status, ParseStatus::Done);
  const auto& req = p.request();
  EXPECT_TRUE(matches(rule("s1: method=GET,HEAD path=/api/v2/users -> status 200").match, req));
  EXPECT_FALSE(matches(rule("s1: method=POST -> status 200").match, req));
  EXPECT_TRUE(matches(rule("s1: path^=/api/ -> status 200").match, req));
  EXPECT_FALSE(matches(rule("s1: path^=/apx -> status 200").match, req));
  EXPECT_TRUE(matches(rule("s1: path~=^/api/v[0-9]+/ -> status 200").match, req));
  EXPECT_TRUE(matches(rule("s1: header=x-env -> status 200").match, req));
  EXPECT_TRUE(matches(rule("s1: header=X-Env:prod -> status 200").match, req));
  EXPECT_FALSE(matches(rule("s1: header=X-Env:dev -> status 200").match, req));
  EXPECT_FALSE(matches(rule("s1: header=X-Other -> status 200").match, req));
}

TEST(Matching, RegexOnAHugePathNeitherCrashesNorFreezes) {
  // std::regex recursed per character (SIGSEGV on long paths) and backtracked without bound.
  const std::string path = "/" + std::string(60000, 'a');
  const std::string raw = "GET " + path + " HTTP/1.1\r\n\r\n";
  RequestParser p;
  ASSERT_EQ(p.parse(raw).status, ParseStatus::Done);
  EXPECT_TRUE(matches(rule("s1: path~=^/a*$ -> status 200").match, p.request()));
  EXPECT_TRUE(matches(rule("s1: path~=a{100}$ -> status 200").match, p.request()));
  // Catastrophic backtracking: the bounded matcher gives up and the rule does not match.
  EXPECT_FALSE(matches(rule("s1: path~=^/(a+)+b$ -> status 200").match, p.request()));
}

}  // namespace
}  // namespace mock::core
