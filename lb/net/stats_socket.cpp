#include "lb/net/stats_socket.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <list>

#include "lb/core/config/values.hpp"
#include "lb/net/listen_sockets.hpp"
#include "lb/net/log_sink.hpp"
#include "lb/net/stream_endpoint.hpp"

namespace lb::net {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using unix_socket = asio::local::stream_protocol;

namespace {

// One CLI connection over any stream socket: read, feed, write the answer, until the core says
// the conversation is over or the peer goes quiet for `idle`.
template <class Socket>
class CliSession : public std::enable_shared_from_this<CliSession<Socket>> {
 public:
  CliSession(Socket socket, core::cli::Level level, core::RuntimeApi& api, std::chrono::milliseconds idle)
      : socket_(std::move(socket)), timer_(socket_.get_executor()), conn_(level, api.handler()), idle_(idle) {}

  void start() { read(); }
  void close() {
    boost::system::error_code ec;
    timer_.cancel();
    socket_.close(ec);
  }

 private:
  void read() {
    timer_.expires_after(idle_);
    timer_.async_wait([self = this->shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) self->close();
    });
    socket_.async_read_some(asio::buffer(buf_), [self = this->shared_from_this()](const boost::system::error_code& ec,
                                                                                  std::size_t n) {
      self->timer_.cancel();
      // The peer closed or failed: an unfinished command is dropped, as HAProxy drops it.
      if (ec) return self->close();
      self->out_ = self->conn_.feed(std::string_view(self->buf_.data(), n));
      self->write();
    });
  }
  void write() {
    if (out_.empty()) return conn_.done() ? shutdown() : read();
    asio::async_write(socket_, asio::buffer(out_),
                      [self = this->shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                        if (ec) return self->close();
                        self->out_.clear();
                        self->conn_.done() ? self->shutdown() : self->read();
                      });
  }
  void shutdown() {
    boost::system::error_code ec;
    socket_.shutdown(Socket::shutdown_both, ec);
    close();
  }

  Socket socket_;
  asio::steady_timer timer_;
  core::cli::Connection conn_;
  std::chrono::milliseconds idle_;
  std::array<char, 4096> buf_{};
  std::string out_;
};

}  // namespace

struct StatsSockets::Impl {
  struct Listener {
    const core::StatsSocket* config = nullptr;
    std::unique_ptr<tcp::acceptor> inet;
    std::unique_ptr<unix_socket::acceptor> local;
    std::string key;    // its name in a ListenSockets handover
    ino_t inode = 0;    // of the socket file bound, so that stop() removes only its own
  };

  Impl(const core::Config& c, asio::io_context& i, core::RuntimeApi& a, LogSink& l)
      : config(c), io(i), api(a), log(l) {}

  template <class Acceptor, class Socket>
  void accept(Acceptor& acceptor, const core::StatsSocket& sock) {
    acceptor.async_accept([this, &acceptor, &sock](const boost::system::error_code& ec, Socket s) {
      if (!accepting) return;
      if (!ec) {
        ++accepted;
        auto session = std::make_shared<CliSession<Socket>>(std::move(s), sock.level, api, config.global.stats_timeout);
        session->start();
      }
      accept<Acceptor, Socket>(acceptor, sock);
    });
  }

  // A channel each message of which brings one connected socket (SCM_RIGHTS): the master CLI's
  // commands for this worker, or a `stats socket sockpair@N`'s connections.
  void serve_passed(asio::posix::stream_descriptor& channel, core::cli::Level level) {
    channel.async_wait(asio::posix::stream_descriptor::wait_read, [this, &channel, level](const boost::system::error_code& ec) {
      if (ec) return;
      const bool open = take_passed_descriptors(channel.native_handle(), [&](int fd) {
        unix_socket::socket s(io);
        boost::system::error_code aec;
        s.assign(unix_socket(), fd, aec);
        if (aec) return static_cast<void>(::close(fd));
        ++accepted;
        std::make_shared<CliSession<unix_socket::socket>>(std::move(s), level, api, config.global.stats_timeout)->start();
      });
      if (!open) {
        boost::system::error_code ignored;
        channel.close(ignored);  // the sender is gone
        return;
      }
      serve_passed(channel, level);
    });
  }
  void serve_passed(std::unique_ptr<asio::posix::stream_descriptor>& slot, int fd, core::cli::Level level) {
    slot = std::make_unique<asio::posix::stream_descriptor>(io, fd);
    serve_passed(*slot, level);
  }

  const core::Config& config;
  asio::io_context& io;
  core::RuntimeApi& api;
  LogSink& log;
  // The master's channel stays open until the process leaves: an old worker still answers
  // `@!PID`. The sockpair@ channels stop with the listeners.
  std::unique_ptr<asio::posix::stream_descriptor> master;
  std::vector<std::unique_ptr<asio::posix::stream_descriptor>> passed;
  std::list<Listener> listeners;
  // Every socket served, socket pairs included, as listening() names them; the master's channel
  // (a worker of `-W`) comes last, as in haproxy's list.
  std::vector<std::string> names;
  std::string master_name;
  bool accepting = true;
  long accepted = 0;
};

namespace {

// A bound socket as `show cli sockets` names it (cli.c, cli_io_handler_show_cli_sock):
// "unix@PATH", "abns@NAME", "ipv4@ADDR:PORT", "ipv6@[ADDR]:PORT".
std::string cli_socket_name(int fd) {
  const auto bound = local_parts(fd);
  if (bound.host.empty()) return "unknown";
  if (bound.unix_socket) return bound.host;
  return (bound.host.find(':') != std::string::npos ? "ipv6@" : "ipv4@") + core::format_host_port(bound.host, bound.port);
}

}  // namespace

StatsSockets::StatsSockets(const core::Config& config, asio::io_context& io, core::RuntimeApi& api, LogSink& log)
    : impl_(std::make_unique<Impl>(config, io, api, log)) {}

StatsSockets::~StatsSockets() { stop(); }

bool StatsSockets::bind_all(ListenSockets* handover) {
  bool ok = true;
  for (const auto& sock : impl_->config.global.stats_sockets) {
    Impl::Listener l;
    l.config = &sock;
    boost::system::error_code ec;
    std::string where;
    bool failed = false;  // a failure haproxy words itself, with no OS error behind it
    if (sock.fd >= 0 && sock.socket_pair) {
      // `sockpair@N`: whoever holds the other end passes connections over it.
      const int fd = ::dup(sock.fd);
      if (fd < 0) {
        impl_->log.process(core::Severity::Alert, fmt::format("Binding [{}:{}] for frontend GLOBAL: cannot use socket pair {} ({})",
                                                              sock.pos.file, sock.pos.line, sock.fd, std::strerror(errno)));
        ok = false;
        continue;
      }
      impl_->serve_passed(impl_->passed.emplace_back(), fd, sock.level);
      impl_->names.push_back(fmt::format("sockpair@{} {}", sock.fd, core::cli::level_name(sock.level)));
      continue;
    }
    if (sock.fd >= 0) {
      // `fd@N`: a listening socket lb was started with; its family is what getsockname() says.
      l.key = fmt::format("fd {}", sock.fd);
      sockaddr_storage addr{};
      socklen_t len = sizeof(addr);
      const int fd = handover ? handover->take(l.key) : -1;
      const int use = fd >= 0 ? fd : sock.fd;
      if (::getsockname(use, reinterpret_cast<sockaddr*>(&addr), &len) != 0) ec.assign(errno, boost::system::system_category());
      if (!ec && addr.ss_family == AF_UNIX) {
        l.local = std::make_unique<unix_socket::acceptor>(impl_->io);
        l.local->assign(unix_socket(), use, ec);
        if (!ec) l.local->listen(asio::socket_base::max_listen_connections, ec);
      } else if (!ec) {
        l.inet = std::make_unique<tcp::acceptor>(impl_->io);
        l.inet->assign(addr.ss_family == AF_INET6 ? tcp::v6() : tcp::v4(), use, ec);
        if (!ec) l.inet->listen(asio::socket_base::max_listen_connections, ec);
      }
      where = fmt::format("cannot listen on file descriptor {} ({})", sock.fd, std::strerror(ec.value()));
    } else if (!sock.path.empty()) {
      l.key = "unix " + sock.path;
      l.local = std::make_unique<unix_socket::acceptor>(impl_->io);
      const unix_socket::endpoint ep(sock.path);
      std::string failure;  // haproxy's words for a bind that failed
      if (const int fd = handover ? handover->take(l.key) : -1; fd >= 0) {
        l.local->assign(ep.protocol(), fd, ec);
      } else {
        l.local->open(ep.protocol(), ec);
        if (!ec) failure = bind_unix(l.local->native_handle(), core::UnixAddress{sock.path, false}, sock.mode);
        if (!ec && failure.empty()) l.local->listen(asio::socket_base::max_listen_connections, ec);
      }
      struct stat st {};
      if (!ec && failure.empty() && ::stat(sock.path.c_str(), &st) == 0) l.inode = st.st_ino;
      where = fmt::format("{} [{}]", !failure.empty() ? failure : fmt::format("cannot bind UNIX socket ({})", std::strerror(ec.value())),
                          sock.path);
      failed = !failure.empty();
    } else {
      l.inet = std::make_unique<tcp::acceptor>(impl_->io);
      const tcp::endpoint ep(asio::ip::make_address(sock.host, ec), sock.port);
      l.key = fmt::format("tcp {}:{}", sock.host, sock.port);
      if (const int fd = handover && !ec ? handover->take(l.key) : -1; fd >= 0) {
        l.inet->assign(ep.protocol(), fd, ec);
      } else {
        if (!ec) l.inet->open(ep.protocol(), ec);
        if (!ec) l.inet->set_option(asio::socket_base::reuse_address(true), ec);
        if (!ec) l.inet->set_option(asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true), ec);
        if (!ec) l.inet->bind(ep, ec);
        if (!ec) l.inet->listen(asio::socket_base::max_listen_connections, ec);
      }
      where = fmt::format("cannot bind socket ({}) for [{}:{}]", std::strerror(ec.value()), sock.host, sock.port);
    }
    if (ec || failed) {
      impl_->log.process(core::Severity::Alert, fmt::format("Binding [{}:{}] for frontend GLOBAL: {}", sock.pos.file,
                                                            sock.pos.line, where));
      ok = false;
      continue;
    }
    // A path is named as configured: haproxy's address is the path it was asked for.
    impl_->names.push_back(fmt::format("{} {}",
                                       !sock.path.empty() ? "unix@" + sock.path
                                                          : cli_socket_name(l.local ? l.local->native_handle() : l.inet->native_handle()),
                                       core::cli::level_name(sock.level)));
    impl_->listeners.push_back(std::move(l));
  }
  if (!ok) {
    impl_->log.process(core::Severity::Alert,
                       "[haproxy.main()] Some protocols failed to start their listeners! Exiting.");
    return false;
  }
  for (auto& l : impl_->listeners) {
    if (l.local) impl_->accept<unix_socket::acceptor, unix_socket::socket>(*l.local, *l.config);
    else impl_->accept<tcp::acceptor, tcp::socket>(*l.inet, *l.config);
  }
  return true;
}

void StatsSockets::serve_master(int channel) {
  impl_->serve_passed(impl_->master, channel, core::cli::Level::Admin);
  impl_->master_name = fmt::format("sockpair@{} admin", channel);
}

long StatsSockets::accepted() const { return impl_->accepted; }

std::vector<std::string> StatsSockets::listening() const {
  auto out = impl_->names;
  if (!impl_->master_name.empty()) out.push_back(impl_->master_name);
  return out;
}

std::vector<std::pair<std::string, int>> StatsSockets::listen_sockets() const {
  std::vector<std::pair<std::string, int>> out;
  for (auto& l : impl_->listeners) {
    if (l.local && l.local->is_open()) out.emplace_back(l.key, l.local->native_handle());
    if (l.inet && l.inet->is_open()) out.emplace_back(l.key, l.inet->native_handle());
  }
  return out;
}

void StatsSockets::stop(bool remove_files) {
  impl_->accepting = false;
  for (auto& channel : impl_->passed) {
    boost::system::error_code ec;
    channel->close(ec);
  }
  impl_->passed.clear();
  for (auto& l : impl_->listeners) {
    boost::system::error_code ec;
    if (l.local) {
      l.local->close(ec);
      // A newer process may have bound the path since (`-sf`): its file stays.
      struct stat st {};
      if (remove_files && ::stat(l.config->path.c_str(), &st) == 0 && st.st_ino == l.inode)
        ::unlink(l.config->path.c_str());
    }
    if (l.inet) l.inet->close(ec);
  }
  impl_->listeners.clear();
  impl_->names.clear();
}

}  // namespace lb::net
