// Reloads of the real `lb`, as HAProxy 2.6 users reload: SIGUSR2 to the master of `lb -W` (what
// Debian's haproxy.service does), and the legacy `-sf PID`. Held to what haproxy 2.6.12 did in
// tests/data/haproxy26/reload (README.md, FACTS §2-§5): the master's and the old worker's lines,
// the listening socket handed over without a refused connection, the old worker finishing the
// request in flight, a bad config keeping the old worker, and the servers' state forgotten
// without a server-state-file and kept with one.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <poll.h>
#include <signal.h>

#include <atomic>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <regex>
#include <thread>

#include "tests/integration/lb_world.hpp"

namespace lb::test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string config(const std::string& socket, std::string global_extra = "", std::string defaults_extra = "") {
  return fmt::format(R"(global
    stats socket {} level admin
{}defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
{}frontend fe
    bind 127.0.0.1:{{{{fe}}}}
    default_backend be
backend be
    option httpchk GET /health
    server s1 127.0.0.1:{{{{s1}}}} check inter 100ms
    server s2 127.0.0.1:{{{{s2}}}} check inter 100ms
)",
                     socket, global_extra, defaults_extra);
}

// The pid in "[NOTICE]   (123) : New worker (456) forked".
int forked_pid(const std::string& line) {
  const auto at = line.find("New worker (");
  return at == std::string::npos ? -1 : std::stoi(line.substr(at + 12));
}

// The master's stderr lines of a start and a reload, and the new worker's readiness.
struct Reloaded {
  int worker = -1;
};

Reloaded await_worker(Child& master, bool reloading) {
  Reloaded r;
  if (reloading) {
    EXPECT_TRUE(master.await_stderr(fmt::format("({}) : Reloading HAProxy", master.pid()), kPatience));
  }
  const auto forked = master.await_stderr(fmt::format("({}) : New worker (", master.pid()), kPatience);
  EXPECT_TRUE(forked);
  if (forked) r.worker = forked_pid(*forked);
  EXPECT_TRUE(master.await_stderr(fmt::format("[NOTICE]   ({}) : Loading success.", master.pid()), kPatience));
  return r;
}

TEST(LbReload, Sigusr2ToTheMasterHandsTheListenerToANewWorkerWithHaproxysLines) {
  LbWorld w({"s1", "s2"}, {});
  const auto socket = (w.dir() / "admin.sock").string();
  w.start_lb(config(socket), {"-W"});
  Child& master = w.lb();
  const int first = await_worker(master, false).worker;
  ASSERT_GT(first, 0);
  EXPECT_EQ(status_of(http(w.fe_port(), "GET", "/").bytes), 200);
  EXPECT_EQ(status_of(http(w.fe_port(), "GET", "/").bytes), 200);

  // Requests one after the other the whole time: none may be refused, reset or unanswered.
  std::atomic<bool> stop{false};
  std::atomic<int> sent{0};
  std::map<int, int> statuses;
  std::thread traffic([&] {
    for (int i = 0; i < 5000 && !stop; ++i, ++sent) ++statuses[status_of(http(w.fe_port(), "GET", "/").bytes)];
  });
  // Bounded waits on the traffic's own progress: some requests before the reload, some after.
  auto await_sent = [&](int n) {
    for (int spins = 0; sent < n && spins < 100000; ++spins) std::this_thread::yield();
  };
  await_sent(50);
  ASSERT_EQ(::kill(master.pid(), SIGUSR2), 0);
  const int second = await_worker(master, true).worker;
  ASSERT_GT(second, 0);
  EXPECT_NE(second, first);
  EXPECT_TRUE(w.await("ready"));  // the new worker listens: the socket it was handed
  // The old worker: its proxies' lines, then the master says it is gone.
  const auto fe_line = master.await_stderr(fmt::format("[WARNING]  ({}) : Proxy fe stopped (cumulated conns: FE: ", first), kPatience);
  ASSERT_TRUE(fe_line);
  EXPECT_THAT(*fe_line, HasSubstr(", BE: 0)."));
  EXPECT_TRUE(master.await_stderr(fmt::format("[WARNING]  ({}) : Proxy be stopped (cumulated conns: FE: 0, BE: ", first), kPatience));
  EXPECT_TRUE(master.await_stderr(
      fmt::format("[WARNING]  ({}) : Proxy <HTTPCLIENT> stopped (cumulated conns: FE: 0, BE: 0).", first), kPatience));
  EXPECT_TRUE(master.await_stderr(
      fmt::format("[WARNING]  ({}) : Former worker ({}) exited with code 0 (Exit)", master.pid(), first), kPatience));
  EXPECT_THAT(master.stderr_text(), Not(HasSubstr("Proxy GLOBAL stopped")));  // a worker does not say it
  await_sent(sent + 50);
  stop = true;
  traffic.join();
  EXPECT_EQ(statuses.size(), 1u);
  EXPECT_GT(statuses[200], 0);
  // The Runtime API now answers from the new worker.
  EXPECT_THAT(cli_ask(socket, "show info\n"), HasSubstr(fmt::format("\nPid: {}\n", second)));

  const int pid = master.pid();
  EXPECT_EQ(master.stop(), 0);
  const auto err = master.stderr_text();
  EXPECT_THAT(err, HasSubstr(fmt::format("[WARNING]  ({}) : Exiting Master process...", pid)));
  EXPECT_THAT(err, HasSubstr(fmt::format("[ALERT]    ({}) : Current worker ({}) exited with code 143 (Terminated)",
                                         pid, second)));
  EXPECT_THAT(err, HasSubstr(fmt::format("[WARNING]  ({}) : All workers exited. Exiting... (0)", pid)));
}

TEST(LbReload, ABadConfigurationKeepsTheOldWorkerServing) {
  LbWorld w({"s1", "s2"}, {});
  const auto socket = (w.dir() / "admin.sock").string();
  w.start_lb(config(socket), {"-W"});
  Child& master = w.lb();
  const int first = await_worker(master, false).worker;
  const auto cfg = w.dir() / "lb.cfg";
  const std::string good = w.render(config(socket));
  std::ofstream(cfg, std::ios::trunc) << good << "    bogus-keyword\n";
  ASSERT_EQ(::kill(master.pid(), SIGUSR2), 0);
  EXPECT_TRUE(master.await_stderr(fmt::format("[WARNING]  ({}) : Loading failure!", master.pid()), kPatience));
  EXPECT_THAT(master.stderr_text(), HasSubstr("unknown keyword 'bogus-keyword' in 'backend' section"));
  EXPECT_EQ(status_of(http(w.fe_port(), "GET", "/").bytes), 200);
  EXPECT_THAT(cli_ask(socket, "show info\n"), HasSubstr(fmt::format("\nPid: {}\n", first)));
  // Fixed, a reload works again.
  std::ofstream(cfg, std::ios::trunc) << good;
  ASSERT_EQ(::kill(master.pid(), SIGUSR2), 0);
  const int second = await_worker(master, true).worker;
  EXPECT_NE(second, first);
  EXPECT_TRUE(master.await_stderr(fmt::format("Former worker ({}) exited with code 0 (Exit)", first), kPatience));
}

// A request the servers answer `delay_ms` late, in flight when the master is told to reload.
struct InFlightAtReload {
  InFlightAtReload(int delay_ms, const std::string& global_extra)
      : w({"s1", "s2"}, {"--rule", fmt::format("s1: path=/slow -> status 200 delay={}", delay_ms), "--rule",
                         fmt::format("s2: path=/slow -> status 200 delay={}", delay_ms)}) {
    w.start_lb(config((w.dir() / "admin.sock").string(), global_extra), {"-W"});
    first = await_worker(w.lb(), false).worker;
    client = std::thread([this] { slow = http(w.fe_port(), "GET", "/slow").bytes; });
    // The request reached a server before the reload: it is the old worker's to finish.
    EXPECT_TRUE(w.mock().wait_journal("path_prefix=/slow"));
    EXPECT_EQ(::kill(w.lb().pid(), SIGUSR2), 0);
    await_worker(w.lb(), true);
  }
  ~InFlightAtReload() {
    if (client.joinable()) client.join();
  }
  std::string reply() {
    client.join();
    return slow;
  }
  LbWorld w;
  int first = -1;
  std::string slow;
  std::thread client;
};

TEST(LbReload, TheOldWorkerFinishesTheRequestInFlightThenExits) {
  InFlightAtReload r(600, "");
  Child& master = r.w.lb();
  EXPECT_TRUE(master.await_stderr(fmt::format("({}) : Proxy fe stopped", r.first), kPatience));
  EXPECT_EQ(status_of(r.reply()), 200);
  EXPECT_TRUE(master.await_stderr(fmt::format("Former worker ({}) exited with code 0 (Exit)", r.first), kPatience));
}

TEST(LbReload, HardStopAfterEndsTheSessionsStillOpen) {
  InFlightAtReload r(5000, "    hard-stop-after 300ms\n");
  Child& master = r.w.lb();
  EXPECT_TRUE(master.await_stderr(
      fmt::format("[WARNING]  ({}) : soft-stop running for too long, performing a hard-stop.", r.first), kPatience));
  EXPECT_TRUE(master.await_stderr(
      fmt::format("[WARNING]  ({}) : Proxy fe hard-stopped (1 remaining conns will be closed).", r.first), kPatience));
  EXPECT_TRUE(master.await_stderr(fmt::format("Former worker ({}) exited with code 0 (Exit)", r.first), kPatience))
      << master.stderr_text();
  EXPECT_NE(status_of(r.reply()), 200);
}

// A10 without a state file: maintenance, drain and weights live in the worker only, so the new
// one starts from the configuration: every server UP.
TEST(LbReload, WithoutAStateFileTheNewWorkerForgetsMaintenance) {
  LbWorld w({"s1", "s2"}, {});
  const auto socket = (w.dir() / "admin.sock").string();
  w.start_lb(config(socket), {"-W"});
  Child& master = w.lb();
  const int first = await_worker(master, false).worker;
  ASSERT_EQ(cli_ask(socket, "disable server be/s1\n"), "\n");
  EXPECT_THAT(cli_ask(socket, "show servers state be\n"), HasSubstr("\n3 be 1 s1 127.0.0.1 0 1 "));
  ASSERT_EQ(::kill(master.pid(), SIGUSR2), 0);
  await_worker(master, true);
  // Until the old worker is gone it may still take a connection on the stats socket.
  EXPECT_TRUE(master.await_stderr(fmt::format("Former worker ({}) exited", first), kPatience));
  EXPECT_TRUE(w.await("ready"));
  EXPECT_THAT(cli_ask(socket, "show servers state be\n"), HasSubstr("\n3 be 1 s1 127.0.0.1 2 0 "));
}

// The fix users apply: the state saved before the reload, loaded by the new worker, whose
// loader lines carry the master's pid, as haproxy's master prints them.
TEST(LbReload, WithAStateFileTheNewWorkerKeepsMaintenance) {
  LbWorld w({"s1", "s2"}, {});
  const auto socket = (w.dir() / "admin.sock").string();
  const auto state = (w.dir() / "state").string();
  w.start_lb(config(socket, fmt::format("    server-state-file {}\n", state), "    load-server-state-from-file global\n"),
             {"-W"});
  Child& master = w.lb();
  const int first = await_worker(master, false).worker;
  ASSERT_EQ(cli_ask(socket, "disable server be/s1\n"), "\n");
  const auto saved = cli_ask(socket, "show servers state\n");
  std::ofstream(state, std::ios::trunc) << saved;
  ASSERT_EQ(::kill(master.pid(), SIGUSR2), 0);
  await_worker(master, true);
  const auto err = master.stderr_text();
  const auto loaded =
      err.find(fmt::format("[WARNING]  ({}) : config : Server be/s1 is DOWN, changed from server-state after a reload. "
                           "1 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.",
                           master.pid()));
  ASSERT_NE(loaded, std::string::npos) << err;
  EXPECT_LT(err.find("Reloading HAProxy"), loaded);
  EXPECT_LT(loaded, err.rfind("New worker ("));
  EXPECT_TRUE(master.await_stderr(fmt::format("Former worker ({}) exited", first), kPatience));
  EXPECT_TRUE(w.await("ready"));
  EXPECT_THAT(cli_ask(socket, "show servers state be\n"), HasSubstr("\n3 be 1 s1 127.0.0.1 0 1 "));
  for (int i = 0; i < 4; ++i) EXPECT_EQ(served_by(http(w.fe_port(), "GET", "/")), "s2");
}

// The legacy reload: a new process with -sf takes over (SO_REUSEPORT) and tells the old one to
// finish; the old one names every proxy, GLOBAL (the stats socket's) included, and exits 0.
TEST(LbReload, SfMakesTheOldProcessFinish) {
  LbWorld w({"s1", "s2"}, {});
  const auto socket = (w.dir() / "admin.sock").string();
  w.start_lb(config(socket));
  Child old = std::move(w.lb());
  const auto cfg = (w.dir() / "lb.cfg").string();
  Child next = Child::start(LB_BIN, {"-db", "--announce", "-f", cfg, "-sf", std::to_string(old.pid())});
  EXPECT_EQ(old.wait_exit(kPatience), 0);
  const auto err = old.stderr_text();
  const auto at = [&](std::string_view s) { return err.find(fmt::format("({}) : {}", old.pid(), s)); };
  ASSERT_NE(at("Proxy fe stopped (cumulated conns: FE: 0, BE: 0)."), std::string::npos) << err;
  EXPECT_LT(at("Proxy fe stopped"), at("Proxy GLOBAL stopped (cumulated conns: FE: 0, BE: 0)."));
  EXPECT_LT(at("Proxy GLOBAL stopped"), at("Proxy be stopped (cumulated conns: FE: 0, BE: 0)."));
  EXPECT_LT(at("Proxy be stopped"), at("Proxy <HTTPCLIENT> stopped (cumulated conns: FE: 0, BE: 0)."));
  EXPECT_NE(at("Proxy <HTTPCLIENT> stopped"), std::string::npos);
  EXPECT_EQ(status_of(http(w.fe_port(), "GET", "/").bytes), 200);
  EXPECT_THAT(cli_ask(socket, "show info\n"), HasSubstr(fmt::format("\nPid: {}\n", next.pid())));
  EXPECT_EQ(next.stop(), 0);
}

// -sf under load: clients that keep connecting while the new process takes over lose nothing.
// The new process's sockets take the new connections from the kernel at once, and the old one
// answers what its listener had queued before it closes it. Bounded: two clients, stopped 50
// requests after the old process has exited (at most 3000 each).
TEST(LbReload, SfTakeoverUnderLoadLosesNoRequest) {
  LbWorld w({"s1", "s2"}, {});
  const auto socket = (w.dir() / "admin.sock").string();
  w.start_lb(config(socket));
  Child old = std::move(w.lb());
  std::atomic<bool> stop{false};
  std::atomic<int> sent{0}, failed{0};
  std::vector<std::string> failures;
  std::mutex failures_lock;
  auto client = [&] {
    for (int i = 0; i < 3000 && !stop; ++i) {
      ++sent;
      auto c = connect_to(w.fe_port());
      std::string why;
      if (c.error != 0) {
        why = std::string("connect: ") + std::strerror(c.error);
      } else {
        send_all(c.fd.get(), "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        const auto r = read_to_end(c.fd.get(), kPatience);
        if (status_of(r.bytes) != 200) why = fmt::format("answer: {:?}", r.bytes.substr(0, 40));
      }
      if (!why.empty()) {
        ++failed;
        std::lock_guard lock(failures_lock);
        if (failures.size() < 5) failures.push_back(why);
      }
    }
  };
  std::thread a(client), b(client);
  while (sent < 100) std::this_thread::yield();  // the load runs before the takeover starts
  const auto cfg = (w.dir() / "lb.cfg").string();
  Child next = Child::start(LB_BIN, {"-db", "--announce", "-f", cfg, "-sf", std::to_string(old.pid())});
  EXPECT_EQ(old.wait_exit(kPatience), 0);
  const int at_exit = sent;
  while (sent < at_exit + 50 && sent < 6000) std::this_thread::yield();  // and after it
  stop = true;
  a.join();
  b.join();
  EXPECT_EQ(failed, 0) << "of " << sent << ": " << ::testing::PrintToString(failures);
  EXPECT_EQ(next.stop(), 0);
}

// The status of the first request `ask` gets answered (-1: none could connect), asked again until
// one is, for as long as kPatience: a name is bound again a moment after the signal that asks it.
int status_when_served(const std::function<int()>& ask) {
  const auto deadline = std::chrono::steady_clock::now() + kPatience;
  int status = ask();
  while (status < 0 && std::chrono::steady_clock::now() < deadline) {
    ::poll(nullptr, 0, 5);  // polling the kernel's state: there is no event to wait on
    status = ask();
  }
  return status;
}

// -sf with `bind abns@NAME`: an abstract name cannot be shared as a TCP port is, so the new
// process asks the old one to let go of it (SIGTTOU, HAProxy's pause) and binds it within
// HAProxy's second of retries. haproxy 2.6.12's old process aborts there (BUG_ON in
// pause_listener, as seen running it); lb's finishes as on any -sf. A new process that cannot
// bind everything after that second gives the name back (SIGTTIN) and exits with HAProxy's alerts.
TEST(LbReload, SfTakesOverAnAbstractNameAndGivesItBackWhenItFails) {
  LbWorld w({"s1", "s2"}, {});
  const auto socket = (w.dir() / "admin.sock").string();
  const auto name = fmt::format("lbh-reload-{}", ::getpid());
  const auto with_names = [&](const std::vector<std::string>& names) {
    std::string binds = "    bind 127.0.0.1:{{fe}}\n";
    for (const auto& n : names) binds += "    bind abns@" + n + "\n";
    return std::regex_replace(config(socket), std::regex(R"(    bind 127\.0\.0\.1:\{\{fe\}\}\n)"), binds);
  };
  const auto status_via_name = [&] {
    Fd fd = connect_abstract(name);
    if (!fd) return -1;
    send_all(fd.get(), "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    return status_of(read_to_end(fd.get(), kPatience).bytes);
  };
  w.start_lb(with_names({name}));
  Child old = std::move(w.lb());
  ASSERT_EQ(status_via_name(), 200);

  const auto cfg = (w.dir() / "lb.cfg").string();
  Child next = Child::start(LB_BIN, {"-db", "--announce", "-f", cfg, "-sf", std::to_string(old.pid())});
  EXPECT_EQ(old.wait_exit(kPatience), 0) << old.stderr_text();
  EXPECT_EQ(status_via_name(), 200) << next.stderr_text();

  // A name someone else holds: the new process fails, and `next` takes its name back.
  const auto held_name = name + "-held";
  Fd held(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const auto held_addr = abstract_address(held_name);
  ASSERT_EQ(::bind(held.get(), reinterpret_cast<const sockaddr*>(&held_addr), sizeof held_addr), 0) << std::strerror(errno);
  ASSERT_EQ(::listen(held.get(), 1), 0);
  const auto failing_cfg = w.dir() / "failing.cfg";
  std::ofstream(failing_cfg) << w.render(with_names({name, held_name}));
  Child failing = Child::start(LB_BIN, {"-db", "-f", failing_cfg.string(), "-sf", std::to_string(next.pid())}, {.ready_line = ""});
  EXPECT_EQ(failing.wait_exit(kPatience), 1);
  EXPECT_THAT(failing.stderr_text(), HasSubstr("failing.cfg:11] for frontend fe: cannot bind UNIX socket (already in use) []"));
  EXPECT_THAT(failing.stderr_text(), HasSubstr("[haproxy.main()] Some protocols failed to start their listeners! Exiting."));
  // `next` binds the name again once its loop has taken the SIGTTIN.
  EXPECT_EQ(status_when_served(status_via_name), 200);
  EXPECT_THAT(next.stderr_text(), Not(HasSubstr("refused to resume")));
  EXPECT_EQ(next.stop(), 0);
}

// The same takeover from `lb -W`: its master passes SIGTTOU on to its worker and lets go of the
// copy of the socket it keeps for its next reload, so that the name is free for the new process.
TEST(LbReload, SfTakesOverAnAbstractNameFromAMasterWorker) {
  LbWorld w({"s1", "s2"}, {});
  const auto name = fmt::format("lbh-mw-{}", ::getpid());
  const auto cfg = std::regex_replace(config((w.dir() / "admin.sock").string()),
                                      std::regex(R"(    bind 127\.0\.0\.1:\{\{fe\}\}\n)"),
                                      "    bind 127.0.0.1:{{fe}}\n    bind abns@" + name + "\n");
  const auto path = w.dir() / "lb.cfg";
  std::ofstream(path) << w.render(cfg);
  Child master = Child::start(LB_BIN, {"-W", "-f", path.string()}, {.ready_line = ""});
  await_worker(master, false);
  const auto status_via_name = [&] {
    Fd fd = connect_abstract(name);
    if (!fd) return -1;
    send_all(fd.get(), "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    return status_of(read_to_end(fd.get(), kPatience).bytes);
  };
  EXPECT_EQ(status_when_served(status_via_name), 200);
  Child next = Child::start(LB_BIN, {"-db", "--announce", "-f", path.string(), "-sf", std::to_string(master.pid())});
  EXPECT_EQ(master.wait_exit(kPatience), 0) << master.stderr_text();
  EXPECT_EQ(status_via_name(), 200) << next.stderr_text();
  EXPECT_EQ(next.stop(), 0);
}

}  // namespace
}  // namespace lb::test
