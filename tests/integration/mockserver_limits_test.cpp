// Resource limits and departed peers on the real binary: idle timeout, connection cap, accept
// errors, peers leaving held or paused connections, listener re-bind failures.
#include <gtest/gtest.h>

#include <thread>

#include "tests/integration/mockserver_client.hpp"

namespace lb::test {
namespace {

constexpr std::string_view kGet = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";

// Bounded poll of /v1/stats until `pred(listener stats)` holds.
template <class Pred>
bool stats_until(const Mock& m, Pred pred, std::string_view listener = "s1") {
  const auto deadline = Clock::now() + kPatience;
  while (true) {
    const auto r = m.call("GET", "/v1/stats");
    if (r.json.is_object()) {
      for (const auto& l : r.json.at("listeners").as_array())
        if (l.at("name").as_string() == listener && pred(l.as_object())) return true;
    }
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(10));
  }
}

long field(const boost::json::object& o, std::string_view name) { return o.at(name).to_number<long>(); }

bool open_connections_drop_to(const Mock& m, long n) {
  return stats_until(m, [n](const auto& l) { return field(l, "open_connections") == n; });
}

TEST(MockLimits, IdleTimeoutClosesASlowlorisAndAnIdleKeepAlive) {
  Mock m({"--listen", "s1=127.0.0.1:0", "--idle-timeout-ms", "200"});
  auto slow = connect_to(m.port());
  ASSERT_EQ(slow.error, 0);
  send_all(slow.fd.get(), "GET / HTTP/1.1\r\nHost: t\r\n");  // never finishes the head
  auto idle = connect_to(m.port());
  ASSERT_EQ(idle.error, 0);
  send_all(idle.fd.get(), kGet);
  EXPECT_EQ(read_response(idle.fd.get()).end, End::Done);
  EXPECT_EQ(read_to_end(slow.fd.get(), kPatience).end, End::Eof);
  EXPECT_EQ(read_to_end(idle.fd.get(), kPatience).end, End::Eof);
  // The keep-alive request's entry, then the slowloris's, made when it was closed.
  ASSERT_TRUE(m.wait_journal("listener=s1", 2));
  const auto entries = m.journal("listener=s1");
  EXPECT_EQ(entries.at(0).at("end"), "idle-timeout");
  EXPECT_EQ(entries.at(1).at("end"), "idle-timeout");
  EXPECT_EQ(entries.at(1).at("outcome"), "incomplete");
}

TEST(MockLimits, AtTheConnectionCapNewConnectsWaitForOneToClose) {
  Mock m({"--listen", "s1=127.0.0.1:0", "--fault", "s1=hang", "--max-connections", "2"});
  std::vector<Connected> held;
  for (int i = 0; i < 2; ++i) {
    held.push_back(connect_to(m.port()));
    ASSERT_EQ(held.back().error, 0);
    send_all(held.back().fd.get(), kGet);
  }
  ASSERT_TRUE(m.wait_journal("listener=s1", 2));
  auto third = connect_to(m.port());  // completes in the kernel backlog
  ASSERT_EQ(third.error, 0);
  send_all(third.fd.get(), kGet);
  EXPECT_FALSE(m.wait_journal("listener=s1", 3, 300));  // not accepted while at the cap
  held.front().fd.reset();  // the hang notices the peer leaving and frees a slot
  EXPECT_TRUE(m.wait_journal("listener=s1", 3));
}

TEST(MockLimits, AcceptErrorsBackOffInsteadOfSpinning) {
  // 24 descriptors: stdio, epoll, the listeners and a few connections, then EMFILE.
  Child c = Child::start("/bin/sh", {"-c", "ulimit -n 24 && exec \"$0\" \"$@\"", MOCKSERVER_BIN,
                                     "--listen", "s1=127.0.0.1:0", "--fault", "s1=hang",
                                     "--admin", "127.0.0.1:0"});
  int admin_port = -1;
  for (const auto& line : c.stdout_lines())
    if (line.starts_with("admin ")) admin_port = std::stoi(line.substr(line.rfind(':') + 1));
  ASSERT_GT(admin_port, 0);
  // One keep-alive admin connection, opened before the descriptors run out.
  auto admin = connect_to(admin_port);
  ASSERT_EQ(admin.error, 0);
  auto accept_errors = [&]() -> long {
    send_all(admin.fd.get(), "GET /v1/stats HTTP/1.1\r\nHost: a\r\n\r\n");
    const auto r = read_response(admin.fd.get());
    boost::system::error_code ec;
    const auto v = boost::json::parse(body_of(r.bytes), ec);
    if (ec) return -1;
    return v.at("listeners").at(0).at("accept_errors").to_number<long>();
  };
  EXPECT_EQ(accept_errors(), 0);
  std::vector<Connected> conns;
  for (int i = 0; i < 30; ++i) {
    conns.push_back(connect_to(c.port("s1")));
    ASSERT_EQ(conns.back().error, 0);
  }
  long n = 0;
  const auto deadline = Clock::now() + kPatience;
  while ((n = accept_errors()) < 1 && Clock::now() < deadline) std::this_thread::sleep_for(milliseconds(10));
  ASSERT_GE(n, 1) << c.stderr_text();
  // A spinning loop fails thousands of accepts before the next stats request is served; the
  // backoff fails about ten a second.
  EXPECT_LT(accept_errors(), 50);
  EXPECT_NE(c.stderr_text().find("accept failed"), std::string::npos);
  conns.clear();  // descriptors come back: the hang connections notice and close
}

TEST(MockLimits, HangNoReadNoticesThePeerLeaving) {
  Mock m({"--listen", "s1=127.0.0.1:0", "--fault", "s1=hang-no-read"});
  auto quiet = connect_to(m.port());  // leaves without sending a byte
  auto talker = connect_to(m.port());  // leaves with its request still unread
  send_all(talker.fd.get(), kGet);
  ASSERT_TRUE(m.wait_journal("outcome=fault:hang-no-read", 2));
  ASSERT_TRUE(stats_until(m, [](const auto& l) { return field(l, "open_connections") == 2; }));
  quiet.fd.reset();
  talker.fd.reset();
  EXPECT_TRUE(open_connections_drop_to(m, 0));
}

TEST(MockLimits, APeerLeavingDuringAPauseEndsTheConnectionAndIsJournaled) {
  Mock m({"--listen", "s1=127.0.0.1:0", "--rule", "s1: -> status 200 delay=60000"});
  auto c = connect_to(m.port());
  send_all(c.fd.get(), kGet);
  ASSERT_TRUE(m.wait_journal("listener=s1"));
  ::shutdown(c.fd.get(), SHUT_WR);
  EXPECT_TRUE(open_connections_drop_to(m, 0));
  EXPECT_EQ(m.journal("listener=s1").at(0).at("end"), "fin-by-peer");
}

TEST(MockLimits, ReplacingAHangRuleReleasesTheConnectionsItHeld) {
  Mock m({"--listen", "s1=127.0.0.1:0", "--rule", "s1: id=stuck -> hang"});
  auto c = connect_to(m.port());
  send_all(c.fd.get(), kGet);
  ASSERT_TRUE(m.wait_journal("outcome=fault:hang"));
  // Another rule changing leaves it held; replacing "stuck" lets it go.
  ASSERT_EQ(m.call("POST", "/v1/listeners/s1/rules", R"({"id": "x", "respond": {"status": 201}})").status, 201);
  EXPECT_EQ(read_to_end(c.fd.get(), milliseconds(200)).end, End::Timeout);
  ASSERT_EQ(m.call("PUT", "/v1/listeners/s1/rules", "[]").status, 200);
  EXPECT_EQ(read_to_end(c.fd.get(), kPatience).end, End::Eof);
}

TEST(MockLimits, AFailedRebindIsReportedAndTheNextSwitchRecovers) {
  Mock m({"--listen", "s1=127.0.0.1:0", "--listen", "s2=127.0.0.1:0"});
  const int port = m.port("s2");
  ASSERT_EQ(m.call("PATCH", "/v1/listeners/s2", R"({"mode": "refuse"})").status, 200);
  // Someone else listens on the port while s2 refuses (its reserve socket does not listen).
  Fd thief(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const int one = 1;
  ::setsockopt(thief.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  ASSERT_EQ(::bind(thief.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << std::strerror(errno);
  ASSERT_EQ(::listen(thief.get(), 8), 0);
  const auto failed = m.call("PATCH", "/v1/listeners/s2", R"({"mode": "serve"})");
  EXPECT_EQ(failed.status, 503) << failed.raw;
  EXPECT_NE(m.call("GET", "/v1/listeners/s2").json.at("socket_error").as_string().find("cannot listen"),
            boost::json::string::npos);
  thief.reset();
  ASSERT_EQ(m.call("PATCH", "/v1/listeners/s2", R"({"mode": "refuse"})").status, 200);
  ASSERT_EQ(m.call("PATCH", "/v1/listeners/s2", R"({"mode": "serve"})").status, 200);
  EXPECT_EQ(status_of(http(port, "GET", "/").bytes), 200);
  EXPECT_EQ(status_of(http(m.port("s1"), "GET", "/").bytes), 200);
}

}  // namespace
}  // namespace lb::test
