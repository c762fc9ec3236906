#include "lb/core/check/check_run.hpp"
#include "lb/core/check/connect_failure.hpp"

#include "lb/core/check/http_response.hpp"

#include <gtest/gtest.h>

#include <cerrno>

#include <string>
#include <vector>

namespace lb::core {
namespace {

using S = CheckStatus;

CheckResult result(CheckStatus s, int code = 0, std::string info = {}) {
  return {s, code, std::move(info), Ms{-1}};
}

ExpectRule expect(ExpectKind kind, std::string pattern, bool negate = false) {
  return {kind, negate, std::move(pattern)};
}

CheckSpec httpchk(std::vector<ExpectRule> expects = {}) {
  CheckSpec s;
  s.kind = CheckKind::HttpChk;
  s.http_expects = std::move(expects);
  return s;
}

CheckSpec disable_on_404(CheckSpec s) {
  s.disable_on_404 = true;
  return s;
}

CheckSpec with_method(CheckSpec s, std::string method) {
  s.http.method = std::move(method);
  return s;
}

TcpCheckRule connect_rule(std::optional<std::uint16_t> port = std::nullopt) {
  TcpCheckRule r;
  r.kind = TcpCheckRule::Kind::Connect;
  r.port = port;
  return r;
}
TcpCheckRule send_rule(std::string data, bool binary = false) {
  TcpCheckRule r;
  r.kind = binary ? TcpCheckRule::Kind::SendBinary : TcpCheckRule::Kind::Send;
  r.data = std::move(data);
  return r;
}
TcpCheckRule expect_rule(ExpectKind kind, std::string pattern, bool negate = false) {
  TcpCheckRule r;
  r.kind = TcpCheckRule::Kind::Expect;
  r.expect = expect(kind, std::move(pattern), negate);
  return r;
}
CheckSpec tcpcheck(std::vector<TcpCheckRule> rules) {
  CheckSpec s;
  s.kind = CheckKind::TcpCheck;
  s.tcp_rules = std::move(rules);
  return s;
}

// What the server does once it has sent its bytes.
enum class Then { Close, Hold, Reset };

// One conversation: connect, the server's bytes in the given pieces, then `then`.
CheckResult play(const CheckSpec& spec, const std::vector<std::string_view>& pieces, Then then,
                 bool server_up = true, std::string* sent = nullptr) {
  CheckRun run(spec, server_up);
  auto step = run.on_connected();
  if (sent) *sent = step.send;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    if (run.done()) break;
    // A reset right behind the last piece arrives with it (mockserver's reset faults).
    if (then == Then::Reset && i + 1 == pieces.size()) {
      run.on_data_then_error(pieces[i], "Connection reset by peer");
      break;
    }
    step = run.on_data(pieces[i]);
    if (sent) *sent += step.send;
  }
  if (!run.done()) {
    switch (then) {
      case Then::Close:
        run.on_peer_closed();
        break;
      case Then::Hold:
        run.on_timeout();
        break;
      case Then::Reset:
        run.on_error("Connection reset by peer");
        break;
    }
  }
  EXPECT_TRUE(run.done());
  return run.result().value_or(CheckResult{});
}

struct Case {
  std::string name;
  CheckSpec spec;
  std::string reply;
  Then then;
  CheckResult expected;
  bool server_up = true;
};

std::ostream& operator<<(std::ostream& os, const Case& c) { return os << c.name; }

// Where to cut a reply in two: everywhere, except in the multi-kilobyte ones, where a stride
// plus every position around the check-buffer boundary keeps the test quick.
std::vector<std::size_t> cuts(std::size_t n) {
  std::vector<std::size_t> out;
  for (std::size_t i = 1; i < n; ++i)
    if (n <= 4096 || i % 37 == 0 || (i > kCheckBufferSize - 80 && i < kCheckBufferSize + 80))
      out.push_back(i);
  return out;
}

class CheckRunCases : public ::testing::TestWithParam<Case> {};

TEST_P(CheckRunCases, GivesTheSameResultHoweverTheReplyIsSplit) {
  const auto& c = GetParam();
  const std::string_view all = c.reply;
  EXPECT_EQ(play(c.spec, {all}, c.then, c.server_up), c.expected) << "whole";
  for (const auto cut : cuts(all.size()))
    ASSERT_EQ(play(c.spec, {all.substr(0, cut), all.substr(cut)}, c.then, c.server_up), c.expected)
        << "cut at " << cut;
  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < all.size(); ++i) bytes.push_back(all.substr(i, 1));
  EXPECT_EQ(play(c.spec, bytes, c.then, c.server_up), c.expected) << "one byte at a time";
}

std::string many_headers(int n) {
  std::string r = "HTTP/1.1 200 OK\r\n";
  for (int i = 0; i < n; ++i) r += "X-Filler-" + std::to_string(i) + ": v\r\n";
  return r + "Content-Length: 0\r\n\r\n";
}

// A Content-Length response whose body is `body`.
std::string with_body(const std::string& body) {
  return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

// `size` bytes over many lines, then `tail`.
std::string long_body(const std::string& tail, std::size_t size = 15000) {
  std::string b;
  while (b.size() < size) b += "line of filler text\n";
  return b + tail;
}

const std::string kChunkedHello =
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";

// mock-faults.md section C (plus the B rows that reach the HTTP parser), one row per fault
// with a verdict; `[obs]` rows were seen on HAProxy 2.6.12.
INSTANTIATE_TEST_SUITE_P(
    MockFaults, CheckRunCases,
    ::testing::Values(
        // status [obs 302, 404]
        Case{"PassesOn302", httpchk(), "HTTP/1.1 302 Found\r\nLocation: /x\r\n\r\n", Then::Hold,
             result(S::L7Ok, 302)},
        Case{"FailsWithWrongStatusOn404", httpchk(), "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
             Then::Hold, result(S::L7WrongStatus, 404, "Not Found")},
        Case{"FailsWithWrongStatusOn500", httpchk(), "HTTP/1.1 500 X\r\n\r\n", Then::Close,
             result(S::L7WrongStatus, 500, "X")},
        Case{"ConditionallyPassesOn404WhenDisableOn404AndUp", disable_on_404(httpchk()),
             "HTTP/1.1 404 Not Found\r\n\r\n", Then::Close, result(S::L7OkConditional, 404)},
        Case{"FailsOn404WhenDisableOn404AndDown", disable_on_404(httpchk()), "HTTP/1.1 404 Not Found\r\n\r\n",
             Then::Close, result(S::L7WrongStatus, 404, "Not Found"), false},
        // status-for-method
        Case{"FailsWithWrongStatusOn500ToOptions", httpchk(),
             "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 3\r\n\r\nerr", Then::Hold,
             result(S::L7WrongStatus, 500, "Internal Server Error")},
        // garbage [obs], http09 [obs]
        Case{"FailsWithInvalidResponseOnGarbage", httpchk(), "\x8f\x01zq\x7f garbage\r\n", Then::Close,
             result(S::L7InvalidResponse)},
        Case{"FailsWithInvalidResponseOnGarbageEvenIfHeld", httpchk(), "\x8f\x01zq", Then::Hold,
             result(S::L7InvalidResponse)},
        Case{"FailsWithInvalidResponseOnBareBody", httpchk(), "<html>hello</html>\n", Then::Close,
             result(S::L7InvalidResponse)},
        // bad-status-line [obs 2OO, missing reason, bare LF]
        Case{"FailsWithInvalidResponseOnLetterOInCode", httpchk(), "HTTP/1.1 2OO OK\r\n\r\n", Then::Close,
             result(S::L7InvalidResponse)},
        Case{"PassesWithoutReasonPhrase", httpchk(), "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", Then::Hold,
             result(S::L7Ok, 200)},
        Case{"FailsWithoutInfoOn503WithoutReason", httpchk(), "HTTP/1.1 503\r\n\r\n", Then::Close,
             result(S::L7WrongStatus, 503)},
        Case{"PassesWithBareLineFeeds", httpchk(), "HTTP/1.1 200 OK\nContent-Length: 0\n\n", Then::Hold,
             result(S::L7Ok, 200)},
        Case{"FailsWithInvalidResponseOnLongVersion", httpchk(), "HTTP/1.10 200 OK\r\n\r\n",
             Then::Close, result(S::L7InvalidResponse)},
        // bad-header-line [obs no colon]
        Case{"FailsWithInvalidResponseOnHeaderWithoutColon", httpchk(),
             "HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n", Then::Close, result(S::L7InvalidResponse)},
        Case{"FailsWithInvalidResponseOnSpaceBeforeColon", httpchk(), "HTTP/1.1 200 OK\r\nX-A : 1\r\n\r\n",
             Then::Close, result(S::L7InvalidResponse)},
        Case{"FailsWithInvalidResponseOnControlByteInName", httpchk(), "HTTP/1.1 200 OK\r\nX\x02: 1\r\n\r\n",
             Then::Close, result(S::L7InvalidResponse)},
        Case{"PassesWithObsFoldContinuation", httpchk(), "HTTP/1.1 200 OK\r\nX-A: 1\r\n\t2\r\n\r\n",
             Then::Close, result(S::L7Ok, 200)},
        // huge-headers [obs 20 KB block; 120 fields]
        Case{"FailsWithInvalidResponseOnTwentyKilobyteHeaderBlock", httpchk(),
             "HTTP/1.1 200 OK\r\nX-Big: " + std::string(20 * 1024, 'a') + "\r\n\r\n", Then::Close,
             result(S::L7InvalidResponse)},
        Case{"FailsWithInvalidResponseOn120HeaderFields", httpchk(), many_headers(120), Then::Close,
             result(S::L7InvalidResponse)},
        Case{"PassesWith99HeaderFieldsAndContentLength", httpchk(), many_headers(99), Then::Hold,
             result(S::L7Ok, 200)},
        // partial-headers-stall, partial-headers-close [obs]
        Case{"TimesOutOnPartialHeadersHeld", httpchk(), "HTTP/1.1 200 OK\r\nContent-Len", Then::Hold,
             result(S::L7Timeout)},
        Case{"FailsWithInvalidResponseOnPartialHeadersThenClose", httpchk(), "HTTP/1.1 200 OK\r\nContent-Len",
             Then::Close, result(S::L7InvalidResponse)},
        // cl-too-long-stall / -close [obs status-only]
        Case{"PassesOnShortBodyHeldForStatusRule", httpchk(),
             "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789", Then::Hold, result(S::L7Ok, 200)},
        Case{"TimesOutOnShortBodyHeldForStringRule", httpchk({expect(ExpectKind::String, "ready")}),
             "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789", Then::Hold, result(S::L7Timeout)},
        Case{"PassesOnShortBodyClosedForStatusRule", httpchk(),
             "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789", Then::Close, result(S::L7Ok, 200)},
        Case{"FailsContentCheckOnShortBodyClosedWithoutText", httpchk({expect(ExpectKind::String, "ready")}),
             "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789", Then::Close,
             result(S::L7InvalidResponse, 200, "HTTP content check did not match")},
        Case{"PassesOnShortBodyClosedWithText", httpchk({expect(ExpectKind::String, "345")}),
             "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789", Then::Close, result(S::L7Ok, 200)},
        // cl-too-short
        Case{"PassesIgnoringBytesBeyondContentLength", httpchk({expect(ExpectKind::String, "ok")}),
             "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok and more", Then::Hold, result(S::L7Ok, 200)},
        Case{"FailsContentCheckOnTextBeyondContentLength", httpchk({expect(ExpectKind::String, "more")}),
             "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok and more", Then::Hold,
             result(S::L7InvalidResponse, 200, "HTTP content check did not match")},
        // cl-conflict [obs duplicate 2/5; -1]
        Case{"FailsWithInvalidResponseOnConflictingContentLengths", httpchk(),
             "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\nok", Then::Close,
             result(S::L7InvalidResponse)},
        Case{"FailsWithInvalidResponseOnNegativeContentLength", httpchk(),
             "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", Then::Close, result(S::L7InvalidResponse)},
        Case{"FailsWithInvalidResponseOnNonNumericContentLength", httpchk(),
             "HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n", Then::Close, result(S::L7InvalidResponse)},
        Case{"FailsWithInvalidResponseOnOverflowingContentLength", httpchk(),
             "HTTP/1.1 200 OK\r\nContent-Length: 184467440737095516160\r\n\r\n", Then::Close,
             result(S::L7InvalidResponse)},
        // cl-and-chunked [obs]
        Case{"PassesWithContentLengthAndChunked", httpchk({expect(ExpectKind::String, "hello")}),
             "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
             Then::Hold, result(S::L7Ok, 200)},
        Case{"FailsWithInvalidResponseOnBadChunkSizeForStringRule", httpchk({expect(ExpectKind::String, "hello")}),
             "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", Then::Hold,
             result(S::L7InvalidResponse)},
        // chunk-no-terminator
        Case{"PassesStatusRuleWithoutLastChunk", httpchk(),
             "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", Then::Hold,
             result(S::L7Ok, 200)},
        Case{"FailsContentCheckWithoutLastChunkThenClose", httpchk({expect(ExpectKind::String, "bye")}),
             "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", Then::Close,
             result(S::L7InvalidResponse, 200, "HTTP content check did not match")},
        Case{"TimesOutOnContentCheckWithoutLastChunkHeld", httpchk({expect(ExpectKind::String, "bye")}),
             "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", Then::Hold,
             result(S::L7Timeout)},
        // interim-1xx [obs]
        Case{"FailsWithWrongStatus100OnInterimResponse", httpchk(),
             "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", Then::Close,
             result(S::L7WrongStatus, 100, "Continue")},
        // body-mismatch
        Case{"FailsContentCheckOnBodyMismatch", httpchk({expect(ExpectKind::String, "UP")}),
             "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nDOWN", Then::Hold,
             result(S::L7InvalidResponse, 200, "HTTP content check did not match")},
        // B: empty [obs], reset-after-request [obs], reset-mid-response, hang [obs]
        Case{"FailsWithInvalidResponseOnEmptyReply", httpchk(), "", Then::Close, result(S::L7InvalidResponse)},
        Case{"FailsWithSocketErrorOnResetAfterRequest", httpchk(), "", Then::Reset,
             result(S::SocketError, 0, "Connection reset by peer")},
        Case{"PassesStatusRuleOnResetAfterHeaders", httpchk(), "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nab",
             Then::Reset, result(S::L7Ok, 200)},
        Case{"FailsWithSocketErrorOnResetInsideHeaders", httpchk(), "HTTP/1.1 200 OK\r\nConte", Then::Reset,
             result(S::SocketError, 0, "Connection reset by peer")},
        Case{"FailsContentCheckOnResetInsideBody", httpchk({expect(ExpectKind::String, "xyz")}),
             "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nab", Then::Reset,
             result(S::L7InvalidResponse, 200, "HTTP content check did not match")},
        Case{"TimesOutWhenServerHangs", httpchk(), "", Then::Hold, result(S::L7Timeout)}),
    [](const auto& info) { return info.param.name; });

// Every `http-check expect` form, with and without `!`.
INSTANTIATE_TEST_SUITE_P(
    ExpectForms, CheckRunCases,
    ::testing::Values(
        Case{"StatusListPasses", httpchk({expect(ExpectKind::Status, "200,204-206")}),
             "HTTP/1.1 205 Reset Content\r\n\r\n", Then::Hold, result(S::L7Ok, 205)},
        Case{"StatusListFails", httpchk({expect(ExpectKind::Status, "200,204-206")}),
             "HTTP/1.1 203 Whatever\r\n\r\n", Then::Hold, result(S::L7WrongStatus, 203, "Whatever")},
        Case{"NegatedStatusFailsOnListedCode", httpchk({expect(ExpectKind::Status, "500", true)}),
             "HTTP/1.1 500 Boom\r\n\r\n", Then::Hold, result(S::L7WrongStatus, 500, "Boom")},
        Case{"NegatedStatusPassesOnOtherCode", httpchk({expect(ExpectKind::Status, "500", true)}),
             "HTTP/1.1 404 Nope\r\n\r\n", Then::Hold, result(S::L7Ok, 404)},
        Case{"RstatusPasses", httpchk({expect(ExpectKind::RStatus, "^2[0-9]{2}$")}),
             "HTTP/1.1 201 Created\r\n\r\n", Then::Hold, result(S::L7Ok, 201)},
        Case{"RstatusFails", httpchk({expect(ExpectKind::RStatus, "^2")}), "HTTP/1.1 301 Moved\r\n\r\n",
             Then::Hold, result(S::L7WrongStatus, 301, "Moved")},
        Case{"NegatedRstatusFails", httpchk({expect(ExpectKind::RStatus, "^5", true)}),
             "HTTP/1.1 503 Busy\r\n\r\n", Then::Hold, result(S::L7WrongStatus, 503, "Busy")},
        Case{"StringPassesBeforeTheBodyEnds", httpchk({expect(ExpectKind::String, "ready")}),
             "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nstatus: ready", Then::Hold, result(S::L7Ok, 200)},
        Case{"NegatedStringFailsOnUnwantedText", httpchk({expect(ExpectKind::String, "error", true)}),
             "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nan error", Then::Hold,
             result(S::L7InvalidResponse, 200, "HTTP check matched unwanted content")},
        Case{"NegatedStringPassesWhenBodyEndsWithoutIt", httpchk({expect(ExpectKind::String, "error", true)}),
             "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", Then::Hold, result(S::L7Ok, 200)},
        Case{"RstringPasses", httpchk({expect(ExpectKind::RString, "v[0-9]+\\.[0-9]+")}),
             "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nap v1.25", Then::Hold, result(S::L7Ok, 200)},
        Case{"NegatedRstringFails", httpchk({expect(ExpectKind::RString, "fail(ed|ure)", true)}),
             "HTTP/1.1 200 OK\r\n\r\ndisk failure", Then::Close,
             result(S::L7InvalidResponse, 200, "HTTP check matched unwanted content")},
        Case{"StringFailsWithoutBody", httpchk({expect(ExpectKind::String, "ok")}),
             "HTTP/1.1 204 No Content\r\n\r\n", Then::Hold,
             result(S::L7InvalidResponse, 204, "HTTP content check could not find a response body")},
        Case{"StringFailsOnHeadResponse", with_method(httpchk({expect(ExpectKind::String, "ok")}), "HEAD"),
             "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", Then::Hold,
             result(S::L7InvalidResponse, 200, "HTTP content check could not find a response body")},
        Case{"StatusPassesThenStringFails",
             httpchk({expect(ExpectKind::Status, "200"), expect(ExpectKind::String, "ok")}), kChunkedHello,
             Then::Hold, result(S::L7InvalidResponse, 200, "HTTP content check did not match")},
        Case{"StatusRuleFailsBeforeStringRule",
             httpchk({expect(ExpectKind::Status, "200"), expect(ExpectKind::String, "hello")}),
             "HTTP/1.1 500 Bad\r\n\r\nhello", Then::Close, result(S::L7WrongStatus, 500, "Bad")},
        Case{"ChunkedBodyIsMatchedDecoded", httpchk({expect(ExpectKind::String, "hello")}), kChunkedHello,
             Then::Hold, result(S::L7Ok, 200)},
        // rstring is judged on each read's body so far: a match passes at once, a mismatch waits
        // for the whole body (check_replies.tsv: rstring_*).
        Case{"RstringPassesOnAPartialBody", httpchk({expect(ExpectKind::RString, "rea+dy")}),
             "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nstatus: ready", Then::Hold, result(S::L7Ok, 200)},
        Case{"RstringPassesOnABodyCutByTheClose", httpchk({expect(ExpectKind::RString, "rea+dy")}),
             "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nstatus: ready", Then::Close, result(S::L7Ok, 200)},
        Case{"RstringPassesAtTheLastChunk", httpchk({expect(ExpectKind::RString, "^hel+o$")}), kChunkedHello,
             Then::Hold, result(S::L7Ok, 200)},
        Case{"RstringWithStarsPassesOnALongBody", httpchk({expect(ExpectKind::RString, "(.|\n)*OK")}),
             with_body(long_body("OK")), Then::Hold, result(S::L7Ok, 200)},
        Case{"RstringWithStarsFailsOnALongBodyWithoutIt", httpchk({expect(ExpectKind::RString, "^.*x*y*z*OK$")}),
             with_body(long_body("KO")), Then::Hold,
             result(S::L7InvalidResponse, 200, "HTTP content check did not match")},
        Case{"NegatedRstringWithStarsFailsOnALongBody", httpchk({expect(ExpectKind::RString, ".*fatal.*", true)}),
             with_body(long_body("fatal error")), Then::Hold,
             result(S::L7InvalidResponse, 200, "HTTP check matched unwanted content")},
        Case{"RstringThatDoesNotCompileMatchesNothing", httpchk({expect(ExpectKind::RString, "(")}),
             with_body("("), Then::Hold, result(S::L7InvalidResponse, 200, "HTTP content check did not match")},
        Case{"StringIsFoundAtTheEndOfALongBody", httpchk({expect(ExpectKind::String, "ready")}),
             "HTTP/1.1 200 OK\r\n\r\n" + long_body("ready"), Then::Hold, result(S::L7Ok, 200)},
        Case{"StringSplitAcrossChunksIsFound", httpchk({expect(ExpectKind::String, "hello")}),
             "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhe\r\n3\r\nllo\r\n", Then::Hold,
             result(S::L7Ok, 200)}),
    [](const auto& info) { return info.param.name; });

// option tcp-check rulesets.
INSTANTIATE_TEST_SUITE_P(
    TcpCheck, CheckRunCases,
    ::testing::Values(
        Case{"PassesAfterExpectedBanner", tcpcheck({expect_rule(ExpectKind::String, "+OK")}), "+OK ready\r\n",
             Then::Hold, result(S::L7Ok, 0, "(tcp-check)")},
        Case{"TimesOutWaitingForMissingText", tcpcheck({expect_rule(ExpectKind::String, "OK")}), "hello\r\n",
             Then::Hold, result(S::L7Timeout, 0, " at step 1 of tcp-check (expect string 'OK')")},
        Case{"FailsWhenClosedWithoutText",
             tcpcheck({send_rule("PING\r\n"), expect_rule(ExpectKind::String, "PONG")}), "hello\r\n", Then::Close,
             result(S::L7InvalidResponse, 0, "TCPCHK did not match content 'PONG' at step 2")},
        Case{"FailsOnUnwantedText", tcpcheck({send_rule("x"), expect_rule(ExpectKind::String, "ERR", true)}),
             "-ERR no\r\n", Then::Hold,
             result(S::L7InvalidResponse, 0, "TCPCHK matched unwanted content 'ERR' at step 2")},
        Case{"NegatedExpectPassesOnClose", tcpcheck({expect_rule(ExpectKind::String, "ERR", true)}), "+OK",
             Then::Close, result(S::L7Ok, 0, "(tcp-check)")},
        Case{"FailsOnEmptyResponse", tcpcheck({connect_rule(), expect_rule(ExpectKind::String, "OK")}), "",
             Then::Close, result(S::L7InvalidResponse, 0, "TCPCHK got an empty response at step 2")},
        Case{"BinaryExpectPasses",
             tcpcheck({send_rule("50494e470d0a", true), expect_rule(ExpectKind::Binary, "504f4e47")}),
             "PONG\r\n", Then::Hold, result(S::L7Ok, 0, "(tcp-check)")},
        Case{"BinaryExpectFailsOnClose", tcpcheck({expect_rule(ExpectKind::Binary, "0102")}), "\x01\x03",
             Then::Close, result(S::L7InvalidResponse, 0, "TCPCHK did not match content (binary) at step 1")},
        Case{"BinaryExpectTimesOutWithDecodedPattern", tcpcheck({expect_rule(ExpectKind::Binary, "4f4b")}), "no",
             Then::Hold, result(S::L7Timeout, 0, " at step 1 of tcp-check (expect binary 'OK')")},
        // The decoded bytes, printed with "%.*s": they end at a NUL; the log escapes the rest.
        Case{"BinaryExpectTimeoutShowsDecodedBytesUpToANul",
             tcpcheck({expect_rule(ExpectKind::Binary, "4f4b0a00ff")}), "no", Then::Hold,
             result(S::L7Timeout, 0, " at step 1 of tcp-check (expect binary 'OK\n')")},
        Case{"BinaryExpectSocketErrorShowsDecodedBytes",
             tcpcheck({send_rule("x"), expect_rule(ExpectKind::Binary, "ff01")}), "", Then::Reset,
             result(S::SocketError, 0, "Connection reset by peer at step 2 of tcp-check (expect binary '\xff\x01')")},
        Case{"BinaryExpectMismatchDoesNotShowThePattern",
             tcpcheck({send_rule("x"), expect_rule(ExpectKind::Binary, "00ff")}), "\x01\x02", Then::Close,
             result(S::L7InvalidResponse, 0, "TCPCHK did not match content (binary) at step 2")},
        Case{"NegatedBinaryExpectFailsOnTheBytes", tcpcheck({expect_rule(ExpectKind::Binary, "2d45", true)}),
             "+OK -ERR", Then::Hold,
             result(S::L7InvalidResponse, 0, "TCPCHK matched unwanted content (binary) at step 1")},
        Case{"RstringPasses", tcpcheck({expect_rule(ExpectKind::RString, "^\\+OK")}), "+OK hi", Then::Hold,
             result(S::L7Ok, 0, "(tcp-check)")},
        Case{"RstringFailsOnClose", tcpcheck({expect_rule(ExpectKind::RString, "^\\+OK")}), "-ERR", Then::Close,
             result(S::L7InvalidResponse, 0, "TCPCHK did not match content (regex) at step 1")},
        Case{"RstringTimesOut", tcpcheck({expect_rule(ExpectKind::RString, "^\\+OK")}), "-ERR", Then::Hold,
             result(S::L7Timeout, 0, " at step 1 of tcp-check (expect regex)")},
        // check_replies.tsv: tcp_second_expect_waits
        Case{"AWaitingExpectNamesItselfOnTimeout",
             tcpcheck({expect_rule(ExpectKind::String, "a"), expect_rule(ExpectKind::String, "b")}), "a",
             Then::Hold, result(S::L7Timeout, 0, " at step 2 of tcp-check (expect string 'b')")},
        Case{"SocketErrorNamesTheStep", tcpcheck({send_rule("x"), expect_rule(ExpectKind::String, "OK")}), "",
             Then::Reset,
             result(S::SocketError, 0, "Connection reset by peer at step 2 of tcp-check (expect string 'OK')")},
        // Searched once per read, as HAProxy does: kept short, as one byte at a time is quadratic.
        // PCRE defaults (HAProxy's): `.` stops at a newline unless (?s) says otherwise.
        Case{"RstringWithStarsPassesOnALongStreamWhileHeld",
             tcpcheck({expect_rule(ExpectKind::RString, "(?s)^.*x*y*z*\\+OK")}), long_body("+OK\r\n", 5000),
             Then::Hold, result(S::L7Ok, 0, "(tcp-check)")},
        Case{"RstringDotDoesNotCrossLinesAsInPcre",
             tcpcheck({expect_rule(ExpectKind::RString, "^.*x*y*z*\\+OK")}), long_body("+OK\r\n", 5000),
             Then::Hold, result(S::L7Timeout, 0, " at step 1 of tcp-check (expect regex)")},
        Case{"RstringWithStarsTimesOutOnALongStreamWithoutIt",
             tcpcheck({expect_rule(ExpectKind::RString, "^.*x*y*z*\\+OK")}), long_body("-ERR\r\n", 5000),
             Then::Hold, result(S::L7Timeout, 0, " at step 1 of tcp-check (expect regex)")},
        // tcpcheck_eval_expect(): the regex sees MIN(b_data, b_size - 1) bytes.
        Case{"RstringSeesAFullBufferLessOneByte", tcpcheck({expect_rule(ExpectKind::RString, "Z")}),
             std::string(kCheckBufferSize - 1, 'a') + "Z", Then::Hold,
             result(S::L7InvalidResponse, 0, "TCPCHK did not match content (regex) at step 1")},
        Case{"StringSeesTheWholeFullBuffer", tcpcheck({expect_rule(ExpectKind::String, "Z")}),
             std::string(kCheckBufferSize - 1, 'a') + "Z", Then::Hold, result(S::L7Ok, 0, "(tcp-check)")},
        Case{"StringIsFoundAtTheEndOfALongStream", tcpcheck({expect_rule(ExpectKind::String, "+OK")}),
             long_body("+OK\r\nbye"), Then::Hold, result(S::L7Ok, 0, "(tcp-check)")}),
    [](const auto& info) { return info.param.name; });

// An anchored regex meets the body as far as each read brought it.
TEST(CheckRun, AnAnchoredRstringMatchesTheBodySoFar) {
  const auto spec = httpchk({expect(ExpectKind::RString, "^ok$")});
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n";
  EXPECT_EQ(play(spec, {head + "okay"}, Then::Hold), result(S::L7InvalidResponse, 200, "HTTP content check did not match"));
  EXPECT_EQ(play(spec, {head + "ok", "ay"}, Then::Hold), result(S::L7Ok, 200));
}

// A send releases the input buffer, with whatever came in the same read behind the bytes the
// expects before it took (tcpcheck_eval_send resets check->bi).
TEST(CheckRun, ASendReleasesTheWholeReadItAnswers) {
  const auto spec = tcpcheck({expect_rule(ExpectKind::String, "220"), send_rule("QUIT\r\n"),
                              expect_rule(ExpectKind::String, "221")});
  EXPECT_EQ(play(spec, {"220 hi\r\n", "221 bye\r\n"}, Then::Close), result(S::L7Ok, 0, "(tcp-check)"));
  EXPECT_EQ(play(spec, {"220 hi\r\n221 bye\r\n"}, Then::Close),
            result(S::L7InvalidResponse, 0, "TCPCHK got an empty response at step 3"));
  EXPECT_EQ(play(spec, {"220 hi\r\n", "220 again\r\n"}, Then::Close),
            result(S::L7InvalidResponse, 0, "TCPCHK did not match content '221' at step 3"));
  EXPECT_EQ(play(spec, {long_body("220\r\n"), "221"}, Then::Hold), result(S::L7Ok, 0, "(tcp-check)"));
}

// chunk-bad-size: HAProxy parses a whole read before it judges, so a bad chunk size in the read
// that completed the head is an invalid response, and one in a later read comes after the
// status was judged (check_replies.tsv: chunk_error_*).
TEST(CheckRun, ABadChunkSizeCountsOnlyInTheReadThatCompletedTheHead) {
  const std::string_view head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::string whole = std::string(head) + "zz\r\nhello\r\n0\r\n\r\n";
  EXPECT_EQ(play(httpchk(), {whole}, Then::Close, true), result(S::L7InvalidResponse));
  EXPECT_EQ(play(httpchk(), {head, std::string_view(whole).substr(head.size())}, Then::Close, true), result(S::L7Ok, 200));
}

TEST(CheckRun, PlainConnectPassesWithLayer4OkAndSendsNothing) {
  CheckRun run(CheckSpec{}, true);
  const auto step = run.on_connected();
  EXPECT_EQ(step.send, "");
  EXPECT_EQ(step.result, result(S::L4Ok));
  EXPECT_TRUE(run.done());
}

TEST(CheckRun, PlainConnectRefusalIsLayer4ConnectionProblemWithoutSuffix) {
  CheckRun run(CheckSpec{}, true);
  EXPECT_EQ(run.on_error("Connection refused"), result(S::L4ConnectionProblem, 0, "Connection refused"));
  EXPECT_FALSE(run.connected());
}

// connect() failing at once (haproxy's SF_ERR_SRVCL): "General socket error", at layer 4 for a
// TCP socket, a socket error for a UNIX one (as haproxy logged both, docs/config.md).
TEST(CheckRun, AConnectThatFailsAtOnceIsAGeneralSocketErrorOfItsFamily) {
  CheckRun tcp(CheckSpec{}, true);
  EXPECT_EQ(tcp.on_connect_failed("General socket error (No route to host)", true),
            result(S::L4ConnectionProblem, 0, "General socket error (No route to host)"));
  CheckRun unix_socket(httpchk(), true);
  EXPECT_EQ(unix_socket.on_connect_failed("General socket error (No such file or directory)", false),
            result(S::SocketError, 0, "General socket error (No such file or directory)"));
  CheckRun tcp_check(tcpcheck({expect_rule(ExpectKind::String, "OK")}), true);
  EXPECT_EQ(tcp_check.on_connect_failed("General socket error (Connection refused)", false),
            result(S::SocketError, 0, "General socket error (Connection refused) at initial connection step of tcp-check"));
  EXPECT_TRUE(tcp_check.done());
}

// How connect()'s errno is read (proto_tcp.c, proto_uxst.c): a shortage of local resources has
// a log line of its own and the check names it; the rest is a general socket error.
TEST(ConnectFailure, ResourceShortagesAreNamedAsHaproxyNamesThem) {
  const auto tcp_ports = classify_connect_failure(EADDRNOTAVAIL, true);
  EXPECT_EQ(tcp_ports.log_reason, "no free ports");
  EXPECT_EQ(tcp_ports.check_info, "Out of local source ports on the system");
  EXPECT_EQ(tcp_ports.errno_text, "Cannot assign requested address");
  EXPECT_EQ(classify_connect_failure(EAGAIN, true).errno_text, "");  // unclean_errno() clears it
  const auto backlog = classify_connect_failure(EAGAIN, false);
  EXPECT_EQ(backlog.log_reason, "can't connect to destination unix socket, check backlog size on the server");
  EXPECT_EQ(backlog.check_info, "Out of local source ports on the system");
  const auto in_use = classify_connect_failure(EADDRINUSE, true);
  EXPECT_EQ(in_use.log_reason, "local address already in use");
  EXPECT_EQ(in_use.check_info, "Local source address already in use");
  const auto refused = classify_connect_failure(ENOENT, false);
  EXPECT_EQ(refused.log_reason, "");
  EXPECT_EQ(with_errno(refused.check_info, refused.errno_text), "General socket error (No such file or directory)");
  EXPECT_EQ(with_errno(backlog.check_info, "Inappropriate ioctl for device"),
            "Out of local source ports on the system (Inappropriate ioctl for device)");
  EXPECT_EQ(connect_failed_line("be", tcp_ports.log_reason), "Connect() failed for backend be: no free ports.");
}

TEST(CheckRun, ConnectTimeoutIsLayer4TimeoutWithoutInfo) {
  CheckRun run(httpchk(), true);
  EXPECT_EQ(run.on_timeout(), result(S::L4Timeout));
}

TEST(CheckRun, HttpchkRefusalHasNoSuffix) {
  CheckRun run(httpchk(), true);
  EXPECT_EQ(run.on_error("Connection refused"), result(S::L4ConnectionProblem, 0, "Connection refused"));
}

TEST(CheckRun, TcpCheckRefusalNamesTheImplicitConnect) {
  CheckRun run(tcpcheck({expect_rule(ExpectKind::String, "OK")}), true);
  EXPECT_EQ(run.on_error("Connection refused"),
            result(S::L4ConnectionProblem, 0, "Connection refused at initial connection step of tcp-check"));
}

TEST(CheckRun, TcpCheckRefusalNamesTheExplicitConnect) {
  CheckRun run(tcpcheck({connect_rule(), expect_rule(ExpectKind::String, "OK")}), true);
  EXPECT_EQ(run.on_error("Connection refused"),
            result(S::L4ConnectionProblem, 0, "Connection refused at step 1 of tcp-check (connect)"));
}

TEST(CheckRun, TcpCheckConnectTimeoutNamesTheConnectAndItsPort) {
  CheckRun implicit(tcpcheck({}), true);
  EXPECT_EQ(implicit.on_timeout(), result(S::L4Timeout, 0, " at initial connection step of tcp-check"));
  CheckRun with_port(tcpcheck({connect_rule(8080)}), true);
  EXPECT_EQ(with_port.on_timeout(), result(S::L4Timeout, 0, " at step 1 of tcp-check (connect port 8080)"));
}

TEST(CheckRun, TcpCheckWithOnlyImplicitConnectPassesWithoutInfo) {
  CheckRun run(tcpcheck({}), true);
  EXPECT_EQ(run.on_connected().result, result(S::L4Ok));
}

TEST(CheckRun, TcpCheckWithOnlyExplicitConnectPassesWithTcpCheckInfo) {
  CheckRun run(tcpcheck({connect_rule()}), true);
  EXPECT_EQ(run.on_connected().result, result(S::L4Ok, 0, "(tcp-check)"));
}

TEST(CheckRun, TcpCheckSendsEverySendUpToTheFirstExpect) {
  CheckRun run(tcpcheck({connect_rule(), send_rule("AUTH x\r\n"), send_rule("0d0a", true),
                         expect_rule(ExpectKind::String, "+OK"), send_rule("QUIT\r\n")}),
               true);
  const auto first = run.on_connected();
  EXPECT_EQ(first.send, "AUTH x\r\n\r\n");
  EXPECT_FALSE(first.result);
  const auto second = run.on_data("+OK\r\n");
  EXPECT_EQ(second.send, "QUIT\r\n");
  EXPECT_EQ(second.result, result(S::L7Ok, 0, "(tcp-check)"));
}

TEST(CheckRun, TcpCheckEndingWithSendPassesOnConnect) {
  CheckRun run(tcpcheck({send_rule("hello")}), true);
  const auto step = run.on_connected();
  EXPECT_EQ(step.send, "hello");
  EXPECT_EQ(step.result, result(S::L7Ok, 0, "(tcp-check)"));
}

TEST(CheckRun, ResultIsFinalOnceSet) {
  CheckRun run(httpchk(), true);
  run.on_connected();
  EXPECT_EQ(run.on_timeout(), result(S::L7Timeout));
  EXPECT_EQ(run.on_data("HTTP/1.1 200 OK\r\n\r\n").result, std::nullopt);
  EXPECT_EQ(run.on_peer_closed().result, std::nullopt);
  EXPECT_EQ(run.on_error("Connection reset by peer"), result(S::L7Timeout));
  EXPECT_EQ(run.result(), result(S::L7Timeout));
}

TEST(CheckRun, StatusIsDecidedWithoutWaitingForTheBody) {
  CheckRun run(httpchk(), true);
  run.on_connected();
  EXPECT_EQ(run.on_data("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n").result, result(S::L7Ok, 200));
}

TEST(CheckRun, EqualSpecsShareOneCompiledRuleset) {
  const auto spec = httpchk({expect(ExpectKind::RString, "^up$")});
  const auto copy = spec;
  CheckRun first(spec, true);
  CheckRun second(copy, false);
  EXPECT_EQ(first.compiled(), second.compiled());
  CheckRun other(httpchk({expect(ExpectKind::RString, "^down$")}), true);
  EXPECT_NE(first.compiled(), other.compiled());
}

TEST(CheckRun, OneCompiledRulesetServesManyAttempts) {
  const auto compiled = compile_check(tcpcheck({send_rule("PING\r\n"), expect_rule(ExpectKind::RString, "^\\+PONG")}));
  for (int i = 0; i < 3; ++i) {
    CheckRun run(compiled, true);
    EXPECT_EQ(run.compiled(), compiled);
    EXPECT_EQ(run.on_connected().send, "PING\r\n");
    EXPECT_EQ(run.on_data(i == 1 ? "-ERR\r\n" : "+PONG\r\n").result,
              i == 1 ? std::nullopt : std::optional(result(S::L7Ok, 0, "(tcp-check)")));
  }
}

TEST(CheckRun, DurationIsLeftToTheCaller) {
  CheckRun run(CheckSpec{}, true);
  EXPECT_EQ(run.on_connected().result->duration, Ms{-1});
}

// The request bytes, as HAProxy 2.6.12 was seen to write them.
TEST(HttpCheckRequest, DefaultIsOptionsSlashHttp10WithoutHeaders) {
  EXPECT_EQ(build_http_check_request({}), "OPTIONS / HTTP/1.0\r\n\r\n");
}

TEST(HttpCheckRequest, Http11GetsLowerCasedHeadersAndConnectionClose) {
  HttpCheckRequest r{"GET", "/health", "HTTP/1.1", {{"Host", "example.com"}}, ""};
  EXPECT_EQ(build_http_check_request(r), "GET /health HTTP/1.1\r\nhost: example.com\r\nconnection: close\r\n\r\n");
}

TEST(HttpCheckRequest, Http11WithoutHeadersStillSaysConnectionClose) {
  HttpCheckRequest r{"GET", "/", "HTTP/1.1", {}, ""};
  EXPECT_EQ(build_http_check_request(r), "GET / HTTP/1.1\r\nconnection: close\r\n\r\n");
}

TEST(HttpCheckRequest, GivenConnectionHeaderReplacesTheAutomaticOne) {
  HttpCheckRequest r{"GET", "/", "HTTP/1.1", {{"Connection", "keep-alive"}}, ""};
  EXPECT_EQ(build_http_check_request(r), "GET / HTTP/1.1\r\nconnection: keep-alive\r\n\r\n");
}

TEST(HttpCheckRequest, BodyAddsContentLength) {
  HttpCheckRequest r{"POST", "/check", "HTTP/1.1", {{"Content-Type", "text/plain"}}, "ping"};
  EXPECT_EQ(build_http_check_request(r),
            "POST /check HTTP/1.1\r\ncontent-type: text/plain\r\ncontent-length: 4\r\n"
            "connection: close\r\n\r\nping");
}

// tests/data/haproxy26/check_request_bytes.txt, req_http_check_send_body.
TEST(HttpCheckRequest, MatchesCapturedBytesWithHeadersAndBody) {
  HttpCheckRequest r{"POST", "/p", "HTTP/1.1", {{"Host", "h"}, {"X-Custom", "Abc"}}, "hello"};
  EXPECT_EQ(build_http_check_request(r),
            "POST /p HTTP/1.1\r\nhost: h\r\nx-custom: Abc\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello");
}

TEST(HttpCheckRequest, Http10KeepsGivenHeadersButAddsNoConnectionHeader) {
  HttpCheckRequest r{"GET", "/", "HTTP/1.0", {{"X-Check", "1"}, {"X-Empty", ""}}, ""};
  EXPECT_EQ(build_http_check_request(r), "GET / HTTP/1.0\r\nx-check: 1\r\n\r\n");
}

TEST(CheckRun, HttpchkWithoutItsRequestSendsNothingAndTimesOut) {
  auto spec = httpchk({expect(ExpectKind::Status, "200")});
  spec.send_request = false;
  std::string sent = "unset";
  EXPECT_EQ(play(spec, {}, Then::Hold, true, &sent), result(S::L7Timeout));
  EXPECT_EQ(sent, "");
}

TEST(CheckRun, HttpchkSendsTheRequestOnConnect) {
  CheckRun run(httpchk(), true);
  const auto step = run.on_connected();
  EXPECT_EQ(step.send, "OPTIONS / HTTP/1.0\r\n\r\n");
  EXPECT_FALSE(step.result);
  EXPECT_TRUE(run.connected());
}

// A 304 has no body whatever its headers say: even a body expect is decided by the head alone,
// without waiting for the ten bytes its Content-Length announces.
TEST(CheckRunBodyless, A304IsDecidedAtTheEndOfItsHead) {
  CheckSpec spec;
  spec.kind = CheckKind::HttpChk;
  spec.http_expects = {ExpectRule{ExpectKind::String, true, "error"}};
  CheckRun run(spec, true);
  run.on_connected();
  const auto step = run.on_data("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n");
  ASSERT_TRUE(step.result) << "still waiting for a body a 304 never has";
  EXPECT_EQ(step.result->code, 304);
}

// A `tcp-check connect` after the first rule opens a second connection: the edge is asked to
// reconnect, what the old connection still delivers is ignored, the rules go on once connected.
CheckSpec two_connections() {
  CheckSpec spec;
  spec.kind = CheckKind::TcpCheck;
  using K = TcpCheckRule::Kind;
  spec.tcp_rules = {TcpCheckRule{K::Send, std::nullopt, "a"},
                    TcpCheckRule{K::Expect, std::nullopt, "", ExpectRule{ExpectKind::String, false, "A"}},
                    TcpCheckRule{K::Connect, 2},
                    TcpCheckRule{K::Send, std::nullopt, "b"},
                    TcpCheckRule{K::Expect, std::nullopt, "", ExpectRule{ExpectKind::String, false, "B"}}};
  return spec;
}

TEST(CheckRunTcpConnect, ALaterConnectRuleAsksForANewConnectionAndGoesOnWhenConnected) {
  CheckRun run(two_connections(), true);
  EXPECT_EQ(run.on_connected().send, "a");
  auto step = run.on_data("A and more bytes of the first connection");
  EXPECT_EQ(step.reconnect, std::optional<std::uint16_t>(2));
  EXPECT_FALSE(step.result);
  EXPECT_FALSE(run.on_data("late bytes of the first connection").result);
  EXPECT_EQ(run.on_connected().send, "b");
  step = run.on_data("B");
  ASSERT_TRUE(step.result);
  EXPECT_EQ(step.result->status, CheckStatus::L7Ok);
}

// tcpcheck_eval_connect (src/tcpcheck.c, v2.6.0): the ACK is delayed unless an expect rule
// comes right after the connect.
TEST(CheckRunTcpConnect, TheAckIsDelayedUnlessAnExpectFollowsTheConnect) {
  EXPECT_TRUE(CheckRun(CheckSpec{}, true).delayed_ack());  // connect only
  EXPECT_TRUE(CheckRun(httpchk(), true).delayed_ack());    // the request follows
  CheckSpec silent = httpchk();
  silent.send_request = false;  // inherited httpchk with own rules: an expect comes first
  EXPECT_FALSE(CheckRun(silent, true).delayed_ack());
  EXPECT_TRUE(CheckRun(tcpcheck({}), true).delayed_ack());
  EXPECT_FALSE(CheckRun(tcpcheck({expect_rule(ExpectKind::String, "+OK")}), true).delayed_ack());  // a banner
  EXPECT_FALSE(CheckRun(tcpcheck({connect_rule(), expect_rule(ExpectKind::String, "+OK")}), true).delayed_ack());
  EXPECT_TRUE(CheckRun(tcpcheck({connect_rule(), send_rule("PING\r\n")}), true).delayed_ack());
  // The later connect of two_connections() is followed by a send.
  CheckRun run(two_connections(), true);
  EXPECT_TRUE(run.delayed_ack());
  run.on_connected();
  ASSERT_TRUE(run.on_data("A").reconnect);
  EXPECT_TRUE(run.delayed_ack());
  CheckSpec banner_after = two_connections();
  banner_after.tcp_rules.erase(banner_after.tcp_rules.begin() + 3);  // the second connect's send
  CheckRun second(banner_after, true);
  second.on_connected();
  ASSERT_TRUE(second.on_data("A").reconnect);
  EXPECT_FALSE(second.delayed_ack());
}

TEST(CheckRunTcpConnect, AFailedLaterConnectNamesItsStepAndPort) {
  CheckRun run(two_connections(), true);
  run.on_connected();
  run.on_data("A");
  const auto r = run.on_error("Connection refused");
  EXPECT_EQ(r.status, CheckStatus::L4ConnectionProblem);
  EXPECT_EQ(r.info, "Connection refused at step 3 of tcp-check (connect port 2)");
  CheckRun slow(two_connections(), true);
  slow.on_connected();
  slow.on_data("A");
  EXPECT_EQ(slow.on_timeout().status, CheckStatus::L4Timeout);
}

}  // namespace
}  // namespace lb::core
namespace lb::core {
namespace {

// A14/A36 of ../shared/haproxy-incidents.md, seen with lbharness against haproxy 2.6.12: an
// explicit `hdr Content-Length 0` on a check without a body does not reach the server.
TEST(HttpCheckRequest, AZeroContentLengthWithoutABodyIsNotSent) {
  HttpCheckRequest r;
  r.method = "GET";
  r.uri = "/up";
  r.version = "HTTP/1.0";
  r.headers = {{"Content-Length", "0"}, {"X-A", "1"}};
  EXPECT_EQ(build_http_check_request(r), "GET /up HTTP/1.0\r\nx-a: 1\r\n\r\n");
}

}  // namespace
}  // namespace lb::core
