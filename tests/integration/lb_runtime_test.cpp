// The real `lb` checking real mockserver backends on loopback: the seed incidents and the
// common failure shapes give HAProxy 2.6's lines (its texts are held to the captures by the
// EngineVsHaproxy unit tests; here the sockets, timers and process are real). Every wait is on
// a log line or a journal entry, with a generous deadline that only matters on failure.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <set>

#include <fmt/format.h>

#include "tests/integration/lb_world.hpp"
#include "tests/support/sockets.hpp"

namespace lb::test {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// Three app servers behind one frontend, checked every 100 ms with `option httpchk`.
std::string three_apps(std::string_view check_lines = "    option httpchk\n",
                       std::string_view server_params = "check inter 100ms rise 2 fall 2",
                       std::string_view timeouts = "") {
  return fmt::format(R"(global
    log stdout format raw local0
defaults
    mode http
    log global
    timeout connect 1s
    timeout client 5s
    timeout server 5s
{}
frontend fe_main
    bind 127.0.0.1:{{{{fe}}}}
    default_backend be_server
backend be_server
{}    server app1 127.0.0.1:{{{{app1}}}} {}
    server app2 127.0.0.1:{{{{app2}}}} {}
    server app3 127.0.0.1:{{{{app3}}}} {}
)",
                     timeouts, check_lines, server_params, server_params, server_params);
}

long duration_ms(const std::string& line) {
  static const std::regex kDuration("check duration: ([0-9]+)ms");
  std::smatch m;
  return std::regex_search(line, m, kDuration) ? std::stol(m[1]) : -1;
}

// The seed incident: `option httpchk` sends OPTIONS, every app answers it 500.
TEST(LbRuntime, OptionsAnswered500ByEveryServerTakesTheBackendDownAndClientsGetHaproxys503) {
  LbWorld w({"app1", "app2", "app3"}, {"--rule", "app1: method=OPTIONS -> status 500", "--rule",
                                       "app2: method=OPTIONS -> status 500", "--rule",
                                       "app3: method=OPTIONS -> status 500"});
  w.start_lb(three_apps());
  std::set<std::string> down;
  for (int i = 0; i < 3; ++i) {
    const auto line = w.await(" is DOWN");
    ASSERT_TRUE(line) << w.lb().stderr_text();
    EXPECT_THAT(*line, HasSubstr(", reason: Layer7 wrong status, code: 500, info: \"Internal Server Error\", check "
                                 "duration: "));
    down.insert(line->substr(0, line->find(" is DOWN")));
  }
  EXPECT_EQ(down, (std::set<std::string>{"Server be_server/app1", "Server be_server/app2", "Server be_server/app3"}));
  ASSERT_TRUE(w.await("backend be_server has no server available!"));

  EXPECT_EQ(http(w.fe_port(), "GET", "/").bytes, haproxy_503_close());

  // The apps are fixed: after `rise` passing checks each comes back.
  for (const auto* s : {"app1", "app2", "app3"})
    ASSERT_EQ(w.mock().call("PUT", fmt::format("/v1/listeners/{}/rules", s), "[]").status, 200);
  for (int i = 0; i < 3; ++i) {
    const auto up = w.await(" is UP");
    ASSERT_TRUE(up);
    EXPECT_THAT(*up, HasSubstr(", reason: Layer7 check passed, code: 200, check duration: "));
  }
  const auto r = http(w.fe_port(), "GET", "/");
  EXPECT_EQ(status_of(r.bytes), 200);
  EXPECT_THAT(body_of(r.bytes), StartsWith("hello from app"));

  // The same lines went to stderr with haproxy's prefixes (read once lb has exited: the two
  // pipes are read independently).
  EXPECT_EQ(w.lb().stop(), 0);
  EXPECT_THAT(w.lb().stderr_text(), HasSubstr("[ALERT]    ("));
  EXPECT_THAT(w.lb().stderr_text(), HasSubstr(") : backend 'be_server' has no server available!"));
  EXPECT_THAT(w.lb().stderr_text(), HasSubstr("[WARNING]  ("));
}

// The slow backend: the check's response deadline is `timeout check`.
TEST(LbRuntime, ABackendThatHangsPastTimeoutCheckIsALayer7Timeout) {
  LbWorld w({"app1", "app2", "app3"}, {"--fault", "app1=hang"});
  w.start_lb(three_apps("    option httpchk\n", "check inter 1s rise 2 fall 2", "    timeout check 2s"));
  const auto line = w.await("Server be_server/app1 is DOWN");
  ASSERT_TRUE(line) << w.lb().stderr_text();
  EXPECT_THAT(*line, HasSubstr("reason: Layer7 timeout, check duration: 20"));
  EXPECT_GE(duration_ms(*line), 2000);
  EXPECT_LE(duration_ms(*line), 2050);
  EXPECT_THAT(*line, HasSubstr(". 2 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue."));
}

TEST(LbRuntime, ARefusedConnectIsALayer4ConnectionProblemWithTheOsText) {
  LbWorld w({"app1", "app2", "app3"}, {"--fault", "app2=refuse"});
  w.start_lb(three_apps());
  const auto line = w.await("Server be_server/app2 is DOWN");
  ASSERT_TRUE(line) << w.lb().stderr_text();
  EXPECT_THAT(*line, HasSubstr("reason: Layer4 connection problem, info: \"Connection refused\", check duration: "));
}

// The removed container: SYNs go unanswered until the connect deadline, `inter` here.
TEST(LbRuntime, DroppedSynsAreALayer4TimeoutAtInter) {
  LbWorld w({"app1", "app2", "app3"}, {"--fault", "app3=blackhole"});
  w.start_lb(three_apps("    option httpchk\n", "check inter 300ms rise 2 fall 2"));
  const auto line = w.await("Server be_server/app3 is DOWN");
  ASSERT_TRUE(line) << w.lb().stderr_text();
  EXPECT_THAT(*line, HasSubstr("reason: Layer4 timeout, check duration: "));
  EXPECT_GE(duration_ms(*line), 300);
  EXPECT_LE(duration_ms(*line), 350);
}

TEST(LbRuntime, ResetGarbageAndEmptyRepliesGiveHaproxysStatuses) {
  LbWorld w({"app1", "app2", "app3"}, {"--fault", "app1=reset", "--fault", "app2=garbage", "--fault", "app3=close"});
  w.start_lb(three_apps());
  std::map<std::string, std::string> reasons;
  for (int i = 0; i < 3; ++i) {
    const auto line = w.await(" is DOWN");
    ASSERT_TRUE(line) << w.lb().stderr_text();
    const auto name = line->substr(std::string("Server be_server/").size(), 4);
    reasons[name] = line->substr(line->find("reason: "), line->find(", check duration") - line->find("reason: "));
  }
  EXPECT_EQ(reasons["app1"], "reason: Socket error, info: \"Connection reset by peer\"");
  EXPECT_EQ(reasons["app2"], "reason: Layer7 invalid response");
  EXPECT_EQ(reasons["app3"], "reason: Layer7 invalid response");
}

TEST(LbRuntime, AnExpectedStatusOtherThan2xxIsHonoured) {
  LbWorld w({"app1", "app2", "app3"}, {"--rule", "app1: path=/health -> status 204", "--rule",
                                       "app2: path=/health -> status 200"});
  w.start_lb(three_apps("    option httpchk GET /health\n    http-check expect status 204\n"));
  const auto line = w.await(" is DOWN");
  ASSERT_TRUE(line);
  EXPECT_THAT(*line, StartsWith("Server be_server/app2 is DOWN, reason: Layer7 wrong status, code: 200, info: \"OK\""));
  const auto next = w.await(" is DOWN");
  ASSERT_TRUE(next);
  EXPECT_THAT(*next, StartsWith("Server be_server/app3 is DOWN, reason: Layer7 wrong status, code: 200"));
  EXPECT_TRUE(w.mock().wait_journal("listener=app1&method=GET&path=/health", 3));
  EXPECT_FALSE(w.await(" is DOWN", milliseconds(300))) << "app1 answers 204 and must stay UP";
}

TEST(LbRuntime, TcpCheckSendExpectPassesOnTheExpectedReplyOnly) {
  // mockserver answers HTTP; the tcp-check sends a request line and expects the status.
  LbWorld w({"app1", "app2", "app3"}, {"--rule", "app2: path=/ping -> status 503"});
  w.start_lb(three_apps("    option tcp-check\n    tcp-check send \"GET /ping HTTP/1.0\\r\\n\\r\\n\"\n"
                        "    tcp-check expect string \"200 OK\"\n"));
  const auto line = w.await(" is DOWN");
  ASSERT_TRUE(line) << w.lb().stderr_text();
  EXPECT_THAT(*line, StartsWith("Server be_server/app2 is DOWN, reason: Layer7 invalid response, info: \"TCPCHK did "
                                "not match content '200 OK' at step 2\""));
  EXPECT_FALSE(w.await(" is DOWN", milliseconds(300)));
}

TEST(LbRuntime, AKilledBackendIsDownAndComesBackUpWhenRestartedOnItsPort) {
  LbWorld w({"app1", "app2", "app3"}, {});
  w.start_lb(three_apps());
  ASSERT_TRUE(w.mock().wait_journal("listener=app1&method=OPTIONS", 2));
  const int port = w.mock().port("app1");
  w.mock().child().stop();  // all three go: every server DOWN
  const auto down = w.await("Server be_server/app1 is DOWN");
  ASSERT_TRUE(down);
  EXPECT_THAT(*down, HasSubstr("Layer4 connection problem, info: \"Connection refused\""));
  Mock again({"--listen", fmt::format("app1=127.0.0.1:{}", port)});
  const auto up = w.await("Server be_server/app1 is UP");
  ASSERT_TRUE(up);
  EXPECT_THAT(*up, HasSubstr("reason: Layer7 check passed, code: 200"));
  EXPECT_EQ(body_of(http(w.fe_port(), "GET", "/").bytes), "hello from app1");
}

TEST(LbRuntime, ServersWithoutCheckCountAsUpAndTrafficFlowsRoundRobin) {
  LbWorld w({"app1", "app2", "app3"}, {});
  w.start_lb(three_apps("", ""));
  std::vector<std::string> bodies;
  for (int i = 0; i < 6; ++i) bodies.push_back(body_of(http(w.fe_port(), "GET", "/").bytes));
  EXPECT_EQ(bodies, (std::vector<std::string>{"hello from app1", "hello from app2", "hello from app3",
                                              "hello from app1", "hello from app2", "hello from app3"}));
}

TEST(LbRuntime, SigtermExitsZeroAndAPortInUseExitsOneWithHaproxysAlert) {
  LbWorld w({"app1", "app2", "app3"}, {});
  w.start_lb(three_apps("", ""));
  // A port another program listens on: lb, as haproxy, shares a port only with processes that
  // allow it (SO_REUSEPORT, which lb and haproxy set for their reloads).
  const auto [taken, port] = loopback_listener();
  ASSERT_GE(taken, 0);
  auto cfg = w.render(three_apps("", ""));
  cfg.replace(cfg.find(fmt::format(":{}", w.fe_port())), fmt::format(":{}", w.fe_port()).size(), fmt::format(":{}", port));
  TempDir dir;
  auto clash = Child::start(LB_BIN, {"-db", "-f", dir.write("clash.cfg", cfg).string()}, {.ready_line = ""});
  EXPECT_EQ(clash.wait_exit(10s), 1);
  ::close(taken);
  EXPECT_THAT(clash.stderr_text(), HasSubstr("[ALERT]    ("));
  const auto bind_line = [](const std::string& text) {
    return 1 + std::count(text.begin(), text.begin() + static_cast<long>(text.find("    bind ")), '\n');
  };
  EXPECT_THAT(clash.stderr_text(),
              HasSubstr(fmt::format(") : Binding [{}:{}] for frontend fe_main: cannot bind socket (Address already in use) "
                                    "for [127.0.0.1:{}]",
                                    (dir.path() / "clash.cfg").string(), bind_line(cfg), port)));
  EXPECT_THAT(clash.stderr_text(), HasSubstr("Some protocols failed to start their listeners! Exiting."));
  EXPECT_EQ(w.lb().stop(), 0);
}

}  // namespace
}  // namespace lb::test

namespace lb::test {
namespace {

// The seed's "Host is unreachable" (musl's wording; glibc, and so Debian's haproxy, says "No route
// to host"): an unreachable route in a network namespace of the test's own, so no packet leaves
// it. Skipped, with the reason, where the machine does not allow unprivileged namespaces; the
// simulated-time tests cover the same outcome everywhere.
TEST(LbRuntime, AnUnreachableHostIsALayer4ConnectionProblemInANetworkNamespace) {
  if (std::system("unshare -rn sh -c 'ip link set lo up && ip route add unreachable 10.255.0.0/24' >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "unshare -rn or ip is not available here: network namespaces cannot be created";
  TempDir dir;
  const auto cfg = dir.write("lb.cfg", R"(global
    log stdout format raw local0
defaults
    mode http
    log global
    timeout connect 1s
    timeout client 1s
    timeout server 1s
frontend fe
    bind 127.0.0.1:8080
    default_backend be
backend be
    server s1 10.255.0.1:80 check inter 100ms
    server s2 127.0.0.1:9 check inter 100ms
)");
  auto lb = Child::start("/usr/bin/unshare",
                         {"-rn", "sh", "-c",
                          fmt::format("ip link set lo up && ip route add unreachable 10.255.0.0/24 && exec {} -db --announce -f {}",
                                      LB_BIN, cfg.string())});
  const auto line = lb.await_line("Server be/s1 is DOWN", kPatience);
  ASSERT_TRUE(line) << lb.stderr_text();
  // connect() fails at once: haproxy's "General socket error", as it logged it in the same namespace.
  // haproxy says 0ms; lb measures its check on the real clock, which may turn a millisecond.
  EXPECT_THAT(*line, ::testing::ContainsRegex("reason: Layer4 connection problem, info: \"General socket error \\(No route "
                                              "to host\\)\", check duration: [01]ms\\."));
}

}  // namespace
}  // namespace lb::test

namespace lb::test {
namespace {

// UNIX listeners are announced by the address configured ("unix@PATH", "abns@NAME"), not by the
// temporary name a path is bound under before it is renamed; a frontend's TCP port stays its port.
TEST(LbRuntime, UnixListenersAreAnnouncedByTheirConfiguredAddress) {
  TempDir dir;
  const std::string path = (dir.path() / "fe.sock").string();
  const int port = free_tcp_port();
  const std::string name = fmt::format("lbh-announce-{}", ::getpid());
  const auto cfg = dir.write("unix.cfg", fmt::format(R"(defaults
    mode http
    timeout connect 1s
    timeout client 1s
    timeout server 1s
frontend fe
    bind unix@{}
    bind 127.0.0.1:{}
    bind abns@{}
    default_backend be
backend be
    server s1 127.0.0.1:9
)",
                                                     path, port, name));
  auto lb = Child::start(LB_BIN, {"-db", "--announce", "-f", cfg.string()});
  EXPECT_EQ(lb.port("fe"), port);
  EXPECT_THAT(lb.stdout_lines(), ::testing::IsSupersetOf({"listening fe unix@" + path, "listening fe abns@" + name,
                                                          fmt::format("listening fe 127.0.0.1:{}", port)}));
  EXPECT_EQ(lb.stop(), 0);
  EXPECT_TRUE(std::filesystem::exists(path));  // left in place, as haproxy leaves it
}

// Every incident configuration shipped in examples/ runs (and stops on SIGTERM with 0). They all
// listen on 127.0.0.1:18080, so they run one after the other.
TEST(LbRuntime, EveryIncidentConfigurationRuns) {
  int ran = 0;
  for (const auto& entry : std::filesystem::directory_iterator(source_path("examples/incidents"))) {
    if (entry.path().extension() != ".cfg") continue;
    auto lb = Child::start(LB_BIN, {"-db", "-q", "--announce", "-f", entry.path().string()});
    EXPECT_THAT(lb.endpoints(), ::testing::Contains(::testing::Key("fe_main"))) << entry.path();
    EXPECT_EQ(lb.stop(), 0) << entry.path() << ": " << lb.stderr_text();
    ++ran;
  }
  EXPECT_GE(ran, 4);
}

}  // namespace
}  // namespace lb::test

namespace lb::test {
namespace {

long probes_of(const Mock& m, std::string_view listener) {
  const auto r = m.call("GET", "/v1/stats");
  if (!r.json.is_object()) return -1;
  for (const auto& l : r.json.at("listeners").as_array())
    if (l.at("name").as_string() == listener) return l.at("probes").to_number<long>();
  return -1;
}

// A connect-only check delays its ACK and resets the connection once connect() is through, so
// the server never completes the handshake and never accepts it; a check that waits for a
// banner acknowledges at once and is accepted. Both balancers, the same way.
TEST(LbRuntime, AConnectOnlyCheckNeverReachesTheServersAcceptLikeHaproxys) {
  for (const std::string& bin : {std::string(LB_BIN), std::string("/usr/sbin/haproxy")}) {
    Mock m({"--listen", "app1=127.0.0.1:0", "--listen", "app2=127.0.0.1:0", "--listen", "app3=127.0.0.1:0"});
    TempDir dir;
    const auto cfg = dir.write("h.cfg", fmt::format(R"(defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    timeout check 5s
frontend fe
    bind 127.0.0.1:{}
    default_backend be_connect
backend be_connect
    server app1 127.0.0.1:{} check inter 100ms
backend be_http
    mode http
    option httpchk
    server app2 127.0.0.1:{} check inter 100ms
backend be_banner
    option tcp-check
    tcp-check expect string hello
    server app3 127.0.0.1:{} check inter 100ms
)",
                                                    free_tcp_port(), m.port("app1"), m.port("app2"), m.port("app3")));
    auto balancer = Child::start(bin, {"-db", "-f", cfg.string()}, {.ready_line = ""});
    // Three checks answered on app2 and one banner check accepted on app3: app1 was checked
    // meanwhile too, every 100 ms.
    ASSERT_TRUE(m.wait_journal("listener=app2&method=OPTIONS", 3)) << bin << ": " << balancer.stderr_text();
    const auto deadline = Clock::now() + kPatience;
    while (probes_of(m, "app3") < 1 && Clock::now() < deadline) std::this_thread::sleep_for(milliseconds(10));
    EXPECT_GE(probes_of(m, "app3"), 1) << bin;
    EXPECT_EQ(probes_of(m, "app1"), 0) << bin;
    balancer.stop();
  }
}

}  // namespace
}  // namespace lb::test
