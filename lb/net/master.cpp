#include "lb/net/master.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "lb/core/log/log_lines.hpp"
#include "lb/net/listen_sockets.hpp"
#include "lb/net/master_cli.hpp"
#include "lb/net/startup.hpp"

namespace lb::net {
namespace {

// The exit status as HAProxy's master reports it: the code, or 128 + the signal.
int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}
std::string how(int code) { return code >= 128 ? std::string(::strsignal(code - 128)) : std::string("Exit"); }


class Master {
 public:
  Master(const ConfigLoader& reload, const RuntimeOptions& options)
      : reload_(reload),
        options_(options),
        cli_({[this] { return processes(); },
              [this](int pid) {
                const auto it = std::find_if(workers_.begin(), workers_.end(), [&](const Worker& w) { return w.pid == pid; });
                return it == workers_.end() ? -1 : it->cli_channel;
              }}) {
    sigemptyset(&signals_);
    for (const int s : {SIGUSR1, SIGUSR2, SIGHUP, SIGTERM, SIGINT, SIGCHLD, SIGTTOU, SIGTTIN}) sigaddset(&signals_, s);
    ::sigprocmask(SIG_BLOCK, &signals_, nullptr);
  }
  ~Master() {
    for (auto& w : workers_) close_channel(w);
    if (signal_fd_ >= 0) ::close(signal_fd_);
  }

  int run(const core::Config& first) {
    signal_fd_ = ::signalfd(-1, &signals_, SFD_CLOEXEC | SFD_NONBLOCK);
    if (signal_fd_ < 0) {
      say("ALERT", fmt::format("[lb.main()] Cannot watch signals: {}", std::strerror(errno)));
      return 1;
    }
    if (!cli_.bind(options_.master_sockets)) return 1;
    started_ = MasterCli::now_s();
    const auto started = spawn(first);
    if (!started) return exitcode_ > 0 ? exitcode_ : 1;  // HAProxy's master leaves with its first worker
    ready_again();
    for (;;) {
      std::vector<pollfd> fds{{signal_fd_, POLLIN, 0}};
      cli_.poll_fds(fds);
      if (::poll(fds.data(), fds.size(), -1) < 0) continue;  // EINTR
      if (fds[0].revents & POLLIN)
        if (const auto code = on_signals()) {
          cli_.stop();
          return *code;
        }
      if (cli_.handle(fds.data() + 1, fds.size() - 1)) reload();
    }
  }

 private:
  struct Worker {
    pid_t pid;
    bool leaving = false;  // told to stop by a reload
    int reloads = 0;       // reloads since it was forked (`show proc`)
    std::int64_t started = 0;
    int cli_channel = -1;  // where the master CLI passes it connections
  };

  // Every signal waiting; the exit code once the last worker is gone.
  std::optional<int> on_signals() {
    signalfd_siginfo info{};
    while (::read(signal_fd_, &info, sizeof(info)) == static_cast<ssize_t>(sizeof(info))) {
      switch (info.ssi_signo) {
        case SIGUSR2: reload(); break;
        case SIGTTOU: {
          // A process taking over asks for the abstract names: the copies kept for the next
          // reload would hold them bound (haproxy's master holds no listener). If it gives up
          // (SIGTTIN), the worker binds them anew, and a later reload's worker, finding them
          // held, fails and leaves that worker serving.
          std::vector<std::string> abstract;
          for (const auto& [key, fd] : sockets_.all())
            if (key.starts_with("abns ")) abstract.push_back(key);
          for (const auto& key : abstract) ::close(sockets_.take(key));
          [[fallthrough]];
        }
        case SIGUSR1:  // passed on: every worker stops softly, as HAProxy's master does
        case SIGTTIN:  // and SIGTTOU/SIGTTIN for a takeover (mworker_broadcast_signal)
          for (const auto& w : workers_) ::kill(w.pid, static_cast<int>(info.ssi_signo));
          break;
        case SIGTERM:
        case SIGINT:
          if (options_.systemd) notify_systemd("STOPPING=1");
          say("WARNING", "Exiting Master process...");
          for (const auto& w : workers_) ::kill(w.pid, static_cast<int>(info.ssi_signo));
          break;
        case SIGCHLD:
          if (const auto code = reap()) return code;
          break;
        default: break;  // SIGHUP: HAProxy's master logs its processes; lb has nothing to say
      }
    }
    return std::nullopt;
  }

  core::mcli::Processes processes() const {
    core::mcli::Processes p;
    p.master_pid = static_cast<int>(::getpid());
    p.reloads = reloads_;
    p.failed_reloads = failed_reloads_;
    p.started = started_;
    for (const auto& w : workers_) p.workers.push_back({static_cast<int>(w.pid), w.reloads, w.started, w.leaving});
    return p;
  }

  static void close_channel(Worker& w) {
    if (w.cli_channel >= 0) ::close(w.cli_channel);
    w.cli_channel = -1;
  }

  // A worker for `config`, once it has reported ready; nullopt when it exited before.
  std::optional<pid_t> spawn(const core::Config& config) {
    const auto [mine, theirs] = handover_channel();
    const auto [cli_mine, cli_theirs] = handover_channel();
    if (mine < 0 || cli_mine < 0) {
      say("ALERT", fmt::format("[lb.main()] Cannot create the worker's channel: {}", std::strerror(errno)));
      for (const int fd : {mine, theirs, cli_mine, cli_theirs})
        if (fd >= 0) ::close(fd);
      return std::nullopt;
    }
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::close(mine);
      ::close(cli_mine);
      ::close(signal_fd_);
      cli_.close_in_child();
      for (auto& w : workers_) close_channel(w);
      RuntimeOptions o = options_;
      o.handover = &sockets_;
      o.master_channel = theirs;
      o.master_cli_channel = cli_theirs;
      o.master_sockets.clear();
      o.master_pid = static_cast<int>(::getppid());
      const int code = lb::net::run(config, o);  // unblocks the signals once it handles them
      std::fflush(stdout);
      std::fflush(stderr);
      std::_Exit(code);
    }
    ::close(theirs);
    ::close(cli_theirs);
    // The master never waits for a worker: a worker that stops reading its channel makes the
    // master CLI say "Can't connect to the target CLI!" rather than hang the master.
    ::fcntl(cli_mine, F_SETFL, O_NONBLOCK);
    if (pid < 0) {
      ::close(mine);
      ::close(cli_mine);
      say("ALERT", fmt::format("[lb.main()] Cannot fork: {}", std::strerror(errno)));
      return std::nullopt;
    }
    auto ready = receive_sockets(mine);
    ::close(mine);
    if (!ready) {
      ::close(cli_mine);
      int status = 0;
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      const int code = exit_code(status);
      say("WARNING", fmt::format("Failed to load worker ({}) exited with code {} ({})", pid, code, how(code)));
      if (code > 0) exitcode_ = code;
      return std::nullopt;
    }
    sockets_ = std::move(*ready);
    exit_on_failure_ = config.global.exit_on_failure;
    options_.finish_pids.clear();  // -sf/-st name the processes the first worker replaces
    // Said before the old workers are told to stop, so that their lines come after these.
    say("NOTICE", fmt::format("New worker ({}) forked", pid));
    say("NOTICE", "Loading success.");
    if (options_.on_ready) std::exchange(options_.on_ready, nullptr)();
    for (auto& w : workers_)
      if (!w.leaving) {
        w.leaving = true;
        ::kill(w.pid, SIGUSR1);
      }
    workers_.push_back({pid, false, 0, MasterCli::now_s(), cli_mine});
    return pid;
  }

  void reload() {
    if (options_.systemd) notify_systemd("RELOADING=1");
    say("NOTICE", "Reloading HAProxy");
    cli_.drop_clients();
    ++reloads_;
    for (auto& w : workers_) ++w.reloads;
    const auto config = reload_();
    if (!config) say("WARNING", "Loading failure!");
    if (config && spawn(*config)) failed_reloads_ = 0;
    else ++failed_reloads_;
    ready_again();
  }

  // -Ws: what haproxy's master tells systemd each time it has started, once at start-up and
  // after every reload, good or bad: it re-executes itself to wait for its workers ("RELOADING"),
  // then serves ("READY" with its pid).
  void ready_again() {
    if (!options_.systemd) return;
    notify_systemd("RELOADING=1");
    notify_systemd(fmt::format("READY=1\nMAINPID={}", ::getpid()));
  }

  // Reaps every worker that exited, as HAProxy's master reports them; the exit code once none
  // is left.
  std::optional<int> reap() {
    for (;;) {
      int status = 0;
      const pid_t pid = ::waitpid(-1, &status, WNOHANG);
      if (pid == 0) return std::nullopt;
      if (pid < 0) {
        if (errno == EINTR) continue;
        const int code = exitcode_ > 0 ? exitcode_ : 0;
        say("WARNING", fmt::format("All workers exited. Exiting... ({})", code));
        return code;
      }
      const int code = exit_code(status);
      auto it = std::find_if(workers_.begin(), workers_.end(), [&](const Worker& w) { return w.pid == pid; });
      if (it == workers_.end()) {
        say("WARNING", fmt::format("Process {} exited with code {} ({})", pid, code, how(code)));
        continue;
      }
      Worker w = *it;
      close_channel(w);
      workers_.erase(it);
      if (w.leaving) {
        say("WARNING", fmt::format("Former worker ({}) exited with code {} ({})", pid, code, how(code)));
        continue;
      }
      if (code < 128) say("WARNING", fmt::format("Current worker ({}) exited with code {} (Exit)", pid, code));
      else say("ALERT", fmt::format("Current worker ({}) exited with code {} ({})", pid, code, how(code)));
      // 0 and SIGTERM are a normal end; anything else takes the others down unless the config
      // says `master-worker no-exit-on-failure`.
      if (code != 0 && code != 130 && code != 143 && exit_on_failure_) {
        say("ALERT", "exit-on-failure: killing every processes with SIGTERM");
        for (const auto& other : workers_) ::kill(other.pid, SIGTERM);
      }
      if (exitcode_ < 0 && code != 0 && code != 143) exitcode_ = code;
    }
  }

  const ConfigLoader& reload_;
  RuntimeOptions options_;
  MasterCli cli_;
  sigset_t signals_{};
  int signal_fd_ = -1;
  int reloads_ = 0, failed_reloads_ = 0;
  std::int64_t started_ = 0;
  ListenSockets sockets_;
  std::vector<Worker> workers_;
  int exitcode_ = -1;
  bool exit_on_failure_ = true;
};

}  // namespace

int run_master(const core::Config& first, const ConfigLoader& reload, const RuntimeOptions& worker_options) {
  Master master(reload, worker_options);
  return master.run(first);
}

}  // namespace lb::net
