#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "lb/core/check/check_run.hpp"

namespace lb::core {
namespace {

enum class Then { Close, Hold, Reset };

CheckResult play(const CheckSpec& spec, const std::vector<std::string_view>& pieces, Then then,
                 bool server_up) {
  CheckRun run(spec, server_up);
  run.on_connected();
  for (const auto piece : pieces) {
    if (run.done()) break;
    run.on_data(piece);
  }
  if (!run.done()) {
    if (then == Then::Close) run.on_peer_closed();
    if (then == Then::Hold) run.on_timeout();
    if (then == Then::Reset) run.on_error("Connection reset by peer");
  }
  RC_ASSERT(run.done());
  return *run.result();
}

std::vector<std::string_view> split(std::string_view all, std::vector<std::size_t> cuts) {
  std::sort(cuts.begin(), cuts.end());
  std::vector<std::string_view> out;
  std::size_t from = 0;
  for (const auto c : cuts) {
    const auto at = std::min(c, all.size());
    out.push_back(all.substr(from, at - from));
    from = at;
  }
  out.push_back(all.substr(from));
  return out;
}

ExpectRule rule(ExpectKind k, std::string p, bool negate = false) { return {k, negate, std::move(p)}; }

// A handful of check configurations covering every expect kind and both rulesets
// (8, 9, 12: tcp-check; 10-12: rstring with many stars).
CheckSpec spec_variant(int n) {
  CheckSpec s;
  s.kind = CheckKind::HttpChk;
  switch (n) {
    case 0: break;  // implicit status 200-399
    case 1: s.http_expects = {rule(ExpectKind::String, "ok")}; break;
    case 2: s.http_expects = {rule(ExpectKind::String, "err", true)}; break;
    case 3: s.http_expects = {rule(ExpectKind::RString, "h[e]l+o")}; break;
    case 4: s.http_expects = {rule(ExpectKind::Status, "200-299,404"), rule(ExpectKind::String, "ok")}; break;
    case 5: s.disable_on_404 = true; break;
    case 6: s.http_expects = {rule(ExpectKind::RStatus, "^[23]")}; break;
    case 7: s.http.method = "HEAD"; s.http_expects = {rule(ExpectKind::String, "ok")}; break;
    case 10: s.http_expects = {rule(ExpectKind::RString, "^.*h*e*r*l*ok.*$")}; break;
    case 11: s.http_expects = {rule(ExpectKind::RString, ".*(ERR|err)+.*", true)}; break;
    default: {
      s.kind = CheckKind::TcpCheck;
      TcpCheckRule expect_ok{TcpCheckRule::Kind::Expect, {}, {}, rule(ExpectKind::String, "OK")};
      TcpCheckRule expect_no_err{TcpCheckRule::Kind::Expect, {}, {}, rule(ExpectKind::String, "ERR", true)};
      TcpCheckRule send{TcpCheckRule::Kind::Send, {}, "PING\r\n", {}};
      TcpCheckRule expect_re{TcpCheckRule::Kind::Expect, {}, {}, rule(ExpectKind::RString, "^\\+?P[O0]NG")};
      TcpCheckRule expect_stars{TcpCheckRule::Kind::Expect, {}, {}, rule(ExpectKind::RString, "^.*P*O*N*G*\\+*OK")};
      s.tcp_rules = n == 8   ? std::vector{expect_ok, send, expect_re}
                    : n == 9 ? std::vector{send, expect_no_err, expect_ok}
                             : std::vector{send, expect_stars};
    }
  }
  return s;
}

// Responses assembled from valid and broken parts: status lines, header lines, bodies framed
// by length, chunks or the close, plus bare garbage.
rc::Gen<std::string> gen_response() {
  return rc::gen::exec([] {
    const bool lf_only = *rc::gen::arbitrary<bool>();
    const std::string eol = lf_only ? "\n" : "\r\n";
    if (*rc::gen::inRange(0, 10) == 0)
      return *rc::gen::container<std::string>(rc::gen::elementOf(std::string("HTP/1.0 2OK\r\n:x\x01")));
    std::string r = *rc::gen::element<std::string>("HTTP/1.1", "HTTP/1.0", "HTTP/1.10", "HTTP/3.0") + " " +
                    *rc::gen::element<std::string>("200", "204", "302", "404", "500", "100", "2OO", "") +
                    *rc::gen::element<std::string>(" OK", "", " Not Found", "  X ") + eol;
    const std::string body =
        *rc::gen::container<std::string>(rc::gen::elementOf(std::string("okOKherlERRPING+\r\n")));
    const int framing = *rc::gen::inRange(0, 4);  // 0 length, 1 chunked, 2 close, 3 lying length
    const auto extra = *rc::gen::container<std::vector<std::string>>(
        rc::gen::element<std::string>("X-A: b", "Server: t", "Connection: close", " folded", "Bad line",
                                      "Content-Length: -1", "Content-Length: 7", "Transfer-Encoding: chunked"));
    for (const auto& h : extra) r += h + eol;
    if (framing == 0) r += "Content-Length: " + std::to_string(body.size()) + eol;
    if (framing == 1) r += "Transfer-Encoding: chunked" + eol;
    if (framing == 3) r += "Content-Length: " + std::to_string(body.size() + 5) + eol;
    r += eol;
    if (framing == 1) {
      std::size_t at = 0;
      while (at < body.size()) {
        const auto n = std::min<std::size_t>(body.size() - at, *rc::gen::inRange<std::size_t>(1, 8));
        r += fmt::format("{:x}", n) + eol + body.substr(at, n) + eol;
        at += n;
      }
      if (*rc::gen::arbitrary<bool>()) r += "0" + eol + eol;
    } else {
      r += body;
    }
    return r;
  });
}

// HAProxy judges each read once it has parsed all of it, so a split can matter: a parse error
// (a bad chunk size, garbage after an interim 1xx) in the read that completed the head makes the
// reply invalid, and in a later read comes too late; a tcp-check send releases what came with
// the bytes it answers (check_replies.tsv). What a split cannot do is change a verdict reached
// on an HTTP reply that parsed: the status, the body's strings and regexes are judged the same.
int http_variant() { return *rc::gen::element(0, 1, 2, 3, 4, 5, 6, 7, 10, 11); }

RC_GTEST_PROP(CheckRunSplits, AParsedReplysVerdictDoesNotDependOnHowBytesAreSplit, ()) {
  const auto spec = spec_variant(http_variant());
  const auto reply = *gen_response();
  const auto then = *rc::gen::element(Then::Close, Then::Hold, Then::Reset);
  const bool up = *rc::gen::arbitrary<bool>();
  const auto cuts = *rc::gen::container<std::vector<std::size_t>>(
      rc::gen::inRange<std::size_t>(0, reply.size() + 1));
  const auto whole = play(spec, {reply}, then, up);
  const auto pieces = play(spec, split(reply, cuts), then, up);
  RC_CLASSIFY(whole.status == CheckStatus::L7InvalidResponse, "invalid whole");
  if (whole.status != CheckStatus::L7InvalidResponse) RC_ASSERT(pieces == whole);
}

RC_GTEST_PROP(CheckRunSplits, OneByteAtATimeMatchesTheWholeParsedReply, ()) {
  const auto spec = spec_variant(http_variant());
  const auto reply = *gen_response();
  const auto then = *rc::gen::element(Then::Close, Then::Hold, Then::Reset);
  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < reply.size(); ++i) bytes.push_back(std::string_view(reply).substr(i, 1));
  const auto whole = play(spec, {reply}, then, true);
  if (whole.status != CheckStatus::L7InvalidResponse) RC_ASSERT(play(spec, bytes, then, true) == whole);
}

// Every split of a tcp-check conversation settles (play asserts it), whatever the rules.
RC_GTEST_PROP(CheckRunSplits, EveryTcpCheckSplitSettles, ()) {
  const auto spec = spec_variant(*rc::gen::inRange(8, 10));
  const auto reply = *rc::gen::container<std::string>(rc::gen::elementOf(std::string("OKERRPING+0\r\n")));
  const auto cuts = *rc::gen::container<std::vector<std::size_t>>(rc::gen::inRange<std::size_t>(0, reply.size() + 1));
  play(spec, split(reply, cuts), *rc::gen::element(Then::Close, Then::Hold, Then::Reset), true);
}

RC_GTEST_PROP(CheckRunSplits, ValidResponsesPassTheDefaultCheck, ()) {
  const int code = *rc::gen::inRange(200, 400);
  const auto body = *rc::gen::container<std::string>(rc::gen::inRange('a', 'z'));
  const std::string reply = fmt::format("HTTP/1.1 {} R\r\nContent-Length: {}\r\n\r\n{}", code, body.size(), body);
  const auto cuts = *rc::gen::container<std::vector<std::size_t>>(rc::gen::inRange<std::size_t>(0, reply.size()));
  CheckSpec spec;
  spec.kind = CheckKind::HttpChk;
  RC_ASSERT(play(spec, split(reply, cuts), Then::Hold, true) == (CheckResult{CheckStatus::L7Ok, code, {}, Ms{-1}}));
}

}  // namespace
}  // namespace lb::core
