// Each fault of the catalogue observed on the wire by a real client against the real binary.
#include <gtest/gtest.h>

#include "tests/integration/mockserver_client.hpp"

namespace lb::test {
namespace {

constexpr auto kShort = milliseconds(300);
constexpr std::string_view kGet = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";

Mock with_fault(const std::string& fault) {
  return Mock({"--listen", "s1=127.0.0.1:0", "--fault", "s1=" + fault});
}

TEST(MockFaults, RefuseAnswersSynWithReset) {
  Mock m = with_fault("refuse");
  EXPECT_EQ(connect_to(m.port()).error, ECONNREFUSED);
}

TEST(MockFaults, BlackholeLeavesConnectsHanging) {
  Mock m = with_fault("blackhole");
  const auto start = Clock::now();
  EXPECT_EQ(connect_to(m.port(), kShort).error, ETIMEDOUT);
  EXPECT_GE(Clock::now() - start, kShort);
}

TEST(MockFaults, SlowAcceptCompletesHandshakeButNeverAnswers) {
  Mock m = with_fault("slow-accept");
  auto c = connect_to(m.port());
  ASSERT_EQ(c.error, 0);
  send_all(c.fd.get(), kGet);
  const auto r = read_to_end(c.fd.get(), kShort);
  EXPECT_EQ(r.end, End::Timeout);
  EXPECT_EQ(r.bytes, "");
}

TEST(MockFaults, HangReadsTheRequestAndNeverAnswers) {
  Mock m = with_fault("hang");
  auto c = connect_to(m.port());
  send_all(c.fd.get(), kGet);
  ASSERT_TRUE(m.wait_journal("listener=s1&outcome=fault:hang"));
  const auto r = read_to_end(c.fd.get(), kShort);
  EXPECT_EQ(r.end, End::Timeout);
  EXPECT_EQ(r.bytes, "");
}

TEST(MockFaults, HangNoReadNeverReadsNorAnswers) {
  Mock m = with_fault("hang-no-read");
  auto c = connect_to(m.port());
  send_all(c.fd.get(), kGet);
  ASSERT_TRUE(m.wait_journal("outcome=fault:hang-no-read"));
  EXPECT_EQ(read_to_end(c.fd.get(), kShort).end, End::Timeout);
}

TEST(MockFaults, ResetAfterRequestGivesConnectionReset) {
  Mock m = with_fault("reset");
  const auto r = request_once(m.port(), kGet);
  EXPECT_EQ(r.end, End::Reset);
  EXPECT_EQ(r.bytes, "");
}

TEST(MockFaults, ResetOnAcceptGivesConnectionReset) {
  Mock m = with_fault("reset-on-accept");
  auto c = connect_to(m.port());
  ASSERT_TRUE(m.wait_journal("outcome=fault:reset-on-accept"));
  // Racy by nature (catalogue B): the RST may beat the connect's completion.
  if (c.error == 0) {
    EXPECT_EQ(read_to_end(c.fd.get(), kPatience).end, End::Reset);
  } else {
    EXPECT_EQ(c.error, ECONNRESET);
  }
}

TEST(MockFaults, CloseBeforeRequestSendsFinWithoutBytes) {
  Mock m = with_fault("close-before-request");
  auto c = connect_to(m.port());
  const auto r = read_to_end(c.fd.get(), kPatience);
  EXPECT_EQ(r.end, End::Eof);
  EXPECT_EQ(r.bytes, "");
}

TEST(MockFaults, CloseReadsRequestThenSendsFinWithoutBytes) {
  Mock m = with_fault("close");
  const auto r = request_once(m.port(), kGet);
  EXPECT_EQ(r.end, End::Eof);
  EXPECT_EQ(r.bytes, "");
}

TEST(MockFaults, GarbageSendsNonHttpBytesThenFin) {
  Mock m = with_fault("garbage bytes=100 seed=7");
  const auto r = request_once(m.port(), kGet);
  EXPECT_EQ(r.end, End::Eof);
  EXPECT_EQ(r.bytes.size(), 100u);
  EXPECT_FALSE(r.bytes.starts_with("HTTP/"));
}

TEST(MockFaults, PartialSendsStatusLineAndHeadersThenStalls) {
  Mock m = with_fault("partial");
  auto c = connect_to(m.port());
  ASSERT_EQ(c.error, 0);
  send_all(c.fd.get(), kGet);
  const auto r = read_exactly_then_silence(c.fd.get(), "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n", kShort);
  EXPECT_EQ(r.end, End::Timeout);
  EXPECT_EQ(r.bytes, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n");
}

TEST(MockFaults, DripSendsTheResponseInTimedPieces) {
  Mock m = with_fault("drip bytes=20 every_ms=20");
  const auto start = Clock::now();  // before the request: the server cannot finish earlier
  const auto r = request_once(m.port(), kGet);
  EXPECT_EQ(r.end, End::Eof);
  EXPECT_EQ(status_of(r.bytes), 200);
  EXPECT_EQ(body_of(r.bytes), "hello from s1");
  // 70 bytes in pieces of 20: 4 pieces, 3 pauses of 20 ms. Arrival counts are not asserted: a
  // descheduled client may find several pieces in one read.
  EXPECT_GE(Clock::now() - start, milliseconds(60));
}

TEST(MockFaults, BadLengthPromisesMoreThanItSends) {
  Mock m = with_fault("bad-length");
  const auto r = request_once(m.port(), kGet);
  EXPECT_EQ(r.end, End::Eof);
  EXPECT_NE(r.bytes.find("Content-Length: 103\r\n"), std::string::npos) << r.bytes;
  EXPECT_EQ(body_of(r.bytes), "hello from s1");
}

TEST(MockFaults, BadChunkedSendsANonHexChunkSize) {
  Mock m = with_fault("bad-chunked");
  const auto r = request_once(m.port(), kGet);
  EXPECT_EQ(r.end, End::Eof);
  EXPECT_NE(r.bytes.find("Transfer-Encoding: chunked\r\n"), std::string::npos);
  EXPECT_EQ(body_of(r.bytes), "zz\r\nhello\r\n0\r\n\r\n");
}

TEST(MockFaults, Http09SendsABareBody) {
  Mock m = with_fault("http09");
  const auto r = request_once(m.port(), kGet);
  EXPECT_EQ(r.end, End::Eof);
  EXPECT_EQ(r.bytes, "hello from s1");
}

TEST(MockFaults, OversizedHeadersExceedSixteenKilobytes) {
  Mock m = with_fault("oversized-headers");
  const auto r = request_once(m.port(), kGet);
  EXPECT_EQ(status_of(r.bytes), 200);
  EXPECT_GT(r.bytes.find("\r\n\r\n"), 16384u);
}

TEST(MockFaults, ResetMidResponseSendsHeadersThenReset) {
  Mock m = with_fault("reset-mid-response");
  const auto r = request_once(m.port(), kGet);
  EXPECT_EQ(r.end, End::Reset);
}

TEST(MockFaults, Interim1xxPrecedesTheFinalResponse) {
  Mock m = with_fault("interim-1xx");
  const auto r = request_once(m.port(), "GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(r.bytes.starts_with("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n")) << r.bytes;
}

TEST(MockFaults, BadStatusLineUsesLettersForDigits) {
  Mock m = with_fault("bad-status-line");
  const auto r = request_once(m.port(), kGet);
  EXPECT_TRUE(r.bytes.starts_with("HTTP/1.1 2OO OK\r\n")) << r.bytes;
}

TEST(MockFaults, DelayAnswersAfterThePause) {
  Mock m = with_fault("delay ms=150");
  const auto start = Clock::now();
  const auto r = request_once(m.port(), "GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_of(r.bytes), 200);
  EXPECT_GE(Clock::now() - start, milliseconds(150));
}

TEST(MockFaults, ListenerResetReleasesHeldConnections) {
  Mock m = with_fault("hang");
  auto c = connect_to(m.port());
  send_all(c.fd.get(), kGet);
  ASSERT_TRUE(m.wait_journal("outcome=fault:hang"));
  EXPECT_EQ(m.call("POST", "/v1/listeners/s1/reset").status, 200);
  EXPECT_EQ(read_to_end(c.fd.get(), kPatience).end, End::Eof);
}

}  // namespace
}  // namespace lb::test
