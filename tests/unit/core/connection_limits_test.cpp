// The global maxconn and the descriptors lb reserves, against what haproxy 2.6.12 worked out for
// the same files: "Cannot raise FD limit to N" under a low `ulimit -n` gives maxsock, and
// `haproxy -d` prints "setting global.maxconn to N" when the file sets none.
#include <gtest/gtest.h>

#include <string>

#include "lb/core/config/limits.hpp"

namespace lb::core {
namespace {

Config shape(int maxconn, int listeners, int checked_servers) {
  Config c;
  c.global.maxconn = maxconn;
  ProxyConfig fe;
  fe.kind = ProxyKind::Frontend;
  fe.name = "fe";
  for (int i = 0; i < listeners; ++i) fe.binds.push_back({"127.0.0.1", static_cast<std::uint16_t>(24100 + i)});
  ProxyConfig be;
  be.name = "be";
  for (int i = 0; i < std::max(checked_servers, 1); ++i) {
    ServerConfig s;
    s.name = "s" + std::to_string(i);
    s.settings.check = i < checked_servers;
    be.servers.push_back(s);
  }
  c.proxies = {fe, be};
  return c;
}

TEST(ConnectionLimits, MaxsockIsWhatHaproxyAskedTheFdLimitFor) {
  EXPECT_EQ(connection_limits(shape(100, 1, 0), 30).maxsock, 217);
  EXPECT_EQ(connection_limits(shape(50, 1, 0), 30).maxsock, 117);
  EXPECT_EQ(connection_limits(shape(100, 2, 0), 30).maxsock, 218);
  EXPECT_EQ(connection_limits(shape(100, 1, 5), 30).maxsock, 222);
  EXPECT_EQ(connection_limits(shape(100, 1, 0), 30).maxconn, 100);
}

TEST(ConnectionLimits, WithoutMaxconnTheFdLimitSetsItAsInHaproxy) {
  EXPECT_EQ(connection_limits(shape(0, 1, 0), 1000).maxconn, 491);
  EXPECT_EQ(connection_limits(shape(0, 1, 5), 1000).maxconn, 489);
  EXPECT_EQ(connection_limits(shape(0, 3, 0), 1000).maxconn, 490);
  EXPECT_EQ(connection_limits(shape(0, 1, 0), 4096).maxconn, 2039);
  EXPECT_EQ(connection_limits(shape(0, 1, 0), 300).maxconn, 141);
  // Never below 100: under `ulimit -n 40` haproxy asked for 217 descriptors and stopped.
  EXPECT_EQ(connection_limits(shape(0, 1, 0), 40).maxconn, 100);
  EXPECT_EQ(connection_limits(shape(0, 1, 0), 40).maxsock, 217);
  // What it computes always fits the limit it came from.
  for (long limit : {300L, 1000L, 4096L, 1048576L}) EXPECT_LE(connection_limits(shape(0, 2, 7), limit).maxsock, limit);
}

TEST(ConnectionLimits, AFrontendWithoutItsOwnMaxconnTakesTheGlobalOne) {
  const auto limits = connection_limits(shape(300, 1, 0), 1000);
  ProxyConfig fe;
  EXPECT_EQ(frontend_maxconn(fe, limits), 300);
  fe.maxconn = 5;
  EXPECT_EQ(frontend_maxconn(fe, limits), 5);
}

}  // namespace
}  // namespace lb::core
