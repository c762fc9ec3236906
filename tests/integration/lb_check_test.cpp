// `lb -c` as a user runs it: the real binary on the example configurations, compared with what
// the real `haproxy -c` prints for the same files.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <filesystem>
#include <regex>
#include <sstream>

#include "tests/support/child.hpp"
#include "tests/support/temp_file.hpp"

namespace lb::test {
namespace {

using ::testing::HasSubstr;

Finished run(const std::string& bin, const std::vector<std::string>& args) {
  auto r = run_to_exit(bin, args);
  EXPECT_NE(r.code, -1) << bin << " did not exit";
  return r;
}

// "[ALERT]    (1234) : text" -> "[ALERT] text": pids differ between processes.
std::vector<std::string> messages(const std::string& err) {
  static const std::regex kPrefix(R"(^\[(ALERT|WARNING)\] +\([0-9]+\) : )");
  std::vector<std::string> out;
  std::istringstream in(err);
  std::string line;
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_search(line, m, kPrefix)) out.push_back("[" + m[1].str() + "] " + m.suffix().str());
  }
  return out;
}

TEST(LbCheck, AcceptsEveryIncidentConfiguration) {
  for (const char* cfg : {"examples/incidents/options-500.cfg", "examples/incidents/slow-backend.cfg",
                          "examples/incidents/removed-container.cfg", "examples/incidents/resolved-once.cfg"}) {
    const auto r = run(LB_BIN, {"-c", "-f", source_path(cfg).string()});
    EXPECT_EQ(r.code, 0) << cfg << "\n" << r.err;
    EXPECT_EQ(r.out, "Configuration file is valid\n") << cfg;
  }
}

TEST(LbCheck, ReportsEveryErrorOfABrokenFileAndExitsTwo) {
  const auto path = source_path("examples/broken.cfg").string();
  const auto r = run(LB_BIN, {"-c", "-f", path});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(messages(r.err),
              ::testing::ElementsAre(
                  "[ALERT] config : parsing [" + path + ":16] : balance only supports 'roundrobin', 'static-rr', "
                  "'leastconn', 'source', 'uri', 'url_param', 'hdr(name)' and 'rdp-cookie(name)' options.",
                  "[ALERT] config : [" + path + ":18] : 'server be_server/app1' : unknown keyword 'chek'; did you "
                  "mean 'check' maybe ?",
                  "[ALERT] config : [" + path + ":19] : 'server be_server/app2' : unexpected character 'x' in "
                  "'agent-inter' argument of server app2..",
                  "[WARNING] config : [" + path + ":20] : 'server be_server/app3' : 'weight' reads 'abc' as 0, as "
                  "HAProxy does",
                  "[ALERT] config : Error(s) found in configuration file : " + path,
                  "[ALERT] config : Fatal errors found in configuration."));
}

TEST(LbCheck, PrintsTheSameAlertsAsHaproxyForTheBrokenFile) {
  const auto path = source_path("examples/broken.cfg").string();
  const auto lb = run(LB_BIN, {"-c", "-f", path});
  const auto ha = run("/usr/sbin/haproxy", {"-c", "-f", path});
  ASSERT_EQ(ha.code, 1) << "is haproxy installed? ci/install-deps.sh installs it\n" << ha.err;
  std::vector<std::string> lb_alerts;
  for (const auto& m : messages(lb.err))
    if (m.starts_with("[ALERT]")) lb_alerts.push_back(m);
  EXPECT_EQ(lb_alerts, messages(ha.err));
}

TEST(LbCheck, RejectsANameThatDoesNotResolveAsHaproxyDoes) {
  TempDir dir;
  const auto cfg = dir.write("site.cfg", R"(frontend fe
    bind 127.0.0.1:18080
    default_backend apps
    timeout client 1s
backend apps
    timeout connect 1s
    timeout server 1s
    server s1 nosuchhost.invalid:80 check
)");
  const auto r = run(LB_BIN, {"-c", "-f", cfg.string()});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(messages(r.err), ::testing::ElementsAre(
                                   "[ALERT] config : [" + cfg.string() +
                                       ":8] : 'server apps/s1' : could not resolve address 'nosuchhost.invalid'.",
                                   "[ALERT] config : Failed to initialize server(s) addr."));
}

TEST(LbCheck, AMissingFileOrAFileWithoutListenerIsAnError) {
  const auto missing = run(LB_BIN, {"-c", "-f", "/nonexistent/haproxy.cfg"});
  EXPECT_EQ(missing.code, 2);
  EXPECT_THAT(missing.err, HasSubstr("Cannot open configuration file/directory /nonexistent/haproxy.cfg : No such file"));
  TempDir dir;
  const auto no_listener =
      run(LB_BIN, {"-f", dir.write("nl.cfg", "backend be\n    server s1 127.0.0.1:1\n").string()});
  EXPECT_EQ(no_listener.code, 1);  // haproxy 2.6.12 exits 1 there, and -c says 2
  EXPECT_THAT(no_listener.err,
              HasSubstr("[haproxy.main()] No enabled listener found (check for 'bind' directives) ! Exiting."));
  // A stats socket is a listener: the same backends with one are valid (config_check.tsv).
  const auto with_socket = run(LB_BIN, {"-c", "-f", source_path("tests/data/haproxy26/config_cases/no_frontend_stats_socket.cfg")});
  EXPECT_EQ(with_socket.code, 0) << with_socket.err;
  EXPECT_EQ(with_socket.out, "Configuration file is valid\n");
  const auto no_file = run(LB_BIN, {"-c"});
  EXPECT_EQ(no_file.code, 1);  // haproxy's usage (lb_command_line_test)
  EXPECT_THAT(no_file.err, HasSubstr("Usage : lb [-f <cfgfile|cfgdir>]*"));
}

// haproxy resolves a server address in the family its prefix names, after parsing: lb -c gives
// the same lines from its edge resolver (tests/data/haproxy26/config_check.tsv).
TEST(LbCheck, AServerAddressOfTheWrongFamilyDoesNotResolveAsInHaproxy) {
  for (const auto& [name, host] : std::vector<std::pair<std::string, std::string>>{
           {"addr_server_ipv4_with_ipv6", "::1"}, {"addr_server_ipv6_with_ipv4", "127.0.0.1"}, {"addr_server_tcp4_with_ipv6", "[::1]"}}) {
    TempDir dir;
    const auto cfg = dir.write("site.cfg", read_file(source_path("tests/data/haproxy26/config_cases/" + name + ".cfg")));
    const auto r = run(LB_BIN, {"-c", "-f", cfg.string()});
    EXPECT_EQ(r.code, 2) << name;
    EXPECT_THAT(messages(r.err),
                ::testing::ElementsAre(
                    fmt::format("[ALERT] config : [{}:13] : 'server apps/s1' : could not resolve address '{}'.", cfg.string(), host),
                    "[ALERT] config : Failed to initialize server(s) addr."))
        << name << ": " << r.err;
  }
}

// Several -f, or a directory of *.cfg files: one configuration read in order, a section ending
// with its file, as haproxy -c reads them.
TEST(LbCheck, SeveralFilesAndADirectoryAreReadAsHaproxyReadsThem) {
  TempDir dir;
  std::filesystem::create_directory(dir.path() / "conf.d");
  const auto head = dir.write("conf.d/10-fe.cfg", R"(global
    log stdout format raw local0
defaults
    mode http
    timeout connect 1s
    timeout client 1s
    timeout server 1s
frontend fe
    bind 127.0.0.1:18480
    default_backend be
)");
  const auto tail = dir.write("conf.d/20-be.cfg", "backend be\n    server s1 127.0.0.1:18481\n");
  for (const auto& args : std::vector<std::vector<std::string>>{{"-c", "-f", head.string(), "-f", tail.string()},
                                                                {"-c", "-f", (dir.path() / "conf.d").string()}}) {
    const auto r = run(LB_BIN, args);
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "Configuration file is valid\n");
  }
  // A keyword that would continue the previous file's section is out of section (haproxy 2.6.12).
  const auto orphan = dir.write("orphan.cfg", "    default_backend be\nbackend be\n    server s1 127.0.0.1:18481\n");
  const auto r = run(LB_BIN, {"-c", "-f", head.string(), "-f", orphan.string()});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(messages(r.err),
              ::testing::ElementsAre(
                  fmt::format("[ALERT] config : parsing [{}:1]: unknown keyword 'default_backend' out of section.",
                              orphan.string()),
                  fmt::format("[ALERT] config : Error(s) found in configuration file : {}", orphan.string()),
                  "[ALERT] config : Fatal errors found in configuration."));
}

// The process environment reaches the configuration as in haproxy: "${NAME}" and ${NAME[*]} in
// double quotes, $NAME in any address, HAPROXY_LOCALPEER from -L, setenv for the lines after it.
TEST(LbCheck, ReadsTheEnvironmentAsHaproxyDoes) {
  TempDir dir;
  const std::string head = R"(global
    log stdout format raw local0
    setenv LBH_IT_LATER 127.0.0.1:18492
defaults
    mode http
    timeout connect 1s
    timeout client 1s
    timeout server 1s
frontend fe
    bind "${LBH_IT_ADDR}"
    bind '127.0.0.1:$LBH_IT_PORT'
    bind "${LBH_IT_LATER}"
)";
  // Parsing stops short of the check that names the backend: the servers' errors come first.
  const auto servers = dir.write("servers.cfg", head + R"(    default_backend apps
backend apps
    server s1 "${LBH_IT_SRV-127.0.0.1:18491}" "${LBH_IT_OPTS[*]}"
    server s2 "${LBH_IT_BAD}"
)");
  const auto peer = dir.write("peer.cfg", head + R"(    default_backend "${HAPROXY_LOCALPEER}"
backend apps
    server s1 "${LBH_IT_SRV-127.0.0.1:18491}" "${LBH_IT_OPTS[*]}" 2
)");
  const auto with = [&](const std::string& bin, const std::filesystem::path& cfg) {
    // env(1) starts the balancer with these variables on top of the test's own.
    std::vector<std::string> args{"LBH_IT_ADDR=127.0.0.1:18490", "LBH_IT_PORT=18493",
                                  "LBH_IT_OPTS=check inter 2s fall", "LBH_IT_BAD=127.0.0.1:x", bin,
                                  "-c", "-L", "edge7", "-f", cfg.string()};
    return run("/usr/bin/env", args);
  };
  for (const auto& cfg : {servers, peer}) {
    const auto lb = with(LB_BIN, cfg);
    const auto ha = with("/usr/sbin/haproxy", cfg);
    ASSERT_EQ(ha.code, 1) << "is haproxy installed? ci/install-deps.sh installs it\n" << ha.err;
    EXPECT_EQ(lb.code, 2) << lb.err;
    std::vector<std::string> lb_alerts;
    for (const auto& m : messages(lb.err))
      if (m.starts_with("[ALERT]")) lb_alerts.push_back(m);
    EXPECT_EQ(lb_alerts, messages(ha.err)) << cfg;
    // Each alert shows a value that came from the environment.
    if (cfg == servers) {
      EXPECT_THAT(lb.err, HasSubstr("'fall' expects an integer argument"));
      EXPECT_THAT(lb.err, HasSubstr("invalid character 'x' in port number 'x' in '127.0.0.1:x'"));
    } else {
      EXPECT_THAT(lb.err, HasSubstr("unable to find required default_backend: 'edge7'"));
    }
  }
}

TEST(LbCheck, HelpShowsCopyPasteExamples) {
  const auto r = run(LB_BIN, {"--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("lb -c -f"));
  EXPECT_THAT(r.out, HasSubstr("Exit codes"));
}

// As haproxy -c (tests/data/haproxy26/reload/README.md §5-§6), lb -c loads the server-state file
// and prints what the loader says before its verdict, which stays valid.
TEST(LbCheck, LoadsTheServerStateFileAsHaproxyCheckDoes) {
  TempDir dir;
  const auto state = dir.path() / "state";
  const auto cfg = dir.write("lb.cfg", fmt::format(R"(global
    server-state-file {}
defaults
    mode http
    timeout connect 1s
    timeout client 1s
    timeout server 1s
    load-server-state-from-file global
frontend fe
    bind 127.0.0.1:18480
    default_backend be
backend be
    server s1 127.0.0.1:18481 check
    server s2 127.0.0.1:18482 check
)",
                                                   state.string()));
  auto r = run(LB_BIN, {"-c", "-f", cfg.string()});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "Warnings were found.\nConfiguration file is valid\n");
  EXPECT_THAT(messages(r.err), ::testing::ElementsAre(fmt::format(
                                   "[WARNING] config : config: Can't open global server state file '{}': No such file or directory",
                                   state.string())));
  dir.write("state", "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight "
                     "srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state "
                     "srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord\n"
                     "3 be 1 s1 127.0.0.1 0 0 1 1 5 8 2 0 6 0 0 0 - 18481 -\n"
                     "3 be 2 s2 127.0.0.1 7 0 1 1 5 8 2 0 6 0 0 0 - 18482 -\n");
  r = run(LB_BIN, {"-c", "-f", cfg.string()});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "Warnings were found.\nConfiguration file is valid\n");
  EXPECT_THAT(messages(r.err),
              ::testing::ElementsAre("[WARNING] config : Server be/s1 is DOWN, changed from server-state after a reload. "
                                     "1 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in "
                                     "queue.",
                                     "[WARNING] config : server-state application failed for server 'be/s2', invalid "
                                     "srv_op_state value '7'"));
}

}  // namespace
}  // namespace lb::test
