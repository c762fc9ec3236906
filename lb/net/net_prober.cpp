#include "lb/net/net_prober.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

#include "lb/core/config/values.hpp"
#include "lb/net/stream_endpoint.hpp"

namespace lb::net {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// The OS wording of an error, as HAProxy prints it in check infos ("Connection refused").
std::string os_text(const boost::system::error_code& ec) {
  if (ec.category() == boost::system::system_category()) return std::strerror(ec.value());
  if (ec == asio::error::eof) return "Connection reset by peer";
  return ec.message();
}

// One check connection. The session outlives its handle while a completion is pending; the
// `alive` flag, cleared by the handle, stops every event after that.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(asio::io_context& io, core::ProbeEvents& events) : socket_(io), events_(&events) {}

  // The connect() is issued here and its outcome delivered from the loop. On loopback the
  // handshake is over by the time connect() returns, so the outcome is looked at once, in a
  // posted step, before waiting for writability: the request then goes out in the same wake-up
  // as the connect, as HAProxy sends it, instead of one wake-up later.
  void start(const core::ProbeTarget& target, const std::function<void(std::string_view)>& warn) {
    boost::system::error_code ec;
    const auto unix_socket = core::unix_address(target.host);
    tcp_ = !unix_socket;
    if (unix_socket && unix_socket->socket_pair >= 0) {
      bool made = false;
      ec = connect_socket_pair(socket_, unix_socket->socket_pair, made);
      if (!ec) return deliver({});
      if (!made) return deliver(ec);
      if (warn) warn("Failed to transfer socket");
      return connect_failed(ec.value());  // "General socket error (Broken pipe)", as haproxy's
    }
    const auto endpoint = stream_endpoint(target.host, target.port);
    if (!endpoint) return deliver(boost::system::error_code(EINVAL, boost::system::system_category()));
    endpoint_ = *endpoint;
    socket_.open(endpoint_.protocol(), ec);
    if (!ec) socket_.non_blocking(true, ec);
    if (!ec && tcp_) socket_.set_option(tcp::no_delay(true), ec);  // as HAProxy sets it on every server connection
    if (ec) return deliver(ec);
    if (tcp_ && target.delayed_ack) {
      const int off = 0;
      ::setsockopt(socket_.native_handle(), IPPROTO_TCP, TCP_QUICKACK, &off, sizeof off);
    }
    if (::connect(socket_.native_handle(), endpoint_.data(), endpoint_.size()) == 0) return deliver({});
    if (errno != EINPROGRESS) return connect_failed(errno);
    asio::post(socket_.get_executor(), [self = shared_from_this()] { self->look_at_connect(); });
  }

  // A check request fits the socket buffer: it is written at once, and only what the socket
  // does not take waits for writability. A failure is delivered from the loop.
  void send(std::string_view bytes) {
    const bool idle = pending_.empty() && !write_in_flight_;
    if (idle && connected_) {
      const ssize_t n = ::send(socket_.native_handle(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n == static_cast<ssize_t>(bytes.size())) return;
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        const boost::system::error_code ec(errno, boost::system::system_category());
        asio::post(socket_.get_executor(), [self = shared_from_this(), ec] {
          if (self->events_) self->fail(ec);
        });
        return;
      }
      bytes.remove_prefix(n > 0 ? static_cast<std::size_t>(n) : 0);
    }
    pending_.append(bytes);
    if (idle && connected_) do_write();
  }

  // Called by the handle: no more events; close now, with a reset, as HAProxy closes checks
  // (no TIME_WAIT left behind on the checker's side).
  void close() {
    events_ = nullptr;
    boost::system::error_code ec;
    if (socket_.is_open()) {
      // Set on the descriptor directly: through Asio, a linger option makes close() switch the
      // socket back to blocking mode first (one more syscall per check).
      const ::linger reset{1, 0};
      ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
      socket_.close(ec);
    }
  }

 private:
  // connect() failed at once with `error`: delivered from the loop, as every event is.
  void connect_failed(int error) {
    asio::post(socket_.get_executor(), [self = shared_from_this(), error] {
      if (auto* events = std::exchange(self->events_, nullptr)) events->on_connect_failed(error, self->tcp_);
    });
  }

  void deliver(const boost::system::error_code& ec) {
    asio::post(socket_.get_executor(), [self = shared_from_this(), ec] { self->on_connect(ec); });
  }

  // A second connect() says in one call whether the first is through (EISCONN), failed (its
  // error), or still under way (EALREADY): then the socket's writability is awaited.
  void look_at_connect() {
    if (!events_) return;
    if (::connect(socket_.native_handle(), endpoint_.data(), endpoint_.size()) == 0 || errno == EISCONN)
      return on_connect({});
    if (errno != EALREADY && errno != EINPROGRESS)
      return on_connect(boost::system::error_code(errno, boost::system::system_category()));
    socket_.async_wait(asio::socket_base::wait_write, [self = shared_from_this()](const boost::system::error_code& ec) {
      if (!self->events_) return;
      self->on_connect(ec ? ec : pending_connect_error(self->socket_.native_handle()));
    });
  }

  void on_connect(const boost::system::error_code& ec) {
    if (!events_) return;
    if (ec) return fail(ec);
    connected_ = true;
    events_->on_connected();  // may send(), or destroy the handle
    if (!events_) return;
    if (!pending_.empty() && !write_in_flight_) do_write();
    do_read();
  }

  void do_read() {
    socket_.async_read_some(asio::buffer(buffer_),
                            [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
                              self->on_read(ec, n);
                            });
  }

  void on_read(const boost::system::error_code& ec, std::size_t n) {
    if (!events_) return;
    if (ec == asio::error::eof) {
      auto* events = std::exchange(events_, nullptr);  // nothing after the close
      return events->on_peer_closed();
    }
    if (ec) return fail(ec);
    // Like HAProxy's raw_sock_to_buf, read on until the socket has nothing more (or the buffer
    // is full), so that one read is what the check judges at once, and a reset or close right
    // behind the bytes comes with them.
    boost::system::error_code more;
    while (n < buffer_.size()) {
      const std::size_t got = socket_.read_some(asio::buffer(buffer_.data() + n, buffer_.size() - n), more);
      n += got;
      if (more || got == 0) break;
    }
    const std::string_view bytes(buffer_.data(), n);
    if (more == asio::error::eof) {
      events_->on_data(bytes);
      if (!events_) return;
      auto* events = std::exchange(events_, nullptr);
      return events->on_peer_closed();
    }
    if (more && more != asio::error::would_block && more != asio::error::try_again) {
      auto* events = std::exchange(events_, nullptr);  // nothing after an error
      return events->on_data_then_error(bytes, os_text(more));
    }
    events_->on_data(bytes);
    if (events_) do_read();
  }

  void do_write() {
    writing_.swap(pending_);
    pending_.clear();
    write_in_flight_ = true;
    asio::async_write(socket_, asio::buffer(writing_),
                      [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                        self->on_write(ec);
                      });
  }

  void on_write(const boost::system::error_code& ec) {
    write_in_flight_ = false;
    if (!events_) return;
    if (ec) return fail(ec);
    if (!pending_.empty()) do_write();
  }

  void fail(const boost::system::error_code& ec) {
    auto* events = std::exchange(events_, nullptr);  // nothing after an error
    events->on_error(os_text(ec));
  }

  StreamSocket socket_;
  StreamEndpoint endpoint_;
  bool tcp_ = true;
  core::ProbeEvents* events_;
  bool connected_ = false;
  bool write_in_flight_ = false;
  std::string pending_;
  std::string writing_;
  std::array<char, 16 * 1024> buffer_;  // HAProxy's check buffer size; not zeroed: only read into
};

class Handle final : public core::ProbeConnection {
 public:
  explicit Handle(std::shared_ptr<Session> s) : session_(std::move(s)) {}
  ~Handle() override { session_->close(); }
  void send(std::string_view bytes) override { session_->send(bytes); }

 private:
  std::shared_ptr<Session> session_;
};

}  // namespace

std::unique_ptr<core::ProbeConnection> NetProber::connect(const core::ProbeTarget& target, core::ProbeEvents& events) {
  auto session = std::make_shared<Session>(io_, events);
  session->start(target, warn_);
  return std::make_unique<Handle>(std::move(session));
}

}  // namespace lb::net
