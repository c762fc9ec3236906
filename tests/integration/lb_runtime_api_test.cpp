// The real `lb`'s Runtime API on a UNIX socket in a temp dir and on a TCP one: the answers
// haproxy 2.6.12 gives (held byte for byte to the captures by runtime_api_vs_haproxy_test), the
// state lines on the log, and the routing that follows (maintenance, drain, weight 0).
#include <sys/socket.h>
#include <sys/un.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <map>

#include "tests/integration/lb_world.hpp"

namespace lb::test {
namespace {

std::string api_config(const std::string& socket_path, int tcp_port) {
  return fmt::format(R"(global
    log stdout format raw local0
    stats socket {} level admin mode 600
    stats socket ipv4@127.0.0.1:{} level user
defaults
    mode http
    log global
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:{{{{fe}}}}
    default_backend be
backend be
    option httpchk GET /health
    server s1 127.0.0.1:{{{{s1}}}} check inter 100ms
    server s2 127.0.0.1:{{{{s2}}}} check inter 100ms
)",
                     socket_path, tcp_port);
}



std::map<std::string, int> spread(int port, int requests) {
  std::map<std::string, int> share;
  for (int i = 0; i < requests; ++i) ++share[served_by(http(port, "GET", "/"))];
  return share;
}

class LbRuntimeApi : public ::testing::Test {
 protected:
  void SetUp() override {
    socket_ = (w_.dir() / "admin.sock").string();
    tcp_port_ = free_tcp_port();
    w_.start_lb(api_config(socket_, tcp_port_));  // returns once lb says "ready"
  }
  LbWorld w_{{"s1", "s2"}, {}};
  std::string socket_;
  int tcp_port_ = 0;
};

TEST_F(LbRuntimeApi, MaintenanceThroughTheSocketLogsHaproxysLinesAndMovesTraffic) {
  EXPECT_EQ(cli_ask(socket_, "get weight be/s1\n"), "1 (initial 1)\n\n");
  EXPECT_EQ(cli_ask(socket_, "disable server be/s1\n"), "\n");
  EXPECT_TRUE(w_.await("Server be/s1 is going DOWN for maintenance. 1 active and 0 backup servers left. 0 sessions "
                       "active, 0 requeued, 0 remaining in queue."))
      << w_.lb().stderr_text();
  EXPECT_EQ(spread(w_.fe_port(), 4), (std::map<std::string, int>{{"s2", 4}}));
  const auto state = cli_ask(socket_, "show servers state be\n");
  EXPECT_THAT(state, ::testing::HasSubstr(fmt::format("\n3 be 1 s1 127.0.0.1 0 1 1 1 ")));
  EXPECT_EQ(cli_ask(socket_, "enable server be/s1\n"), "\n");
  EXPECT_TRUE(w_.await("Server be/s1 is UP/READY (leaving forced maintenance)."));
  EXPECT_EQ(spread(w_.fe_port(), 4), (std::map<std::string, int>{{"s1", 2}, {"s2", 2}}));
}

TEST_F(LbRuntimeApi, DrainAndWeightZeroTakeAServerOutOfNewTraffic) {
  EXPECT_EQ(cli_ask(socket_, "set server be/s2 state drain\n"), "\n");
  EXPECT_TRUE(w_.await("Server be/s2 enters drain state. 1 active and 0 backup servers online. 0 sessions requeued, "
                       "0 total in queue."));
  EXPECT_EQ(spread(w_.fe_port(), 3), (std::map<std::string, int>{{"s1", 3}}));
  EXPECT_EQ(cli_ask(socket_, "set server be/s2 state ready;set server be/s1 weight 0\n"), "\n\n");
  EXPECT_TRUE(w_.await("Server be/s2 is UP (leaving forced drain)."));
  EXPECT_EQ(spread(w_.fe_port(), 3), (std::map<std::string, int>{{"s2", 3}}));
  EXPECT_EQ(cli_ask(socket_, "set server be/s2 weight 0\n"), "\n");
  EXPECT_TRUE(w_.await("backend be has no server available!"));
  EXPECT_EQ(status_of(http(w_.fe_port(), "GET", "/").bytes), 503);
}

// `set server addr` moves the server's traffic at once: the next request of a kept-alive client
// goes to the new address, not through the idle connection to the old one.
TEST_F(LbRuntimeApi, AServerMovedBySetServerAddrIsReachedThereByAKeptAliveClientsNextRequest) {
  EXPECT_EQ(cli_ask(socket_, "set server be/s2 state maint\n"), "\n");
  auto c = connect_to(w_.fe_port());
  ASSERT_EQ(c.error, 0);
  const std::string get = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_TRUE(send_all(c.fd.get(), get));
  EXPECT_THAT(read_response(c.fd.get()).bytes, ::testing::EndsWith("hello from s1"));
  EXPECT_THAT(cli_ask(socket_, fmt::format("set server be/s1 addr 127.0.0.1 port {}\n", w_.mock().port("s2"))),
              ::testing::HasSubstr("port changed from"));
  ASSERT_TRUE(send_all(c.fd.get(), get));
  EXPECT_THAT(read_response(c.fd.get()).bytes, ::testing::EndsWith("hello from s2"));
}

TEST_F(LbRuntimeApi, TheTcpSocketAtUserLevelAnswersAndRefusesAsHaproxy) {
  auto c = connect_to(tcp_port_);
  ASSERT_EQ(c.error, 0);
  ASSERT_TRUE(send_all(c.fd.get(), "show cli level;disable server be/s1\n"));
  EXPECT_EQ(read_to_end(c.fd.get(), kPatience).bytes, "user\n\nPermission denied\n\n");
}

TEST_F(LbRuntimeApi, PromptModeKeepsTheConnectionUntilQuit) {
  auto fd = connect_unix(socket_);
  ASSERT_GE(fd.get(), 0);
  ASSERT_TRUE(send_all(fd.get(), "prompt\n"));
  EXPECT_EQ(read_exactly_then_silence(fd.get(), "\n> ", milliseconds(100)).bytes, "\n> ");
  ASSERT_TRUE(send_all(fd.get(), "show backend\n"));
  EXPECT_EQ(read_exactly_then_silence(fd.get(), "# name\nbe\n\n> ", milliseconds(100)).bytes, "# name\nbe\n\n> ");
  ASSERT_TRUE(send_all(fd.get(), "quit\n"));
  const auto last = read_to_end(fd.get(), kPatience);
  EXPECT_EQ(last.bytes, "");
  EXPECT_EQ(last.end, End::Eof);
}

TEST(LbRuntimeApiStart, AStatsSocketThatCannotBeBoundStopsLbWithHaproxysAlert) {
  LbWorld w({"s1", "s2"}, {});
  TempDir dir;
  const auto cfg = dir.write("lb.cfg", w.render(api_config("/nonexistent-lbh-dir/admin.sock", free_tcp_port())));
  auto lb = Child::start(LB_BIN, {"-db", "-f", cfg.string()}, {.ready_line = ""});
  EXPECT_EQ(lb.wait_exit(kPatience), 1);
  EXPECT_THAT(lb.stderr_text(), ::testing::HasSubstr(fmt::format(
                                    "Binding [{}:3] for frontend GLOBAL: cannot bind UNIX socket (No such file or "
                                    "directory) [/nonexistent-lbh-dir/admin.sock]",
                                    cfg.string())));
  EXPECT_THAT(lb.stderr_text(), ::testing::HasSubstr("Some protocols failed to start their listeners! Exiting."));
}

}  // namespace
}  // namespace lb::test
