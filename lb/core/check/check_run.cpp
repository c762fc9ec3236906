#include "lb/core/check/check_run.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <regex>
#include <utility>
#include <vector>

#include "lb/core/check/http_response.hpp"
#include "lb/core/text.hpp"

// One check attempt, judged as HAProxy 2.6's tcpcheck_main() / tcpcheck_eval_expect*() do
// (src/tcpcheck.c, src/check.c). Where HAProxy's answer depends on how the server's bytes
// were cut into reads, this decides as HAProxy would if every byte arrived on its own: the
// earliest moment HAProxy could decide. That keeps the answer independent of the split.

namespace lb::core {
namespace {

using Kind = TcpCheckRule::Kind;

// "200-399,404" → {{200,399},{404,404}}; malformed items match nothing.
std::vector<std::pair<int, int>> parse_status_list(std::string_view list) {
  std::vector<std::pair<int, int>> out;
  const auto number = [](std::string_view s) -> int {
    if (s.empty() || s.size() > 5) return -1;
    int n = 0;
    for (const char c : s) {
      if (c < '0' || c > '9') return -1;
      n = n * 10 + (c - '0');
    }
    return n;
  };
  while (!list.empty()) {
    const auto comma = list.find(',');
    const auto item = list.substr(0, comma);
    const auto dash = item.find('-');
    const int lo = number(item.substr(0, dash));
    const int hi = dash == std::string_view::npos ? lo : number(item.substr(dash + 1));
    if (lo >= 0 && hi >= 0) out.emplace_back(lo, hi);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return out;
}

// A compiled expectation: the rule plus what it needs at run time.
struct Expect {
  ExpectRule rule;
  std::string data;                         // string, or decoded binary
  std::vector<std::pair<int, int>> ranges;  // status
  std::optional<std::regex> regex;          // rstatus / rstring; none if it did not compile

  explicit Expect(ExpectRule r) : rule(std::move(r)) {
    switch (rule.kind) {
      case ExpectKind::Status:
        ranges = parse_status_list(rule.pattern);
        break;
      case ExpectKind::RStatus:
      case ExpectKind::RString:
        try {
          regex.emplace(rule.pattern, std::regex::ECMAScript);
        } catch (const std::regex_error&) {
          regex.reset();  // matches nothing
        }
        break;
      case ExpectKind::Binary:
        data = decode_hex(rule.pattern).value_or("");  // validated by the config parser
        break;
      case ExpectKind::String:
        data = rule.pattern;
        break;
    }
  }

  // A regex over data that may still grow: `$` and a final word boundary must not match at
  // the provisional end, or a partial read would pass what the whole answer fails.
  bool search(std::string_view text, bool final) const {
    if (!regex) return false;
    auto flags = std::regex_constants::match_default;
    if (!final) flags |= std::regex_constants::match_not_eol | std::regex_constants::match_not_eow;
    return std::regex_search(text.begin(), text.end(), *regex, flags);
  }
};

}  // namespace

std::string build_http_check_request(const HttpCheckRequest& r) {
  std::string out = fmt::format("{} {} {}\r\n", r.method, r.uri, r.version);
  bool connection_given = false;
  for (const auto& [name, value] : r.headers) {
    if (value.empty()) continue;  // HAProxy skips a header whose value is empty
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

struct CheckRun::Impl {
  CheckSpec spec;
  bool server_up;
  bool connected = false;
  std::optional<CheckResult> result;

  // option httpchk
  HttpResponseParser response;
  std::vector<Expect> http_expects;

  // option tcp-check
  std::vector<std::optional<Expect>> tcp_expects;  // per rule, for expect rules
  std::size_t pos = 0;    // next rule to run
  bool closed = false;
  std::string buffer;     // received since the last send, at most one check buffer

  Impl(const CheckSpec& s, bool up)
      : spec(s), server_up(up), response(iequals(s.http.method, "HEAD")) {
    if (spec.kind == CheckKind::HttpChk) {
      if (spec.http_expects.empty())
        http_expects.emplace_back(ExpectRule{ExpectKind::Status, false, "200-399"});
      for (const auto& e : spec.http_expects) http_expects.emplace_back(e);
    }
    if (spec.kind == CheckKind::TcpCheck) {
      for (const auto& r : spec.tcp_rules) {
        if (r.kind == Kind::Expect) tcp_expects.emplace_back(std::in_place, r.expect);
        else tcp_expects.emplace_back();
      }
    }
  }

  bool explicit_connect() const {
    return !spec.tcp_rules.empty() && spec.tcp_rules.front().kind == Kind::Connect;
  }

  CheckResult settle(CheckStatus status, int code = 0, std::string info = {}) {
    result = CheckResult{status, code, std::move(info), Ms{-1}};
    return *result;
  }

  // --- option httpchk ---------------------------------------------------------------------

  // Judges the response as it stands; nullopt = wait for more. `final`: no more body will come.
  std::optional<CheckResult> judge_http(bool final) {
    const int code = response.status();
    if (spec.disable_on_404 && server_up && code == 404)
      return CheckResult{CheckStatus::L7OkConditional, code, {}, Ms{-1}};
    const std::string_view body = response.body();
    for (const auto& e : http_expects) {
      bool match = false;
      switch (e.rule.kind) {
        case ExpectKind::Status:
          match = std::any_of(e.ranges.begin(), e.ranges.end(),
                              [&](const auto& r) { return code >= r.first && code <= r.second; });
          break;
        case ExpectKind::RStatus:
          match = e.search(response.status_text(), true);
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
            match = e.search(body, final);
          } else {
            if (!final && body.size() < e.data.size()) return std::nullopt;
            match = body.find(e.data) != std::string_view::npos;
          }
          if (!match && !final) return std::nullopt;
          if (match != e.rule.negate) continue;
          return CheckResult{CheckStatus::L7InvalidResponse, code,
                             e.rule.negate ? "HTTP check matched unwanted content"
                                           : "HTTP content check did not match",
                             Ms{-1}};
      }
      if (match == e.rule.negate)
        return CheckResult{CheckStatus::L7WrongStatus, code, std::string(response.reason()), Ms{-1}};
    }
    return CheckResult{CheckStatus::L7Ok, code, {}, Ms{-1}};
  }

  // After each stretch the parser took: decide with what is there, then let an error or the
  // end of the message make it final.
  void evaluate_http() {
    if (result) return;
    if (!response.headers_done()) {
      if (response.failed()) settle(CheckStatus::L7InvalidResponse);
      return;
    }
    const bool final = response.complete() || response.body_window_full() ||
                       (response.closed() && !response.failed());
    if (auto r = judge_http(final)) {
      result = std::move(r);
      return;
    }
    if (response.failed()) settle(CheckStatus::L7InvalidResponse);
  }

  void http_data(std::string_view bytes) {
    while (!result) {
      const std::size_t used = response.feed(bytes);
      bytes.remove_prefix(used);
      evaluate_http();
      if (used == 0 || bytes.empty()) break;
    }
  }

  // --- option tcp-check -------------------------------------------------------------------

  int step_of(std::size_t rule) const { return static_cast<int>(rule) + 1; }

  // HAProxy's expect.head: a waiting expect resumes (and reports) from the first expect of
  // its run of consecutive expects.
  std::size_t head_of(std::size_t at) const {
    while (at > 0 && spec.tcp_rules[at - 1].kind == Kind::Expect) --at;
    return at;
  }

  // HAProxy's chk_report_conn_err() suffix naming where the ruleset stood.
  std::string tcp_where() const {
    if (!connected) {
      if (!explicit_connect()) return " at initial connection step of tcp-check";
      const auto& c = spec.tcp_rules.front();
      return c.port ? fmt::format(" at step 1 of tcp-check (connect port {})", *c.port)
                    : std::string(" at step 1 of tcp-check (connect)");
    }
    std::size_t at = std::min(pos, spec.tcp_rules.size() - 1);
    if (spec.tcp_rules[at].kind == Kind::Expect) at = head_of(at);
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
        const auto& e = *tcp_expects[at];
        switch (e.rule.kind) {
          case ExpectKind::Binary:
            out += fmt::format(" (expect binary '{}')", e.data);
            break;
          case ExpectKind::RString:
          case ExpectKind::RStatus:
            out += " (expect regex)";
            break;
          default:
            out += fmt::format(" (expect string '{}')", e.data);
        }
        break;
      }
    }
    return out;
  }

  enum class Verdict { Wait, Pass, Fail };

  // tcpcheck_eval_expect() on `data`, without side effects; `matched` tells a negated failure.
  Verdict judge_tcp(std::size_t at, std::string_view data, bool final, bool* matched = nullptr) const {
    const Expect& e = *tcp_expects[at];
    bool match = false;
    if (e.rule.kind == ExpectKind::RString || e.rule.kind == ExpectKind::RStatus) {
      match = e.search(data, final);
    } else {
      if (!final && data.size() < e.data.size()) return Verdict::Wait;
      match = data.find(e.data) != std::string_view::npos;
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
    switch (judge_tcp(at, buffer, final, &match)) {
      case Verdict::Wait:
        return std::nullopt;
      case Verdict::Pass:
        return true;
      case Verdict::Fail:
        break;
    }
    const Expect& e = *tcp_expects[at];
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
        info += fmt::format(" '{}' at step {}", e.data, step_of(at));
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
          // A later connect would open a second connection; the edge has only one, so the
          // rule is passed over.
          ++pos;
          break;
        case Kind::Send:
        case Kind::SendBinary:
          step.send += rule.kind == Kind::Send ? rule.data : decode_hex(rule.data).value_or("");
          buffer.clear();  // HAProxy releases the input buffer on every send
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

  // Takes bytes as if each arrived on its own, without judging each one: the waiting expect
  // is judged on the whole piece, and only when that decides is the first deciding byte
  // searched for (an expect's verdict, once reached, holds as more bytes come). The bytes
  // after it then meet the next rules, e.g. a send that releases the buffer.
  void tcp_data(std::string_view bytes, CheckStep& step) {
    while (!bytes.empty() && !result && pos < spec.tcp_rules.size()) {
      if (buffer.size() >= kCheckBufferSize) return;  // a full buffer stalls the server
      const std::size_t base = buffer.size();
      const std::size_t take = std::min(bytes.size(), kCheckBufferSize - base);
      buffer.append(bytes.substr(0, take));
      const auto decided = [&](std::size_t n) {
        return judge_tcp(pos, std::string_view(buffer).substr(0, n), n >= kCheckBufferSize) != Verdict::Wait;
      };
      std::size_t end = base + take;
      if (decided(end)) {
        std::size_t lo = base + 1;  // the smallest deciding length is in [lo, end]
        while (lo < end) {
          const std::size_t mid = lo + (end - lo) / 2;
          if (decided(mid)) end = mid;
          else lo = mid + 1;
        }
        buffer.resize(end);
      }
      bytes.remove_prefix(end - base);
      run_tcp(step);
    }
  }
};

CheckRun::CheckRun(const CheckSpec& spec, bool server_up)
    : impl_(std::make_shared<Impl>(spec, server_up)) {}

CheckStep CheckRun::on_connected() {
  auto& m = *impl_;
  CheckStep step;
  if (m.result || m.connected) return step;
  m.connected = true;
  switch (m.spec.kind) {
    case CheckKind::Connect:
      m.settle(CheckStatus::L4Ok);
      break;
    case CheckKind::HttpChk:
      step.send = build_http_check_request(m.spec.http);
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
    m.run_tcp(step);  // with the close every expect is final, so this always decides
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
  // Data already received is judged first: HAProxy reports a socket error only when nothing
  // is left to look at.
  if (m.spec.kind == CheckKind::HttpChk && m.response.headers_done()) {
    m.response.close();
    m.evaluate_http();
    if (m.result) return *m.result;
  }
  if (tcp && !m.buffer.empty()) {
    CheckStep ignored;
    m.closed = true;
    m.run_tcp(ignored);
    if (m.result) return *m.result;
  }
  return m.settle(CheckStatus::SocketError, 0,
                  std::string(os_error) + (tcp ? m.tcp_where() : std::string()));
}

CheckResult CheckRun::on_timeout() {
  auto& m = *impl_;
  if (m.result) return *m.result;
  const bool tcp = m.spec.kind == CheckKind::TcpCheck;
  if (!m.connected) return m.settle(CheckStatus::L4Timeout, 0, tcp ? m.tcp_where() : std::string());
  return m.settle(CheckStatus::L7Timeout, 0, tcp ? m.tcp_where() : std::string());
}

bool CheckRun::connected() const { return impl_->connected; }
bool CheckRun::done() const { return impl_->result.has_value(); }
std::optional<CheckResult> CheckRun::result() const { return impl_->result; }

}  // namespace lb::core
