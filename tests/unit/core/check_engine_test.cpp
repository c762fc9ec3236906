#include "lb/core/check/check_engine.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "lb/core/config/parser.hpp"
#include "lb/core/sim/sim_prober.hpp"

namespace lb::core {
namespace {

using ::testing::ElementsAre;

Config parse_ok(std::string_view text) {
  auto r = parse_config(text, "test.cfg");
  for (const auto& d : r.diagnostics)
    if (d.level == Diagnostic::Level::Alert) ADD_FAILURE() << format_diagnostic(d);
  return r.config;
}

// A configuration like the incidents': three servers, httpchk, timeouts as in production.
constexpr std::string_view kThreeServers = R"(
defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s
    timeout check 2s
backend apps
    option httpchk
    server s1 10.0.0.1:80 check inter 1s fall 2 rise 2
    server s2 10.0.0.2:80 check inter 1s fall 2 rise 2
    server s3 10.0.0.3:80 check inter 1s fall 2 rise 2
)";

const ProbeTarget kS1{"10.0.0.1", 80}, kS2{"10.0.0.2", 80}, kS3{"10.0.0.3", 80};

// Simulated world: one engine, one scheduler, one prober, and the log it produced.
class EngineOnSimTime : public ::testing::Test {
 protected:
  void start(std::string_view config_text) {
    config_ = parse_ok(config_text);
    engine_ = std::make_unique<CheckEngine>(config_, sched_, prober_, [this](const HealthEvent& e) {
      events_.push_back(e);
      if (e.line && e.kind != HealthEvent::Kind::CheckFinished) lines_.push_back(e.line->text);
      if (e.line && e.kind == HealthEvent::Kind::CheckFinished) check_lines_.push_back(e.line->text);
    });
    engine_->start();
  }
  std::vector<long> check_start_times() const {
    std::vector<long> out;
    for (const auto& e : events_)
      if (e.kind == HealthEvent::Kind::CheckStarted) out.push_back(e.at.time_since_epoch().count());
    return out;
  }
  std::vector<long> check_start_times(ServerKey k) const {
    std::vector<long> out;
    for (const auto& e : events_)
      if (e.kind == HealthEvent::Kind::CheckStarted && e.key == k) out.push_back(e.at.time_since_epoch().count());
    return out;
  }

  SimScheduler sched_;
  SimProber prober_{sched_};
  Config config_;
  std::unique_ptr<CheckEngine> engine_;
  std::vector<HealthEvent> events_;
  std::vector<std::string> lines_;
  std::vector<std::string> check_lines_;
};

TEST_F(EngineOnSimTime, SpreadsFirstChecksAcrossOneInterval) {
  for (const auto& t : {kS1, kS2, kS3}) prober_.set(t, SimBehavior::http(200, "OK"));
  start(kThreeServers);
  sched_.advance(Ms{999});
  EXPECT_THAT(check_start_times(), ElementsAre(0, 333, 666));
}

TEST_F(EngineOnSimTime, FreshServerGoesDownOnItsFirstFailedCheck) {
  prober_.set(kS1, SimBehavior::http(200, "OK"));
  prober_.set(kS2, SimBehavior::http(500, "Internal Server Error", Ms{1}));
  prober_.set(kS3, SimBehavior::http(200, "OK"));
  start(kThreeServers);
  sched_.advance(Ms{400});
  EXPECT_THAT(lines_, ElementsAre("Server apps/s2 is DOWN, reason: Layer7 wrong status, code: 500, info: \"Internal "
                                  "Server Error\", check duration: 1ms. 2 active and 0 backup servers left. 0 sessions "
                                  "active, 0 requeued, 0 remaining in queue."));
  EXPECT_FALSE(engine_->server_up({0, 1}));
  EXPECT_EQ(engine_->counts(0).active, 2);
}

TEST_F(EngineOnSimTime, FullyUpServerNeedsFallConsecutiveFailures) {
  int served = 0;
  prober_.set(kS1, [&](const ProbeTarget&, int attempt) {
    ++served;
    return attempt <= 1 ? SimBehavior::http(200, "OK") : SimBehavior::hang();
  });
  prober_.set(kS2, SimBehavior::http(200, "OK"));
  prober_.set(kS3, SimBehavior::http(200, "OK"));
  start(kThreeServers);
  // t=0 pass (fully UP); t=1000 check hangs → L7 timeout at 3000 (health 3→2, still UP);
  // next at 4000 → timeout at 6000 → DOWN.
  sched_.advance(Ms{5999});
  EXPECT_TRUE(lines_.empty());
  sched_.advance(Ms{1});
  EXPECT_THAT(lines_, ElementsAre("Server apps/s1 is DOWN, reason: Layer7 timeout, check duration: 2000ms. 2 active "
                                  "and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue."));
  EXPECT_THAT(check_start_times({0, 0}), ElementsAre(0, 1000, 4000));
}

TEST_F(EngineOnSimTime, ConnectTimeoutIsMinOfInterAndTimeoutConnect) {
  prober_.set(kS1, SimBehavior::blackhole());
  prober_.set(kS2, SimBehavior::http(200, "OK"));
  prober_.set(kS3, SimBehavior::http(200, "OK"));
  start(kThreeServers);
  sched_.advance(Ms{1000});
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_THAT(lines_[0], ::testing::StartsWith("Server apps/s1 is DOWN, reason: Layer4 timeout, check duration: 1000ms."));
}

TEST_F(EngineOnSimTime, RemovedContainerTimesOutAfterDefaultInter) {
  // The first incident: default inter 2s, timeout connect 5s, no timeout check.
  prober_.set({"10.0.0.9", 8080}, SimBehavior::blackhole());
  start(R"(
defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s
backend be_server
    server app1 10.0.0.9:8080 check
)");
  sched_.advance(Ms{2000});
  EXPECT_THAT(lines_, ElementsAre("Server be_server/app1 is DOWN, reason: Layer4 timeout, check duration: 2000ms. 0 "
                                  "active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in "
                                  "queue.",
                                  "backend be_server has no server available!"));
}

TEST_F(EngineOnSimTime, EveryServerAnswering500LeavesNoServerAvailable) {
  for (const auto& t : {kS1, kS2, kS3}) prober_.set(t, SimBehavior::http(500, "Internal Server Error"));
  start(kThreeServers);
  sched_.advance(Ms{1000});
  ASSERT_EQ(lines_.size(), 4u);
  EXPECT_THAT(lines_[2], ::testing::HasSubstr("Server apps/s3 is DOWN, reason: Layer7 wrong status, code: 500"));
  EXPECT_THAT(lines_[2], ::testing::HasSubstr("0 active and 0 backup servers left."));
  EXPECT_EQ(lines_[3], "backend apps has no server available!");
  const auto no_server = std::find_if(events_.begin(), events_.end(), [](const HealthEvent& e) {
    return e.kind == HealthEvent::Kind::NoServerAvailable;
  });
  ASSERT_NE(no_server, events_.end());
  EXPECT_EQ(no_server->line->stderr_text, "backend 'apps' has no server available!");
}

TEST_F(EngineOnSimTime, RefusedConnectionReportsLayer4ProblemInZeroMs) {
  prober_.set(kS1, SimBehavior::refuse());
  prober_.set(kS2, SimBehavior::http(200, "OK"));
  prober_.set(kS3, SimBehavior::unreachable());
  start(kThreeServers);
  sched_.advance(Ms{700});
  EXPECT_THAT(lines_, ElementsAre(::testing::HasSubstr("Server apps/s1 is DOWN, reason: Layer4 connection problem, "
                                                       "info: \"Connection refused\", check duration: 0ms."),
                                  ::testing::HasSubstr("Server apps/s3 is DOWN, reason: Layer4 connection problem, "
                                                       "info: \"No route to host\", check duration: 0ms. 1 active")));
}

TEST_F(EngineOnSimTime, ComesBackUpAfterRiseConsecutivePassesAtFastinter) {
  prober_.set(kS1, [](const ProbeTarget&, int attempt) {
    return attempt == 1 ? SimBehavior::refuse() : SimBehavior::http(200, "OK", Ms{3});
  });
  start(R"(
backend apps
    option httpchk
    timeout check 2s
    server s1 10.0.0.1:80 check inter 1s fastinter 200ms downinter 5s rise 2 fall 2
)");
  sched_.advance(Ms{0});
  ASSERT_EQ(lines_.size(), 2u);  // DOWN + no server available
  // Fully DOWN: next check after downinter (5s); then "going up": fastinter.
  sched_.advance(Ms{5000 + 3 + 200 + 3});
  ASSERT_EQ(lines_.size(), 3u);
  EXPECT_EQ(lines_[2], "Server apps/s1 is UP, reason: Layer7 check passed, code: 200, check duration: 3ms. 1 active "
                       "and 0 backup servers online. 0 sessions requeued, 0 total in queue.");
  EXPECT_THAT(check_start_times(), ElementsAre(0, 5000, 5203));
  EXPECT_EQ(engine_->next_check_at({0, 0}), TimePoint{Ms{5206 + 1000}});
}

TEST_F(EngineOnSimTime, SendsHaproxysDefaultHttpchkRequest) {
  prober_.set(kS1, SimBehavior::http(200, "OK"));
  start(R"(
backend apps
    option httpchk
    server s1 10.0.0.1:80 check
)");
  sched_.advance(Ms{0});
  EXPECT_THAT(prober_.requests(kS1), ElementsAre("OPTIONS / HTTP/1.0\r\n\r\n"));
}

TEST_F(EngineOnSimTime, BackupTakesOverWithRunningOnBackup) {
  prober_.set(kS1, SimBehavior::refuse());
  prober_.set({"10.0.0.5", 80}, SimBehavior::http(200, "OK"));
  start(R"(
backend apps
    server s1 10.0.0.1:80 check
    server b1 10.0.0.5:80 check backup
)");
  sched_.advance(Ms{1000});
  EXPECT_THAT(lines_, ElementsAre("Server apps/s1 is DOWN, reason: Layer4 connection problem, info: \"Connection "
                                  "refused\", check duration: 0ms. 0 active and 1 backup servers left. Running on "
                                  "backup. 0 sessions active, 0 requeued, 0 remaining in queue."));
}

TEST_F(EngineOnSimTime, LogHealthChecksMovesTheReasonToTheCheckLine) {
  prober_.set(kS1, [](const ProbeTarget&, int attempt) {
    return attempt == 1 ? SimBehavior::http(200, "OK", Ms{1}) : SimBehavior::http(404, "Not Found", Ms{1});
  });
  start(R"(
backend apps
    option httpchk
    option log-health-checks
    server s1 10.0.0.1:80 check inter 1s rise 2 fall 2
)");
  // Checks at 0 (pass), 1001 and 2002 (fail): each starts `inter` after the previous one ended.
  sched_.advance(Ms{2003});
  EXPECT_THAT(check_lines_,
              ElementsAre("Health check for server apps/s1 succeeded, reason: Layer7 check passed, code: 200, check "
                          "duration: 1ms, status: 2/2 UP.",
                          "Health check for server apps/s1 failed, reason: Layer7 wrong status, code: 404, info: \"Not "
                          "Found\", check duration: 1ms, status: 1/2 UP.",
                          "Health check for server apps/s1 failed, reason: Layer7 wrong status, code: 404, info: \"Not "
                          "Found\", check duration: 1ms, status: 0/2 DOWN."));
  EXPECT_THAT(lines_, ElementsAre("Server apps/s1 is DOWN. 0 active and 0 backup servers left. 0 sessions active, 0 "
                                  "requeued, 0 remaining in queue.",
                                  "backend apps has no server available!"));
}

TEST_F(EngineOnSimTime, ServersWithoutCheckOrDisabledAreNeverProbed) {
  start(R"(
backend apps
    server s1 10.0.0.1:80
    server s2 10.0.0.2:80 check disabled
)");
  sched_.advance(Ms{10000});
  EXPECT_EQ(prober_.attempts(kS1), 0);
  EXPECT_EQ(prober_.attempts(kS2), 0);
  EXPECT_TRUE(engine_->server_up({0, 0}));
  EXPECT_FALSE(engine_->server_up({0, 1}));
  EXPECT_EQ(engine_->counts(0).active, 1);
}

TEST(CheckTiming, ConnectDeadlineUsesRawInterUnlessTimeoutCheckIsSet) {
  ServerSettings s;
  s.inter = Ms{3000};
  s.fastinter = Ms{100};
  EXPECT_EQ(connect_deadline(s, {}), Ms{3000});
  Timeouts t;
  t.connect = Ms{5000};
  EXPECT_EQ(connect_deadline(s, t), Ms{3000});
  t.check = Ms{2000};
  EXPECT_EQ(connect_deadline(s, t), Ms{3000});
  t.connect = Ms{500};
  EXPECT_EQ(connect_deadline(s, t), Ms{500});
}

TEST(CheckTiming, CheckTargetPrefersRulePortThenPortThenAddrPort) {
  ServerConfig s{"s1", "10.0.0.1", 80, {}, {}};
  CheckSpec spec;
  EXPECT_EQ(check_target(s, spec), (ProbeTarget{"10.0.0.1", 80}));
  s.settings.check_addr = "10.9.9.9";
  s.settings.check_port = 8081;
  EXPECT_EQ(check_target(s, spec), (ProbeTarget{"10.9.9.9", 8081}));
  spec.kind = CheckKind::TcpCheck;
  spec.tcp_rules.push_back({TcpCheckRule::Kind::Connect, 9000, "", {}});
  EXPECT_EQ(check_target(s, spec), (ProbeTarget{"10.9.9.9", 9000}));
  ServerConfig no_port{"s2", "10.0.0.2", 0, {}, {}};
  EXPECT_EQ(check_target(no_port, CheckSpec{}), std::nullopt);
  // A UNIX socket is reached without a port.
  ServerConfig unix_socket{"s3", "unix@/run/app.sock", 0, {}, {}};
  EXPECT_EQ(check_target(unix_socket, CheckSpec{}), (ProbeTarget{"unix@/run/app.sock", 0}));
}

TEST(InitialSchedule, SpreadsAllChecksOfAllBackendsByPosition) {
  const auto cfg = parse_ok(R"(
backend a
    server s1 10.0.0.1:80 check inter 1s
    server s2 10.0.0.2:80 check inter 1s
backend b
    server s3 10.0.0.3:80 check inter 1s
    server s4 10.0.0.4:80 check inter 1s
)");
  std::vector<long> delays;
  for (const auto& [key, d] : CheckEngine::initial_schedule(cfg)) delays.push_back(d.count());
  EXPECT_THAT(delays, ElementsAre(0, 250, 500, 750));
}

TEST(InitialSchedule, ShortIntervalsDoNotDictateTheSpread) {
  const auto cfg = parse_ok(R"(
backend a
    server s1 10.0.0.1:80 check inter 100ms fall 1
    server s2 10.0.0.2:80 check inter 4s fall 1
)");
  std::vector<long> delays;
  for (const auto& [key, d] : CheckEngine::initial_schedule(cfg)) delays.push_back(d.count());
  // M = 4000 (the only interval >= 1s); each check uses max(M, own interval).
  EXPECT_THAT(delays, ElementsAre(0, 2000));
}

TEST(InitialSchedule, MaxSpreadChecksCapsTheSpread) {
  const auto cfg = parse_ok(R"(
global
    max-spread-checks 3s
backend a
    server s1 10.0.0.1:80 check inter 10s
    server s2 10.0.0.2:80 check inter 10s
    server s3 10.0.0.3:80 check inter 10s
)");
  std::vector<long> delays;
  for (const auto& [key, d] : CheckEngine::initial_schedule(cfg)) delays.push_back(d.count());
  EXPECT_THAT(delays, ElementsAre(0, 1000, 2000));  // uncapped: 0, 3333, 6666
}

// spread-checks P%: each next check comes inter + r - floor(2 r u) after the last, r = inter*P/100
// and u the random draw, so with u pinned the interval is exact.
TEST(SpreadChecks, JittersEveryIntervalAfterTheFirstByTheRandomDraw) {
  for (const auto& [u, interval] : std::vector<std::pair<double, long>>{{0.0, 1500}, {0.5, 1000}, {0.999, 501}}) {
    const auto cfg = parse_ok(R"(
global
    spread-checks 50
backend a
    server s1 10.0.0.1:80 check inter 1s
)");
    SimScheduler sched;
    SimProber prober(sched);
    prober.set({"10.0.0.1", 80}, SimBehavior::refuse());
    std::vector<long> starts;
    CheckEngine engine(
        cfg, sched, prober,
        [&](const HealthEvent& e) {
          if (e.kind == HealthEvent::Kind::CheckStarted) starts.push_back(e.at.time_since_epoch().count());
        },
        [u = u] { return u; });
    engine.start();
    sched.run_until(TimePoint{Ms{3 * interval + 1}});
    ASSERT_GE(starts.size(), 3u) << u;
    EXPECT_EQ(starts[0], 0) << "the first check is spread by position only";
    EXPECT_EQ(starts[1] - starts[0], interval) << u;
    EXPECT_EQ(starts[2] - starts[1], interval) << u;
  }
}

TEST_F(EngineOnSimTime, ALaterTcpCheckConnectChecksASecondPort) {
  SimBehavior pong = SimBehavior::http(200, "OK");
  pong.answer = "PONG\r\n";
  prober_.set({"10.0.0.1", 80}, pong);
  prober_.set({"10.0.0.1", 81}, SimBehavior::refuse());
  start(R"(
backend apps
    option tcp-check
    tcp-check send PING\r\n
    tcp-check expect string PONG
    tcp-check connect port 81
    server s1 10.0.0.1:80 check inter 1s
)");
  sched_.advance(Ms{10});
  EXPECT_THAT(lines_, ElementsAre(::testing::HasSubstr(
                                      "Server apps/s1 is DOWN, reason: Layer4 connection problem, info: \"Connection refused "
                                      "at step 3 of tcp-check (connect port 81)\""),
                                  "backend apps has no server available!"));
  EXPECT_EQ(prober_.attempts({"10.0.0.1", 81}), 1);
}

}  // namespace
}  // namespace lb::core
namespace lb::core {
namespace {

// Maintenance that lands while a check is in flight ends that check; the paused beat goes on, and
// leaving maintenance is UP at once with checks running again (as in HAProxy, one failure away
// from DOWN).
TEST_F(EngineOnSimTime, MaintenanceDuringACheckKeepsTheBeatAndLeavingItIsUpAtOnce) {
  prober_.set(kS1, SimBehavior::hang());
  prober_.set(kS2, SimBehavior::http(200, "OK"));
  prober_.set(kS3, SimBehavior::http(200, "OK"));
  start(kThreeServers);
  sched_.advance(Ms{10});  // s1's first check is hanging
  engine_->set_admin({0, 0}, admin::kResolutionMaint, "DNS NX status");
  EXPECT_FALSE(engine_->server_up({0, 0}));
  EXPECT_EQ(engine_->counts(0).active, 2);
  EXPECT_THAT(lines_, ElementsAre("Server apps/s1 is going DOWN for maintenance (DNS NX status). 2 active and 0 backup "
                                  "servers left. 0 sessions active, 0 requeued, 0 remaining in queue."));
  sched_.advance(Ms{3000});
  EXPECT_EQ(check_start_times({0, 0}).size(), 1u);  // paused: no check in maintenance
  ASSERT_TRUE(engine_->next_check_at({0, 0}));
  prober_.set(kS1, SimBehavior::http(500, "Internal Server Error"));
  engine_->clear_admin({0, 0}, admin::kResolutionMaint, "app1.example");
  EXPECT_TRUE(engine_->server_up({0, 0}));
  EXPECT_EQ(engine_->counts(0).active, 3);
  EXPECT_EQ(lines_.back(), "Server apps/s1 ('app1.example') is UP/READY (resolves again).");
  sched_.advance(Ms{1000});
  EXPECT_EQ(check_start_times({0, 0}).size(), 2u);
  EXPECT_THAT(lines_.back(), ::testing::StartsWith("Server apps/s1 is DOWN, reason: Layer7 wrong status, code: 500"));
}

TEST_F(EngineOnSimTime, AServerDownWhenItEntersMaintenanceSaysSoWithoutCounts) {
  prober_.set(kS1, SimBehavior::refuse());
  prober_.set(kS2, SimBehavior::http(200, "OK"));
  prober_.set(kS3, SimBehavior::http(200, "OK"));
  start(kThreeServers);
  sched_.advance(Ms{10});
  ASSERT_FALSE(engine_->server_up({0, 0}));
  engine_->set_admin({0, 0}, admin::kResolutionMaint, "DNS timeout status");
  EXPECT_EQ(lines_.back(), "Server apps/s1 was DOWN and now enters maintenance (DNS timeout status).");
  EXPECT_EQ(engine_->counts(0).active, 2);
}

}  // namespace
}  // namespace lb::core
