// The listening sockets a worker hands to its master and the next worker inherits
// (lb/net/listen_sockets.hpp): names and descriptors across a socketpair, a socket still
// accepting on the other side, and a sender that dies before "ready".
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lb/net/listen_sockets.hpp"
#include "tests/support/sockets.hpp"

namespace lb::net {
namespace {

int connect_to(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  return fd;
}

TEST(ListenSockets, SocketsCrossTheChannelByNameAndStillAccept) {
  const auto [one, two] = handover_channel();
  ASSERT_GE(one, 0);
  const auto [fd, port] = test::loopback_listener();
  const auto [other, other_port] = test::loopback_listener();
  ASSERT_TRUE(send_sockets(one, {{"tcp 127.0.0.1:0", fd}, {"unix /run/x.sock", other}}));
  auto got = receive_sockets(two);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->all().size(), 2u);
  EXPECT_EQ(got->all()[0].first, "tcp 127.0.0.1:0");
  EXPECT_EQ(got->all()[1].first, "unix /run/x.sock");
  // The one received is the same socket: a connection to the first one's port waits in it.
  ::close(fd);
  const int client = connect_to(port);
  const int taken = got->take("tcp 127.0.0.1:0");
  ASSERT_GE(taken, 0);
  const int accepted = ::accept(taken, nullptr, nullptr);
  EXPECT_GE(accepted, 0);
  // Each socket is taken once; what is left stays owned by the set.
  EXPECT_EQ(got->take("tcp 127.0.0.1:0"), -1);
  EXPECT_EQ(got->take("tcp 127.0.0.1:1"), -1);
  EXPECT_EQ(got->all().size(), 1u);
  for (const int f : {client, taken, accepted, other, one, two}) ::close(f);
  (void)other_port;
}

TEST(ListenSockets, ASenderGoneBeforeReadyIsNoHandover) {
  const auto [one, two] = handover_channel();
  const auto [fd, port] = test::loopback_listener();
  // One socket, then the sender closes without "ready" (a worker that failed to start).
  ASSERT_TRUE(send_sockets(one, {}));  // an empty handover is fine ...
  EXPECT_TRUE(receive_sockets(two));
  const auto [three, four] = handover_channel();
  ::close(three);  // ... a closed channel is not
  EXPECT_FALSE(receive_sockets(four));
  for (const int f : {fd, one, two, four}) ::close(f);
  (void)port;
}

}  // namespace
}  // namespace lb::net
