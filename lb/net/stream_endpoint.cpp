#include "lb/net/stream_endpoint.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "lb/core/config/values.hpp"
#include "lb/net/listen_sockets.hpp"

namespace lb::net {

std::optional<StreamEndpoint> stream_endpoint(std::string_view host, std::uint16_t port) {
  if (const auto unix_address = core::unix_address(host)) {
    if (unix_address->socket_pair >= 0) return std::nullopt;
    sockaddr_un un{};
    un.sun_family = AF_UNIX;
    // The parser keeps paths within sun_path (core::parse_socket_address).
    const std::size_t room = sizeof un.sun_path - 1;
    const auto& path = unix_address->path;
    if (path.size() > room) return std::nullopt;
    if (unix_address->abstract) {
      std::memcpy(un.sun_path + 1, path.data(), path.size());
      return StreamEndpoint(&un, sizeof un);
    }
    std::memcpy(un.sun_path, path.data(), path.size());
    return StreamEndpoint(&un, offsetof(sockaddr_un, sun_path) + path.size() + 1);
  }
  const std::string text(host);
  sockaddr_in v4{};
  if (::inet_pton(AF_INET, text.c_str(), &v4.sin_addr) == 1) {
    v4.sin_family = AF_INET;
    v4.sin_port = htons(port);
    return StreamEndpoint(&v4, sizeof v4, IPPROTO_TCP);
  }
  sockaddr_in6 v6{};
  if (::inet_pton(AF_INET6, text.c_str(), &v6.sin6_addr) == 1) {
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(port);
    return StreamEndpoint(&v6, sizeof v6, IPPROTO_TCP);
  }
  return std::nullopt;
}

EndpointParts endpoint_parts(const sockaddr* address, std::size_t size) {
  EndpointParts out;
  char text[INET6_ADDRSTRLEN] = {};
  if (address->sa_family == AF_INET && size >= sizeof(sockaddr_in)) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
    out.host = ::inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text) ? text : "";
    out.port = ntohs(v4->sin_port);
  } else if (address->sa_family == AF_INET6 && size >= sizeof(sockaddr_in6)) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
    out.host = ::inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text) ? text : "";
    out.port = ntohs(v6->sin6_port);
  } else if (address->sa_family == AF_UNIX) {
    const auto* un = reinterpret_cast<const sockaddr_un*>(address);
    const std::size_t n = size > offsetof(sockaddr_un, sun_path) ? size - offsetof(sockaddr_un, sun_path) : 0;
    out.unix_socket = true;
    // An abstract name ends at its first NUL, as HAProxy names it (the rest is padding).
    if (n > 0 && un->sun_path[0] == '\0')
      out.host = core::unix_host({std::string(un->sun_path + 1, ::strnlen(un->sun_path + 1, n - 1)), true});
    else
      out.host = core::unix_host({std::string(un->sun_path, ::strnlen(un->sun_path, n)), false});
  }
  return out;
}

EndpointParts endpoint_parts(const StreamEndpoint& e) { return endpoint_parts(e.data(), e.size()); }

namespace {
template <class Get>
EndpointParts parts_of(int fd, Get get) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (get(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return {};
  return endpoint_parts(reinterpret_cast<const sockaddr*>(&ss), len);
}
}  // namespace

EndpointParts local_parts(int fd) { return parts_of(fd, ::getsockname); }
EndpointParts peer_parts(int fd) { return parts_of(fd, ::getpeername); }

std::string endpoint_text(const EndpointParts& e) {
  return e.unix_socket ? e.host : core::format_host_port(e.host, e.port);
}

std::string endpoint_text(const StreamEndpoint& e) { return endpoint_text(endpoint_parts(e)); }

boost::system::error_code connect_socket_pair(StreamSocket& socket, int channel, bool& made) {
  int ends[2];
  made = ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) == 0;
  if (!made) return {errno, boost::system::system_category()};
  const bool passed = send_descriptor(channel, std::string_view("\0\0", 2), ends[0]);
  const int pass_error = errno;
  ::close(ends[0]);
  if (!passed) {
    ::close(ends[1]);
    return {pass_error ? pass_error : EPIPE, boost::system::system_category()};
  }
  boost::system::error_code ec;
  socket.assign(boost::asio::generic::stream_protocol(AF_UNIX, 0), ends[1], ec);
  if (ec) ::close(ends[1]);
  if (!ec) socket.non_blocking(true, ec);
  return ec;
}

boost::system::error_code pending_connect_error(int fd) {
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  return err == 0 ? boost::system::error_code() : boost::system::error_code(err, boost::system::system_category());
}

std::string bind_unix(int fd, const core::UnixAddress& address, std::optional<unsigned> mode,
                      const std::function<bool()>& release) {
  const auto endpoint = stream_endpoint(core::unix_host(address), 0);
  if (!endpoint) return "name too long for UNIX socket (limit usually 97)";
  const auto os = [] { return std::string(std::strerror(errno)); };
  const auto bind_failed = [&] {
    return errno == EADDRINUSE ? std::string("cannot bind UNIX socket (already in use)") : "cannot bind UNIX socket (" + os() + ")";
  };
  if (address.abstract) {
    constexpr int kRetries = 200;  // MAX_START_RETRIES, 10 ms apart
    for (int retry = 0;; ++retry) {
      if (::bind(fd, endpoint->data(), endpoint->size()) == 0) return {};
      if (errno != EADDRINUSE || retry == kRetries || !release) return bind_failed();
      // Nobody left to ask: one last try at once, as haproxy's retry = 0.
      if (!release()) retry = kRetries - 1;
      else ::usleep(10'000);
    }
  }
  const std::string& path = address.path;
  const std::string temp = fmt::format("{}.{}.tmp", path, ::getpid());
  const std::string back = fmt::format("{}.{}.bak", path, ::getpid());
  if (temp.size() >= sizeof(sockaddr_un::sun_path)) return "name too long for UNIX socket (limit usually 97)";
  for (const auto& stale : {temp, back})
    if (::unlink(stale.c_str()) < 0 && errno != ENOENT)
      return "error when trying to unlink previous UNIX socket (" + os() + ")";
  if (::link(path.c_str(), back.c_str()) < 0 && errno != ENOENT)
    return "error when trying to preserve previous UNIX socket (" + os() + ")";
  const auto temp_endpoint = stream_endpoint(core::unix_host({temp, false}), 0);
  if (::bind(fd, temp_endpoint->data(), temp_endpoint->size()) < 0) return bind_failed();
  if (mode && *mode != 0 && ::chmod(temp.c_str(), static_cast<mode_t>(*mode)) < 0) {  // as haproxy, 0 leaves it
    const std::string why = "cannot change UNIX socket ownership (" + os() + ")";
    ::unlink(temp.c_str());
    return why;
  }
  if (::rename(temp.c_str(), path.c_str()) < 0) {
    const std::string why = "cannot switch final and temporary UNIX sockets (" + os() + ")";
    if (::rename(back.c_str(), path.c_str()) < 0 && errno == ENOENT) ::unlink(path.c_str());
    ::unlink(temp.c_str());
    return why;
  }
  ::unlink(back.c_str());
  return {};
}

}  // namespace lb::net
