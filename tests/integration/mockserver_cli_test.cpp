// The mockserver command line: readiness lines, --check, --help, exit codes, signals.
#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <tuple>

#include <fmt/format.h>

#include <gtest/gtest.h>

#include "tests/integration/mockserver_client.hpp"
#include "tests/support/temp_file.hpp"

namespace lb::test {
namespace {

// Runs the binary to completion; `ready_line` "" means it is not expected to serve.
Finished run(const std::vector<std::string>& args) { return run_to_exit(MOCKSERVER_BIN, args, kPatience); }

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

namespace lb::test {
namespace {

// Issue #12, defects 1, 3, 4, 6 and 8, as a new user met them.
TEST(MockCliDefects, AnUnreadableSpecPathExits2NamingTheFile) {
  TempDir dir;
  for (const auto& [path, why] : std::vector<std::pair<std::string, std::string>>{
           {dir.path().string(), "Is a directory"},
           {"/proc/self/mem", "Input/output error"},
           {"/dev/zero", "larger than 67108864 bytes"},
           {(dir.path() / "missing.json").string(), "No such file or directory"}}) {
    const auto r = run({"-f", path});
    EXPECT_EQ(r.code, 2) << path << ": " << r.err;
    EXPECT_NE(r.err.find("mockserver: cannot read " + path + ": " + why), std::string::npos) << r.err;
  }
}

TEST(MockCliDefects, CheckJudgesAddressesAsTheRunDoes) {
  for (const char* listen : {"s1=999.0.0.1:0", "s1=localhost:0"}) {
    const auto checked = run({"--check", "--listen", listen});
    const auto ran = run({"--listen", listen});
    EXPECT_EQ(checked.code, 2) << listen;
    EXPECT_EQ(ran.code, 2) << listen;
    EXPECT_NE(checked.err.find("(an IP address, not a name)"), std::string::npos) << checked.err;
    EXPECT_EQ(checked.err, ran.err);
  }
  TempDir dir;
  const auto spec = dir.write("s.json", R"({"listeners": [{"name": "s1", "listen": "localhost:0"}]})");
  EXPECT_EQ(run({"--check", "-f", spec.string()}).code, 2);
  EXPECT_EQ(run({"--admin", "localhost:0", "--listen", "s1=127.0.0.1:0"}).code, 2);
}

TEST(MockCliDefects, SettingsFlagsAreJudgedAsTheSpecFileJudgesThem) {
  TempDir dir;
  for (const auto& [flag, field, value] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"--journal-limit", "journal_limit", "-1"},
           {"--journal-limit", "journal_limit", "10000001"},
           {"--idle-timeout-ms", "idle_timeout_ms", "-5"},
           {"--max-connections", "max_connections", "0"}}) {
    const auto by_flag = run({"--check", "--listen", "s1=127.0.0.1:0", flag, value});
    EXPECT_EQ(by_flag.code, 2) << flag << " " << value;
    const auto spec = dir.write("s.json", fmt::format(R"({{"listeners": [], "{}": {}}})", field, value));
    const auto by_file = run({"--check", "-f", spec.string()});
    EXPECT_EQ(by_file.code, 2);
    // The same complaint, one naming the flag, the other the field.
    const auto said = by_file.err.substr(by_file.err.find(field + ": ") + field.size());
    EXPECT_NE(by_flag.err.find(fmt::format("{} '{}'{}", flag, value, said.substr(0, said.find('\n')))), std::string::npos)
        << by_flag.err << " / " << by_file.err;
  }
  EXPECT_EQ(run({"--check", "--listen", "s1=127.0.0.1:0", "--journal-limit", "0"}).code, 0);
}

TEST(MockCliDefects, AmbiguousInputIsRefused) {
  const auto twice = run({"--check", "--listen", "s1=127.0.0.1:0", "--listen", "s1=127.0.0.1:0"});
  EXPECT_EQ(twice.code, 2);
  EXPECT_NE(twice.err.find("listener 's1' is already given by --listen"), std::string::npos) << twice.err;
  TempDir dir;
  const auto both = dir.write("both.json", R"({"listeners": [{"name": "s1", "listen": "127.0.0.1:0",
      "rules": [{"respond": {"status": 503}, "fault": "hang"}]}]})");
  auto r = run({"--check", "-f", both.string()});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("listeners[0].rules[0].respond: 'hang' sends no response of the rule's"), std::string::npos) << r.err;
  const auto bent = dir.write("bent.json", R"({"listeners": [{"name": "s1", "listen": "127.0.0.1:0",
      "rules": [{"respond": {"status": 503}, "fault": "drip"}]}]})");
  EXPECT_EQ(run({"--check", "-f", bent.string()}).code, 0);  // drip sends the rule's response
  const auto dup = dir.write("dup.json", R"({"listeners": [{"name": "s1", "listen": "127.0.0.1:0",
      "rules": [{"respond": {"status": 503, "status": 200}}]}]})");
  r = run({"--check", "-f", dup.string()});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("listeners[0].rules[0].respond: 'status' is given twice"), std::string::npos) << r.err;
  // The spec file's listener may be moved by one --listen.
  const auto file = dir.write("one.json", R"({"listeners": [{"name": "s1", "listen": "127.0.0.1:1"}]})");
  EXPECT_EQ(run({"--check", "-f", file.string(), "--listen", "s1=127.0.0.1:0"}).code, 0);
}

TEST(MockCliDefects, VersionAndReadableHelp) {
  const auto v = run({"--version"});
  EXPECT_EQ(v.code, 0);
  EXPECT_TRUE(v.out.starts_with("mockserver ")) << v.out;
  const auto h = run({"--help"});
  EXPECT_EQ(h.out.find("INT:INT"), std::string::npos) << h.out;
  EXPECT_NE(h.out.find("--idle-timeout-ms MS"), std::string::npos);
  EXPECT_NE(h.out.find("examples/mockserver/"), std::string::npos);
}

// Every shipped example passes --check and serves.
TEST(MockCliDefects, TheShippedExamplesAreValidAndServe) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(source_path("examples/mockserver"))) {
    if (e.path().extension() != ".json") continue;
    ++n;
    const auto r = run({"--check", "-f", e.path().string()});
    EXPECT_EQ(r.code, 0) << e.path() << ": " << r.err;
    Child c = Child::start(MOCKSERVER_BIN, {"-f", e.path().string()});
    EXPECT_FALSE(c.endpoints().empty()) << e.path();
    EXPECT_EQ(c.stop(), 0) << e.path() << ": " << c.stderr_text();
  }
  EXPECT_GE(n, 3);
}

}  // namespace
}  // namespace lb::test
