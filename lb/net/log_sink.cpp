#include "lb/net/log_sink.hpp"

#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/local/datagram_protocol.hpp>
#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <vector>

#include "lb/core/check/connect_failure.hpp"
#include "lb/core/config/values.hpp"
#include "lb/core/log/syslog.hpp"

namespace lb::net {
namespace asio = boost::asio;

namespace {

// One line, one write(2): lines from different sources never interleave mid-line.
void write_all(int fd, std::string_view rest) {
  while (!rest.empty()) {
    const ssize_t n = ::write(fd, rest.data(), rest.size());
    if (n <= 0) return;  // a closed stdout must not stop the balancer
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
}

void write_line(int fd, std::string line) {
  line.push_back('\n');
  write_all(fd, line);
}

// One destination of log datagrams or lines, each framed with its newline. Sends never block
// and never throw: a log target that is gone loses lines, as syslog over UDP does.
class Destination {
 public:
  virtual ~Destination() = default;
  // Returns whether this write left ENOTTY in errno, as HAProxy's would (FdDestination).
  virtual bool send(const std::string& framed) = 0;
};

class FdDestination final : public Destination {
 public:
  explicit FdDestination(int fd) : fd_(fd) {}
  bool send(const std::string& framed) override {
    // fd_write_frag_line() asks isatty() before its first write to a descriptor.
    const bool enotty = std::exchange(first_, false) && !::isatty(fd_);
    write_all(fd_, framed);
    return enotty;
  }

 private:
  int fd_;
  bool first_ = true;
};

// A syslog datagram socket: UDP (`log 127.0.0.1:514`) or a unix socket (`log /dev/log`).
template <class Protocol>
class DatagramDestination final : public Destination {
 public:
  DatagramDestination(asio::io_context& io, typename Protocol::endpoint to) : socket_(io), to_(std::move(to)) {
    boost::system::error_code ec;
    socket_.open(to_.protocol(), ec);
    socket_.non_blocking(true, ec);
  }
  bool send(const std::string& framed) override {
    boost::system::error_code ec;
    socket_.send_to(asio::buffer(framed), to_, 0, ec);
    return false;
  }

 private:
  typename Protocol::socket socket_;
  typename Protocol::endpoint to_;
};

// A `log` target, read as the config parser judged it (parse_socket_address); 514 by default.
std::unique_ptr<Destination> open_destination(asio::io_context& io, std::string_view target) {
  if (target == "stdout") return std::make_unique<FdDestination>(STDOUT_FILENO);
  if (target == "stderr") return std::make_unique<FdDestination>(STDERR_FILENO);
  const auto a = core::parse_socket_address(target, core::AddressUse::Log);
  if (!a) return nullptr;
  switch (a->kind) {
    case core::SocketAddress::Kind::Fd: return std::make_unique<FdDestination>(std::stoi(a->host));
    case core::SocketAddress::Kind::UnixPath:
      return std::make_unique<DatagramDestination<asio::local::datagram_protocol>>(
          io, asio::local::datagram_protocol::endpoint(a->host));
    case core::SocketAddress::Kind::Ip: break;
  }
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(a->host.empty() ? "127.0.0.1" : a->host, ec);
  if (ec) return nullptr;
  return std::make_unique<DatagramDestination<asio::ip::udp>>(io, asio::ip::udp::endpoint(address, a->port.value_or(514)));
}

}  // namespace

struct LogSink::Impl {
  struct Route {
    core::LogTarget target;
    Destination* to;
  };
  // A proxy's targets (its own, then the global ones for `log global`) and the tag its lines carry.
  struct Routes {
    std::string name;  // the proxy's
    std::vector<Route> to;
    std::string tag;
  };
  LogIdentity who;
  std::optional<std::string> hostname;  // log-send-hostname's
  std::size_t max_message = core::kDefaultLogLength - 1;
  bool foreground;
  std::map<std::string, std::unique_ptr<Destination>, std::less<>> destinations;
  std::vector<Routes> routes;  // [proxy]
  Routes global;

  Destination* destination(asio::io_context& io, const std::string& target) {
    auto it = destinations.find(target);
    if (it == destinations.end()) it = destinations.emplace(target, open_destination(io, target)).first;
    return it->second.get();
  }

  // Returns whether a write left ENOTTY (Destination::send).
  bool send(const Routes& routes, core::Severity s, std::string_view text) {
    core::SyslogIdentity id{routes.tag, who.pid, std::nullopt, max_message};
    if (hostname) id.hostname = *hostname;
    const auto now = std::chrono::system_clock::now();
    bool enotty = false;
    for (const auto& r : routes.to)
      if (r.to && core::target_accepts(r.target, s)) enotty |= r.to->send(core::frame_log_message(r.target, s, text, now, id));
    return enotty;
  }
};

LogSink::LogSink(const core::Config& config, asio::io_context& io, LogIdentity who, bool foreground)
    : impl_(std::make_unique<Impl>()) {
  impl_->who = std::move(who);
  impl_->foreground = foreground;
  impl_->max_message = core::max_log_message(config);
  if (const auto& h = config.global.log_send_hostname) impl_->hostname = h->empty() ? impl_->who.hostname : *h;
  impl_->global.tag = config.global.log_tag.empty() ? impl_->who.tag : config.global.log_tag;
  for (const auto& t : config.global.logs) impl_->global.to.push_back({t, impl_->destination(io, t.target)});
  for (const auto& p : config.proxies) {
    auto& routes = impl_->routes.emplace_back();
    routes.name = p.name;
    routes.tag = p.log_tag.empty() ? impl_->global.tag : p.log_tag;
    for (const auto& t : p.logs) routes.to.push_back({t, impl_->destination(io, t.target)});
    if (p.log_global) routes.to.insert(routes.to.end(), impl_->global.to.begin(), impl_->global.to.end());
  }
}

LogSink::~LogSink() = default;

void LogSink::server_state(std::size_t proxy, const core::LogLine& line) {
  if (impl_->foreground) write_line(STDERR_FILENO, core::foreground_line(line, impl_->who.pid));
  if (proxy < impl_->routes.size()) impl_->send(impl_->routes[proxy], line.severity, line.text);
}

void LogSink::traffic(std::size_t proxy, core::Severity severity, std::string_view text) {
  if (proxy < impl_->routes.size()) impl_->send(impl_->routes[proxy], severity, text);
}

bool LogSink::logs(std::size_t proxy) const {
  return proxy < impl_->routes.size() && !impl_->routes[proxy].to.empty();
}

void LogSink::process(core::Severity severity, std::string_view text) {
  const char* level = severity <= core::Severity::Alert ? "ALERT" : severity <= core::Severity::Warning ? "WARNING" : "NOTICE";
  write_line(STDERR_FILENO, core::stderr_line(level, impl_->who.pid, text));
  impl_->send(impl_->global, severity, text);
}

void LogSink::startup_warning(std::string_view text) {
  const int pid = impl_->who.startup_pid ? impl_->who.startup_pid : impl_->who.pid;
  write_line(STDERR_FILENO, core::stderr_line("WARNING", pid, fmt::format("config : {}", text)));
}

void LogSink::foreground_only(const core::LogLine& line) {
  if (impl_->foreground) write_line(STDERR_FILENO, core::foreground_line(line, impl_->who.pid));
}

void LogSink::foreground_text(std::string_view text) {
  if (impl_->foreground) write_line(STDERR_FILENO, std::string(text));
}

std::string LogSink::connect_failed(std::size_t backend, std::string_view reason) {
  if (backend >= impl_->routes.size()) return {};
  const auto line = core::connect_failed_line(impl_->routes[backend].name, reason);
  foreground_text(line);
  return impl_->send(impl_->routes[backend], core::Severity::Err, line) ? std::strerror(ENOTTY) : std::string();
}

}  // namespace lb::net
