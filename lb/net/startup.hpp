#pragma once
// How lb tells whoever started it that it is ready, as haproxy does: `-D` leaves the command once
// the listeners are bound (the pid file then names the process that stays), and `-Ws` sends
// systemd's notifications (READY, RELOADING, STOPPING) to $NOTIFY_SOCKET.
#include <string>
#include <string_view>

namespace lb::net {

// -D. start() forks and returns in the child only, which runs in a session of its own. The
// command (the parent) waits: when the child says ready() it writes the child's pid to
// `pidfile` (if any) and exits 0; when the child exits first (a port in use, say) it exits with
// the child's code, after the child's alerts have reached the terminal.
class Daemon {
 public:
  static Daemon start(const std::string& pidfile);
  Daemon() = default;
  Daemon(Daemon&& o) noexcept : ready_fd_(o.ready_fd_) { o.ready_fd_ = -1; }
  Daemon& operator=(Daemon&&) = delete;
  ~Daemon();
  bool started() const { return ready_fd_ >= 0; }
  // The listeners are bound: the command may leave; stdin, stdout and stderr go to /dev/null.
  void ready();

 private:
  explicit Daemon(int fd) : ready_fd_(fd) {}
  int ready_fd_ = -1;
};

// One of HAProxy's stderr lines for this process ("[ALERT]    (pid) : text"), flushed.
void say(std::string_view level, std::string_view text);

// stdin, stdout and stderr to /dev/null: a daemon's processes leave the terminal once they run.
void detach_stdio();

// sd_notify(3) without libsystemd: one datagram to the socket $NOTIFY_SOCKET names (a path, or
// "@name" for an abstract one); nothing when it is not set.
void notify_systemd(std::string_view state);

}  // namespace lb::net
