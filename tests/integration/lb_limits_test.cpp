// Connection and descriptor limits, as haproxy 2.6 applies them: a frontend or the process at its
// maxconn stops accepting until a connection ends; a descriptor limit too low for maxconn stops
// lb at start-up with haproxy's alert; descriptors running out anyway are logged at emerg in
// haproxy's words, and lb serves again once some are free.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <filesystem>
#include <future>
#include <regex>

#include "tests/integration/lb_world.hpp"

namespace lb::test {
namespace {

using ::testing::HasSubstr;

std::string config(std::string_view global_lines, std::string_view frontend_lines) {
  return fmt::format(R"(global
    log stdout format raw local0
{}defaults
    mode http
    log global
    option httplog
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:{{{{fe}}}}
{}    default_backend be
backend be
    server s1 127.0.0.1:{{{{s1}}}}
)",
                     global_lines, frontend_lines);
}

// The largest of a connection counter (%ac = 0, %fc = 1) over `lines` httplog lines.
int highest_count(LbWorld& w, int lines, int which) {
  static const std::regex kCounts(R"( ([0-9]+)/([0-9]+)/[0-9]+/[0-9]+/[0-9]+ [0-9]+/[0-9]+ ")");
  int highest = -1;
  for (int i = 0; i < lines; ++i) {
    const auto line = w.await(" fe be/s1 ");
    if (!line) return -1;
    std::smatch m;
    if (std::regex_search(*line, m, kCounts)) highest = std::max(highest, std::stoi(m[1 + which]));
  }
  return highest;
}

// Three slow requests at once through a frontend or process limited to two connections.
void three_at_once(LbWorld& w) {
  std::vector<std::future<Received>> inflight;
  for (int i = 0; i < 3; ++i) inflight.push_back(std::async(std::launch::async, [&] { return http(w.fe_port(), "GET", "/"); }));
  for (auto& f : inflight) EXPECT_EQ(status_of(f.get().bytes), 200);
}

TEST(LbLimits, AFrontendAtItsMaxconnTakesTheNextConnectionWhenOneEnds) {
  LbWorld w({"s1"}, {"--rule", "s1: -> status 200 delay=300"});
  w.start_lb(config("", "    maxconn 2\n"));
  three_at_once(w);
  EXPECT_EQ(highest_count(w, 3, 1), 2);  // %fc never above the frontend's maxconn
}

TEST(LbLimits, TheProcessAtTheGlobalMaxconnTakesTheNextConnectionWhenOneEnds) {
  LbWorld w({"s1"}, {"--rule", "s1: -> status 200 delay=300"});
  w.start_lb(config("    maxconn 2\n", ""));
  three_at_once(w);
  EXPECT_EQ(highest_count(w, 3, 0), 2);  // %ac never above the global maxconn
}

// haproxy 2.6.12 with `maxconn 100` under `ulimit -n 30`: "[haproxy.main()] Cannot raise FD limit
// to 217, limit is 30." and exit 1, before binding anything.
TEST(LbLimits, ADescriptorLimitTooLowForMaxconnStopsLbWithHaproxysAlert) {
  LbWorld w({"s1"}, {});
  TempDir dir;
  const auto cfg = dir.write("lb.cfg", w.render(config("    maxconn 100\n", "")));
  auto lb = Child::start("/usr/bin/prlimit", {"--nofile=30:30", LB_BIN, "-db", "-f", cfg.string()}, {.ready_line = ""});
  EXPECT_EQ(lb.wait_exit(10s), 1);
  EXPECT_THAT(lb.stderr_text(), HasSubstr("[ALERT]    ("));
  EXPECT_THAT(lb.stderr_text(), HasSubstr(") : [haproxy.main()] Cannot raise FD limit to 217, limit is 30.\n"));
}

long open_files_limit(pid_t pid) { return proc_number(pid, "limits", "Max open files"); }

long open_fds(pid_t pid) {
  long n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(fmt::format("/proc/{}/fd", pid))) ++n;
  return n;
}

TEST(LbLimits, DescriptorsRunningOutAreLoggedAtEmergAsHaproxyLogsThemAndLbRecovers) {
  LbWorld w({"s1"}, {});
  w.start_lb(config("", ""));
  const pid_t pid = w.lb().pid();
  // lb set its soft limit to the maxsock its maxconn needs, as haproxy does: the number it names.
  const long maxsock = open_files_limit(pid);
  ASSERT_GT(maxsock, 0);
  // No descriptor left: the clients wait in the backlog while lb says why it cannot take them.
  auto set_limit = [&](long soft) {
    Child::start("/usr/bin/prlimit", {fmt::format("--pid={}", pid), fmt::format("--nofile={}:{}", soft, maxsock)},
                 {.ready_line = ""})
        .wait_exit(10s);
  };
  set_limit(open_fds(pid));
  std::vector<Connected> clients;
  for (int i = 0; i < 3; ++i) clients.push_back(connect_to(w.fe_port()));
  for (const auto& c : clients) ASSERT_EQ(c.error, 0);  // the kernel's backlog takes them
  const auto line = w.await("reached process FD limit");
  ASSERT_TRUE(line);
  EXPECT_EQ(*line, fmt::format("Proxy fe reached process FD limit (maxsock={}). Please check 'ulimit-n' and restart.", maxsock));
  // Descriptors back: every waiting client is accepted and served.
  set_limit(maxsock);
  for (auto& c : clients) {
    send_all(c.fd.get(), "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(status_of(read_response(c.fd.get()).bytes), 200);
  }
  EXPECT_TRUE(w.lb().running());
}

}  // namespace
}  // namespace lb::test
