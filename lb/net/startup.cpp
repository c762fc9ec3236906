#include "lb/net/startup.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "lb/core/log/log_lines.hpp"

namespace lb::net {

Daemon Daemon::start(const std::string& pidfile) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Daemon{};
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t child = ::fork();
  if (child < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return Daemon{};
  }
  if (child == 0) {
    ::close(fds[0]);
    ::setsid();
    return Daemon{fds[1]};
  }
  ::close(fds[1]);
  char c = 0;
  ssize_t n;
  while ((n = ::read(fds[0], &c, 1)) < 0 && errno == EINTR) {
  }
  if (n == 1) {
    if (!pidfile.empty()) {
      std::ofstream out(pidfile, std::ios::trunc);
      out << child << '\n';
      if (!out) {
        fmt::print(stderr, "{}\n", core::stderr_line("ALERT", ::getpid(), fmt::format("[lb.main()] Cannot create pidfile {}", pidfile)));
        std::_Exit(1);
      }
    }
    std::_Exit(0);
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  std::_Exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}

Daemon::~Daemon() {
  if (ready_fd_ >= 0) ::close(ready_fd_);
}

void detach_stdio() {
  std::fflush(stdout);
  std::fflush(stderr);
  if (const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC); null >= 0) {
    for (const int fd : {0, 1, 2}) ::dup2(null, fd);
    ::close(null);
  }
}

void Daemon::ready() {
  if (ready_fd_ < 0) return;
  detach_stdio();
  const char c = 'r';
  while (::write(ready_fd_, &c, 1) < 0 && errno == EINTR) {
  }
  ::close(ready_fd_);
  ready_fd_ = -1;
}

void notify_systemd(std::string_view state) {
  const char* where = std::getenv("NOTIFY_SOCKET");
  if (!where || !*where) return;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string_view path(where);
  if (path.size() >= sizeof addr.sun_path || (path[0] != '/' && path[0] != '@')) return;
  std::memcpy(addr.sun_path, path.data(), path.size());
  if (path[0] == '@') addr.sun_path[0] = '\0';
  const socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + (path[0] == '@' ? 0 : 1));
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&addr), len);
  ::close(fd);
}

void say(std::string_view level, std::string_view text) {
  const auto line = core::stderr_line(level, static_cast<int>(::getpid()), text) + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace lb::net
