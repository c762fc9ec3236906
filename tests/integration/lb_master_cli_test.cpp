// `lb -W -S SOCKET` and `haproxy -W -S SOCKET` asked the same things on their master CLI: the
// same answers byte for byte once pids, uptimes and the version are masked (issue: drop-in
// command line), through reloads good and bad, and the same alerts for a bad -S.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <poll.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <regex>

#include "tests/integration/lb_world.hpp"
#include "tests/support/sockets.hpp"

namespace lb::test {
namespace {

constexpr const char* kHaproxy = "/usr/sbin/haproxy";


// What `echo COMMANDS | socat SOCKET -` prints: the commands, the end of the input, then all
// the master says until it closes.
std::string ask(const std::string& socket, std::string_view commands) {
  Fd fd = connect_unix(socket);
  if (!fd) return "(cannot connect)";
  if (::send(fd.get(), commands.data(), commands.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(commands.size()))
    return "(cannot send)";
  ::shutdown(fd.get(), SHUT_WR);
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + kPatience;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[16384];
    const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n <= 0) return out;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out + "(no close)";
}

// `show proc`'s first worker line's pid, and whether the table has settled: no old worker
// left, `reloads` reloads of which `failed` failed.
std::string current_worker(const std::string& proc) {
  std::smatch m;
  return std::regex_search(proc, m, std::regex("# workers\n([0-9]+) ")) ? m[1].str() : "";
}

// Pids, uptimes and the version differ between the two; `show proc` pads them into columns.
std::string masked(std::string text, const std::string& master, const std::string& worker, const std::string& old = "") {
  text = std::regex_replace(text, std::regex("\\b" + master + "\\b"), "MASTER");
  if (!worker.empty()) text = std::regex_replace(text, std::regex("\\b" + worker + "\\b"), "WORKER");
  if (!old.empty()) text = std::regex_replace(text, std::regex("\\b" + old + "\\b"), "OLD");
  text = std::regex_replace(text, std::regex("[0-9]+d[0-9]{2}h[0-9]{2}m[0-9]{2}s"), "UPTIME");
  // `show proc` pads the version to 15 characters: lb's is shorter than Debian's haproxy's.
  text = std::regex_replace(text, std::regex(R"((2\.6\.12-1\+deb12u[0-9]+|2\.6\.12 \(lb\)) *)"), "VERSION");
  // The columns of `show proc` rows: one space between fields (their widths are unit-tested).
  return std::regex_replace(text, std::regex("(\\S) {2,}(?=\\S|\n)"), "$1 ");
}

struct Master {
  Child child;
  std::string socket;
  std::string pid;
  std::string worker() const { return current_worker(ask(socket, "show proc\n")); }
};

Master start_master(const std::string& bin, const TempDir& dir, const std::filesystem::path& cfg) {
  const auto socket = (dir.path() / (std::filesystem::path(bin).filename().string() + "-master.sock")).string();
  Child c = Child::start(bin, {"-W", "-S", socket + ",level,admin", "-f", cfg.string()}, {.ready_line = ""});
  if (!c.await_stderr("Loading success.", kPatience)) ADD_FAILURE() << bin << " did not start: " << c.stderr_text();
  const auto pid = std::to_string(c.pid());
  return {std::move(c), socket, pid};
}

// Polls `show proc` until `settled` holds (a reload is asynchronous for both).
std::string proc_when(const Master& m, const std::function<bool(const std::string&)>& settled) {
  std::string proc;
  for (int i = 0; i < 200; ++i) {
    proc = ask(m.socket, "show proc\n");
    if (settled(proc)) return proc;
    ::poll(nullptr, 0, 20);
  }
  ADD_FAILURE() << "show proc did not settle:\n" << proc;
  return proc;
}

// The exchanges, each on a connection of its own; {w} is the current worker's pid.
const std::vector<std::string> kExchanges = {
    "show proc\n",
    "help\n",
    "help show\n",
    "bogus\n",
    "\n",
    "show version\n",
    "show cli level\n",
    "show cli sockets\n",
    "operator\nshow cli level\n",
    "user\noperator\nshow cli level\n",
    "@1 show cli level\n",
    "@master show cli level\n",
    "@0 show cli level\n",
    "@ show cli level\n",
    "@!{w} show cli level\n",
    "operator\n@1 show cli level\n",
    "user\n@1 show cli level\n",
    "@1 show version; show version\n",
    "@1\nshow cli level\n@master\nshow cli level\n",
    "@2 show info\n",
    "@!1 show info\n",
    "@1x show info\n",
    "@!\n",
    "prompt\nshow cli level\n@1\nshow cli level\n@master\nquit\nshow proc\n",
    "prompt\nexpert-mode on\nexperimental-mode on\nmcli-debug-mode on\nexpert-mode off\n",
    "user\nreload\nshow cli level\n",
    "user\nexpert-mode on\n",
    "quit\nshow proc\n",
    "show cli level;quit;show proc\n",
    "show cli le",
    // Payloads: the lines after a command that ends with "<<", up to an empty one.
    "@1 show cli level <<\nfoo\nbar\n\n",
    "show cli level <<\nfoo\n\n",
    "@1 show cli level <<\nfoo;bar\n\n@1 show cli level\n",
    "prompt\n@1 show cli level <<\nfoo\nbar\n\n@1 show cli level\n",
    "operator\n@1 show cli level <<\nx\n\n",
    "@1 show cli level <<\r\nfoo\r\n\r\n",
    "@1 show cli level <<\nfoo\r\n\r\n\n",
    "prompt\n@1 show cli level <<\nfoo\r\n\r\n@1 show cli level\n\n",
    "@1 show cli level << x <<\nfoo\n\n",
    "@1 show cli level<<\nfoo\n\n",
    "@1 show cli level <<\nfoo\n",
    "@1 show cli level <<;show proc\n\n",
    "@1 bogus <<\na b\n\n",
};

TEST(LbMasterCli, AnswersAsHaproxysMasterThroughReloadsGoodAndBad) {
  if (!std::filesystem::exists(kHaproxy)) GTEST_FAIL() << "haproxy is not installed: ci/install-deps.sh installs it";
  std::map<std::string, std::vector<std::string>> heard;
  for (const std::string& bin : {std::string(kHaproxy), std::string(LB_BIN)}) {
    TempDir dir;
    const auto good = one_frontend_config(free_tcp_port());
    const auto cfg = dir.write("site.cfg", good);
    auto m = start_master(bin, dir, cfg);
    // haproxy's master re-executes itself once its worker is up, and answers after that.
    proc_when(m, [](const std::string& p) { return p.find("# workers\n") != std::string::npos; });
    auto& got = heard[bin];
    const auto all = [&](std::string_view when) {
      const auto worker = m.worker();
      for (const auto& e : kExchanges) {
        const auto commands = std::regex_replace(e, std::regex(R"(\{w\})"), worker);
        const auto shown = std::regex_replace(e, std::regex("\n"), "\\n");
        got.push_back(fmt::format("{} | {}\n{}", when, shown, masked(ask(m.socket, commands), m.pid, worker)));
      }
    };
    all("at start");

    EXPECT_EQ(ask(m.socket, "reload\nshow proc\n"), "") << bin;  // the master goes, and so does the connection
    proc_when(m, [](const std::string& p) { return p.find("1 [failed: 0]") != std::string::npos && p.find("# old") == std::string::npos; });
    all("after a reload");

    dir.write("site.cfg", good + "    bogus keyword\n");
    EXPECT_EQ(ask(m.socket, "reload\n"), "") << bin;
    proc_when(m, [](const std::string& p) { return p.find("2 [failed: 1]") != std::string::npos; });
    all("after a failed reload");  // the worker stays, with one reload: @1 still finds it
    m.child.stop();
  }
  ASSERT_EQ(heard[LB_BIN].size(), heard[kHaproxy].size());
  for (std::size_t i = 0; i < heard[kHaproxy].size(); ++i) EXPECT_EQ(heard[LB_BIN][i], heard[kHaproxy][i]);
  // The comparison is not empty-handed: the masked table and the forwarded answers are there.
  EXPECT_THAT(heard[kHaproxy][0], ::testing::HasSubstr("MASTER master 0 [failed: 0] UPTIME VERSION\n# workers\nWORKER worker 0"));
  EXPECT_THAT(heard[kHaproxy], ::testing::Contains(::testing::HasSubstr("Permission denied!")));
  EXPECT_THAT(heard[kHaproxy], ::testing::Contains(::testing::HasSubstr("master> WORKER> admin\n\nWORKER> ")));
  EXPECT_THAT(heard[kHaproxy], ::testing::Contains(::testing::HasSubstr("| user\\n@1 show cli level\\n\nuser\n")));
  // A payload's lines are prompted "+ " and go with their command; no line of it is a command.
  EXPECT_THAT(heard[kHaproxy], ::testing::Contains(::testing::HasSubstr(
                                   "| prompt\\n@1 show cli level <<\\nfoo\\nbar\\n\\n@1 show cli level\\n\n"
                                   "master> + + + admin\n\nmaster> admin\n\nmaster> ")));
}

// A reload's old worker, kept by a request in flight, is listed apart and answers by its pid.
TEST(LbMasterCli, AnOldWorkerFinishingARequestAnswersByItsPid) {
  if (!std::filesystem::exists(kHaproxy)) GTEST_FAIL() << "haproxy is not installed: ci/install-deps.sh installs it";
  std::map<std::string, std::vector<std::string>> heard;
  for (const std::string& bin : {std::string(kHaproxy), std::string(LB_BIN)}) {
    TempDir dir;
    // A server that takes connections and never answers: the request waits for `timeout server`.
    const auto silent = listen_on_loopback(false);
    ASSERT_GE(silent.fd, 0);
    const int port = free_tcp_port();
    const auto cfg = dir.write("site.cfg", fmt::format(R"(defaults
    mode http
    timeout connect 1s
    timeout client 20s
    timeout server 20s
frontend fe
    bind 127.0.0.1:{}
    default_backend apps
backend apps
    server s1 127.0.0.1:{}
)",
                                                        port, silent.port));
    auto m = start_master(bin, dir, cfg);
    const auto first = current_worker(proc_when(m, [](const std::string& p) { return p.find("# workers\n") != std::string::npos; }));
    auto client = connect_to(port);
    ASSERT_TRUE(client.fd) << bin;
    const std::string request = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    ::send(client.fd.get(), request.data(), request.size(), MSG_NOSIGNAL);
    for (int i = 0; i < 200 && ask(m.socket, "@1 show info\n").find("\nCurrConns: 1\n") == std::string::npos; ++i) ::poll(nullptr, 0, 20);
    EXPECT_EQ(ask(m.socket, "reload\n"), "") << bin;
    const auto proc = proc_when(m, [&](const std::string& p) { return p.find("# old workers\n" + first + " ") != std::string::npos; });
    const auto now = current_worker(proc);
    auto& got = heard[bin];
    for (const std::string e : {"show proc\n", "@!{old} show cli level\n", "@1 show cli level\n", "prompt\n@!{old}\nshow cli level\n@1\n"}) {
      const auto commands = std::regex_replace(e, std::regex(R"(\{old\})"), first);
      got.push_back(masked(ask(m.socket, commands), m.pid, now, first));
    }
    m.child.stop();  // the old worker still waits for the server: the master's SIGTERM ends it
    ::close(silent.fd);
  }
  EXPECT_THAT(heard[kHaproxy], ::testing::ElementsAre(
                                   "#<PID> <type> <reloads> <uptime> <version> \nMASTER master 1 [failed: 0] UPTIME VERSION\n"
                                   "# workers\nWORKER worker 0 UPTIME VERSION\n# old workers\nOLD worker 1 UPTIME VERSION\n"
                                   "# programs\n\n",
                                   "admin\n\n", "admin\n\n", "master> OLD> admin\n\nOLD> WORKER> "));
  EXPECT_EQ(heard[LB_BIN], heard[kHaproxy]);
}

TEST(LbMasterCli, ABadMasterSocketIsRefusedInHaproxysWords) {
  if (!std::filesystem::exists(kHaproxy)) GTEST_FAIL() << "haproxy is not installed: ci/install-deps.sh installs it";
  TempDir dir;
  const auto cfg = dir.write("site.cfg", one_frontend_config(free_tcp_port())).string();
  const auto sock = (dir.path() / "m.sock").string();
  const auto strip = [](std::string err) {
    err = std::regex_replace(err, std::regex(R"(^\[(ALERT|WARNING|NOTICE)\] +\([0-9]+\) : )", std::regex::multiline), "[$1] ");
    err = std::regex_replace(err, std::regex(R"(^\[NOTICE\] [^\n]*\n)", std::regex::multiline), "");
    return std::regex_replace(err, std::regex(R"(\[[^ ]*haproxy\.main\(\)\])"), "[lb.main()]");
  };
  for (const std::string& s : {sock + ",bogus", sock + ",mode", sock + ",mode,9", sock + ",level,root", std::string("127.0.0.1:abc"),
                               std::string("/nonexistent/dir/m.sock")}) {
    const auto ha = run_to_exit(kHaproxy, {"-W", "-S", s, "-f", cfg});
    const auto lb = run_to_exit(LB_BIN, {"-W", "-S", s, "-f", cfg});
    EXPECT_EQ(ha.code, 1) << s << ha.err;
    EXPECT_EQ(lb.code, 1) << s << lb.err;
    EXPECT_EQ(strip(lb.err), strip(ha.err)) << s;
  }
}

TEST(LbMasterCli, WithoutMasterWorkerModeTheSocketIsNamedAndNotOpened) {
  if (!std::filesystem::exists(kHaproxy)) GTEST_FAIL() << "haproxy is not installed: ci/install-deps.sh installs it";
  for (const std::string& bin : {std::string(kHaproxy), std::string(LB_BIN)}) {
    TempDir dir;
    const auto cfg = dir.write("site.cfg", one_frontend_config(free_tcp_port())).string();
    const auto sock = (dir.path() / "m.sock").string();
    Child c = Child::start(bin, {"-db", "-S", sock, "-f", cfg}, {.ready_line = ""});
    EXPECT_TRUE(c.await_stderr("config : a master CLI socket was defined, but master-worker mode (-W) is not enabled.", kPatience))
        << bin << c.stderr_text();
    EXPECT_FALSE(std::filesystem::exists(sock)) << bin;
    c.stop();
  }
}

// A worker of `-W` lists its master's channel after its own stats sockets, and counts it among
// its listeners, as haproxy's does.
TEST(LbMasterCli, AWorkerListsItsMastersChannelAmongItsCliSockets) {
  if (!std::filesystem::exists(kHaproxy)) GTEST_FAIL() << "haproxy is not installed: ci/install-deps.sh installs it";
  std::map<std::string, std::vector<std::string>> heard;
  for (const std::string& bin : {std::string(kHaproxy), std::string(LB_BIN)}) {
    TempDir dir;
    const auto api = (dir.path() / "api.sock").string();
    auto m = start_master(bin, dir, dir.write("site.cfg", one_frontend_config(free_tcp_port(), fmt::format("    stats socket {} level user\n", api))));
    proc_when(m, [](const std::string& p) { return p.find("# workers\n") != std::string::npos; });
    const auto mask = [&](std::string text) {
      text = std::regex_replace(text, std::regex(api), "API");
      return std::regex_replace(text, std::regex("sockpair@[0-9]+"), "sockpair@N");
    };
    heard[bin].push_back(mask(ask(m.socket, "@1 show cli sockets\n")));
    heard[bin].push_back(mask(cli_ask(api, "show cli sockets\n")));
    std::smatch listeners;
    const auto info = ask(m.socket, "@1 show info\n");
    heard[bin].push_back(std::regex_search(info, listeners, std::regex("\nListeners: [0-9]+\n")) ? listeners.str() : info);
    m.child.stop();
  }
  const std::string listed = "# socket lvl processes\nunix@API user all\nsockpair@N admin all\n\n";
  EXPECT_THAT(heard[kHaproxy], ::testing::ElementsAre(listed, listed, "\nListeners: 3\n"));
  EXPECT_EQ(heard[LB_BIN], heard[kHaproxy]);
}

// HAProxy's master serves 10 CLI connections at a time: the 11th is answered once one of the
// ten has gone.
TEST(LbMasterCli, TenConnectionsAreServedAtATimeAsHaproxysMasterServesThem) {
  if (!std::filesystem::exists(kHaproxy)) GTEST_FAIL() << "haproxy is not installed: ci/install-deps.sh installs it";
  for (const std::string& bin : {std::string(kHaproxy), std::string(LB_BIN)}) {
    TempDir dir;
    auto m = start_master(bin, dir, dir.write("site.cfg", one_frontend_config(free_tcp_port())));
    proc_when(m, [](const std::string& p) { return p.find("# workers\n") != std::string::npos; });
    const auto prompted = [](std::string_view bytes) { return bytes.ends_with("> "); };
    std::vector<Fd> held;
    for (int i = 0; i < 10; ++i) {  // each one interactive, so that it stays
      held.push_back(connect_unix(m.socket));
      ASSERT_TRUE(held.back()) << bin << " connection " << i << ": " << std::strerror(errno);
      ASSERT_TRUE(send_all(held.back().get(), "prompt\n")) << bin << " connection " << i << ": " << std::strerror(errno);
      ASSERT_EQ(read_until(held.back().get(), kPatience, prompted).end, End::Done) << bin << " connection " << i;
    }
    Fd eleventh = connect_unix(m.socket);
    ASSERT_TRUE(eleventh) << bin;
    ASSERT_TRUE(send_all(eleventh.get(), "show version\n")) << bin;
    const auto done = [](std::string_view bytes) { return bytes.ends_with("\n\n"); };
    EXPECT_EQ(read_until(eleventh.get(), milliseconds(300), done).end, End::Timeout) << bin;
    held.front().reset();
    const auto answer = read_until(eleventh.get(), kPatience, done);
    EXPECT_EQ(answer.end, End::Done) << bin << ": " << answer.bytes;
    EXPECT_THAT(answer.bytes, ::testing::StartsWith("2.6.12")) << bin;
    m.child.stop();
  }
}

}  // namespace
}  // namespace lb::test
