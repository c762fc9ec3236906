// The stats' traffic counters (lb/core/stats/traffic): what each row counts for an exchange, as
// haproxy 2.6.12 counted it in tests/data/haproxy26/stats_traffic (the differential test in
// lb_vs_haproxy_test holds the real lb to the real haproxy on the same traffic).
#include <gtest/gtest.h>

#include "lb/core/config/parser.hpp"
#include "lb/core/stats/traffic.hpp"

namespace lb::core::stats {
namespace {

Config two_servers() {
  return parse_config(R"(defaults
    mode http
frontend fe
    bind 127.0.0.1:1
    default_backend be
backend be
    server s1 127.0.0.1:2
    server s2 127.0.0.1:3
)",
                      "t.cfg")
      .config;
}

TimePoint at(long ms) { return TimePoint{Ms{ms}}; }

TEST(Traffic, AnAnsweredRequestCountsOnEveryRow) {
  const auto config = two_servers();
  Traffic t(config);
  t.connection_accepted(0, at(0));
  t.server_attempt({1, 0}, at(1));
  t.exchange({.frontend = 0, .backend = 1, .server = 0, .request_size = 38, .response_size = 54, .status = 200,
              .server_answered = true},
             at(2));
  for (const Counters* c : {&t.proxy(0), &t.proxy(1), &t.server({1, 0})}) {
    EXPECT_EQ(c->bytes_in, 38u);
    EXPECT_EQ(c->bytes_out, 54u);
    EXPECT_EQ(c->responses[1], 1);
    EXPECT_EQ(c->requests, 1);
    EXPECT_EQ(c->sessions, 1);
  }
  EXPECT_EQ(t.proxy(0).connections, 1);
  EXPECT_EQ(t.server({1, 1}).sessions, 0);
  t.connection_accepted(0, at(3));
  t.connection_closed(0);
  t.connection_closed(0);
  EXPECT_EQ(t.proxy(0).current, 0);
  EXPECT_EQ(t.proxy(0).max_current, 2);
}

// c04a: the server refuses, 2 retries, then haproxy's 503: the server row counts the attempts,
// the retries, the connect error and the 503's bytes, but no response; the backend the 503.
TEST(Traffic, RetriesOnARefusingServer) {
  const auto config = two_servers();
  Traffic t(config);
  t.connection_accepted(0, at(0));
  for (int i = 0; i < 3; ++i) t.server_attempt({1, 0}, at(i * 1000));
  t.retried({1, 0}, false);
  t.retried({1, 0}, false);
  t.exchange({.frontend = 0, .backend = 1, .server = 0, .request_size = 38, .response_size = 217, .status = 503,
              .term = {'S', 'C'}},
             at(2000));
  const auto& s1 = t.server({1, 0});
  EXPECT_EQ(s1.sessions, 3);
  EXPECT_EQ(s1.retries, 2);
  EXPECT_EQ(s1.connect_errors, 1);
  EXPECT_EQ(s1.bytes_out, 217u);
  EXPECT_EQ(s1.responses[4], 0);
  EXPECT_EQ(s1.requests, 0);
  EXPECT_EQ(t.proxy(1).retries, 2);
  EXPECT_EQ(t.proxy(1).connect_errors, 1);
  EXPECT_EQ(t.proxy(1).responses[4], 1);
  EXPECT_EQ(t.proxy(1).sessions, 1);
}

// A connection lb could not make at all (a socket pair whose end could not be passed: haproxy's
// SF_ERR_INTERNAL, 500 IC--) is a connection error of the server and the backend, as
// back_try_conn_req counts it.
TEST(Traffic, AnInternalErrorAtConnectIsAConnectionError) {
  const auto config = two_servers();
  Traffic t(config);
  t.connection_accepted(0, at(0));
  t.server_attempt({1, 0}, at(0));
  t.exchange({.frontend = 0, .backend = 1, .server = 0, .request_size = 38, .response_size = 208, .status = 500,
              .term = {'I', 'C'}},
             at(1));
  EXPECT_EQ(t.server({1, 0}).connect_errors, 1);
  EXPECT_EQ(t.proxy(1).connect_errors, 1);
  EXPECT_EQ(t.server({1, 0}).requests, 0);
}

// c04b: a redispatch counts on the server left, and the bytes on the one that answered.
TEST(Traffic, ARedispatchCountsOnTheServerLeft) {
  const auto config = two_servers();
  Traffic t(config);
  t.server_attempt({1, 0}, at(0));
  t.retried({1, 0}, true);
  t.server_attempt({1, 1}, at(1));
  t.exchange({.frontend = 0, .backend = 1, .server = 1, .request_size = 38, .response_size = 54, .status = 200,
              .server_answered = true},
             at(2));
  EXPECT_EQ(t.server({1, 0}).redispatches, 1);
  EXPECT_EQ(t.server({1, 0}).bytes_in, 0u);
  EXPECT_EQ(t.server({1, 0}).retries, 0);
  EXPECT_EQ(t.server({1, 1}).bytes_in, 38u);
  EXPECT_EQ(t.proxy(1).redispatches, 1);
}

// c05: a request that never parses is the frontend's error: no bytes, no backend.
TEST(Traffic, ABadRequestIsTheFrontendsErrorOnly) {
  const auto config = two_servers();
  Traffic t(config);
  t.exchange({.frontend = 0, .response_size = 187, .status = 400, .term = {'P', 'R'}}, at(0));
  EXPECT_EQ(t.proxy(0).request_errors, 1);
  EXPECT_EQ(t.proxy(0).requests, 1);
  EXPECT_EQ(t.proxy(0).responses[3], 1);
  EXPECT_EQ(t.proxy(0).bytes_out, 0u);
  EXPECT_EQ(t.proxy(1).requests, 0);
}

// c06: a garbage answer (PH) and a server that leaves mid-body (SD) are response errors; SD is
// also a server abort and still counts the server's status.
TEST(Traffic, BadAndAbortedResponses) {
  const auto config = two_servers();
  Traffic t(config);
  t.exchange({.frontend = 0, .backend = 1, .server = 0, .status = 502, .term = {'P', 'H'}}, at(0));
  t.exchange({.frontend = 0, .backend = 1, .server = 1, .status = 200, .server_answered = true, .term = {'S', 'D'}},
             at(0));
  EXPECT_EQ(t.server({1, 0}).response_errors, 1);
  EXPECT_EQ(t.server({1, 0}).responses[4], 0);
  EXPECT_EQ(t.server({1, 1}).response_errors, 1);
  EXPECT_EQ(t.server({1, 1}).server_aborts, 1);
  EXPECT_EQ(t.server({1, 1}).responses[1], 1);
  EXPECT_EQ(t.proxy(1).response_errors, 2);
  EXPECT_EQ(t.proxy(1).server_aborts, 1);
}

// A kept-alive request the server closed (s1) or reset (s2) before answering, which haproxy
// 2.6.12 ends with a silent close: the request and its bytes count, no response does; the
// backend's requests count only answered ones; a reset is a response error and a server abort.
TEST(Traffic, AKeptAliveRequestTheServerLeftUnansweredCountsNoResponse) {
  const auto config = two_servers();
  Traffic t(config);
  t.exchange({.frontend = 0, .backend = 1, .server = 0, .request_size = 32, .unanswered = true}, at(0));
  t.exchange({.frontend = 0, .backend = 1, .server = 1, .request_size = 32, .unanswered = true, .server_reset = true},
             at(0));
  EXPECT_EQ(t.proxy(0).requests, 2);
  EXPECT_EQ(t.proxy(0).bytes_in, 64u);
  EXPECT_EQ(t.proxy(1).sessions, 2);
  EXPECT_EQ(t.proxy(1).requests, 0);
  for (const Counters* c : {&t.proxy(0), &t.proxy(1), &t.server({1, 0}), &t.server({1, 1})})
    for (const auto n : c->responses) EXPECT_EQ(n, 0);
  EXPECT_EQ(t.server({1, 0}).bytes_in, 32u);
  EXPECT_EQ(t.server({1, 0}).response_errors, 0);
  EXPECT_EQ(t.server({1, 0}).server_aborts, 0);
  EXPECT_EQ(t.server({1, 1}).response_errors, 1);
  EXPECT_EQ(t.server({1, 1}).server_aborts, 1);
  EXPECT_EQ(t.proxy(1).response_errors, 1);
  EXPECT_EQ(t.proxy(1).server_aborts, 1);
  EXPECT_EQ(t.server({1, 1}).requests, 0);
}

// A first request its server reset before the head: haproxy's 502, and two response errors
// (one as the failed response, one as the server side's error), no server abort.
TEST(Traffic, AResetBeforeTheHeadIsTwoResponseErrors) {
  const auto config = two_servers();
  Traffic t(config);
  t.exchange({.frontend = 0, .backend = 1, .server = 0, .status = 502, .term = {'S', 'H'}, .server_reset = true}, at(0));
  EXPECT_EQ(t.server({1, 0}).response_errors, 2);
  EXPECT_EQ(t.proxy(1).response_errors, 2);
  EXPECT_EQ(t.server({1, 0}).server_aborts, 0);
  EXPECT_EQ(t.proxy(1).responses[4], 1);
}

// HAProxy's per-second rate: this second's events plus last second's, weighted by what is left.
TEST(Traffic, RatesDecayOverTheNextSecondAndKeepTheirMaximum) {
  RateCounter r;
  for (int i = 0; i < 4; ++i) r.add(at(100));
  EXPECT_EQ(r.read(at(200)), 4);
  EXPECT_EQ(r.read(at(1500)), 2);  // 0 now + 4 x (1 - 0.5)
  EXPECT_EQ(r.read(at(2100)), 0);
  EXPECT_EQ(r.max(), 4);
}

}  // namespace
}  // namespace lb::core::stats
