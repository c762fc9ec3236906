#include "lb/core/check/http_response.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lb::core {
namespace {

// What a parser made of a response after all bytes (and optionally a close).
struct Parsed {
  bool failed = false;
  bool headers_done = false;
  bool complete = false;
  int status = 0;
  std::string reason;
  std::string body;
  bool operator==(const Parsed&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Parsed& p) {
  return os << "{failed=" << p.failed << " headers=" << p.headers_done << " complete=" << p.complete
            << " status=" << p.status << " reason='" << p.reason << "' body='" << p.body << "'}";
}

Parsed parse(const std::vector<std::string_view>& chunks, bool close, bool head = false) {
  HttpResponseParser p(head);
  for (auto chunk : chunks) {
    // feed() stops at events; a caller keeps feeding the rest until it takes nothing.
    while (!chunk.empty()) {
      const auto used = p.feed(chunk);
      if (used == 0) break;
      chunk.remove_prefix(used);
    }
  }
  if (close) p.close();
  // Nothing of a rejected header block means anything.
  if (p.failed() && !p.headers_done()) return {true, false, false, 0, {}, {}};
  return {p.failed(), p.headers_done(), p.complete(), p.status(), std::string(p.reason()),
          std::string(p.body())};
}

struct ParseCase {
  std::string name;
  std::string bytes;
  bool close;
  Parsed expected;
  bool head = false;
};

std::ostream& operator<<(std::ostream& os, const ParseCase& c) { return os << c.name; }

class HttpResponseCases : public ::testing::TestWithParam<ParseCase> {};

TEST_P(HttpResponseCases, ParsesTheSameHoweverTheBytesAreSplit) {
  const auto& c = GetParam();
  const std::string_view all = c.bytes;
  EXPECT_EQ(parse({all}, c.close, c.head), c.expected) << "whole";
  for (std::size_t cut = 1; cut < all.size(); ++cut)
    ASSERT_EQ(parse({all.substr(0, cut), all.substr(cut)}, c.close, c.head), c.expected) << "cut at " << cut;
  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < all.size(); ++i) bytes.push_back(all.substr(i, 1));
  EXPECT_EQ(parse(bytes, c.close, c.head), c.expected) << "one byte at a time";
}

Parsed ok(int status, std::string reason, std::string body = {}, bool complete = true) {
  return {false, true, complete, status, std::move(reason), std::move(body)};
}
Parsed invalid() { return {true, false, false, 0, {}, {}}; }

INSTANTIATE_TEST_SUITE_P(
    Haproxy26, HttpResponseCases,
    ::testing::Values(
        ParseCase{"ContentLength", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", false,
                  ok(200, "OK", "hello")},
        ParseCase{"MissingReason", "HTTP/1.1 503\r\nContent-Length: 0\r\n\r\n", false, ok(503, "")},
        ParseCase{"BareLineFeeds", "HTTP/1.1 200 OK\nContent-Length: 2\n\nhi", false, ok(200, "OK", "hi")},
        ParseCase{"LeadingEmptyLinesAreSkipped", "\r\n\nHTTP/1.0 204 No Content\r\n\r\n", false,
                  ok(204, "No Content")},
        ParseCase{"ReasonKeepsInnerSpaces", "HTTP/1.1 404  Not  Found \r\n\r\n", true,
                  ok(404, "Not  Found ")},
        ParseCase{"BodyUntilClose", "HTTP/1.0 200 OK\r\n\r\nabc", true, ok(200, "OK", "abc")},
        ParseCase{"BodyUntilCloseNotCompleteWhileOpen", "HTTP/1.0 200 OK\r\n\r\nabc", false,
                  ok(200, "OK", "abc", false)},
        ParseCase{"Chunked",
                  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n1;ext=1\r\n!\r\n0\r\n\r\n",
                  false, ok(200, "OK", "hello!")},
        ParseCase{"ChunkedWithTrailers",
                  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\nok\n0\nX-T: 1\n\n", false,
                  ok(200, "OK", "ok")},
        ParseCase{"ChunkedDropsContentLength",
                  "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
                  false, ok(200, "OK", "ok")},
        ParseCase{"ChunkWithBadSize",
                  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", false,
                  {true, true, false, 200, "OK", ""}},
        ParseCase{"ChunkedTwiceIsInvalid",
                  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", false, invalid()},
        ParseCase{"InterimResponseIsTheStatus", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
                  false, ok(100, "Continue")},
        ParseCase{"HeadResponseHasNoBody", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", false,
                  ok(200, "OK"), true},
        ParseCase{"IdenticalContentLengthsAgree",
                  "HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\nContent-Length: 2\r\n\r\nok", false,
                  ok(200, "OK", "ok")},
        ParseCase{"ObsFoldIsAccepted", "HTTP/1.1 200 OK\r\nX-A: one\r\n two\r\nContent-Length: 0\r\n\r\n",
                  false, ok(200, "OK")},
        ParseCase{"Http3VersionIsWellFormed", "HTTP/3.0 200 OK\r\n\r\n", true, ok(200, "OK")},
        ParseCase{"EmptyReplyIsInvalid", "", true, invalid()},
        ParseCase{"LetterOInCodeIsInvalid", "HTTP/1.1 2OO OK\r\n\r\n", false, invalid()},
        ParseCase{"GarbageIsInvalidAtOnce", "\x16\x03\x01 garbage", false, invalid()},
        ParseCase{"BareBodyIsInvalid", "hello world\n", false, invalid()},
        ParseCase{"ShortVersionIsInvalid", "HTTP/1 200 OK\r\n\r\n", false, invalid()},
        ParseCase{"NoCodeIsInvalid", "HTTP/1.1\r\n\r\n", false, invalid()},
        ParseCase{"HeaderWithoutColonIsInvalid", "HTTP/1.1 200 OK\r\nBroken header\r\n\r\n", false, invalid()},
        ParseCase{"SpaceBeforeColonIsInvalid", "HTTP/1.1 200 OK\r\nX-A : b\r\n\r\n", false, invalid()},
        ParseCase{"ControlByteInNameIsInvalid", "HTTP/1.1 200 OK\r\nX\x01: b\r\n\r\n", false, invalid()},
        ParseCase{"CrWithoutLfIsInvalid", "HTTP/1.1 200 OK\rX", false, invalid()},
        ParseCase{"ConflictingContentLengthsAreInvalid",
                  "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\n", false, invalid()},
        ParseCase{"NegativeContentLengthIsInvalid", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", false,
                  invalid()},
        ParseCase{"NonNumericContentLengthIsInvalid", "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", false,
                  invalid()},
        ParseCase{"OverflowingContentLengthIsInvalid",
                  "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n", false, invalid()},
        ParseCase{"PartialHeadersThenCloseAreInvalid", "HTTP/1.1 200 OK\r\nContent-Le", true, invalid()},
        ParseCase{"PartialHeadersWhileOpenAreUndecided", "HTTP/1.1 200 OK\r\nContent-Le", false,
                  {false, false, false, 200, "OK", ""}}),
    [](const auto& info) { return info.param.name; });

TEST(HttpResponse, StopsRightAfterTheHeaderBlock) {
  HttpResponseParser p;
  const std::string_view bytes = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  EXPECT_EQ(p.feed(bytes), bytes.size() - 2);
  EXPECT_TRUE(p.headers_done());
  EXPECT_EQ(p.feed("ok"), 2u);
  EXPECT_TRUE(p.complete());
}

std::string with_fields(int n) {
  std::string r = "HTTP/1.1 200 OK\r\n";
  for (int i = 0; i < n; ++i) r += "X-" + std::to_string(i) + ": v\r\n";
  return r + "\r\n";
}

TEST(HttpResponse, AcceptsOneHundredHeaderFields) {
  HttpResponseParser p;
  p.feed(with_fields(100));
  EXPECT_TRUE(p.headers_done());
  EXPECT_FALSE(p.failed());
}

TEST(HttpResponse, RejectsOneHundredAndOneHeaderFields) {
  HttpResponseParser p;
  p.feed(with_fields(101));
  EXPECT_TRUE(p.failed());
}

TEST(HttpResponse, ConnectionCloseDoesNotTakeAHeaderSlot) {
  HttpResponseParser p;
  p.feed(with_fields(100).insert(17, "Connection: close\r\n"));
  EXPECT_TRUE(p.headers_done());
}

TEST(HttpResponse, RejectsAHeaderBlockLargerThanTheCheckBuffer) {
  std::string r = "HTTP/1.1 200 OK\r\nX-Big: " + std::string(kCheckBufferSize, 'a') + "\r\n\r\n";
  HttpResponseParser p;
  p.feed(r);
  EXPECT_TRUE(p.failed());
}

// The head must fit the check buffer once converted to HTX: 48 bytes of HTX header, the start
// line's block (8 + 20 + its text), 8 + name + value per header, 9 for the end of headers
// (haproxy 2.6.12: check_replies.tsv, htx_head_*).
TEST(HttpResponse, AcceptsAHeadThatExactlyFillsTheCheckBufferAsHtx) {
  const auto head = [](std::size_t n, std::string_view extra = "") {
    return "HTTP/1.1 200 OK\r\n" + std::string(extra) + "X-Long: " + std::string(n, 'v') + "\r\n\r\n";
  };
  for (const auto& [text, fits] : std::vector<std::pair<std::string, bool>>{
           {head(16272), true}, {head(16273), false}, {head(16252, "A: 1\r\nB: 2\r\n"), true},
           {head(16253, "A: 1\r\nB: 2\r\n"), false}, {head(16268, "Connection: close\r\n"), true}}) {
    HttpResponseParser p;
    p.feed(text);
    EXPECT_EQ(p.headers_done(), fits) << text.size();
    EXPECT_EQ(p.failed(), !fits) << text.size();
  }
}

TEST(HttpResponse, KeepsNoMoreBodyThanTheCheckBufferHolds) {
  const std::string head = "HTTP/1.1 200 OK\r\n\r\n";
  HttpResponseParser p;
  std::string_view rest;
  const std::string r = head + std::string(3 * kCheckBufferSize, 'b');
  rest = r;
  while (!rest.empty()) {
    const auto used = p.feed(rest);
    if (used == 0) break;
    rest.remove_prefix(used);
  }
  EXPECT_TRUE(p.body_window_full());
  EXPECT_EQ(p.body().size(), kCheckBufferSize - head.size());
}

TEST(HttpResponse, KeepsTheStatusTextAsWritten) {
  HttpResponseParser p;
  p.feed("HTTP/1.1 0200 OK\r\n\r\n");
  EXPECT_EQ(p.status(), 200);
  EXPECT_EQ(p.status_text(), "0200");
}

}  // namespace
}  // namespace lb::core
