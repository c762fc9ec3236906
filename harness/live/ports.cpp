#include "harness/live/ports.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
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
