#include "harness/live/cli_client.hpp"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace lbh {

CliReply cli_call(const std::string& socket_path, std::string_view commands, std::chrono::milliseconds timeout) {
  CliReply r;
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return {{}, std::strerror(errno)};
  const std::unique_ptr<const int, void (*)(const int*)> closer(&fd, [](const int* f) { ::close(*f); });
  // Every send and receive is bounded by the timeout.
  timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path) return {{}, "socket path too long"};
  std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return {{}, std::strerror(errno)};
  while (!commands.empty()) {
    const ssize_t n = ::send(fd, commands.data(), commands.size(), MSG_NOSIGNAL);
    if (n <= 0) return {{}, n < 0 && errno == EAGAIN ? "send timed out" : std::strerror(errno)};
    commands.remove_prefix(static_cast<std::size_t>(n));
  }
  char buf[16384];
  while (true) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0) return r;
    if (n < 0) {
      if (errno == EINTR) continue;
      r.error = errno == EAGAIN ? "timed out" : std::strerror(errno);
      return r;
    }
    r.answer.append(buf, static_cast<std::size_t>(n));
  }
}

}  // namespace lbh
