#include "lb/core/check/check_run.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <utility>
#include <vector>

#include "lb/core/check/http_response.hpp"
#include "lb/core/config/values.hpp"
#include "lb/core/regex.hpp"
#include "lb/core/text.hpp"

// One check attempt, judged as HAProxy 2.6's tcpcheck_main() / tcpcheck_eval_expect*() do
// (src/tcpcheck.c, src/check.c). Where HAProxy's answer depends on how the server's bytes
// were cut into reads, this decides as HAProxy would if every byte arrived on its own: the
// earliest moment HAProxy could decide. That keeps the answer independent of the split.

namespace lb::core {
namespace {

using Kind = TcpCheckRule::Kind;

// A compiled expectation: the rule plus what it needs at run time.
struct Expect {
  ExpectRule rule;
  std::string data;                         // string, or decoded binary
  std::vector<std::pair<int, int>> ranges;  // status
  std::optional<Regex> regex;               // rstatus / rstring; none if it did not compile

  explicit Expect(ExpectRule r) : rule(std::move(r)) {
    switch (rule.kind) {
      case ExpectKind::Status:
        ranges = parse_status_list(rule.pattern).value_or(std::vector<std::pair<int, int>>{});  // validated by the parser
        break;
      case ExpectKind::RStatus:
      case ExpectKind::RString:
        regex = Regex::compile(rule.pattern);  // nullopt matches nothing
        break;
      case ExpectKind::Binary:
        data = decode_hex(rule.pattern).value_or("");  // validated by the config parser
        break;
      case ExpectKind::String:
        data = rule.pattern;
        break;
    }
  }

  bool is_regex() const { return rule.kind == ExpectKind::RString || rule.kind == ExpectKind::RStatus; }
  bool search(std::string_view text) const { return regex && regex->search(text); }
};

// A pattern as HAProxy's "%.*s" prints it into an info text: up to its first NUL byte.
std::string_view as_printed(std::string_view pattern) { return pattern.substr(0, pattern.find('\0')); }

// Where `needle` first ends in `hay`, a buffer that only grows: `from` carries over between
// calls the first position where an occurrence may still start, so each byte is searched
// about once however the bytes arrive.
std::size_t find_end_growing(std::string_view hay, std::string_view needle, std::size_t& from) {
  const auto at = hay.find(needle, std::min(from, hay.size()));
  if (at != std::string_view::npos) return at + needle.size();
  if (hay.size() >= needle.size()) from = std::max(from, hay.size() - needle.size() + 1);
  return std::string_view::npos;
}

}  // namespace

std::string build_http_check_request(const HttpCheckRequest& r) {
  std::string out = fmt::format("{} {} {}\r\n", r.method, r.uri, r.version);
  bool connection_given = false;
  for (const auto& [name, value] : r.headers) {
    if (value.empty()) continue;  // HAProxy skips a header whose value is empty
    // ... and its H1 encoder drops a zero content-length on a request without a body.
    if (r.body.empty() && iequals(name, "content-length") && value == "0") continue;
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    out += fmt::format("{}: {}\r\n", lower, value);
    if (iequals(name, "connection")) connection_given = true;
  }
  const std::string_view v = r.version;
  const bool http11 = (v.size() == 6 && v[5] == '2') ||
                      (v.size() == 8 && (v[5] > '1' || (v[5] == '1' && v[7] >= '1')));
  // HAProxy adds both headers internally; its H1 encoder drops a zero content-length and, for
  // HTTP/1.0 where close is the default, the connection header.
  if (!r.body.empty()) out += fmt::format("content-length: {}\r\n", r.body.size());
  if (http11 && !connection_given) out += "connection: close\r\n";
  out += "\r\n";
  out += r.body;
  return out;
}

struct CompiledCheck {
  CheckSpec spec;
  std::string http_request;                        // option httpchk: sent on connect
  std::vector<Expect> http_expects;                // with the implicit "status 200-399"
  std::vector<std::optional<Expect>> tcp_expects;  // option tcp-check: per rule, for expects
  std::vector<std::string> tcp_sends;              // option tcp-check: per rule, decoded sends

  explicit CompiledCheck(const CheckSpec& s) : spec(s) {
    if (spec.kind == CheckKind::HttpChk) {
      // A section that inherits `option httpchk` but has its own http-check rules sends
      // nothing in HAProxy 2.6 (CheckSpec::send_request; the parser warns about it).
      if (spec.send_request) http_request = build_http_check_request(spec.http);
      if (spec.http_expects.empty())
        http_expects.emplace_back(ExpectRule{ExpectKind::Status, false, "200-399"});
      for (const auto& e : spec.http_expects) http_expects.emplace_back(e);
    }
    if (spec.kind == CheckKind::TcpCheck) {
      for (const auto& r : spec.tcp_rules) {
        if (r.kind == Kind::Expect) tcp_expects.emplace_back(std::in_place, r.expect);
        else tcp_expects.emplace_back();
        tcp_sends.push_back(r.kind == Kind::Send         ? r.data
                            : r.kind == Kind::SendBinary ? decode_hex(r.data).value_or("")
                                                         : std::string());
      }
    }
  }
};

std::shared_ptr<const CompiledCheck> compile_check(const CheckSpec& spec) {
  return std::make_shared<const CompiledCheck>(spec);
}

namespace {

// The specs this thread compiled lately, most recently used first. Comparing a spec is far
// cheaper than compiling its regexes; a config has few distinct specs, so a short list does.
std::shared_ptr<const CompiledCheck> compile_check_cached(const CheckSpec& spec) {
  constexpr std::size_t kKept = 32;
  thread_local std::vector<std::shared_ptr<const CompiledCheck>> recent;
  for (auto it = recent.begin(); it != recent.end(); ++it) {
    if ((*it)->spec == spec) {
      std::rotate(recent.begin(), it, it + 1);
      return recent.front();
    }
  }
  if (recent.size() >= kKept) recent.pop_back();
  recent.insert(recent.begin(), compile_check(spec));
  return recent.front();
}

}  // namespace

struct CheckRun::Impl {
  std::shared_ptr<const CompiledCheck> check;
  const CheckSpec& spec;
  bool server_up;
  bool connected = false;
  std::optional<CheckResult> result;

  // option httpchk
  HttpResponseParser response;
  std::vector<std::size_t> body_from;  // per http expect: find_end_growing() progress

  // option tcp-check
  std::size_t pos = 0;    // next rule to run
  bool closed = false;
  // The connection failed (a reset): a send the last judgement reaches finds its write side
  // shut, as raw_sock_from_buf() does (CO_FL_SOCK_WR_SH: EPIPE).
  bool broken = false;
  std::string buffer;     // received since the last send, at most one check buffer
  struct {
    std::size_t rule = std::string_view::npos, length = 0;
    bool match = false;
  } regex_memo;  // the last regex verdict: the same buffer is not searched twice

  Impl(std::shared_ptr<const CompiledCheck> c, bool up)
      : check(std::move(c)),
        spec(check->spec),
        server_up(up),
        response(iequals(spec.http.method, "HEAD")),
        body_from(check->http_expects.size(), 0) {}

  bool explicit_connect() const {
    return !spec.tcp_rules.empty() && spec.tcp_rules.front().kind == Kind::Connect;
  }

  CheckResult settle(CheckStatus status, int code = 0, std::string info = {}) {
    result = CheckResult{status, code, std::move(info), Ms{-1}};
    return *result;
  }

  // --- option httpchk ---------------------------------------------------------------------

  // Judges the response as it stands; nullopt = wait for more. `final`: no more body will come.
  //
  // tcpcheck_eval_expect_http() (src/tcpcheck.c, 2.6.12) runs on every read: a `string` or
  // `rstring` rule passes (or, negated, fails) as soon as it matches the body received so far,
  // and waits on a mismatch until the body is complete (end of message, close, error, or a full
  // buffer). So a regex that matches a partial body passes a server that then stalls, as in
  // HAProxy; a `string` longer than the body so far waits without a search.
  std::optional<CheckResult> judge_http(bool final) {
    const int code = response.status();
    if (spec.disable_on_404 && server_up && code == 404)
      return CheckResult{CheckStatus::L7OkConditional, code, {}, Ms{-1}};
    const std::string_view body = response.body();
    for (std::size_t i = 0; i < check->http_expects.size(); ++i) {
      const Expect& e = check->http_expects[i];
      bool match = false;
      switch (e.rule.kind) {
        case ExpectKind::Status:
          match = std::any_of(e.ranges.begin(), e.ranges.end(),
                              [&](const auto& r) { return code >= r.first && code <= r.second; });
          break;
        case ExpectKind::RStatus:
          match = e.search(response.status_text());
          break;
        case ExpectKind::String:
        case ExpectKind::Binary:
        case ExpectKind::RString:
          if (body.empty()) {
            if (!final) return std::nullopt;
            return CheckResult{CheckStatus::L7InvalidResponse, code,
                               "HTTP content check could not find a response body", Ms{-1}};
          }
          if (e.rule.kind == ExpectKind::RString) {
            match = e.search(body);
          } else {
            if (!final && body.size() < e.data.size()) return std::nullopt;
            match = find_end_growing(body, e.data, body_from[i]) != std::string_view::npos;
          }
          if (!match && !final) return std::nullopt;
          if (match != e.rule.negate) continue;
          return CheckResult{CheckStatus::L7InvalidResponse, code,
                             e.rule.negate ? "HTTP check matched unwanted content"
                                           : "HTTP content check did not match",
                             Ms{-1}};
      }
      if (match == e.rule.negate)
        // The reason becomes the info as a C string: it ends at a NUL byte.
        return CheckResult{CheckStatus::L7WrongStatus, code,
                           std::string(response.reason().substr(0, response.reason().find('\0'))), Ms{-1}};
    }
    return CheckResult{CheckStatus::L7Ok, code, {}, Ms{-1}};
  }

  // After each read: an error in it decides; else decide with what is there, the end of the
  // message making it final.
  void evaluate_http() {
    if (result) return;
    if (response.failed()) {
      settle(CheckStatus::L7InvalidResponse);
      return;
    }
    if (!response.headers_done()) return;
    const bool final = response.complete() || response.body_window_full() ||
                       (response.closed() && !response.failed());
    if (auto r = judge_http(final)) {
      result = std::move(r);
      return;
    }
    if (response.failed()) settle(CheckStatus::L7InvalidResponse);
  }

  // HAProxy's H1 parser takes an interim 1xx response (any but 101) as one message and parses
  // what came with it in the same read as the next one; the check judges the interim status,
  // unless those bytes do not parse. After a 101 the same read's bytes are the body the check
  // judges, whatever the head said of a length (tests/data/haproxy26/check_replies.tsv).
  bool interim_followed_by_garbage(std::string_view rest) const {
    while (!rest.empty()) {
      HttpResponseParser next(iequals(spec.http.method, "HEAD"));
      while (!rest.empty() && !next.failed() && !next.complete()) {
        const std::size_t used = next.feed(rest);
        if (used == 0) break;
        rest.remove_prefix(used);
      }
      if (next.failed()) return true;
      if (!next.complete() || !is_interim_status(next.status())) return false;
    }
    return false;
  }

  // A read is parsed whole before the check judges it, as HAProxy's mux converts all of it to
  // HTX first: a chunk-size error in the read that completed the head is an invalid response,
  // whatever the status.
  void http_data(std::string_view bytes) {
    if (result) return;
    for (;;) {
      const std::size_t used = response.feed(bytes);
      bytes.remove_prefix(used);
      const int code = response.status();
      if (response.complete() && is_interim_status(code) && interim_followed_by_garbage(bytes))
        return (void)settle(CheckStatus::L7InvalidResponse);
      if (response.complete() && code == 101) {
        response.take_tunnel_data(bytes);
        bytes = {};
      }
      if (used == 0 || bytes.empty() || response.failed()) break;
    }
    response.end_of_read();
    evaluate_http();
  }

  // --- option tcp-check -------------------------------------------------------------------

  int step_of(std::size_t rule) const { return static_cast<int>(rule) + 1; }

  // HAProxy's expect.head: a waiting expect resumes from the first expect of its run of
  // consecutive expects, each judged again on the grown buffer.
  std::size_t head_of(std::size_t at) const {
    while (at > 0 && spec.tcp_rules[at - 1].kind == Kind::Expect) --at;
    return at;
  }

  // HAProxy's chk_report_conn_err() suffix naming where the ruleset stood.
  std::string tcp_where() const {
    if (!connected && pos > 0 && pos < spec.tcp_rules.size()) {  // a later connect rule
      const auto& c = spec.tcp_rules[pos];
      return c.port ? fmt::format(" at step {} of tcp-check (connect port {})", step_of(pos), *c.port)
                    : fmt::format(" at step {} of tcp-check (connect)", step_of(pos));
    }
    if (!connected) {
      if (!explicit_connect()) return " at initial connection step of tcp-check";
      const auto& c = spec.tcp_rules.front();
      return c.port ? fmt::format(" at step 1 of tcp-check (connect port {})", *c.port)
                    : std::string(" at step 1 of tcp-check (connect)");
    }
    // The rule it stood on: a waiting expect names itself, not the head of its run.
    const std::size_t at = std::min(pos, spec.tcp_rules.size() - 1);
    std::string out = fmt::format(" at step {} of tcp-check", step_of(at));
    const auto& rule = spec.tcp_rules[at];
    switch (rule.kind) {
      case Kind::Connect:
        out += rule.port ? fmt::format(" (connect port {})", *rule.port) : std::string(" (connect)");
        break;
      case Kind::Send:
      case Kind::SendBinary:
        out += " (send)";
        break;
      case Kind::Expect: {
        const auto& e = *check->tcp_expects[at];
        switch (e.rule.kind) {
          case ExpectKind::Binary:
            // chk_report_conn_err() (src/check.c:826) prints expect->data, which
            // parse_tcpcheck_expect() decoded from the hex (src/tcpcheck.c:3373-3380).
            out += fmt::format(" (expect binary '{}')", as_printed(e.data));
            break;
          case ExpectKind::RString:
          case ExpectKind::RStatus:
            out += " (expect regex)";
            break;
          default:
            out += fmt::format(" (expect string '{}')", as_printed(e.data));
        }
        break;
      }
    }
    return out;
  }

  enum class Verdict { Wait, Pass, Fail };

  bool tcp_contains(std::size_t at) const { return buffer.find(check->tcp_expects[at]->data) != std::string::npos; }

  // Whether expect `at`'s regex matches the first `n` buffered bytes. Like HAProxy's
  // tcpcheck_eval_expect(), it sees at most a check buffer less one byte.
  bool tcp_regex_match(std::size_t at, std::size_t n) {
    n = std::min(n, kCheckBufferSize - 1);
    if (regex_memo.rule != at || regex_memo.length != n) {
      regex_memo.rule = at;
      regex_memo.length = n;
      regex_memo.match = check->tcp_expects[at]->search(std::string_view(buffer).substr(0, n));
    }
    return regex_memo.match;
  }

  // tcpcheck_eval_expect() on the whole buffer, without side effects on the result;
  // `matched` tells a negated failure.
  Verdict judge_tcp(std::size_t at, bool final, bool* matched = nullptr) {
    const Expect& e = *check->tcp_expects[at];
    bool match = false;
    if (e.is_regex()) {
      match = tcp_regex_match(at, buffer.size());
    } else {
      if (!final && buffer.size() < e.data.size()) return Verdict::Wait;
      match = tcp_contains(at);
    }
    if (matched) *matched = match;
    if (!match && !final) return Verdict::Wait;
    return match != e.rule.negate ? Verdict::Pass : Verdict::Fail;
  }

  // true = passed, false = failed (result set), nullopt = wait.
  std::optional<bool> tcp_expect(std::size_t at) {
    if (buffer.empty()) {
      if (!closed) return std::nullopt;
      settle(CheckStatus::L7InvalidResponse, 0,
             fmt::format("TCPCHK got an empty response at step {}", step_of(at)));
      return false;
    }
    bool match = false;
    const bool final = closed || buffer.size() >= kCheckBufferSize;
    switch (judge_tcp(at, final, &match)) {
      case Verdict::Wait:
        return std::nullopt;
      case Verdict::Pass:
        return true;
      case Verdict::Fail:
        break;
    }
    const Expect& e = *check->tcp_expects[at];
    std::string info = match ? "TCPCHK matched unwanted content" : "TCPCHK did not match content";
    switch (e.rule.kind) {
      case ExpectKind::Binary:
        info += fmt::format(" (binary) at step {}", step_of(at));
        break;
      case ExpectKind::RString:
      case ExpectKind::RStatus:
        info += fmt::format(" (regex) at step {}", step_of(at));
        break;
      default:
        info += fmt::format(" '{}' at step {}", as_printed(e.data), step_of(at));
    }
    settle(CheckStatus::L7InvalidResponse, 0, std::move(info));
    return false;
  }

  // Runs rules from `pos` until one must wait or the ruleset ends.
  void run_tcp(CheckStep& step) {
    const auto& rules = spec.tcp_rules;
    while (!result && pos < rules.size()) {
      const auto& rule = rules[pos];
      switch (rule.kind) {
        case Kind::Connect:
          // A later connect opens a new connection: the edge closes this one and reports the
          // new one's handshake (or failure) as for the first.
          connected = false;
          buffer.clear();
          regex_memo.rule = std::string_view::npos;
          step.reconnect = rule.port.value_or(0);
          return;
        case Kind::Send:
        case Kind::SendBinary:
          if (broken) {
            settle(CheckStatus::SocketError, 0, "Broken pipe" + tcp_where());
            return;
          }
          step.send += check->tcp_sends[pos];
          buffer.clear();  // HAProxy releases the input buffer on every send
          regex_memo.rule = std::string_view::npos;
          ++pos;
          break;
        case Kind::Expect: {
          const auto passed = tcp_expect(pos);
          if (!passed || !*passed) return;  // wait, or failed
          ++pos;
          break;
        }
      }
    }
    if (result || pos < rules.size()) return;
    if (rules.empty()) {
      settle(CheckStatus::L4Ok);  // implicit connect only
    } else if (rules.back().kind == Kind::Connect) {
      settle(CheckStatus::L4Ok, 0, "(tcp-check)");
    } else {
      settle(CheckStatus::L7Ok, 0, "(tcp-check)");
    }
  }

  // A read is judged whole, as HAProxy does (tcpcheck_main on each wake): the bytes join the
  // buffer (a check buffer at most; a full one stalls the server), and the waiting run of
  // expects is judged again from its head. Bytes that came with the ones a send answers are
  // released with the buffer by that send.
  void tcp_data(std::string_view bytes, CheckStep& step) {
    if (pos >= spec.tcp_rules.size() || buffer.size() >= kCheckBufferSize) return;
    buffer.append(bytes.substr(0, kCheckBufferSize - buffer.size()));
    resume_tcp(step);
  }

  void resume_tcp(CheckStep& step) {
    if (pos < spec.tcp_rules.size() && spec.tcp_rules[pos].kind == Kind::Expect) pos = head_of(pos);
    run_tcp(step);
  }
};

CheckRun::CheckRun(std::shared_ptr<const CompiledCheck> check, bool server_up)
    : impl_(std::make_shared<Impl>(std::move(check), server_up)) {}

CheckRun::CheckRun(const CheckSpec& spec, bool server_up) : CheckRun(compile_check_cached(spec), server_up) {}

CheckStep CheckRun::on_connected() {
  auto& m = *impl_;
  CheckStep step;
  if (m.result || m.connected) return step;
  m.connected = true;
  if (m.spec.kind == CheckKind::TcpCheck && m.pos > 0) {  // the connection of a later connect rule
    ++m.pos;
    m.run_tcp(step);
    step.result = m.result;
    return step;
  }
  switch (m.spec.kind) {
    case CheckKind::Connect:
      m.settle(CheckStatus::L4Ok);
      break;
    case CheckKind::HttpChk:
      step.send = m.check->http_request;
      break;
    case CheckKind::TcpCheck:
      m.pos = m.explicit_connect() ? 1 : 0;
      m.run_tcp(step);
      break;
  }
  step.result = m.result;
  return step;
}

CheckStep CheckRun::on_data(std::string_view bytes) {
  auto& m = *impl_;
  CheckStep step;
  if (m.result || !m.connected) return step;
  if (m.spec.kind == CheckKind::HttpChk) m.http_data(bytes);
  if (m.spec.kind == CheckKind::TcpCheck) m.tcp_data(bytes, step);
  step.result = m.result;
  return step;
}

CheckStep CheckRun::on_peer_closed() {
  auto& m = *impl_;
  CheckStep step;
  if (m.result || !m.connected) return step;
  if (m.spec.kind == CheckKind::HttpChk) {
    m.response.close();
    m.evaluate_http();
  }
  if (m.spec.kind == CheckKind::TcpCheck) {
    m.closed = true;
    m.resume_tcp(step);  // with the close every expect is final, so this always decides
  }
  step.result = m.result;
  return step;
}

CheckResult CheckRun::on_error(std::string_view os_error) {
  auto& m = *impl_;
  if (m.result) return *m.result;
  const bool tcp = m.spec.kind == CheckKind::TcpCheck;
  if (!m.connected)
    return m.settle(CheckStatus::L4ConnectionProblem, 0,
                    std::string(os_error) + (tcp ? m.tcp_where() : std::string()));
  // A tcp-check judges the buffer once more, as the last read: its waiting expects decide
  // before the error does. An HTTP check's mux reports the error (check_replies.tsv).
  if (tcp && !m.buffer.empty() && m.pos < m.spec.tcp_rules.size()) {
    CheckStep ignored;
    m.closed = true;
    m.broken = true;
    m.resume_tcp(ignored);
    if (m.result) return *m.result;
  }
  return m.settle(CheckStatus::SocketError, 0,
                  std::string(os_error) + (tcp ? m.tcp_where() : std::string()));
}

CheckResult CheckRun::on_connect_failed(std::string_view info, bool tcp) {
  auto& m = *impl_;
  if (m.result) return *m.result;
  const std::string where = m.spec.kind == CheckKind::TcpCheck ? m.tcp_where() : std::string();
  return m.settle(tcp ? CheckStatus::L4ConnectionProblem : CheckStatus::SocketError, 0, fmt::format("{}{}", info, where));
}

CheckResult CheckRun::on_data_then_error(std::string_view bytes, std::string_view os_error) {
  auto& m = *impl_;
  if (m.result || !m.connected) return on_error(os_error);
  const bool tcp = m.spec.kind == CheckKind::TcpCheck;
  if (!tcp) m.http_data(bytes);
  // The data is judged as the last: HAProxy reports the socket error only when nothing is left
  // to look at.
  if (!m.result && !tcp && m.response.headers_done()) {
    m.response.close();
    m.evaluate_http();
  }
  if (!m.result && tcp && m.pos < m.spec.tcp_rules.size() && m.buffer.size() < kCheckBufferSize)
    m.buffer.append(bytes.substr(0, kCheckBufferSize - m.buffer.size()));
  if (m.result) return *m.result;
  return on_error(os_error);
}

CheckResult CheckRun::on_timeout() {
  auto& m = *impl_;
  if (m.result) return *m.result;
  const bool tcp = m.spec.kind == CheckKind::TcpCheck;
  if (!m.connected) return m.settle(CheckStatus::L4Timeout, 0, tcp ? m.tcp_where() : std::string());
  return m.settle(CheckStatus::L7Timeout, 0, tcp ? m.tcp_where() : std::string());
}

bool CheckRun::delayed_ack() const {
  const auto& m = *impl_;
  switch (m.spec.kind) {
    case CheckKind::Connect: return true;
    case CheckKind::HttpChk: return m.spec.send_request;  // else an expect follows the connect
    case CheckKind::TcpCheck: break;
  }
  const auto& rules = m.spec.tcp_rules;
  // The rule after the connect: after rules[pos] for a later connect, after rules[0] for an
  // explicit first one, the first rule itself when the connect is implicit.
  const std::size_t next = m.pos > 0 ? m.pos + 1 : m.explicit_connect() ? 1 : 0;
  return next >= rules.size() || rules[next].kind != Kind::Expect;
}

bool CheckRun::connected() const { return impl_->connected; }
bool CheckRun::done() const { return impl_->result.has_value(); }
std::optional<CheckResult> CheckRun::result() const { return impl_->result; }
const std::shared_ptr<const CompiledCheck>& CheckRun::compiled() const { return impl_->check; }

}  // namespace lb::core
