// The real `lb` resolving a server's name through mockserver's DNS responder on loopback, with
// short timers: queries over UDP, the changed-IP line, resolution maintenance and back, as
// haproxy 2.6.12 logs them (the scenario library holds the same paths to haproxy itself).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "tests/integration/lb_world.hpp"

namespace lb::test {
namespace {

using ::testing::HasSubstr;

std::string resolving_config(int dns_port, std::string_view hold) {
  return fmt::format(R"(global
    log stdout format raw local0
resolvers dns
    nameserver ns1 127.0.0.1:{}
    timeout resolve 100ms
    timeout retry 100ms
    {}
defaults
    mode http
    log global
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe_main
    bind 127.0.0.1:{{{{fe}}}}
    default_backend be_server
backend be_server
    option httpchk GET /health
    server app1 127.0.0.1:{{{{app1}}}} check inter 100ms
    server app2 app2.lbh.test:{{{{app2}}}} check inter 100ms resolvers dns init-addr none
)",
                     dns_port, hold);
}

TEST(LbResolvers, ANameResolvesOverUdpAndItsFailureIsMaintenanceUntilItResolvesAgain) {
  LbWorld w({"app1", "app2"}, {"--dns", "127.0.0.1:0", "--dns-record", "app2.lbh.test A 127.0.0.1"});
  ASSERT_GT(w.mock().dns_port(), 0);
  w.start_lb(resolving_config(w.mock().dns_port(), "hold nx 300ms"));
  EXPECT_TRUE(w.await("be_server/app2 changed its IP from (none) to 127.0.0.1 by dns/ns1.")) << w.lb().stderr_text();
  EXPECT_TRUE(w.await("Server be_server/app2 ('app2.lbh.test') is UP/READY (resolves again)."));
  EXPECT_TRUE(w.await("Server be_server/app2 administratively READY thanks to valid DNS answer."));
  // lb asked the preferred family first, then A: both reached the responder's journal.
  EXPECT_TRUE(w.mock().wait_journal("listener=dns&method=AAAA"));
  EXPECT_TRUE(w.mock().wait_journal("listener=dns&method=A"));
  // Checks reach the resolved address.
  EXPECT_TRUE(w.mock().wait_journal("listener=app2&path_prefix=/health"));

  ASSERT_EQ(w.mock().call("PUT", "/v1/dns/faults", R"([{"kind": "nxdomain", "name": "app2.lbh.test"}])").status, 200);
  const auto maint = w.await("Server be_server/app2 is going DOWN for maintenance (DNS NX status).");
  ASSERT_TRUE(maint) << w.lb().stderr_text();
  EXPECT_THAT(*maint, HasSubstr(". 1 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue."));

  ASSERT_EQ(w.mock().call("PUT", "/v1/dns/faults", "[]").status, 200);
  EXPECT_TRUE(w.await("be_server/app2 changed its IP from (none) to 127.0.0.1 by dns/ns1."));
  EXPECT_TRUE(w.await("Server be_server/app2 ('app2.lbh.test') is UP/READY (resolves again)."));
}

TEST(LbResolvers, ASilentNameserverKeepsTheLastAddressUntilHoldTimeout) {
  LbWorld w({"app1", "app2"}, {"--dns", "127.0.0.1:0", "--dns-record", "app2.lbh.test A 127.0.0.1"});
  w.start_lb(resolving_config(w.mock().dns_port(), "hold timeout 500ms"));
  ASSERT_TRUE(w.await("('app2.lbh.test') is UP/READY (resolves again).")) << w.lb().stderr_text();
  ASSERT_EQ(w.mock().call("PUT", "/v1/dns/faults", R"([{"kind": "no-answer"}])").status, 200);
  EXPECT_TRUE(w.await("Server be_server/app2 is going DOWN for maintenance (DNS timeout status)."))
      << w.lb().stderr_text();
}

}  // namespace
}  // namespace lb::test
