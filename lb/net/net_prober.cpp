#include "lb/net/net_prober.hpp"

#include <sys/socket.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <cstring>
#include <utility>

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

  void start(const core::ProbeTarget& target) {
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(target.host, ec);
    if (ec) {
      asio::post(socket_.get_executor(), [self = shared_from_this()] {
        if (self->events_) self->events_->on_error(std::strerror(EINVAL));
      });
      return;
    }
    socket_.async_connect(tcp::endpoint(address, target.port),
                          [self = shared_from_this()](const boost::system::error_code& e) { self->on_connect(e); });
  }

  void send(std::string_view bytes) {
    const bool idle = pending_.empty() && !write_in_flight_;
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
  void on_connect(const boost::system::error_code& ec) {
    if (!events_) return;
    if (ec) return fail(ec);
    connected_ = true;
    boost::system::error_code ignored;
    socket_.set_option(tcp::no_delay(true), ignored);
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
    events_->on_data(std::string_view(buffer_.data(), n));
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

  tcp::socket socket_;
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
  session->start(target);
  return std::make_unique<Handle>(std::move(session));
}

}  // namespace lb::net
