// Connections as the real binary journals and controls them: entries for connections that never
// sent a request, when an exchange ended, closing every connection as a dying process would,
// moving a listener to another address, and timelines started by the first connection.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <thread>

#include "tests/integration/mockserver_client.hpp"

namespace lb::test {
namespace {

constexpr std::string_view kGet = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";

long number(const boost::json::value& v, std::string_view key) { return v.at(key).to_number<long>(); }

TEST(MockConnections, AConnectionThatSendsNoRequestIsJournaledWhenItEnds) {
  Mock m({"--listen", "s1=127.0.0.1:0"});
  {
    auto quiet = connect_to(m.port());  // a plain TCP check: connect, close
    ASSERT_EQ(quiet.error, 0);
  }
  ASSERT_TRUE(m.wait_journal("listener=s1&outcome=no-request"));
  {
    auto partial = connect_to(m.port());
    ASSERT_EQ(partial.error, 0);
    send_all(partial.fd.get(), "GET / HTTP/1.1\r\nHo");
    ASSERT_TRUE(m.wait_journal("listener=s1&outcome=no-request"));  // barrier: it was read
    std::this_thread::sleep_for(milliseconds(20));  // let the bytes reach the server's buffer
  }
  ASSERT_TRUE(m.wait_journal("listener=s1&outcome=incomplete"));
  const auto entries = m.journal("listener=s1");
  ASSERT_EQ(entries.size(), 2u);
  for (const auto& e : entries) {
    EXPECT_EQ(e.at("method"), "");
    EXPECT_EQ(e.at("end"), "fin-by-peer");
    ASSERT_FALSE(e.at("end_ms").is_null());
    EXPECT_GE(number(e, "end_ms"), number(e, "t_ms"));
  }
}

TEST(MockConnections, EndMsSaysWhenAHeldRequestWasLetGo) {
  Mock m({"--listen", "s1=127.0.0.1:0", "--fault", "s1=hang"});
  auto c = connect_to(m.port());
  send_all(c.fd.get(), kGet);
  ASSERT_TRUE(m.wait_journal("outcome=fault:hang"));
  EXPECT_TRUE(m.journal().at(0).at("end_ms").is_null());  // still open
  std::this_thread::sleep_for(milliseconds(150));
  c.fd.reset();
  const auto deadline = Clock::now() + kPatience;
  while (m.journal().at(0).at("end_ms").is_null() && Clock::now() < deadline)
    std::this_thread::sleep_for(milliseconds(5));
  const auto e = m.journal().at(0);
  ASSERT_FALSE(e.at("end_ms").is_null());
  EXPECT_GE(number(e, "end_ms") - number(e, "t_ms"), 150);
}

TEST(MockConnections, AKeepAliveExchangeEndsWhenItsResponseIsWritten) {
  Mock m({"--listen", "s1=127.0.0.1:0"});
  auto c = connect_to(m.port());
  send_all(c.fd.get(), kGet);
  EXPECT_EQ(read_response(c.fd.get()).end, End::Done);
  ASSERT_TRUE(m.wait_journal("listener=s1"));
  const auto e = m.journal().at(0);
  EXPECT_EQ(e.at("end"), "keep-alive");
  ASSERT_FALSE(e.at("end_ms").is_null());
  EXPECT_LT(number(e, "end_ms") - number(e, "t_ms"), 1000);
}

TEST(MockConnections, CloseConnectionsEndsEveryOpenConnectionOfTheListener) {
  Mock m({"--listen", "s1=127.0.0.1:0", "--listen", "s2=127.0.0.1:0", "--fault", "s1=hang",
          "--fault", "s2=hang"});
  auto held = connect_to(m.port("s1"));
  send_all(held.fd.get(), kGet);
  auto idle = connect_to(m.port("s1"));
  auto other = connect_to(m.port("s2"));
  send_all(other.fd.get(), kGet);
  ASSERT_TRUE(m.wait_journal("outcome=fault:hang", 2));
  EXPECT_EQ(m.call("GET", "/v1/listeners/s1/close-connections").status, 405);
  ASSERT_EQ(m.call("POST", "/v1/listeners/s1/close-connections").status, 200);
  EXPECT_EQ(read_to_end(held.fd.get(), kPatience).end, End::Eof);
  EXPECT_EQ(read_to_end(idle.fd.get(), kPatience).end, End::Eof);
  EXPECT_EQ(read_to_end(other.fd.get(), milliseconds(200)).end, End::Timeout);  // s2 untouched
  const auto s1 = m.journal("listener=s1");
  ASSERT_EQ(s1.size(), 2u);
  for (const auto& e : s1) EXPECT_EQ(e.at("end"), "closed");
  EXPECT_EQ(s1.at(1).at("outcome"), "no-request");
  // The listener still serves: closing connections is not refusing them.
  EXPECT_EQ(m.call("PUT", "/v1/listeners/s1/fault", R"({"fault": null})").status, 200);
  EXPECT_EQ(status_of(http(m.port("s1"), "GET", "/").bytes), 200);
}

TEST(MockConnections, PatchListenMovesTheListenerAndTheOldAddressRefuses) {
  Mock m({"--listen", "s1=127.0.0.1:0"});
  const int port = m.port();
  const auto moved = m.call("PATCH", "/v1/listeners/s1", fmt::format(R"({{"listen": "127.0.0.2:{}"}})", port));
  ASSERT_EQ(moved.status, 200) << moved.raw;
  EXPECT_EQ(moved.json.at("listen").as_string(), fmt::format("127.0.0.2:{}", port));
  EXPECT_EQ(connect_to(port).error, ECONNREFUSED);
  auto c = connect_to(port, kPatience, "127.0.0.2");
  ASSERT_EQ(c.error, 0);
  send_all(c.fd.get(), "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_of(read_to_end(c.fd.get(), kPatience).bytes), 200);
  // A mode survives the move: refusing at the new address too.
  ASSERT_EQ(m.call("PATCH", "/v1/listeners/s1", R"({"mode": "refuse"})").status, 200);
  ASSERT_EQ(m.call("PATCH", "/v1/listeners/s1", fmt::format(R"({{"listen": "127.0.0.3:{}"}})", port)).status, 200);
  EXPECT_EQ(connect_to(port, kPatience, "127.0.0.3").error, ECONNREFUSED);
  ASSERT_EQ(m.call("PATCH", "/v1/listeners/s1", R"({"mode": "serve"})").status, 200);
  EXPECT_EQ(connect_to(port, kPatience, "127.0.0.3").error, 0);
}

TEST(MockConnections, AMoveThatCannotBindChangesNothing) {
  Mock m({"--listen", "s1=127.0.0.1:0", "--listen", "s2=127.0.0.1:0"});
  const auto taken = fmt::format("127.0.0.1:{}", m.port("s2"));
  const auto r = m.call("PATCH", "/v1/listeners/s1", fmt::format(R"({{"listen": "{}"}})", taken));
  EXPECT_EQ(r.status, 503) << r.raw;
  EXPECT_NE(r.raw.find("cannot listen on"), std::string::npos);
  EXPECT_EQ(m.call("GET", "/v1/listeners/s1").json.at("listen").as_string(), fmt::format("127.0.0.1:{}", m.port("s1")));
  EXPECT_EQ(status_of(http(m.port("s1"), "GET", "/").bytes), 200);
  for (const char* bad : {R"({"listen": "localhost:80"})", R"({"listen": "127.0.0.1"})", R"({"listen": 8080})",
                          R"({"listen": "999.0.0.1:80"})"}) {
    const auto b = m.call("PATCH", "/v1/listeners/s1", bad);
    EXPECT_EQ(b.status, 400) << bad;
    EXPECT_NE(b.raw.find("\"field\":\"listen\""), std::string::npos) << b.raw;
  }
}

TEST(MockConnections, TimelinesCanStartAtTheFirstConnection) {
  // A 500 window over the first 400 ms of the timeline, and the first request 500 ms after
  // start: by the process clock the window is over, by the first connection's it is not.
  for (const bool anchored : {false, true}) {
    std::vector<std::string> args{"--listen", "s1=127.0.0.1:0", "--rule", "s1: at_ms=0..400 -> status 500"};
    if (anchored) args.insert(args.end(), {"--timeline-start", "first-connection"});
    Mock m(args);
    std::this_thread::sleep_for(milliseconds(500));
    EXPECT_EQ(status_of(http(m.port(), "GET", "/").bytes), anchored ? 500 : 200) << anchored;
  }
  // The API starts them when no connection has yet: the window then runs from that call.
  Mock m({"--listen", "s1=127.0.0.1:0", "--rule", "s1: at_ms=0..400 -> status 500", "--timeline-start",
          "first-connection"});
  EXPECT_EQ(m.call("GET", "/v1/timelines/start").status, 405);
  const auto started = m.call("POST", "/v1/timelines/start");
  ASSERT_EQ(started.status, 200);
  EXPECT_EQ(started.json.at("started"), true);
  std::this_thread::sleep_for(milliseconds(500));
  EXPECT_EQ(status_of(http(m.port(), "GET", "/").bytes), 200);
  EXPECT_EQ(m.call("POST", "/v1/timelines/start").json.at("started"), false);  // once only
  Child bad = Child::start(MOCKSERVER_BIN, {"--listen", "s1=127.0.0.1:0", "--timeline-start", "later"},
                           {.ready_line = ""});
  EXPECT_EQ(bad.wait_exit(kPatience), 2);
}

}  // namespace
}  // namespace lb::test
