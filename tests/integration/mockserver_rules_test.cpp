// Rules, responses and HTTP/1.x handling of the real binary, observed with raw sockets.
#include <gtest/gtest.h>

#include "tests/integration/mockserver_client.hpp"

namespace lb::test {
namespace {

Mock with_rules(std::vector<std::string> rules) {
  std::vector<std::string> args{"--listen", "s1=127.0.0.1:0"};
  for (auto& r : rules) args.insert(args.end(), {"--rule", r});
  return Mock(args);
}

TEST(MockRules, DefaultAnswerIsHelloFromTheListenerName) {
  Mock m({"--listen", "s1=127.0.0.1:0", "--listen", "backend-2=127.0.0.1:0"});
  EXPECT_EQ(http(m.port("s1"), "GET", "/").bytes,
            "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nConnection: close\r\n\r\nhello from s1");
  EXPECT_EQ(body_of(http(m.port("backend-2"), "GET", "/").bytes), "hello from backend-2");
}

TEST(MockRules, OptionsGets500WhileGetGets200) {
  Mock m = with_rules({"s1: method=OPTIONS -> status 500"});
  EXPECT_EQ(status_of(request_once(m.port(), "OPTIONS / HTTP/1.0\r\n\r\n").bytes), 500);
  EXPECT_EQ(status_of(http(m.port(), "GET", "/").bytes), 200);
}

TEST(MockRules, PathsMatchExactlyByPrefixAndByRegex) {
  Mock m = with_rules({"s1: path=/health -> status 201", "s1: path^=/api/ -> status 202",
                       "s1: path~=^/v[0-9]+/x$ -> status 203"});
  EXPECT_EQ(status_of(http(m.port(), "GET", "/health").bytes), 201);
  EXPECT_EQ(status_of(http(m.port(), "GET", "/health?full=1").bytes), 201);
  EXPECT_EQ(status_of(http(m.port(), "GET", "/healthz").bytes), 200);
  EXPECT_EQ(status_of(http(m.port(), "GET", "/api/users").bytes), 202);
  EXPECT_EQ(status_of(http(m.port(), "GET", "/v12/x").bytes), 203);
  EXPECT_EQ(status_of(http(m.port(), "GET", "/v12/xy").bytes), 200);
}

TEST(MockRules, HeadersMatchOnPresenceAndOnValue) {
  Mock m = with_rules({"s1: header=X-Probe:deep -> status 503", "s1: header=X-Probe -> status 204"});
  EXPECT_EQ(status_of(http(m.port(), "GET", "/", "X-Probe: deep\r\n").bytes), 503);
  EXPECT_EQ(status_of(http(m.port(), "GET", "/", "x-probe: shallow\r\n").bytes), 204);
  EXPECT_EQ(status_of(http(m.port(), "GET", "/").bytes), 200);
}

TEST(MockRules, ReasonCanBeReplacedOrLeftOut) {
  Mock m = with_rules({"s1: path=/none -> status 503 reason=none", "s1: path=/odd -> status 200 reason=\"All Good\""});
  EXPECT_TRUE(http(m.port(), "GET", "/none").bytes.starts_with("HTTP/1.1 503\r\n"));
  EXPECT_TRUE(http(m.port(), "GET", "/odd").bytes.starts_with("HTTP/1.1 200 All Good\r\n"));
}

TEST(MockRules, BodySubstitutesNameMethodAndPath) {
  Mock m = with_rules({"s1: -> status 200 body=\"{name} saw {method} {path}\" header=X-Backend:s1"});
  const auto r = http(m.port(), "DELETE", "/items/7?x=1");
  EXPECT_EQ(body_of(r.bytes), "s1 saw DELETE /items/7");
  EXPECT_NE(r.bytes.find("\r\nX-Backend: s1\r\n"), std::string::npos) << r.bytes;
}

TEST(MockRules, HeadGetsHeadersWithoutBody) {
  Mock m({"--listen", "s1=127.0.0.1:0"});
  EXPECT_EQ(http(m.port(), "HEAD", "/").bytes,
            "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nConnection: close\r\n\r\n");
}

TEST(MockRules, KeepAliveServesSeveralRequestsOnOneConnection) {
  Mock m({"--listen", "s1=127.0.0.1:0"});
  auto c = connect_to(m.port());
  for (int i = 0; i < 3; ++i) {
    send_all(c.fd.get(), "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    const auto r = read_response(c.fd.get());
    EXPECT_EQ(r.end, End::Done);
    EXPECT_EQ(body_of(r.bytes), "hello from s1");
  }
}

TEST(MockRules, PipelinedRequestsAreAnsweredInOrder) {
  Mock m = with_rules({"s1: path=/a -> status 201", "s1: path=/b -> status 202"});
  const auto r = request_once(m.port(), "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\nConnection: close\r\n\r\n");
  const auto second = r.bytes.find("HTTP/1.1 202");
  EXPECT_TRUE(r.bytes.starts_with("HTTP/1.1 201"));
  EXPECT_NE(second, std::string::npos);
}

TEST(MockRules, Http10ClosesUnlessAskedToKeepAlive) {
  Mock m({"--listen", "s1=127.0.0.1:0"});
  const auto closed = request_once(m.port(), "GET / HTTP/1.0\r\n\r\n");
  EXPECT_EQ(closed.end, End::Eof);
  EXPECT_NE(closed.bytes.find("Connection: close\r\n"), std::string::npos);
  auto c = connect_to(m.port());
  send_all(c.fd.get(), "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  const auto kept = read_response(c.fd.get());
  EXPECT_NE(kept.bytes.find("Connection: keep-alive\r\n"), std::string::npos);
  send_all(c.fd.get(), "GET / HTTP/1.0\r\n\r\n");
  EXPECT_EQ(status_of(read_to_end(c.fd.get(), kPatience).bytes), 200);
}

TEST(MockRules, DelayHoldsTheStatusLine) {
  Mock m = with_rules({"s1: -> status 200 delay=150"});
  const auto start = Clock::now();
  const auto r = http(m.port(), "GET", "/");
  EXPECT_EQ(status_of(r.bytes), 200);
  EXPECT_GE(Clock::now() - start, milliseconds(150));
  ASSERT_FALSE(r.arrivals.empty());
  EXPECT_TRUE(r.bytes.starts_with("HTTP/1.1 200 OK\r\n"));
}

TEST(MockRules, ChunkDelaySpacesTheBodyPieces) {
  Mock m = with_rules({"s1: -> status 200 body=abcdef chunk_bytes=2 chunk_delay=40"});
  const auto start = Clock::now();
  const auto r = http(m.port(), "GET", "/");
  EXPECT_EQ(body_of(r.bytes), "abcdef");
  EXPECT_GE(Clock::now() - start, milliseconds(80));
}

TEST(MockRules, MalformedRequestGets400AndIsJournaled) {
  Mock m({"--listen", "s1=127.0.0.1:0"});
  const auto r = request_once(m.port(), "NOT HTTP AT ALL\r\n\r\n");
  EXPECT_EQ(status_of(r.bytes), 400);
  EXPECT_TRUE(m.wait_journal("listener=s1&outcome=bad-request"));
}

TEST(MockRules, ServesOnIpv6Loopback) {
  if (connect_to(1, milliseconds(100), "::1").error == EADDRNOTAVAIL) GTEST_SKIP() << "no ::1";
  Mock m({"--listen", "s6=[::1]:0"});
  EXPECT_EQ(m.child().address("s6"), "::1");
  auto c = connect_to(m.port("s6"), kPatience, "::1");
  ASSERT_EQ(c.error, 0);
  send_all(c.fd.get(), "GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(body_of(read_to_end(c.fd.get(), kPatience).bytes), "hello from s6");
}

}  // namespace
}  // namespace lb::test
