#include "harness/live/http_client.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

#include "lb/core/http/request_parser.hpp"
#include "lb/core/text.hpp"

namespace lbh {
namespace {

using Clock = std::chrono::steady_clock;

int left_ms(Clock::time_point deadline) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return ms > 0 ? static_cast<int>(ms) : 0;
}

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

HttpReply http_call(int port, std::string_view method, std::string_view target, std::string_view body,
                    std::chrono::milliseconds timeout) {
  HttpReply r;
  const auto deadline = Clock::now() + timeout;
  Fd s{::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)};
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(s.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && errno != EINPROGRESS) {
    r.error = std::strerror(errno);
    return r;
  }
  pollfd p{s.fd, POLLOUT, 0};
  if (::poll(&p, 1, left_ms(deadline)) <= 0) {
    r.error = "connect timed out";
    return r;
  }
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) {
    r.error = std::strerror(err);
    return r;
  }
  const std::string req = fmt::format("{} {} HTTP/1.1\r\nHost: lbharness\r\n{}: 1\r\nConnection: close\r\n{}\r\n{}", method,
                                      target, kRequestMarker, body.empty() ? "" : fmt::format("Content-Length: {}\r\n", body.size()),
                                      body);
  std::string_view out = req;
  while (!out.empty()) {
    const ssize_t n = ::send(s.fd, out.data(), out.size(), MSG_NOSIGNAL);
    if (n > 0) {
      out.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EAGAIN) {
      pollfd w{s.fd, POLLOUT, 0};
      if (::poll(&w, 1, left_ms(deadline)) > 0) continue;
    }
    r.error = n < 0 ? std::strerror(errno) : "send timed out";
    return r;
  }
  std::string in;
  char buf[16384];
  while (true) {
    pollfd rd{s.fd, POLLIN, 0};
    if (::poll(&rd, 1, left_ms(deadline)) <= 0) {
      r.error = "timed out waiting for the response";
      break;
    }
    const ssize_t n = ::recv(s.fd, buf, sizeof buf, 0);
    if (n > 0) {
      in.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n < 0) r.error = std::strerror(errno);
    break;
  }
  // "HTTP/1.1 200 OK\r\n...\r\n\r\nbody"
  if (in.size() >= 12 && in.starts_with("HTTP/1.")) {
    r.status = std::atoi(in.c_str() + 9);
    const auto end = in.find("\r\n\r\n");
    if (end != std::string::npos) r.body = in.substr(end + 4);
    // A chunked body (the Prometheus exporter's) is given decoded.
    const auto head = lb::core::ascii_lower(in.substr(0, end == std::string::npos ? 0 : end));
    if (head.find("\r\ntransfer-encoding: chunked") != std::string::npos) {
      lb::core::ChunkedDecoder chunks;
      std::string decoded;
      chunks.feed(r.body, decoded);
      r.body = std::move(decoded);
    }
    r.error.clear();
  } else if (r.error.empty()) {
    r.error = in.empty() ? "connection closed without a response" : "not an HTTP response";
  }
  return r;
}

}  // namespace lbh
