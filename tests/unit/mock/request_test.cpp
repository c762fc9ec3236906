#include "mockserver/core/request.hpp"

#include <gtest/gtest.h>

#include <string>

namespace mock::core {
namespace {

constexpr std::string_view kCheck = "OPTIONS / HTTP/1.0\r\n\r\n";
constexpr std::string_view kPost =
    "POST /api/v1?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nX-Tag:  v  \r\n\r\nhelloGET";

TEST(RequestParser, ReadsHaproxysDefaultCheck) {
  RequestParser p;
  const auto r = p.parse(kCheck);
  ASSERT_EQ(r.status, ParseStatus::Done);
  EXPECT_EQ(r.consumed, kCheck.size());
  EXPECT_EQ(p.request().method, "OPTIONS");
  EXPECT_EQ(p.request().minor, 0);
  EXPECT_FALSE(p.request().keep_alive);
}

TEST(RequestParser, ReadsHeadersBodyAndStopsAtTheNextRequest) {
  RequestParser p;
  const auto r = p.parse(kPost);
  ASSERT_EQ(r.status, ParseStatus::Done);
  EXPECT_EQ(kPost.substr(r.consumed), "GET");
  const auto& req = p.request();
  EXPECT_EQ(req.path(), "/api/v1");
  EXPECT_EQ(req.query(), "x=1");
  EXPECT_EQ(req.body, "hello");
  ASSERT_NE(req.find("x-tag"), nullptr);
  EXPECT_EQ(req.find("x-tag")->value, "v");
  EXPECT_TRUE(req.keep_alive);
}

TEST(RequestParser, EveryPrefixIsIncompleteNeverDone) {
  const std::string_view whole = kPost.substr(0, kPost.size() - 3);
  for (std::size_t n = 0; n < whole.size(); ++n) {
    RequestParser p;
    EXPECT_EQ(p.parse(whole.substr(0, n)).status, ParseStatus::Incomplete) << n;
  }
}

TEST(RequestParser, SkipsAChunkedBody) {
  constexpr std::string_view req =
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nTrailer: x\r\n\r\n";
  RequestParser p;
  const auto r = p.parse(req);
  ASSERT_EQ(r.status, ParseStatus::Done);
  EXPECT_EQ(r.consumed, req.size());
  for (std::size_t n = 0; n < req.size(); ++n)
    EXPECT_EQ(p.parse(req.substr(0, n)).status, ParseStatus::Incomplete) << n;
}

TEST(RequestParser, RejectsWhatIsNotHttp1) {
  for (std::string_view bad : {"GET\r\n\r\n", "GET / HTTP/2.0\r\n\r\n", "G(T / HTTP/1.1\r\n\r\n",
                               "GET / HTTP/1.1\r\nNoColon\r\n\r\n",
                               "GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
                               "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                               "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"}) {
    RequestParser p;
    EXPECT_EQ(p.parse(bad).status, ParseStatus::Bad) << bad;
  }
}

TEST(RequestParser, BoundsTheHeaderBlock) {
  std::string huge = "GET / HTTP/1.1\r\n";
  while (huge.size() <= RequestParser::kMaxHead) huge += "X-Fill: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
  RequestParser p;
  EXPECT_EQ(p.parse(huge).status, ParseStatus::TooLarge);
}

TEST(RequestParser, ConnectionHeaderDecidesKeepAlive) {
  RequestParser p;
  ASSERT_EQ(p.parse("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n").status, ParseStatus::Done);
  EXPECT_FALSE(p.request().keep_alive);
  ASSERT_EQ(p.parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").status, ParseStatus::Done);
  EXPECT_TRUE(p.request().keep_alive);
}

TEST(RequestParser, ChunkSizesThatWouldWrapTheTotalAreTooLarge) {
  RequestParser p;
  const std::string raw =
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
      "1\r\na\r\nffffffffffffffff\r\n";
  EXPECT_EQ(p.parse(raw).status, ParseStatus::BodyTooLarge);
}

// A body over the limit is not a head too large: the head is read, so the request can be
// answered 413 and journaled with its method and target.
TEST(RequestParser, ABodyOverTheLimitIsBodyTooLargeWithTheHeadRead) {
  RequestParser p;
  EXPECT_EQ(p.parse("POST /upload HTTP/1.1\r\nContent-Length: 1048577\r\n\r\n").status, ParseStatus::BodyTooLarge);
  EXPECT_EQ(p.request().method, "POST");
  EXPECT_EQ(p.request().target, "/upload");
  EXPECT_EQ(p.parse("POST / HTTP/1.1\r\nContent-Length: 1048576\r\n\r\n").status, ParseStatus::Incomplete);
  RequestParser admin(8 * 1024 * 1024);  // a larger limit, as the control API has
  EXPECT_EQ(admin.parse("PUT / HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n").status, ParseStatus::Incomplete);
}

}  // namespace
}  // namespace mock::core
