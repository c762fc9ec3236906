// The real `lb` and the real haproxy 2.6.12 given the same command lines: what a script or a
// systemd unit written for haproxy sees when it starts lb instead (issue: drop-in command line).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <thread>
#include <mutex>
#include <atomic>

#include "tests/integration/lb_world.hpp"
#include "tests/support/sockets.hpp"

namespace lb::test {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr const char* kHaproxy = "/usr/sbin/haproxy";

// "[ALERT]    (1234) : text" -> "[ALERT] text", the other lines as they are: pids differ.
std::string without_pids(const std::string& err) {
  return std::regex_replace(err, std::regex(R"(^\[(ALERT|WARNING|NOTICE)\] +\([0-9]+\) : )", std::regex::multiline),
                            "[$1] ");
}

// haproxy's NOTICE lines (its version and path) have no counterpart in lb.
std::string without_notices(const std::string& err) {
  return std::regex_replace(without_pids(err), std::regex(R"(^\[NOTICE\] [^\n]*\n)", std::regex::multiline), "");
}

std::string valid_config(int port) { return one_frontend_config(port, "    log stdout format raw local0\n"); }

class LbCommandLine : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kHaproxy)) GTEST_FAIL() << "haproxy is not installed: ci/install-deps.sh installs it";
    cfg_ = dir_.write("site.cfg", valid_config(free_tcp_port()));
  }
  TempDir dir_;
  std::filesystem::path cfg_;
};

TEST_F(LbCommandLine, UsageErrorsPrintHaproxysUsageAndExitOne) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {}, {"-Z"}, {"site.cfg"}, {"-f"}, {"-c", "-f", "site.cfg", "-p"}, {"-c"}, {"-c", "-f", "site.cfg", "-sf", "0"}}) {
    const auto lb = run_to_exit(LB_BIN, args);
    const auto ha = run_to_exit(kHaproxy, args);
    EXPECT_EQ(ha.code, 1) << ::testing::PrintToString(args) << ha.err;
    EXPECT_EQ(lb.code, 1) << ::testing::PrintToString(args) << lb.err;
    if (ha.out.empty()) {
      // haproxy copies its flags first, and fails when one that takes a value is the last word.
      EXPECT_EQ(without_notices(ha.err), "[ALERT] failed to copy argv.\n") << ::testing::PrintToString(args);
      EXPECT_EQ(without_pids(lb.err), without_notices(ha.err)) << ::testing::PrintToString(args);
      EXPECT_EQ(lb.out, "");
      continue;
    }
    // The version on stdout, the usage on stderr: the same text, with the program's name.
    EXPECT_THAT(ha.out, StartsWith("HAProxy version 2.6"));
    EXPECT_THAT(lb.out, StartsWith("lb version "));
    auto expected = without_notices(ha.err);
    expected.replace(expected.find("Usage : haproxy "), 16, "Usage : lb ");
    EXPECT_EQ(without_pids(lb.err), expected) << ::testing::PrintToString(args);
  }
}

TEST_F(LbCommandLine, BadValuesAreAlertedInHaproxysWords) {
  const auto f = cfg_.string();
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"-c", "-f", f, "-x"},                  // alert, blank line, usage
           {"-c", "-f", f, "-S"},                  // copy_argv() fails first
           {"-c", "-f", f, "-sf", "12x"},          // alert only
           {"-c", "-f", f, "-st", "99999999999999999999"},
           {"-c", "-C", "/nonexistent", "-f", f},  // the directory is entered before the files are read
       }) {
    const auto lb = run_to_exit(LB_BIN, args);
    const auto ha = run_to_exit(kHaproxy, args);
    EXPECT_EQ(ha.code, 1) << ::testing::PrintToString(args);
    EXPECT_EQ(lb.code, 1) << ::testing::PrintToString(args) << lb.err;
    auto expected = without_notices(ha.err);
    if (const auto at = expected.find("Usage : haproxy "); at != std::string::npos) expected.replace(at, 16, "Usage : lb ");
    EXPECT_EQ(without_pids(lb.err), expected) << ::testing::PrintToString(args);
  }
}

TEST_F(LbCommandLine, VersionFlagsExitZero) {
  for (const char* flag : {"-v", "-vv", "-version"}) {
    const auto lb = run_to_exit(LB_BIN, {flag});
    const auto ha = run_to_exit(kHaproxy, {flag});
    EXPECT_EQ(ha.code, 0);
    EXPECT_EQ(lb.code, 0) << flag;
    // `lb -v | awk '{print $3}'` is the version, as with haproxy.
    EXPECT_THAT(lb.out, ::testing::ContainsRegex("^lb version [0-9]+\\.[0-9]+\\.[0-9]+ "));
    EXPECT_EQ(lb.out.find("Build options :") != std::string::npos, std::string(flag) == "-vv") << flag;
    EXPECT_EQ(ha.out.find("Build options :") != std::string::npos, std::string(flag) == "-vv") << flag;
  }
}

TEST_F(LbCommandLine, EveryFlagOfAHaproxyUnitIsAccepted) {
  // Debian's haproxy.service: "-Ws -f $CONFIG -c -q $EXTRAOPTS" with EXTRAOPTS="-S /run/haproxy-master.sock",
  // and its defaults file's example "-de -m 16"; then the other flags haproxy takes with a file.
  TempDir other;
  const auto f = cfg_.string();
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"-Ws", "-f", f, "-c", "-q", "-S", (other.path() / "master.sock").string()},
           {"-c", "-de", "-m", "16", "-f", f},
           {"-c", "-dp", "-dS", "-dG", "-dR", "-dV", "-dL", "-dD", "-dM", "-db", "-d", "-V", "-f", f},
           {"-c", "-L", "edge1", "-n", "100", "-N", "50", "-x", (other.path() / "x.sock").string(), "-f", f},
           {"-c", "-C", dir_.path().string(), "-f", "site.cfg"},
           {"-c", "-f", dir_.path().string()},
           {"-c", "--", f},
           {"-c", "-f", f, "-sf", "1", "2"},
       }) {
    const auto lb = run_to_exit(LB_BIN, args);
    const auto ha = run_to_exit(kHaproxy, args);
    EXPECT_EQ(ha.code, 0) << ::testing::PrintToString(args) << ha.err;
    EXPECT_EQ(lb.code, 0) << ::testing::PrintToString(args) << lb.err;
    const bool quiet = std::find(args.begin(), args.end(), "-q") != args.end();
    const bool libraries = std::find(args.begin(), args.end(), "-dL") != args.end();
    if (libraries) {
      // -dL: the program and its shared objects (each its own), then the verdict.
      EXPECT_THAT(lb.out, StartsWith("List of loaded object files:\n" + std::filesystem::canonical(LB_BIN).string() + "\n"));
      EXPECT_THAT(lb.out, HasSubstr("/libc.so.6\n"));
      EXPECT_THAT(ha.out, StartsWith("List of loaded object files:\n/usr/sbin/haproxy\n"));
      EXPECT_THAT(lb.out, ::testing::EndsWith("\nConfiguration file is valid\n"));
      EXPECT_THAT(ha.out, ::testing::EndsWith("\nConfiguration file is valid\n"));
      continue;
    }
    EXPECT_EQ(lb.out, quiet ? "" : "Configuration file is valid\n") << ::testing::PrintToString(args);
    EXPECT_EQ(ha.out, lb.out);
  }
  // What lb cannot do is said, unless -q.
  const auto lb = run_to_exit(LB_BIN, {"-c", "-de", "-m", "16", "-f", f});
  EXPECT_THAT(lb.err, HasSubstr("-de has no effect in lb and is ignored"));
  EXPECT_THAT(lb.err, HasSubstr("-m 16: lb does not limit its memory"));
  // A master CLI without master-worker mode is a configuration warning, as in haproxy -c.
  for (const auto& bin : {std::string(LB_BIN), std::string(kHaproxy)}) {
    const auto r = run_to_exit(bin, {"-c", "-S", "/run/m.sock", "-f", f});
    EXPECT_EQ(r.out, "Warnings were found.\nConfiguration file is valid\n") << bin;
    EXPECT_EQ(without_notices(r.err), "[WARNING] config : a master CLI socket was defined, but master-worker mode (-W) is not enabled.\n") << bin;
  }
}

TEST_F(LbCommandLine, ZeroWarningModeFailsOnHaproxysWarningsOnly) {
  // haproxy warns about dontlognull in a backend; a loose weight it reads without a word.
  const auto warned = dir_.write("warned.cfg", valid_config(free_tcp_port()) + "    option dontlognull\n");
  const auto loose = dir_.write("loose.cfg", valid_config(free_tcp_port()) + "    server s2 127.0.0.1:9 weight abc\n");
  for (const auto& args : {std::vector<std::string>{"-c", "-dW", "-f", warned.string()},
                           std::vector<std::string>{"-dW", "-f", warned.string()}}) {
    const auto lb = run_to_exit(LB_BIN, args);
    const auto ha = run_to_exit(kHaproxy, args);
    EXPECT_EQ(ha.code, 1);
    EXPECT_EQ(lb.code, 1) << lb.err;
    EXPECT_EQ(without_pids(lb.err), without_notices(ha.err));
  }
  EXPECT_EQ(run_to_exit(kHaproxy, {"-c", "-dW", "-f", loose.string()}).code, 0);
  EXPECT_EQ(run_to_exit(LB_BIN, {"-c", "-dW", "-f", loose.string()}).code, 0);
}

// -D: the command returns at once, the pid file names the process that stays and serves.
TEST_F(LbCommandLine, DaemonModeLeavesAServingProcessNamedInThePidFile) {
  const int port = free_tcp_port();
  const auto cfg = dir_.write("daemon.cfg", valid_config(port));
  const auto pidfile = dir_.path() / "lb.pid";
  const auto r = run_to_exit(LB_BIN, {"-D", "-p", pidfile.string(), "-f", cfg.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  std::ifstream in(pidfile);
  int pid = 0;
  in >> pid;
  ASSERT_GT(pid, 0);
  // The process is not the test's child: its end is watched through a pidfd.
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  ASSERT_GE(pidfd, 0) << "the daemon is not running";
  // The command returns once the listeners are bound.
  EXPECT_TRUE(lbh::tcp_port_listening(port)) << "the daemon does not listen on " << port;
  // A session of its own, away from the terminal.
  EXPECT_EQ(::getsid(pid), pid);
  ::kill(pid, SIGTERM);
  pollfd p{pidfd, POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, static_cast<int>(kPatience.count())), 1) << "the daemon outlived SIGTERM";
  ::close(pidfd);
}

// A daemon whose port is taken fails where it was started: the alert on the terminal, exit 1.
TEST_F(LbCommandLine, ADaemonThatCannotBindFailsWhereItWasStarted) {
  // A listener without SO_REUSEPORT: neither lb nor haproxy may share its port.
  const auto [taken, port] = loopback_listener();
  ASSERT_GE(taken, 0);
  const auto cfg = dir_.write("busy.cfg", valid_config(port));
  const auto pidfile = dir_.path() / "busy.pid";
  const auto lb = run_to_exit(LB_BIN, {"-D", "-p", pidfile.string(), "-f", cfg.string()});
  const auto ha = run_to_exit(kHaproxy, {"-D", "-f", cfg.string()});
  EXPECT_EQ(ha.code, 1) << ha.err;
  EXPECT_EQ(lb.code, 1) << lb.err;
  // haproxy's alert, word for word: "Binding [FILE:LINE] for frontend fe: cannot bind socket (...) for [ADDR]".
  const auto binding = [](const std::string& err) {
    const auto at = err.find("Binding [");
    return at == std::string::npos ? std::string() : err.substr(at, err.find('\n', at) - at);
  };
  EXPECT_THAT(binding(lb.err), HasSubstr("for frontend fe: cannot bind socket (Address already in use) for [127.0.0.1:"));
  EXPECT_EQ(binding(lb.err), binding(ha.err));
  EXPECT_FALSE(std::filesystem::exists(pidfile));
  ::close(taken);
}

// `daemon` in global is -D, unless the command line keeps lb in the foreground.
TEST_F(LbCommandLine, TheDaemonKeywordDetachesUnlessDbIsGiven) {
  const int port = free_tcp_port();
  std::string text = valid_config(port);
  text.replace(text.find("global\n"), 7, "global\n    daemon\n");
  const auto cfg = dir_.write("keyword.cfg", text);
  Child foreground = Child::start(LB_BIN, {"-db", "--announce", "-f", cfg.string()});
  EXPECT_TRUE(foreground.running());
  foreground.stop();
  const auto pidfile = dir_.path() / "keyword.pid";
  const auto r = run_to_exit(LB_BIN, {"-p", pidfile.string(), "-f", cfg.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  std::ifstream in(pidfile);
  int pid = 0;
  in >> pid;
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(lbh::tcp_port_listening(port));
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  ASSERT_GE(pidfd, 0);
  ::kill(pid, SIGTERM);
  pollfd p{pidfd, POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, static_cast<int>(kPatience.count())), 1);
  ::close(pidfd);
}

}  // namespace
}  // namespace lb::test

namespace lb::test {
namespace {

// systemd's end of sd_notify(3): a datagram socket that $NOTIFY_SOCKET names.
class NotifySocket {
 public:
  explicit NotifySocket(const std::filesystem::path& path) : path_(path.string()) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path_.c_str());
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) ADD_FAILURE() << "cannot bind " << path_;
  }
  ~NotifySocket() { ::close(fd_); }
  const std::string& path() const { return path_; }
  // The next notification, "" when none comes in time.
  std::string next() {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(kPatience.count())) != 1) return "";
    char buf[512];
    const auto n = ::recv(fd_, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
  }

 private:
  std::string path_;
  int fd_ = -1;
};

// -Ws, as Debian's haproxy.service runs it (Type=notify): READY with the master's pid once the
// worker serves, RELOADING then READY around a reload, good or bad, STOPPING on SIGTERM; each
// as haproxy sends it (its master re-executes itself, which adds a RELOADING each time).
TEST_F(LbCommandLine, SystemdHearsWhatHaproxyTellsIt) {
  std::map<std::string, std::vector<std::string>> heard;
  const auto good = read_file(cfg_);
  for (const std::string& bin : {std::string(LB_BIN), std::string(kHaproxy)}) {
    dir_.write("site.cfg", good);
    NotifySocket systemd(dir_.path() / (std::filesystem::path(bin).filename().string() + ".notify"));
    const auto master_cli = (dir_.path() / "master.sock").string();
    Child master = Child::start("/usr/bin/env", {"NOTIFY_SOCKET=" + systemd.path(), bin, "-Ws", "-f", cfg_.string(),
                                                 "-S", master_cli},
                                {.ready_line = ""});
    const auto pid = std::to_string(master.pid());
    auto& got = heard[bin];
    const auto note = [&] {
      auto n = systemd.next();
      if (const auto at = n.find(pid); at != std::string::npos) n.replace(at, pid.size(), "PID");
      got.push_back(n);
    };
    // haproxy's master says READY before it handles signals again; its master CLI answers once
    // it does (lb's master queues the signals it has not read yet).
    const auto up_again = [&] {
      for (int i = 0; i < 2; ++i) note();  // RELOADING, READY
      EXPECT_THAT(lbh::cli_call(master_cli, "show proc;quit\n", kPatience).answer, HasSubstr("# workers\n")) << bin;
    };
    up_again();
    for (const bool bad : {false, true}) {
      if (bad) dir_.write("site.cfg", good + "    bogus keyword\n");
      ::kill(master.pid(), SIGUSR2);
      note();  // RELOADING
      up_again();
    }
    ::kill(master.pid(), SIGTERM);
    note();
    master.wait_exit(kPatience);
  }
  const std::string ready = "READY=1\nMAINPID=PID", reloading = "RELOADING=1";
  EXPECT_THAT(heard[kHaproxy], ::testing::ElementsAre(reloading, ready, reloading, reloading, ready, reloading,
                                                      reloading, ready, "STOPPING=1"));
  EXPECT_EQ(heard[LB_BIN], heard[kHaproxy]);
}

}  // namespace
}  // namespace lb::test

namespace lb::test {
namespace {

// A frontend on the inherited listening socket `fd`, to LbWorld's app1.
std::string fd_frontend_config(int fd) {
  return fmt::format(R"(defaults
    mode http
    timeout connect 1s
    timeout client 2s
    timeout server 2s
frontend fe
    bind fd@{}
    default_backend apps
backend apps
    server app1 127.0.0.1:{{{{app1}}}}
)",
                     fd);
}

// `bind fd@N`: lb serves on a listening socket it was started with, as haproxy does (systemd's
// socket activation, a wrapper that binds first); a descriptor that is no stream socket gets
// haproxy's words.
TEST(LbInheritedSocket, ServesOnTheListeningSocketItWasStartedWith) {
  LbWorld w({"app1"}, {});
  // Not close-on-exec: the balancer inherits it.
  const auto inherited = listen_on_loopback(true);
  ASSERT_GE(inherited.fd, 0);
  const int listener = inherited.fd, port = inherited.port;
  w.start_lb(fd_frontend_config(listener));
  EXPECT_TRUE(w.lb().await_line(fmt::format("listening fe 127.0.0.1:{}", port), kPatience).has_value());
  ::close(listener);  // lb holds its own copy
  for (int i = 0; i < 3; ++i) EXPECT_EQ(served_by(http(port, "GET", "/")), "app1");

  // A datagram socket is of the wrong type; haproxy says the same.
  const int udp = ::socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(udp, 0);
  TempDir dir;
  const auto cfg = dir.write("udp.cfg", fmt::format("frontend fe\n    bind fd@{}\n    timeout client 1s\n", udp));
  const auto lb = run_to_exit(LB_BIN, {"-c", "-f", cfg.string()});
  const auto ha = run_to_exit(kHaproxy, {"-c", "-f", cfg.string()});
  ::close(udp);
  EXPECT_EQ(ha.code, 1);
  EXPECT_EQ(lb.code, 2);
  EXPECT_THAT(lb.err, HasSubstr(fmt::format("'bind' : socket on file descriptor '{}' is of the wrong type.", udp)));
  EXPECT_THAT(ha.err, HasSubstr(fmt::format("'bind' : socket on file descriptor '{}' is of the wrong type.", udp)));
}

// An inherited UNIX listening socket is served the same way, announced by its path.
TEST(LbInheritedSocket, ServesOnAnInheritedUnixListener) {
  LbWorld w({"app1"}, {});
  TempDir dir;
  const std::string path = (dir.path() / "inherited.sock").string();
  const int listener = listen_on_unix_path(path);
  ASSERT_GE(listener, 0);
  w.start_lb(fd_frontend_config(listener));
  EXPECT_TRUE(w.lb().await_line("listening fe unix@" + path, kPatience).has_value());
  ::close(listener);  // lb holds its own copy
  for (int i = 0; i < 3; ++i) {
    Fd c = connect_unix(path);
    ASSERT_TRUE(c);
    send_all(c.get(), "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(served_by(read_to_end(c.get(), kPatience)), "app1");
  }
}

}  // namespace
}  // namespace lb::test

namespace lb::test {
namespace {

// Passes `fd` over the stream socket `channel` (SCM_RIGHTS with one byte), as whatever holds the
// other end of a `sockpair@N` does.
bool pass_descriptor(int channel, int fd) {
  char byte = 0;
  iovec iov{&byte, 1};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
  return ::sendmsg(channel, &msg, MSG_NOSIGNAL) == 1;
}

std::string read_to_end(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(kPatience.count())) <= 0) return out + "(no close)";
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return out;
    out.append(buf, static_cast<std::size_t>(n));
  }
}

// `stats socket fd@N` serves the Runtime API on a listening socket lb was started with, and
// `stats socket sockpair@N` the connections passed to it over a socket pair, each at its level,
// as haproxy does.
TEST(LbInheritedSocket, StatsSocketsOnAnInheritedListenerAndOnASocketPairAnswerAsHaproxys) {
  std::map<std::string, std::vector<std::string>> heard;
  for (const std::string& bin : {std::string(kHaproxy), std::string(LB_BIN)}) {
    TempDir dir;
    const auto path = (dir.path() / "inherited.sock").string();
    // Not close-on-exec: the balancer inherits them.
    const int listener = listen_on_unix_path(path);
    ASSERT_GE(listener, 0);
    int pair[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
    ::fcntl(pair[0], F_SETFD, FD_CLOEXEC);  // ours
    const auto cfg = dir.write("site.cfg", one_frontend_config(free_tcp_port(), fmt::format("    stats socket fd@{} level admin\n"
                                                                                            "    stats socket sockpair@{} level operator\n",
                                                                                            listener, pair[1])));
    Child c = Child::start(bin, {"-db", "-f", cfg.string()}, {.ready_line = ""});
    ::close(listener);
    ::close(pair[1]);
    auto& got = heard[bin];
    std::string answer;
    for (int i = 0; i < 100 && answer.empty(); ++i) {
      answer = cli_ask(path, "show cli level\n");
      if (answer.empty()) ::poll(nullptr, 0, 20);
    }
    got.push_back(answer);
    got.push_back(cli_ask(path, "operator\nshow cli level\n"));
    // Both sockets listed, the socket pair by its number, and counted among the listeners.
    auto sockets = cli_ask(path, "show cli sockets\n");
    sockets = std::regex_replace(sockets, std::regex(path), "PATH");
    got.push_back(std::regex_replace(sockets, std::regex(fmt::format("sockpair@{}\\b", pair[1])), "sockpair@N"));
    std::smatch listeners;
    const auto info = cli_ask(path, "show info\n");
    got.push_back(std::regex_search(info, listeners, std::regex("\nListeners: [0-9]+\n")) ? listeners.str() : info);
    for (const char* command : {"show cli level\n", "set weight apps/s1 50\n", "get weight apps/s1\n"}) {
      int conn[2];
      ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, conn), 0);
      EXPECT_TRUE(pass_descriptor(pair[0], conn[1])) << bin;
      ::close(conn[1]);
      ::send(conn[0], command, std::strlen(command), MSG_NOSIGNAL);
      got.push_back(read_to_end(conn[0]));
      ::close(conn[0]);
    }
    ::close(pair[0]);
    c.stop();
  }
  EXPECT_THAT(heard[kHaproxy],
              ::testing::ElementsAre("admin\n\n", "\noperator\n\n",
                                     "# socket lvl processes\nunix@PATH admin all\nsockpair@N operator all\n\n",
                                     "\nListeners: 3\n", "operator\n\n", "Permission denied\n\n", "1 (initial 1)\n\n"));
  EXPECT_EQ(heard[LB_BIN], heard[kHaproxy]);
}

// `bind sockpair@N`: a frontend serves the connections passed to it over a socket pair, a TCP
// one and a UNIX one alike, and logs each client as its listener ("unix:1"), as haproxy does.
TEST(LbInheritedSocket, AFrontendOnASocketPairServesThePassedConnectionsAsHaproxy) {
  Mock mock({"--listen", "app=127.0.0.1:0"});
  std::map<std::string, std::vector<std::string>> heard;
  for (const std::string& bin : {std::string(kHaproxy), std::string(LB_BIN)}) {
    TempDir dir;
    int pair[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
    ::fcntl(pair[0], F_SETFD, FD_CLOEXEC);  // ours; pair[1] the balancer inherits
    const auto cfg = dir.write("site.cfg", fmt::format(R"(global
    log stdout format raw local0
defaults
    mode http
    log global
    option httplog
    option forwardfor
    timeout connect 1s
    timeout client 2s
    timeout server 2s
frontend fe
    bind sockpair@{}
    default_backend apps
backend apps
    server app 127.0.0.1:{}
)",
                                                       pair[1], mock.port("app")));
    Child c = Child::start(bin, {"-db", "-f", cfg.string()}, {.ready_line = ""});
    ::close(pair[1]);
    auto& got = heard[bin];
    const auto [tcp_listener, port] = loopback_listener();
    ASSERT_GE(tcp_listener, 0);
    for (const bool tcp : {true, false}) {
      Fd ours;
      int theirs = -1;
      if (tcp) {
        auto client = connect_to(port);
        ASSERT_EQ(client.error, 0);
        ours = std::move(client.fd);
        theirs = ::accept4(tcp_listener, nullptr, nullptr, SOCK_CLOEXEC);
      } else {
        int conn[2];
        ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, conn), 0);
        ours = Fd(conn[0]);
        theirs = conn[1];
      }
      EXPECT_TRUE(pass_descriptor(pair[0], theirs)) << bin;
      ::close(theirs);
      send_all(ours.get(), fmt::format("GET /{} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", tcp ? "tcp" : "unix"));
      got.push_back(served_by(Received{read_to_end(ours.get())}));
      const auto line = c.await_line("unix:", kPatience).value_or("(no log line)");
      // The date, the timers and the connection counts vary from run to run.
      const auto undated = std::regex_replace(line, std::regex(R"(\[[^\]]+\])"), "[date]");
      got.push_back(std::regex_replace(undated, std::regex(R"( [0-9]+/[0-9]+/[0-9]+/[0-9]+/[0-9]+ )"), " T "));
    }
    ::close(tcp_listener);
    // No X-Forwarded-For for a client without an address.
    const auto journal = mock.call("GET", "/v1/journal").raw;
    got.push_back(journal.find("x-forwarded-for") == std::string::npos ? "no x-forwarded-for" : journal);
    mock.call("DELETE", "/v1/journal");
    ::close(pair[0]);
    c.stop();
  }
  EXPECT_THAT(heard[kHaproxy],
              ::testing::ElementsAre("app", "unix:1 [date] fe apps/app T 200 64 - - ---- T 0/0 \"GET /tcp HTTP/1.1\"",
                                     "app", "unix:1 [date] fe apps/app T 200 64 - - ---- T 0/0 \"GET /unix HTTP/1.1\"",
                                     "no x-forwarded-for"));
  EXPECT_EQ(heard[LB_BIN], heard[kHaproxy]);
}

// A server that takes its connections over a socket pair, as a `server sockpair@N` hands them
// out: each one comes as a descriptor (SCM_RIGHTS) over `channel`, is read up to its head's end
// and answered "ok". The first line of every request is kept.
class SocketPairServer {
 public:
  explicit SocketPairServer(int channel) : channel_(channel), thread_([this] { serve(); }) {}
  ~SocketPairServer() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::vector<std::string> requests() {
    std::lock_guard lock(lock_);
    return requests_;
  }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{channel_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      char byte[16];
      iovec iov{byte, sizeof byte};
      alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
      msghdr msg{};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      if (::recvmsg(channel_, &msg, MSG_CMSG_CLOEXEC) <= 0) return;
      const cmsghdr* c = CMSG_FIRSTHDR(&msg);
      if (!c || c->cmsg_type != SCM_RIGHTS) continue;
      int fd = -1;
      std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
      Fd conn(fd);
      std::string head;
      while (head.find("\r\n\r\n") == std::string::npos) {
        pollfd r{conn.get(), POLLIN, 0};
        char buf[4096];
        if (::poll(&r, 1, 2000) <= 0) break;
        const ssize_t n = ::recv(conn.get(), buf, sizeof buf, 0);
        if (n <= 0) break;
        head.append(buf, static_cast<std::size_t>(n));
      }
      {
        std::lock_guard lock(lock_);
        requests_.push_back(head.substr(0, head.find("\r\n")));
      }
      send_all(conn.get(), "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    }
  }
  int channel_;
  std::atomic<bool> stop_{false};
  std::mutex lock_;
  std::vector<std::string> requests_;
  std::thread thread_;
};

// `server sockpair@N`: every connection, a check's or a request's, is a new socket pair whose
// other end goes over N, as haproxy's sockpair_connect_server makes it; `show stat` gives no
// address, `show servers state` "-" and port 0. Once nobody holds N's other end, haproxy warns
// "Failed to transfer socket", a check is a "General socket error (Broken pipe)" and a request
// an internal error (500 IC--, not retried).
TEST(LbInheritedSocket, AServerOnASocketPairGetsEachConnectionOverItAsHaproxySendsThem) {
  std::map<std::string, std::vector<std::string>> heard;
  for (const std::string& bin : {std::string(kHaproxy), std::string(LB_BIN)}) {
    TempDir dir;
    int pair[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
    ::fcntl(pair[0], F_SETFD, FD_CLOEXEC);  // ours; pair[1] the balancer inherits
    const int checked_port = free_tcp_port(), direct_port = free_tcp_port();
    const auto socket = (dir.path() / "admin.sock").string();
    const auto cfg = dir.write("site.cfg", fmt::format(R"(global
    log stdout format raw local0
    stats socket {0} level admin
defaults
    mode http
    log global
    option httplog
    timeout connect 1s
    timeout client 2s
    timeout server 2s
frontend fe
    bind 127.0.0.1:{1}
    default_backend checked
frontend direct
    bind 127.0.0.1:{2}
    default_backend direct
backend checked
    option httpchk GET /health
    server s1 sockpair@{3} check inter 300ms
backend direct
    server d1 sockpair@{3}
)",
                                                       socket, checked_port, direct_port, pair[1]));
    Child c = Child::start(bin, {"-db", "-f", cfg.string()}, {.ready_line = ""});
    ::close(pair[1]);
    auto& got = heard[bin];
    const auto undated = [](const std::string& line) {
      const auto no_date = std::regex_replace(line, std::regex(R"(^127\.0\.0\.1:[0-9]+ \[[^\]]+\])"), "CLIENT");
      return std::regex_replace(no_date, std::regex(R"( -?[0-9]+/-?[0-9]+/-?[0-9]+/-?[0-9]+/-?[0-9]+ )"), " T ");
    };
    {
      SocketPairServer server(pair[0]);
      const auto deadline = std::chrono::steady_clock::now() + kPatience;
      while (server.requests().empty() && std::chrono::steady_clock::now() < deadline) ::poll(nullptr, 0, 10);
      EXPECT_TRUE(wait_listening(direct_port)) << bin;
      for (const int port : {checked_port, direct_port}) {
        auto client = connect_to(port);
        send_all(client.fd.get(), "GET /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        got.push_back(body_of(read_to_end(client.fd.get())));
        got.push_back(undated(c.await_line("GET /x", kPatience).value_or("(no log line)")));
      }
      server.stop();
      auto requests = server.requests();
      std::sort(requests.begin(), requests.end());
      requests.erase(std::unique(requests.begin(), requests.end()), requests.end());
      got.push_back(::testing::PrintToString(requests));
      const auto stat = cli_ask(socket, "show stat\n");
      std::smatch m;
      got.push_back(std::regex_search(stat, m, std::regex("\nchecked,s1,(?:[^,]*,){71}([^,]*),")) ? "addr '" + m[1].str() + "'"
                                                                                              : "(no s1 row)");
      const auto state = cli_ask(socket, "show servers state checked\n");
      got.push_back(std::regex_search(state, m, std::regex("\n[0-9]+ checked 1 s1 (\\S+) .* (\\S+) - 0 (\\S+) - - 0\n"))
                        ? m[1].str() + " port " + m[2].str()
                        : state);
    }
    ::close(pair[0]);  // nobody holds the other end any more
    got.push_back(std::regex_replace(c.await_line("Server checked/s1 is DOWN", kPatience).value_or("(no DOWN line)"),
                                     std::regex("check duration: [0-9]+ms"), "check duration: Nms"));
    auto client = connect_to(direct_port);
    send_all(client.fd.get(), "GET /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    got.push_back(std::to_string(status_of(read_to_end(client.fd.get()))));
    got.push_back(undated(c.await_line(" direct direct/d1 ", kPatience).value_or("(no log line)")));
    c.stop();
    EXPECT_THAT(c.stderr_text(), ::testing::HasSubstr(") : Failed to transfer socket\n")) << bin;
  }
  EXPECT_THAT(heard[kHaproxy],
              ::testing::ElementsAre(
                  "ok", "CLIENT fe checked/s1 T 200 51 - - ---- T 0/0 \"GET /x HTTP/1.1\"", "ok",
                  "CLIENT direct direct/d1 T 200 51 - - ---- T 0/0 \"GET /x HTTP/1.1\"",
                  "{ \"GET /health HTTP/1.0\", \"GET /x HTTP/1.1\" }", "addr ''", "- port 0",
                  "Server checked/s1 is DOWN, reason: Socket error, info: \"General socket error (Broken pipe)\", check "
                  "duration: Nms. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.",
                  "500", "CLIENT direct direct/d1 T 500 208 - - IC-- T 0/0 \"GET /x HTTP/1.1\""));
  EXPECT_EQ(heard[LB_BIN], heard[kHaproxy]);
}

}  // namespace
}  // namespace lb::test
