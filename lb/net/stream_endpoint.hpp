#pragma once
// Addresses of the stream sockets lb listens and connects on, whatever their family: an IP
// address and a port, or a UNIX socket in core::UnixAddress's form ("unix@PATH", "abns@NAME").
// Asio's generic endpoint carries them all, so that one socket type serves every family.
#include <sys/socket.h>

#include <boost/asio/basic_socket_acceptor.hpp>
#include <boost/asio/generic/stream_protocol.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace lb::core {
struct UnixAddress;
}

namespace lb::net {

using StreamEndpoint = boost::asio::generic::stream_protocol::endpoint;
using StreamSocket = boost::asio::generic::stream_protocol::socket;
using StreamAcceptor = boost::asio::basic_socket_acceptor<boost::asio::generic::stream_protocol>;

// `host` an IP literal (with `port`) or a UNIX address; nullopt for anything else (a name, a
// socket pair, which connect_socket_pair connects). An abstract name fills the whole of sun_path, zero-padded, as HAProxy binds and
// connects it.
std::optional<StreamEndpoint> stream_endpoint(std::string_view host, std::uint16_t port);

// A connection to a `server sockpair@N`, as HAProxy makes one (sockpair_connect_server): a new
// socket pair, one end passed over `channel` (N) with two bytes, the other end `socket`'s, open
// and connected at once. The error when it could not be made: `made` false when socketpair()
// failed (HAProxy's SF_ERR_RESOURCE, retried), else the end could not be passed (EPIPE when
// nobody holds N's other end): HAProxy warns "Failed to transfer socket" then, and takes it for
// an internal error (SF_ERR_INTERNAL).
boost::system::error_code connect_socket_pair(StreamSocket& socket, int channel, bool& made);

// A socket address in the form stream_endpoint() reads: the host ("127.0.0.1", "::1",
// "unix@/run/x.sock", "abns@name") and the port (0 for a UNIX socket).
struct EndpointParts {
  std::string host;
  std::uint16_t port = 0;
  bool unix_socket = false;
};
EndpointParts endpoint_parts(const sockaddr* address, std::size_t size);
EndpointParts endpoint_parts(const StreamEndpoint& e);
// A socket's own address (getsockname) or its peer's (getpeername); an empty host on failure.
EndpointParts local_parts(int fd);
EndpointParts peer_parts(int fd);

// "127.0.0.1:80", "[::1]:80", "unix@/run/x.sock", "abns@name".
std::string endpoint_text(const EndpointParts& e);
std::string endpoint_text(const StreamEndpoint& e);

// The outcome of a non-blocking connect() once its socket is writable (SO_ERROR): none on success.
boost::system::error_code pending_connect_error(int fd);

// Binds `fd` to a UNIX address as HAProxy binds one (sock_unix_bind_receiver): a path under
// PATH.PID.tmp first, given `mode`, then renamed over PATH, so that a file an earlier process
// left, or still listens on, is replaced whole; an abstract name as it is. "" on success, else
// HAProxy's words for what failed ("cannot bind UNIX socket (No such file or directory)").
// `release`, for an abstract name in use: asks the processes being replaced (-sf/-st) to let go
// of it, false when none could be asked; the bind is then tried again every 10 ms for up to 2 s,
// as HAProxy retries its binds after SIGTTOU (each name here, where HAProxy retries them all).
std::string bind_unix(int fd, const core::UnixAddress& address, std::optional<unsigned> mode = std::nullopt,
                      const std::function<bool()>& release = {});

}  // namespace lb::net
