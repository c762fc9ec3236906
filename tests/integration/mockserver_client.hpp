#pragma once
// Raw-socket probes for the mockserver integration tests: what a client observes (refused,
// timed out, reset, EOF, bytes), each with a deadline. Loopback only. Deadlines for things that
// must happen are generous (kPatience): they only matter when a test fails, and a loaded CI
// machine may stall a step for seconds. Short deadlines only bound checks for silence.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <utility>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/child.hpp"
#include "tests/support/ports.hpp"

namespace lb::test {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kPatience{10000};

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    reset();
    fd_ = std::exchange(o.fd_, -1);
    return *this;
  }
  ~Fd() { reset(); }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

struct Connected {
  Fd fd;
  int error = 0;  // 0, ECONNREFUSED, ETIMEDOUT, ...
};

// A listening socket on 127.0.0.1 at a port the kernel picks, for a scripted test backend.
inline Fd listen_on_loopback(int& port) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::listen(fd.get(), 64);
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len);
  port = ntohs(a.sin_port);
  return fd;
}

// The next connection `listener` accepts within `timeout`; an empty Fd when none came.
inline Fd accept_within(int listener, milliseconds timeout) {
  pollfd p{listener, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return Fd();
  return Fd(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
}

// Non-blocking connect bounded by `timeout`; a dropped SYN shows up as ETIMEDOUT.
inline Connected connect_to(int port, milliseconds timeout = kPatience,
                            const char* host = "127.0.0.1") {
  const bool v6 = std::string_view(host).find(':') != std::string_view::npos;
  Fd fd(::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (v6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(static_cast<uint16_t>(port));
    ::inet_pton(AF_INET6, host, &a->sin6_addr);
    len = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(static_cast<uint16_t>(port));
    ::inet_pton(AF_INET, host, &a->sin_addr);
    len = sizeof *a;
  }
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) == 0) return {std::move(fd), 0};
  if (errno != EINPROGRESS) return {Fd(), errno};
  pollfd p{fd.get(), POLLOUT, 0};
  const int n = ::poll(&p, 1, static_cast<int>(timeout.count()));
  if (n == 0) return {Fd(), ETIMEDOUT};
  int err = 0;
  socklen_t el = sizeof err;
  ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &el);
  if (err != 0) return {Fd(), err};
  return {std::move(fd), 0};
}

inline bool send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EAGAIN) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, static_cast<int>(kPatience.count())) <= 0) return false;
      continue;
    }
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

enum class End { Eof, Reset, Timeout, Done };

inline const char* to_string(End e) {
  switch (e) {
    case End::Eof: return "EOF";
    case End::Reset: return "ECONNRESET";
    case End::Timeout: return "timeout";
    case End::Done: return "done";
  }
  return "?";
}

struct Received {
  std::string bytes;
  End end = End::Timeout;
  milliseconds elapsed{0};
  // Milliseconds since the read began at which each chunk arrived.
  std::vector<long> arrivals;
};

// Reads until EOF, RST, `timeout` without the stop condition, or `done(bytes)` returns true.
template <class Done>
Received read_until(int fd, milliseconds timeout, Done done) {
  Received r;
  const auto start = Clock::now();
  const auto deadline = start + timeout;
  char buf[65536];
  while (true) {
    if (done(std::string_view(r.bytes))) {
      r.end = End::Done;
      break;
    }
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      r.end = End::Timeout;
      break;
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) == 0) continue;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      r.bytes.append(buf, static_cast<std::size_t>(n));
      r.arrivals.push_back(std::chrono::duration_cast<milliseconds>(Clock::now() - start).count());
      continue;
    }
    if (n == 0) {
      r.end = End::Eof;
      break;
    }
    if (errno == EAGAIN || errno == EINTR) continue;
    r.end = errno == ECONNRESET ? End::Reset : End::Eof;
    break;
  }
  r.elapsed = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
  return r;
}

inline Received read_to_end(int fd, milliseconds timeout) {
  return read_until(fd, timeout, [](std::string_view) { return false; });
}

// Reads until exactly `expected` arrived (or more, or EOF/RST, or kPatience), then listens for
// `quiet` more: the result holds everything, and `end` says how the quiet period ended.
inline Received read_exactly_then_silence(int fd, std::string_view expected, milliseconds quiet) {
  Received first = read_until(fd, kPatience, [&](std::string_view b) { return b.size() >= expected.size(); });
  if (first.end != End::Done) return first;
  Received rest = read_to_end(fd, quiet);
  first.bytes += rest.bytes;
  first.end = rest.end;
  return first;
}

// True once `bytes` hold one complete response with a Content-Length body (or none).
inline bool complete_response(std::string_view bytes, bool head = false) {
  const auto end = bytes.find("\r\n\r\n");
  if (end == std::string_view::npos) return false;
  const auto head_text = bytes.substr(0, end);
  std::size_t length = 0;
  const auto cl = head_text.find("Content-Length: ");
  if (cl != std::string_view::npos && !head) length = std::stoul(std::string(head_text.substr(cl + 16, 12)));
  return bytes.size() >= end + 4 + length;
}

inline Received read_response(int fd, milliseconds timeout = kPatience, bool head = false) {
  return read_until(fd, timeout, [head](std::string_view b) { return complete_response(b, head); });
}

// One request on a fresh connection; reads to EOF/RST/timeout.
inline Received request_once(int port, std::string_view request, milliseconds timeout = kPatience) {
  auto c = connect_to(port);
  EXPECT_EQ(c.error, 0) << std::strerror(c.error);
  if (c.error != 0) return {};
  send_all(c.fd.get(), request);
  return read_to_end(c.fd.get(), timeout);
}

// GET/OPTIONS/... with HTTP/1.1 and Connection: close; returns the whole reply.
inline Received http(int port, std::string_view method, std::string_view path,
                     std::string_view extra_headers = "") {
  std::string req = std::string(method) + " " + std::string(path) +
                    " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n" + std::string(extra_headers) + "\r\n";
  return request_once(port, req);
}

inline int status_of(std::string_view response) {
  if (!response.starts_with("HTTP/1.1 ") || response.size() < 12) return -1;
  return std::stoi(std::string(response.substr(9, 3)));
}

inline std::string body_of(std::string_view response) {
  const auto end = response.find("\r\n\r\n");
  return end == std::string_view::npos ? std::string() : std::string(response.substr(end + 4));
}

struct AdminReply {
  int status = -1;
  boost::json::value json;
  std::string raw;
};

inline AdminReply admin_call(int port, std::string_view method, std::string_view target,
                             std::string_view body = {}, milliseconds timeout = kPatience) {
  std::string req = std::string(method) + " " + std::string(target) +
                    " HTTP/1.1\r\nHost: admin\r\nConnection: close\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
  auto c = connect_to(port);
  if (c.error != 0) return {};
  send_all(c.fd.get(), req);
  const auto r = read_response(c.fd.get(), timeout);
  AdminReply a;
  a.raw = r.bytes;
  a.status = status_of(r.bytes);
  boost::system::error_code ec;
  a.json = boost::json::parse(body_of(r.bytes), ec);
  return a;
}

// A mockserver process with an admin port, started on port 0.
class Mock {
 public:
  explicit Mock(std::vector<std::string> args) {
    args.push_back("--admin");
    args.push_back("127.0.0.1:0");
    child_ = Child::start(MOCKSERVER_BIN, args);
    for (const auto& line : child_.stdout_lines()) {
      if (line.starts_with("admin ")) admin_port_ = std::stoi(line.substr(line.rfind(':') + 1));
      if (line.starts_with("dns ")) dns_port_ = std::stoi(line.substr(line.rfind(':') + 1));
    }
  }
  int port(std::string_view name = "s1") const { return child_.port(name); }
  int admin_port() const { return admin_port_; }
  int dns_port() const { return dns_port_; }  // with --dns; -1 without
  Child& child() { return child_; }
  AdminReply call(std::string_view method, std::string_view target, std::string_view body = {},
                  milliseconds timeout = kPatience) const {
    return admin_call(admin_port_, method, target, body, timeout);
  }
  // Blocks on the server's own barrier until `count` journal entries match `filter`.
  bool wait_journal(std::string_view filter, int count = 1,
                    int timeout_ms = static_cast<int>(kPatience.count())) const {
    const auto r = call("GET", "/v1/wait?" + std::string(filter) + "&count=" + std::to_string(count) +
                                   "&timeout_ms=" + std::to_string(timeout_ms),
                        {}, milliseconds(timeout_ms) + kPatience);
    return r.status == 200;
  }
  boost::json::array journal(std::string_view filter = "") const {
    const auto r = call("GET", "/v1/journal?" + std::string(filter));
    if (!r.json.is_object()) return {};
    return r.json.at("entries").as_array();
  }

 private:
  Child child_;
  int admin_port_ = -1;
  int dns_port_ = -1;
};

// A haproxy.cfg (logging to stdout) whose backend `be` checks one server `s1` at 127.0.0.1:PORT
// with `option httpchk GET /health` and the `server` line's `check_options`.
inline std::string haproxy_checking(int port, std::string_view check_options, std::string_view timeout_check) {
  return "global\n    log stdout format raw local0\ndefaults\n    mode http\n    log global\n"
         "    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n    timeout check " +
         std::string(timeout_check) + "\nfrontend fe\n    bind 127.0.0.1:" + std::to_string(free_tcp_port()) +
         "\n    default_backend be\nbackend be\n    option httpchk GET /health\n    server s1 127.0.0.1:" +
         std::to_string(port) + " " + std::string(check_options) + "\n";
}

}  // namespace lb::test
