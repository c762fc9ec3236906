// lbharness as a user runs it: the library on simulated time, a scenario against real lb and
// mockserver processes, and lb against real haproxy on the same scenario.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fmt/format.h>

#include <filesystem>
#include <regex>
#include <set>
#include <sstream>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness/live/ports.hpp"
#include "tests/integration/mockserver_client.hpp"
#include "tests/support/child.hpp"
#include "tests/support/temp_file.hpp"

namespace lb::test {
namespace {

using ::testing::HasSubstr;

Finished lbharness(std::vector<std::string> args, std::chrono::milliseconds limit = 60s) {
  return run_to_exit(LBHARNESS_BIN, args, limit);
}

TEST(Lbharness, TheLibraryPassesOnSimulatedTime) {
  const auto r = lbharness({"run", source_path("scenarios").string()});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("PASS options-500"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("[0-9]+ scenario\\(s\\) on sim: [0-9]+ passed, 0 failed"));
}

TEST(Lbharness, AFailingExpectationFailsTheRunAndSaysWhereAndWhy) {
  TempDir dir;
  auto text = read_file(source_path("scenarios/slow-backend.yaml"));
  text.replace(text.find("reason: Layer7 timeout"), 22, "reason: Layer4 timeout");
  const auto path = dir.write("wrong.yaml", text);
  const auto r = lbharness({"run", path.string()});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("FAIL slow-backend"));
  EXPECT_THAT(r.out, HasSubstr("wrong.yaml:"));
  EXPECT_THAT(r.out, HasSubstr("expected be_server/app2 DOWN, reason: Layer4 timeout"));
  EXPECT_THAT(r.out, HasSubstr("unexpected at 2."));  // the Layer7 timeout nobody expected
}

TEST(Lbharness, BadInputExitsTwoNamingFileLineAndField) {
  TempDir dir;
  const auto path = dir.write("bad.yaml", "name: x\nduratoin: 1s\n");
  auto r = lbharness({"run", path.string()});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("bad.yaml:2: duratoin: unknown key; did you mean 'duration'?"));
  r = lbharness({"run", "--target", "nowhere", path.string()});
  EXPECT_EQ(r.code, 2);
  r = lbharness({"run", (dir.path() / "missing.yaml").string()});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("missing.yaml: no such file or directory"));
}

TEST(Lbharness, AScenarioPlaysAgainstRealLbAndMockserver) {
  TempDir dir;
  const auto trace = dir.path() / "trace.json";
  const auto r = lbharness({"run", "--target", "lb", "--lb", LB_BIN, "--mockserver", MOCKSERVER_BIN, "--json",
                            trace.string(), source_path("scenarios/killed-backend.yaml").string()});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("PASS killed-backend"));
  // The checks as the backends' journal saw them: app1 checked about every second from time
  // zero, answered 200; none of the scenario's own requests among them.
  const auto v = boost::json::parse(read_file(trace));
  std::vector<long> app1;
  for (const auto& m : v.at("scenarios").at(0).at("worlds").at(0).at("checks").as_array()) {
    EXPECT_THAT(std::string(m.at("detail").as_string()), HasSubstr("GET /health")) << m;
    if (m.at("server") == "be_server/app1") {
      EXPECT_EQ(m.at("status"), "backend answered 200");
      app1.push_back(m.at("at_ms").to_number<long>());
    }
  }
  ASSERT_GE(app1.size(), 11u);
  EXPECT_GE(app1.front(), 0);
  EXPECT_LT(app1.front(), 100);
  EXPECT_NEAR(app1.back() - app1.front(), 1000 * (static_cast<long>(app1.size()) - 1), 100);
}

TEST(Lbharness, ShardsSplitTheLibraryWithoutOverlap) {
  std::set<std::string> seen;
  std::size_t total = 0;
  for (const char* shard : {"1/3", "2/3", "3/3"}) {
    const auto r = lbharness({"run", "--list", "--shard", shard, source_path("scenarios").string()});
    EXPECT_EQ(r.code, 0) << r.err;
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);) seen.insert(line), ++total;
  }
  const auto all = lbharness({"run", "--list", source_path("scenarios").string()});
  EXPECT_EQ(total, seen.size());  // no scenario in two shards
  EXPECT_EQ(static_cast<std::size_t>(std::count(all.out.begin(), all.out.end(), '\n')), total);  // none left out
  EXPECT_EQ(lbharness({"run", "--shard", "4/3", source_path("scenarios").string()}).code, 2);
}

TEST(Lbharness, ShardsJunitFilesMergeIntoTheWholeRunsFile) {
  TempDir dir;
  const auto library = source_path("scenarios").string();
  std::vector<std::string> merge_args{"merge-junit", "-o", (dir.path() / "all.xml").string()};
  for (const char* shard : {"1/2", "2/2"}) {
    const auto file = (dir.path() / fmt::format("shard{}.xml", shard[0])).string();
    ASSERT_EQ(lbharness({"run", "--shard", shard, "--junit", file, library}).code, 0);
    merge_args.push_back(file);
  }
  const auto merged = lbharness(merge_args);
  ASSERT_EQ(merged.code, 0) << merged.err;
  ASSERT_EQ(lbharness({"run", "--junit", (dir.path() / "whole.xml").string(), library}).code, 0);
  // The same cases, in shard order rather than file order; the counts of the whole run.
  auto cases = [](const std::string& xml) {
    std::multiset<std::string> out;
    static const std::regex kCase("<testcase [^>]*name=\"([^\"]*)\"");
    for (auto it = std::sregex_iterator(xml.begin(), xml.end(), kCase); it != std::sregex_iterator(); ++it)
      out.insert((*it)[1]);
    return out;
  };
  const auto all = read_file(dir.path() / "all.xml"), whole = read_file(dir.path() / "whole.xml");
  EXPECT_EQ(cases(all), cases(whole));
  const auto n = cases(whole).size();
  EXPECT_THAT(all, HasSubstr(fmt::format("<testsuite name=\"lbharness.sim\" tests=\"{}\" failures=\"0\"", n)));
  const auto bad = lbharness({"merge-junit", (dir.path() / "nope.xml").string()});
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.err, HasSubstr("nope.xml: cannot read the file"));
}

// How the live worlds see a balancer come up: its listening socket, looked at without a
// connection (which a TCP frontend would route to a backend).
TEST(Lbharness, AListeningPortIsSeenWithoutAConnection) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  const int port = ntohs(a.sin_port);
  EXPECT_FALSE(lbh::tcp_port_listening(port));  // bound is not listening
  ASSERT_EQ(::listen(fd, 8), 0);
  EXPECT_TRUE(lbh::tcp_port_listening(port));
  pollfd p{fd, POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 0), 0);  // nothing to accept: no connection was made
  ::close(fd);
  EXPECT_FALSE(lbh::tcp_port_listening(port));
}

// Time zero is the first check, not the spawn: a balancer that takes 1.5 s longer to start still
// sees every step at the same phase of its checks.
TEST(Lbharness, ABalancerThatStartsLateSeesTheSameScenario) {
  TempDir dir;
  const auto slow = dir.write("slow-lb", fmt::format("#!/bin/sh\nsleep 1.5\nexec {} \"$@\"\n", LB_BIN));
  std::filesystem::permissions(slow, std::filesystem::perms::owner_all);
  const auto r = lbharness({"run", "--target", "lb", "--lb", slow.string(), "--mockserver", MOCKSERVER_BIN,
                            source_path("scenarios/killed-backend.yaml").string()});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("PASS killed-backend"));
  // Connect-only checks never reach a backend: the balancer's listening frontend tells when it
  // started them.
  const auto tcp = lbharness({"run", "--target", "lb", "--lb", slow.string(), "--mockserver", MOCKSERVER_BIN,
                              source_path("scenarios/tcp-connect-check-killed.yaml").string()});
  EXPECT_EQ(tcp.code, 0) << tcp.out << tcp.err;
}

// The report as a browser shows it: headless Chromium renders it (a screenshot of the page) and
// its DOM holds a timeline per scenario with a lane per server. Runs where chromium is installed
// (LBH_WITH_BROWSER=1 ci/install-deps.sh).
TEST(Lbharness, TheHtmlReportRendersInABrowser) {
  if (std::system("command -v chromium >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "chromium is not installed (LBH_WITH_BROWSER=1 ci/install-deps.sh installs it)";
  TempDir dir;
  const auto page = dir.path() / "report.html";
  const auto r = lbharness({"run", "--report", page.string(), source_path("scenarios/options-500.yaml").string(),
                            source_path("scenarios/killed-backend.yaml").string()});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("report: " + page.string()));
  const auto shot = dir.path() / "report.png";
  const std::vector<std::string> common{"--headless", "--no-sandbox", "--disable-gpu", "--window-size=1200,900",
                                        "--user-data-dir=" + (dir.path() / "profile").string()};
  auto args = common;
  args.push_back("--screenshot=" + shot.string());
  args.push_back("file://" + page.string());
  const std::string chromium = "/usr/bin/chromium";
  EXPECT_EQ(Child::start(chromium, args, {.ready_line = ""}).wait_exit(60s), 0);
  const auto png = read_file(shot);
  ASSERT_GT(png.size(), 8000u) << "an empty or blank screenshot";
  EXPECT_EQ(png.substr(1, 3), "PNG");
  // 1200 x 900, as asked: the IHDR chunk's width and height, big-endian.
  auto be32 = [&](std::size_t at) {
    return (static_cast<unsigned char>(png[at]) << 24) | (static_cast<unsigned char>(png[at + 1]) << 16) |
           (static_cast<unsigned char>(png[at + 2]) << 8) | static_cast<unsigned char>(png[at + 3]);
  };
  EXPECT_EQ(be32(16), 1200u);
  EXPECT_EQ(be32(20), 900u);
  args = common;
  args.push_back("--dump-dom");
  args.push_back("file://" + page.string());
  auto dump = Child::start(chromium, args, {.ready_line = ""});
  ASSERT_EQ(dump.wait_exit(60s), 0);
  std::string dom;
  for (const auto& l : dump.stdout_lines()) dom += l + "\n";
  auto count = [&](const std::string& what) {
    std::size_t n = 0;
    for (auto at = dom.find(what); at != std::string::npos; at = dom.find(what, at + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count("<svg"), 2u);  // a timeline per scenario
  EXPECT_THAT(dom, HasSubstr("be_server/app3 <tspan class=\"world\">sim</tspan>"));
  EXPECT_GE(count("class=\"c-ko\""), 6u);  // the failed OPTIONS checks
  EXPECT_THAT(dom, HasSubstr("2 scenario(s) on sim, 2 passed, 0 failed"));
}

// The library's promise: every scenario passes on sim, lb and haproxy alike, with no difference.
TEST(Lbharness, TheLibraryPassesOnSimLbAndHaproxyWithNoDifference) {
  if (std::system("command -v haproxy >/dev/null 2>&1") != 0) GTEST_SKIP() << "haproxy is not installed";
  TempDir dir;
  const auto junit = dir.path() / "junit.xml";
  const auto r = lbharness({"run", "--target", "diff", "-j", "4", "--lb", LB_BIN, "--mockserver", MOCKSERVER_BIN,
                            "--junit", junit.string(), source_path("scenarios").string()},
                           600s);
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("FAIL ")));
  const auto xml = read_file(junit);
  EXPECT_THAT(xml, HasSubstr("<testsuite name=\"lbharness.diff\""));
  EXPECT_THAT(xml, HasSubstr("failures=\"0\""));
  EXPECT_THAT(xml, HasSubstr("<testcase classname=\"lbharness.diff\" name=\"options-500\""));
}

// Differential fuzzing of check replies in CI: a few hundred generated replies judged by lb and
// haproxy side by side must get the same verdicts (the long runs are docs/check-diff.md's).
TEST(Lbharness, GeneratedCheckRepliesGetHaproxysVerdictsFromLb) {
  if (std::system("command -v haproxy >/dev/null 2>&1") != 0) GTEST_SKIP() << "haproxy is not installed";
  const auto r = lbharness({"check-diff", "--seed", "2026", "--cases", "400", "--lb", LB_BIN, "--mockserver",
                            MOCKSERVER_BIN},
                           300s);
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("check-diff: 400 cases of seed 2026 from c0: 400 agree, 0 disagree, 0 unjudged"));
  const auto bad = lbharness({"check-diff", "--cases", "0"});
  EXPECT_EQ(bad.code, 2) << bad.err;
}

}  // namespace
}  // namespace lb::test
