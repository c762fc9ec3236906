// The request parser on its own; tests/integration/lb_hostile_requests_test.cpp holds the whole
// proxy to haproxy's answers for 141 captured requests.
#include <gtest/gtest.h>

#include "lb/core/http/request_parser.hpp"

namespace lb::core {
namespace {

using State = RequestParse::State;

TEST(RequestParser, NormalisesWhatHaproxyNormalises) {
  const auto r = parse_request_head("\r\n\nget  /a\tHTTP/1.1\nHost: x\r\nHost: x\r\nContent-Length: 1 , 1\r\nX-A: 1\r\n 2\r\n\r\nb");
  ASSERT_EQ(r.state, State::Done);
  EXPECT_EQ(r.head.method, "get");
  EXPECT_EQ(r.head.target, "/a");
  EXPECT_EQ(r.consumed, std::string_view("\r\n\nget  /a\tHTTP/1.1\nHost: x\r\nHost: x\r\nContent-Length: 1 , 1\r\nX-A: 1\r\n 2\r\n\r\n").size());
  ASSERT_EQ(r.head.headers.size(), 3u);
  EXPECT_EQ(r.head.headers[1].value, "1");      // one length, as written
  EXPECT_EQ(r.head.headers[2].value, "1   2");  // the fold's CRLF became two blanks
  EXPECT_EQ(r.content_length, 1u);
  EXPECT_TRUE(r.keep_alive);
}

TEST(RequestParser, RefusesSmugglingShapesWithHaproxysStatus) {
  auto status = [](std::string_view req) {
    const auto r = parse_request_head(req);
    return r.state == State::Error ? r.error_status : r.state == State::Done ? 200 : -1;
  };
  EXPECT_EQ(status("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"), 400);
  EXPECT_EQ(status("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), 422);
  EXPECT_EQ(status("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"), 400);
  EXPECT_EQ(status("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"), 400);
  EXPECT_EQ(status("POST / HTTP/1.1\r\nTransfer-Encoding : chunked\r\n\r\n"), 400);
  EXPECT_EQ(status("GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n"), 400);
  EXPECT_EQ(status("GET http://y/ HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
  EXPECT_EQ(status("GET / HTTP/1.1 \r\n\r\n"), 400);
  EXPECT_EQ(status("GET /\r\n\r\n"), 400);
  EXPECT_EQ(status("GET /a#b HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(status("GET / HTTP/1.1\r\nX: a\rb\r\n\r\n"), 400);
  EXPECT_EQ(status("GET / HTTP/1.1\r\n X: a\r\n\r\n"), 400);
  EXPECT_EQ(status("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 0);
  EXPECT_EQ(status("\r\n\r\n"), -1);  // only empty lines: wait (haproxy answers 408 at the timeout)
}

TEST(RequestParser, ContentLengthWithChunkedIsChunkedAndClosesTheConnection) {
  const auto r = parse_request_head("POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n");
  ASSERT_EQ(r.state, State::Done);
  EXPECT_TRUE(r.head.chunked);
  EXPECT_FALSE(r.content_length);
  EXPECT_TRUE(r.close_after);
  ASSERT_EQ(r.head.headers.size(), 1u);
  EXPECT_EQ(r.head.headers[0].name, "Transfer-Encoding");
}

TEST(RequestParser, NewerVersionsAreReadAsOneOneAndHttp09AsOneZero) {
  EXPECT_EQ(parse_request_head("GET / HTTP/2.0\r\n\r\n").head.version, 11);
  EXPECT_EQ(parse_request_head("GET / HTTP/1.2\r\n\r\n").version_text, "HTTP/1.2");
  const auto old = parse_request_head("GET / HTTP/0.9\r\n\r\n");
  EXPECT_EQ(old.head.version, 9);
  EXPECT_FALSE(old.keep_alive);
  EXPECT_TRUE(parse_request_head("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").keep_alive);
}

TEST(RequestParser, TheVerdictDoesNotDependOnHowTheBytesArrive) {
  const std::string req = "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (std::size_t cut = 0; cut < req.size(); ++cut)
    EXPECT_EQ(parse_request_head(req.substr(0, cut)).state, State::Incomplete) << cut;
  EXPECT_EQ(parse_request_head(req).state, State::Done);
}

TEST(ChunkedDecoder, DecodesWhateverTheSplitAndKeepsTrailers) {
  const std::string body = "0003;ext=1\r\nabc\r\n2 \nde\n0\r\nX-T: 1\r\n\r\n";
  for (std::size_t cut = 0; cut <= body.size(); ++cut) {
    ChunkedDecoder d;
    std::string out;
    const auto used = d.feed(std::string_view(body).substr(0, cut), out);
    ASSERT_EQ(used, cut);
    d.feed(std::string_view(body).substr(cut), out);
    ASSERT_TRUE(d.done()) << cut;
    EXPECT_EQ(out, "abcde");
    ASSERT_EQ(d.trailers().size(), 1u);
    EXPECT_EQ(d.trailers()[0].name, "x-t");
  }
}

TEST(ChunkedDecoder, RefusesBadSizesAndOverlongData) {
  for (const auto* bad : {"x\r\n", "-3\r\n", "0x3\r\n", "fffffffffffffffffff\r\n", "3\r\nabcd\r\n", "0\r\nnocolon\r\n"}) {
    ChunkedDecoder d;
    std::string out;
    d.feed(bad, out);
    EXPECT_TRUE(d.failed()) << bad;
  }
}

}  // namespace
}  // namespace lb::core
