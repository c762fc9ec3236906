// Where lb sends requests, with real sockets: the same order as the core Router (which is held
// to haproxy's captured orders by the unit tests), backups, keep-alive reuse on the server side,
// redispatch on connect failure, and requests in flight while their server goes DOWN.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <future>
#include <regex>
#include <map>

#include "lb/core/config/parser.hpp"
#include "lb/core/route/router.hpp"
#include "tests/integration/lb_world.hpp"

namespace lb::test {
namespace {

using ::testing::HasSubstr;

std::string config(std::string_view backend_lines, std::string_view servers) {
  return fmt::format(R"(global
    log stdout format raw local0
defaults
    mode http
    log global
    option httplog
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:{{{{fe}}}}
    default_backend be
backend be
{}{})",
                     backend_lines, servers);
}


TEST(LbRouting, WeightedRoundRobinOverAThousandRequestsFollowsTheRouterPickForPick) {
  LbWorld w({"s1", "s2", "s3"}, {});
  const std::string servers =
      "    server s1 127.0.0.1:{{s1}} weight 3\n    server s2 127.0.0.1:{{s2}} weight 2\n    server s3 127.0.0.1:{{s3}} weight 1\n";
  w.start_lb(config("", servers));

  const auto parsed = core::parse_config(w.render(config("", servers)), "t.cfg");
  ASSERT_TRUE(parsed.ok());
  const auto& be = parsed.config.proxies.back();
  std::vector<core::RouteServer> rs;
  for (const auto& s : be.servers) rs.push_back({s.name, s.settings.weight});
  core::Router expected(core::Balance::RoundRobin, false, rs);

  // One keep-alive client connection carries them all; lb routes each request on its own.
  auto c = connect_to(w.fe_port());
  ASSERT_EQ(c.error, 0);
  std::map<std::string, int> share;
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(send_all(c.fd.get(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    const auto r = read_response(c.fd.get());
    const auto want = be.servers[*expected.pick()].name;
    ASSERT_EQ(served_by(r), want) << "request " << i;
    ++share[want];
  }
  EXPECT_NEAR(share["s1"], 500, 2);
  EXPECT_NEAR(share["s2"], 333, 2);
  EXPECT_NEAR(share["s3"], 167, 2);
  // Server-side keep-alive: one connection per server carried every request.
  const auto stats = w.mock().call("GET", "/v1/stats");
  ASSERT_EQ(stats.status, 200) << stats.raw;
  for (const auto& l : stats.json.at("listeners").as_array())
    EXPECT_EQ(l.at("probes").to_number<int>(), 1) << stats.raw;
}

TEST(LbRouting, LeastconnSpreadsConcurrentRequestsOverTheLeastBusyServers) {
  LbWorld w({"s1", "s2", "s3"}, {"--rule", "s1: -> status 200 delay=300", "--rule", "s2: -> status 200 delay=300",
                                 "--rule", "s3: -> status 200 delay=300"});
  w.start_lb(config("    balance leastconn\n",
                    "    server s1 127.0.0.1:{{s1}}\n    server s2 127.0.0.1:{{s2}}\n    server s3 127.0.0.1:{{s3}}\n"));
  std::vector<std::future<Received>> inflight;
  for (int i = 0; i < 6; ++i) {
    inflight.push_back(std::async(std::launch::async, [&] { return http(w.fe_port(), "GET", "/"); }));
    // Each request must be in flight before the next arrives for leastconn to see it.
    ASSERT_TRUE(w.mock().wait_journal("method=GET", i + 1)) << i;
  }
  std::map<std::string, int> share;
  for (auto& f : inflight) ++share[served_by(f.get())];
  EXPECT_EQ(share, (std::map<std::string, int>{{"s1", 2}, {"s2", 2}, {"s3", 2}}));
}

TEST(LbRouting, TheBackupTakesOverOnlyWhenNoActiveServerIsLeft) {
  LbWorld w({"s1", "b1"}, {"--fault", "s1=refuse"});
  w.start_lb(config("    option httpchk\n",
                    "    server s1 127.0.0.1:{{s1}} check inter 100ms\n    server b1 127.0.0.1:{{b1}} check inter 100ms backup\n"));
  const auto down = w.await("Server be/s1 is DOWN");
  ASSERT_TRUE(down);
  EXPECT_THAT(*down, HasSubstr("0 active and 1 backup servers left. Running on backup."));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(served_by(http(w.fe_port(), "GET", "/")), "b1");
  ASSERT_EQ(w.mock().call("PATCH", "/v1/listeners/s1", R"({"mode":"serve","fault":null})").status, 200);
  ASSERT_TRUE(w.await("Server be/s1 is UP"));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(served_by(http(w.fe_port(), "GET", "/")), "s1");
}

TEST(LbRouting, ARefusedConnectIsRedispatchedAtOnceAndTheLogShowsIt) {
  LbWorld w({"s1", "s2"}, {"--fault", "s1=refuse"});
  w.start_lb(config("    option redispatch\n    retries 3\n", "    server s1 127.0.0.1:{{s1}}\n    server s2 127.0.0.1:{{s2}}\n"));
  for (int i = 0; i < 4; ++i) EXPECT_EQ(served_by(http(w.fe_port(), "GET", "/")), "s2") << i;
  // The requests that went to s1 first were moved to s2 on their first retry.
  const auto line = w.await(" be/s2 ");
  ASSERT_TRUE(line);
  std::vector<std::string> lines{*line};
  for (int i = 0; i < 3; ++i) lines.push_back(w.await(" be/s2 ").value_or(""));
  EXPECT_THAT(lines, ::testing::Contains(HasSubstr(" 200 ")));
  EXPECT_THAT(lines, ::testing::Contains(HasSubstr("/+1 0/0 \"GET / HTTP/1.1\"")));
}

TEST(LbRouting, WithoutRedispatchRetriesStayOnTheServerAndEndIn503) {
  LbWorld w({"s1", "s2"}, {"--fault", "s1=refuse"});
  w.start_lb(config("    retries 1\n    timeout connect 100ms\n", "    server s1 127.0.0.1:{{s1}}\n    server s2 127.0.0.1:{{s2}}\n"));
  EXPECT_EQ(status_of(http(w.fe_port(), "GET", "/").bytes), 503);
  const auto line = w.await(" be/s1 ");
  ASSERT_TRUE(line);
  EXPECT_THAT(*line, HasSubstr(" 503 217 - - SC-- "));
  EXPECT_THAT(*line, HasSubstr("/1 0/0 \"GET / HTTP/1.1\""));
  EXPECT_EQ(served_by(http(w.fe_port(), "GET", "/")), "s2");
}

TEST(LbRouting, ARequestInFlightWhenItsServerGoesDownCompletesAndIsCountedInTheDownLine) {
  LbWorld w({"s1"}, {"--rule", "s1: method=GET -> status 200 delay=1500"});
  w.start_lb(config("    option httpchk\n", "    server s1 127.0.0.1:{{s1}} check inter 100ms rise 1 fall 1\n"));
  auto inflight = std::async(std::launch::async, [&] { return http(w.fe_port(), "GET", "/"); });
  ASSERT_TRUE(w.mock().wait_journal("method=GET", 1));
  ASSERT_EQ(w.mock().call("POST", "/v1/listeners/s1/rules", R"({"match":{"method":"OPTIONS"},"respond":{"status":500}})").status, 201);
  const auto down = w.await("Server be/s1 is DOWN");
  ASSERT_TRUE(down);
  EXPECT_THAT(*down, HasSubstr("0 active and 0 backup servers left. 1 sessions active, 0 requeued, 0 remaining in queue."));
  const auto r = inflight.get();
  EXPECT_EQ(status_of(r.bytes), 200);
  EXPECT_EQ(body_of(r.bytes), "hello from s1");
  EXPECT_EQ(http(w.fe_port(), "GET", "/").bytes, haproxy_503_close());
}

}  // namespace
}  // namespace lb::test

namespace lb::test {
namespace {

TEST(LbQueue, RequestsBeyondMaxconnWaitTheirTurnOrGetHaproxys503AfterTimeoutQueue) {
  LbWorld w({"s1"}, {"--rule", "s1: -> status 200 delay=400"});
  w.start_lb(config("    timeout queue 600ms\n", "    server s1 127.0.0.1:{{s1}} maxconn 1\n"));
  std::vector<std::future<Received>> inflight;
  for (int i = 0; i < 3; ++i) {
    inflight.push_back(std::async(std::launch::async, [&] { return http(w.fe_port(), "GET", "/"); }));
    if (i == 0) {
      ASSERT_TRUE(w.mock().wait_journal("method=GET", 1));
    }
  }
  // The first is served at once, the second after the first (~400 ms in the queue), the third
  // would need ~800 ms and gives up at 600 ms.
  std::vector<int> statuses;
  for (auto& f : inflight) statuses.push_back(status_of(f.get().bytes));
  std::sort(statuses.begin(), statuses.end());
  EXPECT_EQ(statuses, (std::vector<int>{200, 200, 503}));
  std::vector<std::string> lines;
  for (int i = 0; i < 3; ++i) lines.push_back(w.await(" be/").value_or(""));
  EXPECT_THAT(lines, ::testing::Contains(::testing::HasSubstr(" be/<NOSRV> ")));
  // As haproxy 2.6.12 logged the same exchange: be/<NOSRV> 0/601/-1/-1/601 503 217 - - sQ-- 2/2/1/0/0 0/2
  EXPECT_THAT(lines, ::testing::Contains(::testing::ContainsRegex(R"( be/<NOSRV> 0/6[0-9][0-9]/-1/-1/6[0-9][0-9] 503 217 - - sQ-- [0-9]+/[0-9]+/[0-9]+/0/0 0/2 )")));
  // Tc within a few milliseconds (haproxy's 0; the sanitizers' build may take 1).
  EXPECT_THAT(lines, ::testing::Contains(::testing::ContainsRegex(R"( be/s1 0/[0-9]+/[0-9]/4[0-9][0-9]/[0-9]+ 200 .* 0/1 "GET / HTTP/1.1")")));
  // The queued one that made it waited roughly one response time (Tw, the second timer).
  static const std::regex kTw(R"( be/s1 -?[0-9]+/([0-9]+)/)");
  std::vector<long> waits;
  for (const auto& l : lines) {
    std::smatch m;
    if (std::regex_search(l, m, kTw)) waits.push_back(std::stol(m[1]));
  }
  ASSERT_EQ(waits.size(), 2u);
  std::sort(waits.begin(), waits.end());
  EXPECT_LT(waits[0], 100);
  EXPECT_GE(waits[1], 300);
}


// mode tcp queues as mode http does. As haproxy 2.6.12 logged the same exchange (captured):
// `be/<NOSRV> 603/-1/602 0 sQ 2/2/1/0/0 0/2`, and the one served after waiting `356/5/761 ... 0/1`.
TEST(LbQueue, TcpConnectionsBeyondMaxconnWaitTheirTurnOrAreClosedAfterTimeoutQueue) {
  LbWorld w({"s1"}, {"--rule", "s1: -> status 200 delay=400"});
  w.start_lb(R"(global
    log stdout format raw local0
defaults
    mode tcp
    log global
    option tcplog
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    timeout queue 600ms
frontend fe
    bind 127.0.0.1:{{fe}}
    default_backend be
backend be
    server s1 127.0.0.1:{{s1}} maxconn 1
)");
  std::vector<std::future<Received>> inflight;
  for (int i = 0; i < 3; ++i) {
    inflight.push_back(std::async(std::launch::async, [&] { return http(w.fe_port(), "GET", "/"); }));
    if (i == 0) {
      ASSERT_TRUE(w.mock().wait_journal("method=GET", 1));
    }
  }
  std::vector<int> statuses;
  for (auto& f : inflight) statuses.push_back(status_of(f.get().bytes));
  std::sort(statuses.begin(), statuses.end());
  EXPECT_EQ(statuses, (std::vector<int>{-1, 200, 200}));  // -1: closed with no answer
  std::vector<std::string> lines;
  for (int i = 0; i < 3; ++i) lines.push_back(w.await(" be/").value_or(""));
  EXPECT_THAT(lines, ::testing::Contains(::testing::ContainsRegex(R"( be/<NOSRV> 6[0-9][0-9]/-1/6[0-9][0-9] 0 sQ [0-9/]+ 0/2$)")));
  EXPECT_THAT(lines, ::testing::Contains(::testing::ContainsRegex(R"( be/s1 [0-9]/[0-9]+/4[0-9][0-9] [0-9]+ -- [0-9/]+ 0/0$)")));
  EXPECT_THAT(lines, ::testing::Contains(::testing::ContainsRegex(R"( be/s1 [34][0-9][0-9]/[0-9]+/[78][0-9][0-9] [0-9]+ -- [0-9/]+ 0/1$)")));
}

}  // namespace
}  // namespace lb::test
