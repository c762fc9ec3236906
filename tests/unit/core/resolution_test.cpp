// ServerResolution on simulated time, against a nameserver written in the test: what it asks,
// when, and what it decides, as HAProxy 2.6 does (the same lines were captured from haproxy
// 2.6.12 against mockserver's DNS responder; tests/data/haproxy26/capture_scripts/dns_runtime.py).
#include "lb/core/dns/resolution.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "lb/core/config/parser.hpp"
#include "lb/core/dns/message.hpp"

namespace lb::core {
namespace {

using ::testing::ElementsAre;

// A nameserver that answers each query after 1 ms from `table` (name -> A/AAAA addresses) and
// `rcodes` (name -> error code), or not at all while `silent`.
class TableNameserver final : public DnsTransport {
 public:
  explicit TableNameserver(SimScheduler& s) : sched_(s) {}
  std::map<std::string, std::vector<std::string>> table;
  std::map<std::string, std::uint8_t> rcodes;
  // SRV name -> (port, target); answers carry the targets' A records from `table` as additional.
  std::map<std::string, std::vector<std::pair<std::uint16_t, std::string>>> srv;
  bool silent = false;
  std::string trailer;  // bytes appended to every reply
  std::vector<std::string> asked;  // "AAAA app2.lbh.test @5ms"
  ServerResolution* resolution = nullptr;

  bool send(std::size_t section, std::size_t ns, std::string_view query) override {
    const auto q = dns::parse(query);
    EXPECT_TRUE(q.message) << q.error;
    const auto& m = *q.message;
    asked.push_back(fmt::format("{} {} @{}ms", dns::type_name(m.questions[0].type), m.questions[0].name,
                                sched_.now().time_since_epoch().count()));
    EXPECT_TRUE(m.recursion_desired);
    EXPECT_EQ(m.edns_payload, 512);
    if (silent) return true;
    dns::Message r = m;
    r.response = true;
    r.edns_payload.reset();
    const auto& name = m.questions[0].name;
    if (auto rc = rcodes.find(name); rc != rcodes.end()) {
      r.rcode = rc->second;
    } else if (auto sv = srv.find(name); sv != srv.end() && m.questions[0].type == dns::type::SRV) {
      for (const auto& [port, target] : sv->second) {
        dns::Record rec;
        rec.name = name;
        rec.type = dns::type::SRV;
        rec.port = port;
        rec.priority = rec.weight = 10;
        rec.target = target;
        r.answers.push_back(rec);
        for (const auto& a : table[target]) {
          dns::Record add;
          add.name = target;
          add.type = dns::type::A;
          add.address = a;
          r.additional.push_back(add);
        }
      }
    } else if (auto it = table.find(name); it != table.end()) {
      for (const auto& a : it->second) {
        const bool v6 = a.find(':') != std::string::npos;
        if ((m.questions[0].type == dns::type::AAAA) != v6) continue;
        dns::Record rec;
        rec.name = name;
        rec.type = v6 ? dns::type::AAAA : dns::type::A;
        rec.ttl = 1;
        rec.address = a;
        r.answers.push_back(rec);
      }
    } else {
      r.rcode = dns::rcode::NxDomain;
    }
    const std::string wire = dns::serialize(r) + trailer;
    timers_.push_back(sched_.make_timer([this, section, ns, wire] { resolution->on_reply(section, ns, wire); }));
    timers_.back()->arm_at(sched_.now() + Ms{1});
    return true;
  }

 private:
  SimScheduler& sched_;
  std::vector<std::unique_ptr<Timer>> timers_;
};

constexpr std::string_view kConfig = R"(
resolvers dns
    nameserver ns1 127.0.0.1:5353
    timeout resolve 1s
    timeout retry 1s
    hold valid 2s
    hold nx 3s
    hold timeout 4s
defaults
    mode http
    timeout connect 1s
    timeout client 2s
    timeout server 2s
backend apps
    server s1 127.0.0.1:8081
    server s2 app2.lbh.test:8082 resolvers dns init-addr none
)";

class ResolutionOnSimTime : public ::testing::Test {
 protected:
  void start(std::string_view text = kConfig) {
    auto parsed = parse_config(text, "t.cfg");
    for (const auto& d : parsed.diagnostics)
      if (d.level == Diagnostic::Level::Alert) ADD_FAILURE() << format_diagnostic(d);
    config = std::move(parsed.config);
    resolution = std::make_unique<ServerResolution>(
        config, start_addresses(config), sched, ns,
        [this](const ResolutionEvent& e) {
          const auto at = sched.now().time_since_epoch().count();
          if (e.kind == ResolutionEvent::Kind::AddressLost) log.push_back(fmt::format("{}ms MAINT ({})", at, e.cause));
          if (e.port) ports[e.key.server] = *e.port;
          if (e.line) log.push_back(fmt::format("{}ms {}", at, e.line->text));
        },
        [this] { return ++id; });
    ns.resolution = resolution.get();
    resolution->start();
  }

  SimScheduler sched;
  TableNameserver ns{sched};
  Config config;
  std::unique_ptr<ServerResolution> resolution;
  std::vector<std::string> log;
  std::map<std::size_t, std::uint16_t> ports;  // the ports SRV records gave, per server
  std::uint16_t id = 100;
};

TEST_F(ResolutionOnSimTime, FirstAnswerGivesTheServerItsAddressAndTakesItOutOfMaintenance) {
  ns.table["app2.lbh.test"] = {"127.0.0.2"};
  start();
  sched.advance(Ms{10});
  // IPv6 is preferred: AAAA first, then A at once when the answer has no AAAA record.
  EXPECT_THAT(ns.asked, ElementsAre("AAAA app2.lbh.test @0ms", "A app2.lbh.test @1ms"));
  EXPECT_THAT(log, ElementsAre("2ms apps/s2 changed its IP from (none) to 127.0.0.2 by dns/ns1.",
                               "2ms Server apps/s2 administratively READY thanks to valid DNS answer."));
  EXPECT_EQ(resolution->address({0, 1}), "127.0.0.2");
  EXPECT_FALSE(resolution->address({0, 0}).has_value());  // a literal is not resolved
}

TEST_F(ResolutionOnSimTime, ResolvesAgainEveryTimeoutResolveAndFollowsAChange) {
  ns.table["app2.lbh.test"] = {"127.0.0.2"};
  start();
  sched.advance(Ms{2500});
  ns.table["app2.lbh.test"] = {"127.0.0.3"};
  sched.advance(Ms{1000});
  // A resolution every second from the end of the last one.
  EXPECT_THAT(ns.asked, ElementsAre("AAAA app2.lbh.test @0ms", "A app2.lbh.test @1ms", "AAAA app2.lbh.test @1002ms",
                                    "A app2.lbh.test @1003ms", "AAAA app2.lbh.test @2004ms", "A app2.lbh.test @2005ms",
                                    "AAAA app2.lbh.test @3006ms", "A app2.lbh.test @3007ms"));
  EXPECT_EQ(log.back(), "3008ms apps/s2 changed its IP from 127.0.0.2 to 127.0.0.3 by dns/ns1.");
}

TEST_F(ResolutionOnSimTime, NxdomainTakesTheServerToMaintenanceOnceHoldNxHasPassed) {
  ns.table["app2.lbh.test"] = {"127.0.0.2"};
  start();
  sched.advance(Ms{10});
  ns.rcodes["app2.lbh.test"] = dns::rcode::NxDomain;
  sched.advance(Ms{5000});
  // Last valid answer at 2 ms, hold nx 3s. The resolution from 1002 ms fails through its three
  // tries (AAAA, then A at once, a second apart) and reports at 3006 ms, past the hold.
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[2], "3006ms MAINT (DNS NX status)");
  EXPECT_FALSE(resolution->address({0, 1}).has_value());
  ns.rcodes.clear();
  sched.advance(Ms{1100});  // the resolution started at 4006 ms answers on its third try
  EXPECT_THAT(std::vector(log.begin() + 3, log.end()),
              ElementsAre("6010ms apps/s2 changed its IP from (none) to 127.0.0.2 by dns/ns1.",
                          "6010ms Server apps/s2 administratively READY thanks to valid DNS answer."));
}

TEST_F(ResolutionOnSimTime, AnUnansweredQueryIsSentResolveRetriesTimesThenTimesOut) {
  ns.table["app2.lbh.test"] = {"127.0.0.2"};
  start();
  sched.advance(Ms{10});
  ns.silent = true;
  ns.asked.clear();
  sched.advance(Ms{7000});
  // From 1002 ms: three tries a second apart (resolve_retries 3); the timeout at 4002 ms is
  // `hold timeout` (4s) after the last valid answer (2 ms): maintenance. A new resolution starts
  // a second later.
  EXPECT_THAT(std::vector(ns.asked.begin(), ns.asked.begin() + 4),
              ElementsAre("AAAA app2.lbh.test @1002ms", "AAAA app2.lbh.test @2002ms", "AAAA app2.lbh.test @3002ms",
                          "AAAA app2.lbh.test @5002ms"));
  EXPECT_EQ(log.back(), "4002ms MAINT (DNS timeout status)");
}

TEST_F(ResolutionOnSimTime, ServersSharingANameShareOneResolutionAndSpreadOverItsAddresses) {
  ns.table["app.lbh.test"] = {"127.0.0.2", "127.0.0.3"};
  start(R"(
resolvers dns
    nameserver ns1 127.0.0.1:5353
backend apps
    server a app.lbh.test:80 resolvers dns init-addr none resolve-prefer ipv4
    server b app.lbh.test:80 resolvers dns init-addr none resolve-prefer ipv4
)");
  sched.advance(Ms{10});
  EXPECT_THAT(ns.asked, ElementsAre("A app.lbh.test @0ms"));
  ASSERT_EQ(log.size(), 4u);
  EXPECT_THAT(log[0], ::testing::EndsWith("by dns/ns1."));
  EXPECT_THAT(log[2], ::testing::EndsWith("by DNS cache."));
  EXPECT_NE(resolution->address({0, 0}), resolution->address({0, 1}));
}

TEST_F(ResolutionOnSimTime, ResolveNetPrefersAnAddressInItsNetworks) {
  for (const auto* net : {"192.168.0.0/16", "192.168.0.0/255.255.0.0", "10.0.0.0/8"}) {
    SimScheduler sched2;
    TableNameserver ns2{sched2};
    ns2.table["app.lbh.test"] = {"10.0.0.5", "192.168.1.5"};
    auto parsed = parse_config(fmt::format(R"(
resolvers dns
    nameserver ns1 127.0.0.1:5353
backend apps
    server a app.lbh.test:80 resolvers dns init-addr none resolve-prefer ipv4 resolve-net {}
)", net), "t.cfg");
    ASSERT_TRUE(parsed.ok());
    ServerResolution r(parsed.config, start_addresses(parsed.config), sched2, ns2, {}, [] { return std::uint16_t{7}; });
    ns2.resolution = &r;
    r.start();
    sched2.advance(Ms{10});
    EXPECT_EQ(r.address({0, 0}), std::string(net).starts_with("10.") ? "10.0.0.5" : "192.168.1.5") << net;
  }
}

// Captured from haproxy 2.6.12 (s08_template_hash_order): an answer .4 .2 .6 fills the slots in
// the order of the XXH32 of each address, not in the answer's order nor the addresses'.
TEST_F(ResolutionOnSimTime, TemplateSlotsTakeAddressesInHaproxysAnswerTreeOrder) {
  ns.table["app.lbh.test"] = {"127.0.0.4", "127.0.0.2", "127.0.0.6"};
  start(R"(
resolvers dns
    nameserver ns1 127.0.0.1:5353
backend apps
    server-template srv 3 app.lbh.test:80 resolvers dns init-addr none
)");
  sched.advance(Ms{10});
  EXPECT_EQ(resolution->address({0, 0}), "127.0.0.6");
  EXPECT_EQ(resolution->address({0, 1}), "127.0.0.2");
  EXPECT_EQ(resolution->address({0, 2}), "127.0.0.4");
}

// Captured (s06_initaddr_ip_nx_serving): a name that never resolved counts its hold from start-up.
TEST_F(ResolutionOnSimTime, ANameNeverValidCountsItsHoldFromStartUp) {
  start(R"(
resolvers dns
    nameserver ns1 127.0.0.1:5353
    hold nx 3s
backend apps
    server s app2.lbh.test:80 resolvers dns init-addr 127.0.0.9
)");
  sched.advance(Ms{2500});
  EXPECT_TRUE(log.empty());
  EXPECT_EQ(resolution->address({0, 0}), "127.0.0.9");
  sched.advance(Ms{3000});
  // rounds of three tries report at ~2 s and ~5 s: the first at or after 3 s takes it down
  EXPECT_THAT(log, ElementsAre("5008ms MAINT (DNS NX status)"));  // haproxy: 5057 ms after its spawn
}

// Captured (s03_recreate_hold_valid_short): with `timeout resolve 10s` and `hold valid 1s`, a
// refused check asks for a resolution at once, since the last answer is older than hold valid.
TEST_F(ResolutionOnSimTime, ACheckThatCannotConnectAsksForAResolutionPastHoldValid) {
  ns.table["app2.lbh.test"] = {"127.0.0.2"};
  start(R"(
resolvers dns
    nameserver ns1 127.0.0.1:5353
    timeout resolve 10s
    hold valid 1s
backend apps
    server s app2.lbh.test:80 resolvers dns init-addr none resolve-prefer ipv4
)");
  sched.advance(Ms{500});
  const HealthEvent refused{HealthEvent::Kind::CheckFinished, {0, 0}, sched.now(), CheckResult{CheckStatus::L4ConnectionProblem}, {}};
  resolution->on_health_event(refused);  // younger than hold valid: nothing
  sched.advance(Ms{2500});
  ns.table["app2.lbh.test"] = {"127.0.0.3"};
  resolution->on_health_event(refused);
  sched.advance(Ms{10});
  EXPECT_THAT(ns.asked, ElementsAre("A app2.lbh.test @0ms", "A app2.lbh.test @3000ms"));
  EXPECT_EQ(log.back(), "3001ms apps/s changed its IP from 127.0.0.2 to 127.0.0.3 by dns/ns1.");
}

// As captured (s09_srv): a slot takes an SRV record's port silently and its target's address from
// the additional section; a new port is a new record, for the next free slot, which resolves
// the target itself (the additional address went to the old record); an SRV name gone past its
// hold empties every slot.
TEST_F(ResolutionOnSimTime, SrvRecordsFillTemplateSlotsAndAPortChangeMovesTheRecord) {
  ns.srv["_http._tcp.app.lbh.test"] = {{8081, "app.lbh.test"}};
  ns.table["app.lbh.test"] = {"127.0.0.1"};
  start(R"(
resolvers dns
    nameserver ns1 127.0.0.1:5353
    hold nx 1s
backend apps
    server-template srv 2 _http._tcp.app.lbh.test resolvers dns init-addr none
)");
  sched.advance(Ms{10});
  EXPECT_THAT(log, ElementsAre("1ms apps/srv1 changed its IP from (none) to 127.0.0.1 by DNS additional record.",
                               "1ms apps/srv1 changed its FQDN from (null) to app.lbh.test by 'SRV record'"));
  EXPECT_EQ(ports[0], 8081);
  EXPECT_EQ(ns.asked.front(), "SRV _http._tcp.app.lbh.test @0ms");  // no A/AAAA for the slot

  log.clear();
  ns.srv["_http._tcp.app.lbh.test"] = {{8082, "app.lbh.test"}};
  sched.advance(Ms{1000});
  EXPECT_THAT(log, ElementsAre("1002ms MAINT (entry removed from SRV record)",
                               "1002ms apps/srv2 changed its FQDN from (null) to app.lbh.test by 'SRV record'",
                               "1004ms apps/srv2 changed its IP from (none) to 127.0.0.1 by dns/ns1.",
                               "1004ms Server apps/srv2 administratively READY thanks to valid DNS answer."));
  EXPECT_EQ(ports[1], 8082);
  EXPECT_FALSE(resolution->address({0, 0}).has_value());
  EXPECT_EQ(resolution->address({0, 1}), "127.0.0.1");

  log.clear();
  ns.rcodes["_http._tcp.app.lbh.test"] = dns::rcode::NxDomain;
  sched.advance(Ms{4000});
  EXPECT_THAT(log, ::testing::Contains(::testing::EndsWith("MAINT (entry removed from SRV record)")));
  EXPECT_FALSE(resolution->address({0, 1}).has_value());
}

// HAProxy reads the return code first: an NXDOMAIN whose body does not parse is still NX.
TEST_F(ResolutionOnSimTime, TheReturnCodeCountsBeforeTheBodyAndATrailingDotIsTheSameName) {
  ns.table["app2.lbh.test"] = {"127.0.0.2"};
  start(R"(
resolvers dns
    nameserver ns1 127.0.0.1:5353
    hold nx 0
backend apps
    server s app2.lbh.test.:80 resolvers dns init-addr none resolve-prefer ipv4
)");
  sched.advance(Ms{10});
  EXPECT_EQ(resolution->address({0, 0}), "127.0.0.2");  // answers to "app2.lbh.test." match it
  ns.rcodes["app2.lbh.test"] = dns::rcode::NxDomain;
  ns.trailer = "trailing bytes";
  sched.advance(Ms{5000});
  // NX, not an unreadable answer ("unspecified DNS error"), at the end of the round from 1001 ms
  EXPECT_EQ(log.back(), "3005ms MAINT (DNS NX status)");
}

// A clock that moves a millisecond each time it is read, as a real one may while an answer is
// handled: a record seen in an answer is not obsolete later in the same answer.
class TickingScheduler final : public Scheduler {
 public:
  explicit TickingScheduler(SimScheduler& s) : inner_(s) {}
  TimePoint now() const override { return inner_.now() + Ms{reads_++}; }
  std::unique_ptr<Timer> make_timer(std::function<void()> f) override { return inner_.make_timer(std::move(f)); }
  void post(std::function<void()> f) override { inner_.post(std::move(f)); }

 private:
  SimScheduler& inner_;
  mutable long reads_ = 0;
};

TEST(ResolutionClock, OneAnswerIsHandledAtOneInstant) {
  SimScheduler sim;
  TickingScheduler ticking(sim);
  TableNameserver ns(sim);
  ns.srv["_http._tcp.app.lbh.test"] = {{8081, "app.lbh.test"}};
  ns.table["app.lbh.test"] = {"127.0.0.1"};
  auto parsed = parse_config(R"(
resolvers dns
    nameserver ns1 127.0.0.1:5353
backend apps
    server-template srv 2 _http._tcp.app.lbh.test resolvers dns init-addr none
)", "t.cfg");
  ASSERT_TRUE(parsed.ok());
  std::vector<std::string> lost;
  ServerResolution r(parsed.config, start_addresses(parsed.config), ticking, ns,
                     [&](const ResolutionEvent& e) {
                       if (e.kind == ResolutionEvent::Kind::AddressLost) lost.push_back(e.cause);
                     },
                     [] { return std::uint16_t{7}; });
  ns.resolution = &r;
  r.start();
  sim.advance(Ms{5000});  // five identical answers
  EXPECT_TRUE(lost.empty()) << lost.front();
  EXPECT_EQ(r.address({0, 0}), "127.0.0.1");
}

TEST(ResolutionQuery, IsWhatHaproxySends) {
  const auto q = dns::parse(build_query(0x1234, dns::type::AAAA, "app2.lbh.test", 512));
  ASSERT_TRUE(q.message);
  EXPECT_EQ(q.message->id, 0x1234);
  EXPECT_TRUE(q.message->recursion_desired);
  EXPECT_FALSE(q.message->response);
  EXPECT_EQ(q.message->questions, (std::vector<dns::Question>{{"app2.lbh.test", dns::type::AAAA, 1}}));
  EXPECT_EQ(q.message->edns_payload, 512);
}

}  // namespace
}  // namespace lb::core
