#include "lb/net/listen_sockets.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "lb/core/config/parser.hpp"
#include "lb/net/stream_endpoint.hpp"

namespace lb::net {

core::InheritedSocket inspect_inherited_socket(int fd) {
  core::InheritedSocket out;
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    out.error = std::strerror(errno);
    return out;
  }
  int type = 0;
  socklen_t type_len = sizeof type;
  out.stream = ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_len) == 0 && type == SOCK_STREAM;
  const auto bound = endpoint_parts(reinterpret_cast<const sockaddr*>(&ss), len);
  out.ip = !bound.unix_socket && !bound.host.empty();
  out.host = bound.host;
  out.port = bound.port;
  return out;
}

namespace {
constexpr std::string_view kReady = "ready";
constexpr std::size_t kMaxName = 4096;
}  // namespace

ListenSockets::~ListenSockets() {
  for (const auto& [key, fd] : sockets_) ::close(fd);
}

ListenSockets& ListenSockets::operator=(ListenSockets&& o) noexcept {
  if (this != &o) {
    for (const auto& [key, fd] : sockets_) ::close(fd);
    sockets_ = std::exchange(o.sockets_, {});
  }
  return *this;
}

int ListenSockets::take(std::string_view key) {
  const auto it = std::find_if(sockets_.begin(), sockets_.end(), [&](const auto& s) { return s.first == key; });
  if (it == sockets_.end()) return -1;
  const int fd = it->second;
  sockets_.erase(it);
  return fd;
}

void ListenSockets::add(std::string key, int fd) { sockets_.emplace_back(std::move(key), fd); }

std::pair<int, int> handover_channel() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0) return {-1, -1};
  return {fds[0], fds[1]};
}

bool send_descriptor(int channel, std::string_view name, int fd) {
  iovec iov{const_cast<char*>(name.data()), name.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(int))> control{};
  if (fd >= 0) {
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
  }
  ssize_t n;
  do n = ::sendmsg(channel, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(name.size());
}

std::optional<Descriptor> receive_descriptor(int channel, int flags) {
  std::array<char, kMaxName> name{};
  iovec iov{name.data(), name.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(int))> control{};
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();
  ssize_t n;
  do n = ::recvmsg(channel, &msg, MSG_CMSG_CLOEXEC | flags);
  while (n < 0 && errno == EINTR);
  if (n <= 0) return std::nullopt;
  Descriptor d;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) std::memcpy(&d.fd, CMSG_DATA(c), sizeof(int));
  d.name.assign(name.data(), static_cast<std::size_t>(n));
  return d;
}

bool take_passed_descriptors(int channel, const std::function<void(int fd)>& take, const std::function<bool()>& more) {
  while (!more || more()) {
    errno = 0;  // an end of the channel leaves it untouched
    auto d = receive_descriptor(channel, MSG_DONTWAIT);
    if (!d) return errno == EAGAIN || errno == EWOULDBLOCK;
    if (d->fd >= 0) take(d->fd);
  }
  return true;
}

bool send_sockets(int channel, const std::vector<std::pair<std::string, int>>& sockets) {
  for (const auto& [name, fd] : sockets)
    if (name.size() > kMaxName || name == kReady || !send_descriptor(channel, name, fd)) return false;
  return send_descriptor(channel, kReady, -1);
}

std::optional<ListenSockets> receive_sockets(int channel) {
  ListenSockets out;
  for (;;) {
    auto d = receive_descriptor(channel);
    if (!d) return std::nullopt;
    if (d->name == kReady && d->fd < 0) return out;
    if (d->fd < 0) return std::nullopt;
    out.add(std::move(d->name), d->fd);
  }
}

}  // namespace lb::net
