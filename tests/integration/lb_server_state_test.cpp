// Server state kept across a restart of the real `lb`, the way HAProxy users keep it across a
// reload: the running lb's `show servers state` is saved to the `server-state-file`, and the
// next lb starts from it (`load-server-state-from-file global`): a server in maintenance stays
// there and gets no request, a drained one stays drained, with haproxy 2.6.12's loader lines on
// stderr (server_state_vs_haproxy_test holds them to the captures).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <map>

#include "tests/integration/lb_world.hpp"

namespace lb::test {
namespace {

using ::testing::HasSubstr;

std::string config(const std::string& socket, const std::string& state_file) {
  return fmt::format(R"(global
    log stdout format raw local0
    stats socket {} level admin
    server-state-file {}
defaults
    mode http
    log global
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    load-server-state-from-file global
frontend fe
    bind 127.0.0.1:{{{{fe}}}}
    default_backend be
backend be
    option httpchk GET /health
    server s1 127.0.0.1:{{{{s1}}}} check inter 100ms
    server s2 127.0.0.1:{{{{s2}}}} check inter 100ms
    server s3 127.0.0.1:{{{{s3}}}} check inter 100ms
)",
                     socket, state_file);
}

TEST(LbServerState, ASavedStateSurvivesTheRestartMaintenanceAndDrainIncluded) {
  LbWorld w({"s1", "s2", "s3"}, {});
  const auto socket = (w.dir() / "admin.sock").string();
  const auto state = (w.dir() / "state").string();
  // The first start: no file yet, which HAProxy says, and everything UP.
  w.start_lb(config(socket, state));
  // stderr is read by a thread of its own: the line is awaited, not looked for at once.
  EXPECT_TRUE(w.lb().await_stderr(
      fmt::format("config : config: Can't open global server state file '{}': No such file or directory", state), kPatience))
      << w.lb().stderr_text();
  ASSERT_EQ(cli_ask(socket, "set server be/s1 state maint;set server be/s2 state drain\n"), "\n\n");
  // What a reload script saves.
  const auto saved = cli_ask(socket, "show servers state\n");
  ASSERT_THAT(saved, HasSubstr("\n3 be 1 s1 127.0.0.1 0 1 "));
  {
    std::FILE* f = std::fopen(state.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fwrite(saved.data(), 1, saved.size(), f);
    std::fclose(f);
  }
  EXPECT_EQ(w.lb().stop(), 0);

  w.start_lb(config(socket, state));
  EXPECT_TRUE(w.lb().await_stderr("config : Server be/s1 is DOWN, changed from server-state after a reload. 2 active and 0 "
                                  "backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.",
                                  kPatience))
      << w.lb().stderr_text();
  EXPECT_TRUE(w.lb().await_stderr("config : Server be/s2 remains in forced drain mode.", kPatience)) << w.lb().stderr_text();
  const auto now = cli_ask(socket, "show servers state be\n");
  EXPECT_THAT(now, HasSubstr("\n3 be 1 s1 127.0.0.1 0 1 1 1 "));
  EXPECT_THAT(now, HasSubstr("\n3 be 2 s2 127.0.0.1 2 8 1 1 "));
  // Only s3 takes requests: s1 is in maintenance, s2 drained.
  std::map<std::string, int> share;
  for (int i = 0; i < 4; ++i) ++share[served_by(http(w.fe_port(), "GET", "/"))];
  EXPECT_EQ(share, (std::map<std::string, int>{{"s3", 4}}));
}

}  // namespace
}  // namespace lb::test
