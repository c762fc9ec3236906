// The mockserver command line: readiness lines, --check, --help, exit codes, signals.
#include <signal.h>
#include <stdlib.h>

#include <fstream>

#include <gtest/gtest.h>

#include "tests/integration/mockserver_client.hpp"
#include "tests/support/temp_file.hpp"

namespace lb::test {
namespace {

// Runs the binary to completion; `ready_line` "" means it is not expected to serve.
struct Run {
  int code;
  std::string out, err;
};
Run run(const std::vector<std::string>& args) {
  Child c = Child::start(MOCKSERVER_BIN, args, {.ready_line = ""});
  const auto code = c.wait_exit(kPatience);
  Run r{code.value_or(-1), {}, c.stderr_text()};
  c.stop();
  for (const auto& l : c.stdout_lines()) r.out += l + "\n";
  r.err = c.stderr_text();
  return r;
}

TEST(MockCli, PrintsOneListeningLinePerListenerThenReady) {
  Child c = Child::start(MOCKSERVER_BIN, {"--listen", "a=127.0.0.1:0", "--listen", "b=127.0.0.1:0"});
  const auto lines = c.stdout_lines();
  ASSERT_GE(lines.size(), 3u);
  EXPECT_TRUE(lines[0].starts_with("listening a 127.0.0.1:"));
  EXPECT_TRUE(lines[1].starts_with("listening b 127.0.0.1:"));
  EXPECT_EQ(lines[2], "ready");
  EXPECT_NE(c.port("a"), c.port("b"));
  EXPECT_GT(c.port("a"), 0);
}

TEST(MockCli, SigtermExitsCleanly) {
  Child c = Child::start(MOCKSERVER_BIN, {"--listen", "s1=127.0.0.1:0", "--fault", "s1=hang"});
  auto held = connect_to(c.port("s1"));  // an open connection must not keep it alive
  send_all(held.fd.get(), "GET / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(c.stop(), 0) << c.stderr_text();
}

TEST(MockCli, SigintExitsCleanly) {
  Child c = Child::start(MOCKSERVER_BIN, {"--listen", "s1=127.0.0.1:0"});
  ::kill(c.pid(), SIGINT);
  EXPECT_EQ(c.wait_exit(kPatience), 0);
}

TEST(MockCli, HelpShowsTheThreeIncidentExamples) {
  const auto r = run({"--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("--rule 's1: method=OPTIONS -> status 500'"), std::string::npos);
  EXPECT_NE(r.out.find("--fault s1=hang"), std::string::npos);
  EXPECT_NE(r.out.find("delay=2500"), std::string::npos);
  EXPECT_NE(r.out.find("--fault s1=refuse"), std::string::npos);
}

TEST(MockCli, CheckAcceptsAValidSpec) {
  TempDir dir;
  const auto spec = dir.write("spec.json", R"({"listeners": [{"name": "s1", "listen": "127.0.0.1:0",
      "rules": [{"match": {"method": "OPTIONS"}, "respond": {"status": 500}}]}]})");
  const auto r = run({"--check", "-f", spec.string()});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "ok: 1 listener(s), 1 rule(s)\n");
}

TEST(MockCli, CheckNamesEveryBadFieldAndExits2) {
  TempDir dir;
  const auto spec = dir.write("spec.json", R"({"listeners": [{"name": "s1", "listen": "127.0.0.1:0",
      "rules": [{}, {}, {"respond": {"status": 1000}}, {"fault": "melt"}]}]})");
  const auto r = run({"--check", "-f", spec.string()});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("listeners[0].rules[2].respond.status: expected an integer 100..999"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("listeners[0].rules[3].fault: unknown fault 'melt'"), std::string::npos) << r.err;
}

TEST(MockCli, BadFlagsExit2WithAReason) {
  EXPECT_EQ(run({"--listen", "s1=nowhere"}).code, 2);
  EXPECT_EQ(run({"--listen", "s1=127.0.0.1:0", "--rule", "s1: method=GET"}).code, 2);
  EXPECT_EQ(run({"--listen", "s1=127.0.0.1:0", "--rule", "s9: -> hang"}).code, 2);
  EXPECT_EQ(run({"--listen", "s1=127.0.0.1:0", "--fault", "s1=explode"}).code, 2);
  EXPECT_EQ(run({"--bogus"}).code, 2);
  const auto r = run({});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("nothing to serve"), std::string::npos);
}

TEST(MockCli, PortInUseExits1) {
  Child first = Child::start(MOCKSERVER_BIN, {"--listen", "s1=127.0.0.1:0"});
  const auto r = run({"--listen", "s1=127.0.0.1:" + std::to_string(first.port("s1"))});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("listener s1: cannot listen on 127.0.0.1:"), std::string::npos) << r.err;
}

TEST(MockCli, SpecFileServesItsListenersAndRules) {
  TempDir dir;
  const auto spec = dir.write("spec.json", R"({"listeners": [
      {"name": "s1", "listen": "127.0.0.1:0", "rules": [{"match": {"method": "OPTIONS"}, "respond": {"status": 500}}]},
      {"name": "s2", "listen": "127.0.0.1:0", "fault": "refuse"}]})");
  Child c = Child::start(MOCKSERVER_BIN, {"-f", spec.string()});
  EXPECT_EQ(status_of(http(c.port("s1"), "OPTIONS", "/").bytes), 500);
  EXPECT_EQ(connect_to(c.port("s2")).error, ECONNREFUSED);
}

// The helper half of DiesWithTheTestProcessThatStartedIt: started by that test with
// LBH_PDEATHSIG_HELPER set, this binary starts a mockserver and dies by SIGKILL before any test
// runs (so no destructor runs: only the kernel can stop the mockserver).
[[maybe_unused]] const bool kIsPdeathsigHelper = [] {
  if (::getenv("LBH_PDEATHSIG_HELPER") == nullptr) return false;
  Child c = Child::start(MOCKSERVER_BIN, {"--listen", "s1=127.0.0.1:0"});
  std::printf("mockserver-pid %d\n", static_cast<int>(c.pid()));
  std::fflush(stdout);
  ::kill(::getpid(), SIGKILL);
  return true;
}();

bool process_gone(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(stat, text)) return true;
  const auto paren = text.rfind(')');
  return paren != std::string::npos && paren + 2 < text.size() && text[paren + 2] == 'Z';
}

TEST(MockCli, DiesWithTheTestProcessThatStartedIt) {
  ::setenv("LBH_PDEATHSIG_HELPER", "1", 1);
  Child helper = Child::start("/proc/self/exe", {}, {.ready_line = ""});
  ::unsetenv("LBH_PDEATHSIG_HELPER");
  const auto line = helper.await_line("mockserver-pid ", kPatience);
  ASSERT_TRUE(line) << helper.stderr_text();
  const pid_t pid = std::stoi(line->substr(line->find(' ') + 1));
  EXPECT_EQ(helper.wait_exit(kPatience), 128 + SIGKILL);
  const auto deadline = Clock::now() + kPatience;
  while (!process_gone(pid) && Clock::now() < deadline) std::this_thread::sleep_for(milliseconds(10));
  EXPECT_TRUE(process_gone(pid)) << "mockserver " << pid << " outlived the test that started it";
  if (!process_gone(pid)) ::kill(pid, SIGKILL);
}

}  // namespace
}  // namespace lb::test
