#include "harness/live/ports.hpp"

#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <fstream>
#include <stdexcept>

namespace lbh {
namespace {

// The kernel's ephemeral range, where outgoing connections (thousands, in the load tests) take
// their source ports: a port picked there may be taken before the child binds it.
std::pair<int, int> ephemeral_range() {
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  int lo = 32768, hi = 60999;
  in >> lo >> hi;
  return {lo, hi};
}

bool bindable(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

bool tcp_port_listening(int port) {
  // A sock_diag dump of the listening TCP sockets only: the kernel filters by state, so the
  // answer stays small however many connections the machine has (/proc/net/tcp lists them all).
  for (const int family : {AF_INET, AF_INET6}) {
    const int fd = ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd < 0) return false;
    struct {
      nlmsghdr header;
      inet_diag_req_v2 request;
    } ask{};
    ask.header.nlmsg_len = sizeof ask;
    ask.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    ask.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    ask.request.sdiag_family = static_cast<std::uint8_t>(family);
    ask.request.sdiag_protocol = IPPROTO_TCP;
    ask.request.idiag_states = 1U << TCP_LISTEN;
    bool found = false, done = ::send(fd, &ask, sizeof ask, 0) != static_cast<ssize_t>(sizeof ask);
    alignas(nlmsghdr) char buf[16384];
    while (!done) {
      const ssize_t got = ::recv(fd, buf, sizeof buf, 0);
      if (got <= 0) break;
      auto left = static_cast<unsigned>(got);
      for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, left) && !done; h = NLMSG_NEXT(h, left)) {
        if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
          done = true;
        } else if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY) {
          const auto* m = static_cast<const inet_diag_msg*>(NLMSG_DATA(h));
          found |= ntohs(m->id.idiag_sport) == port;
        }
      }
    }
    ::close(fd);
    if (found) return true;
  }
  return false;
}

int free_tcp_port() {
  // Below the ephemeral range, each test process walking its own stride from a pid-based start
  // so that parallel test processes do not pick the same ports.
  const auto [lo, hi] = ephemeral_range();
  const int first = 10000, last = std::max(first + 1000, lo - 1);
  static std::atomic<int> next{first + static_cast<int>(::getpid() * 97 % (last - first))};
  for (int tries = 0; tries < last - first; ++tries) {
    int port = next.fetch_add(1);
    if (port >= last) {
      next = first;
      port = next.fetch_add(1);
    }
    if (bindable(port)) return port;
  }
  (void)hi;
  throw std::runtime_error("free_tcp_port: no free port below the ephemeral range");
}

}  // namespace lbh
