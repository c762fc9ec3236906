#include "harness/core/check_fuzz.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <numeric>

#include "lb/core/config/lexer.hpp"
#include "mockserver/core/spec.hpp"

namespace lbh {
namespace {

namespace json = boost::json;

// splitmix64: the same draws on every platform (std's distributions are not specified exactly).
class Draw {
 public:
  Draw(std::uint64_t seed, std::uint64_t index) : state_(seed * 0x9e3779b97f4a7c15ULL ^ (index + 1) * 0xbf58476d1ce4e5b9ULL) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  std::size_t below(std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(next() % n); }
  int between(int lo, int hi) { return lo + static_cast<int>(below(static_cast<std::size_t>(hi - lo + 1))); }
  bool chance(int percent) { return below(100) < static_cast<std::size_t>(percent); }
  template <class T, std::size_t N>
  const T& pick(const std::array<T, N>& a) { return a[below(N)]; }

 private:
  std::uint64_t state_;
};

using Words = std::array<std::string_view, 12>;

// Words replies and expects share, so that string and rstring expects sometimes match.
constexpr Words kBodyWords = {"ok", "up", "OK", "down", "err", "fatal", "v1.2", "+PONG", "PONG", "ready", "x", "\r\n"};

// "http-check expect ! rstring (error|fatal)" from "! rstring (error|fatal)": the pattern
// quoted as the config lexer needs.
std::string expect_line(std::string_view ruleset, std::string_view e) {
  const bool negated = e.starts_with("! ");
  const auto rest = negated ? e.substr(2) : e;
  const auto sp = rest.find(' ');
  return fmt::format("{} expect {}{} {}", ruleset, negated ? "! " : "", rest.substr(0, sp),
                     lb::core::quote_word(rest.substr(sp + 1)));
}

std::string http_check_lines(Draw& d, std::vector<std::string>& lines) {
  static constexpr std::array<std::string_view, 4> kMethods = {"OPTIONS", "GET", "GET", "HEAD"};
  const auto method = d.pick(kMethods);
  lines.push_back(fmt::format("option httpchk {} {{path}}{}", method, d.chance(30) ? " HTTP/1.1" : ""));
  if (d.chance(12)) lines.push_back("http-check disable-on-404");
  static constexpr std::array<std::string_view, 14> kExpects = {
      "status 200",          "status 200-299,404", "! status 500", "status 200-399",  "rstatus ^[23]",
      "! rstatus ^5",        "string ok",          "! string err", "rstring ^up",     "rstring v[0-9]+\\.[0-9]",
      "string +PONG",        "! rstring (error|fatal)", "rstring ^$", "string ready"};
  const int n = d.chance(35) ? 0 : d.between(1, 2);
  for (int i = 0; i < n; ++i) lines.push_back(expect_line("http-check", d.pick(kExpects)));
  return std::string(method);
}

void tcp_check_lines(Draw& d, std::vector<std::string>& lines) {
  lines.push_back("option tcp-check");
  lines.push_back(R"(tcp-check send "GET {path} HTTP/1.0\r\n\r\n")");
  static constexpr std::array<std::string_view, 12> kExpects = {
      "string HTTP/1.", "string 200",    "! string 500",  "rstring ^HTTP/1\\.[01] 2", "string +PONG", "rstring ok$",
      "binary 0d0a",    "! binary 00",   "string ready",  "rstring (up|ready)",      "! rstring ERR", "binary 2b4f4b"};
  const int n = d.between(1, 3);
  for (int i = 0; i < n; ++i) lines.push_back(expect_line("tcp-check", d.pick(kExpects)));
}

// A dialogue the server opens: 1–2 expects on its banner, sometimes a command and an expect on
// what the server answers to it (a greeting that goes on serving reads it as an HTTP request).
void server_first_lines(Draw& d, std::vector<std::string>& lines) {
  lines.push_back("option tcp-check");
  if (d.chance(20)) lines.push_back("tcp-check connect");
  static constexpr std::array<std::string_view, 12> kBannerExpects = {
      "string 220",  "rstring ^220 ", "! string 421",       "string +OK",  "rstring ^\\+OK", "binary 0a",
      "string ready", "! rstring ERR", "rstring ^[0-9]{3} ", "binary 4a00", "string ESMTP",    "! binary 00"};
  const int n = d.between(1, 2);
  for (int i = 0; i < n; ++i) lines.push_back(expect_line("tcp-check", d.pick(kBannerExpects)));
  if (d.chance(50)) {
    lines.push_back(R"(tcp-check send "QUIT\r\n")");
    static constexpr std::array<std::string_view, 5> kAnswerExpects = {
        "string 221", "string 400", "! string 500", "rstring ^HTTP/1\\.1 4", "string Bad"};
    lines.push_back(expect_line("tcp-check", d.pick(kAnswerExpects)));
  }
}

std::string random_bytes(Draw& d, std::size_t n) {
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(d.below(256));
  return s;
}

std::string body_text(Draw& d) {
  std::string body;
  if (d.chance(5)) return std::string(static_cast<std::size_t>(d.between(2000, 20000)), d.chance(50) ? 'x' : 'o');
  const int words = d.chance(20) ? 0 : d.between(1, 6);
  for (int i = 0; i < words; ++i) {
    if (i > 0 && d.chance(60)) body += ' ';
    body += d.chance(8) ? random_bytes(d, d.below(8)) : std::string(d.pick(kBodyWords));
  }
  return body;
}

std::string chunked(Draw& d, const std::string& body) {
  std::string out;
  std::size_t at = 0;
  while (at < body.size()) {
    const std::size_t n = std::min(body.size() - at, static_cast<std::size_t>(d.between(1, 64)));
    std::string size = d.chance(20) ? fmt::format("{:X}", n) : fmt::format("{:x}", n);
    if (d.chance(4)) size = "zz";
    if (d.chance(4)) size = "0" + size;
    out += size;
    if (d.chance(8)) out += ";ext=1";
    out += "\r\n";
    out += body.substr(at, n);
    out += d.chance(5) ? "\n" : "\r\n";
    at += n;
  }
  if (d.chance(85)) {
    out += "0\r\n";
    if (d.chance(10)) out += "X-Trailer: t\r\n";
    out += "\r\n";
  }
  return out;
}

std::string http_reply(Draw& d, const std::string& method) {
  static constexpr std::array<std::string_view, 16> kVersions = {
      "HTTP/1.1", "HTTP/1.1", "HTTP/1.1", "HTTP/1.1", "HTTP/1.1", "HTTP/1.1", "HTTP/1.0", "HTTP/1.0",
      "HTTP/2.0", "HTTP/1.10", "http/1.1", "HTTP/1",   "HTTPS/1.1", "",         "XTTP/1.1", "HTTP/9.9"};
  static constexpr std::array<std::string_view, 24> kCodes = {
      "200", "200", "200", "200", "200", "200", "204", "301", "302", "404", "404", "500",
      "503", "100", "101", "199", "299", "399", "600", "999", "099", "2OO", "20",  "2000"};
  static constexpr std::array<std::string_view, 10> kReasons = {
      "OK", "OK", "Fine", "", "Service Unavailable", "Not Found", "x y z", "OK\t", "\xc3\xa9t\xc3\xa9", "Internal Server Error"};
  const std::string_view eol = d.chance(10) ? "\n" : "\r\n";
  std::string out;
  out += d.pick(kVersions);
  out += d.chance(5) ? "  " : " ";
  out += d.pick(kCodes);
  if (!d.chance(10)) {
    out += ' ';
    out += d.pick(kReasons);
  }
  out += eol;

  std::string body = body_text(d);
  const bool is_chunked = d.chance(15);
  int headers = d.between(0, 4);
  if (is_chunked) {
    static constexpr std::array<std::string_view, 5> kCoding = {"chunked", "chunked", "Chunked", "gzip, chunked", "chunked, chunked"};
    out += fmt::format("Transfer-Encoding: {}{}", d.pick(kCoding), eol);
  } else if (d.chance(75)) {
    static constexpr std::array<std::string_view, 6> kOdd = {"abc", "-1", "1,1", "+5", "99999999999999999999", " 3"};
    if (d.chance(80)) out += fmt::format("Content-Length: {}{}", body.size(), eol);
    else if (d.chance(50)) out += fmt::format("Content-Length: {}{}", d.chance(50) || body.empty() ? body.size() + 1 + d.below(5) : body.size() - 1, eol);
    else out += fmt::format("Content-Length: {}{}", d.pick(kOdd), eol);
    if (d.chance(5)) out += fmt::format("Content-Length: {}{}", d.chance(50) ? body.size() : body.size() + 1, eol);
  }
  static constexpr std::array<std::string_view, 12> kHeaders = {
      "Content-Type: text/plain", "Connection: close", "Connection: keep-alive", "Server: mock",
      "X-Fold: a\r\n b",          "NoColon",           "Bad Name: x",            ": empty-name",
      "X-Empty:",                 "X-Long: ",          "Cache-Control: no-cache", "X-Tab:\tv"};
  for (int i = 0; i < headers; ++i) {
    std::string h(d.pick(kHeaders));
    if (h == "X-Long: ") h += std::string(static_cast<std::size_t>(d.between(100, 17000)), 'v');
    out += h;
    out += eol;
  }
  if (d.chance(2)) {
    for (int i = 0; i < 101; ++i) out += fmt::format("X-H{}: v{}", i, eol);
  }
  out += d.chance(5) ? std::string_view("\n") : eol;
  if (method == "HEAD" && d.chance(50)) body.clear();
  out += is_chunked ? chunked(d, body) : body;
  return out;
}

// A few bytes changed, inserted, removed or cut off.
void mutate(Draw& d, std::string& s) {
  const int n = d.between(1, 3);
  for (int i = 0; i < n && !s.empty(); ++i) {
    const std::size_t at = d.below(s.size());
    static constexpr std::array<char, 8> kBytes = {'\r', '\n', '\0', ' ', ':', '\t', '\x7f', '\xff'};
    switch (d.below(5)) {
      case 0: s[at] = d.chance(50) ? d.pick(kBytes) : static_cast<char>(d.below(256)); break;
      case 1: s.insert(s.begin() + static_cast<std::ptrdiff_t>(at), d.pick(kBytes)); break;
      case 2: s.erase(at, 1); break;
      case 3: s.resize(at); break;
      default: s.insert(at, s.substr(at, d.below(8))); break;
    }
  }
}

// A C string's escapes; a run of over 16 equal bytes is written once with its count, as
// `"v" x 16000`, so that a 16 KiB header still reads as one line.
std::string c_escape(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    std::size_t run = 1;
    while (i + run < s.size() && s[i + run] == c) ++run;
    if (run > 16) {
      out += fmt::format("\" + \"{}\" x {} + \"", c_escape(s.substr(i, 1)), run);
      i += run - 1;
      continue;
    }
    const auto b = static_cast<unsigned char>(c);
    if (c == '\r') out += "\\r";
    else if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c == '"' || c == '\\') (out += '\\') += c;
    else if (b < 0x20 || b >= 0x7f) out += fmt::format("\\x{:02x}", b);
    else out += c;
  }
  return out;
}

}  // namespace

std::string_view check_kind(const CheckCase& c) {
  if (c.server_first) return "server-first";
  return c.check_lines.front() == "option tcp-check" ? "tcp-check" : "httpchk";
}

std::string check_line(const CheckCase& c, std::string_view line) {
  std::string out(line);
  if (const auto at = out.find("{path}"); at != std::string::npos) out.replace(at, 6, "/" + c.name);
  return out;
}

mock::core::RawReply CheckCase::reply() const {
  mock::core::RawReply r;
  r.then = then;
  std::size_t from = 0;
  for (std::size_t i = 0; i <= cuts.size(); ++i) {
    const std::size_t to = i < cuts.size() ? cuts[i] : bytes.size();
    r.writes.push_back({lb::core::Ms{i < pauses_ms.size() ? pauses_ms[i] : 0}, bytes.substr(from, to - from)});
    from = to;
  }
  if (end_pause_ms > 0) r.writes.push_back({lb::core::Ms{end_pause_ms}, {}});
  return r;
}

std::size_t CheckCase::size() const {
  const int pauses = std::accumulate(pauses_ms.begin(), pauses_ms.end(), end_pause_ms);
  return bytes.size() * 1000 + cuts.size() * 100 + static_cast<std::size_t>(pauses > 0) * 10 +
         static_cast<std::size_t>(then != mock::core::RawEnd::Close) + check_lines.size();
}

CheckCase generate_check_case(std::uint64_t seed, std::size_t index) {
  Draw d(seed, index);
  CheckCase c;
  c.name = fmt::format("c{}", index);
  const bool tcp = d.chance(20);
  c.server_first = tcp && d.chance(40);
  std::string method = "GET";
  if (c.server_first) server_first_lines(d, c.check_lines);
  else if (tcp) tcp_check_lines(d, c.check_lines);
  else method = http_check_lines(d, c.check_lines);

  if (c.server_first) {
    static constexpr std::array<std::string_view, 8> kBanners = {
        "220 mail.example ESMTP ready\r\n", "+OK POP3 ready\r\n", "421 too busy\r\n", "-ERR\r\n",
        "ready\n",                           "* OK IMAP4rev1\r\n", std::string_view("J\0\0\0\n8.0.36\0", 12), "220-wait\r\n220 ok\r\n"};
    c.bytes = d.chance(10) ? random_bytes(d, d.below(40)) : d.chance(5) ? std::string() : std::string(d.pick(kBanners));
  } else if (d.chance(8)) {
    static constexpr std::array<std::string_view, 5> kLines = {"+PONG\r\n", "-ERR unknown\r\n", "+OK\r\n", "ready\n", "\r\n"};
    c.bytes = d.chance(50) ? std::string(d.pick(kLines)) : random_bytes(d, d.below(100));
  } else {
    c.bytes = http_reply(d, method);
  }
  if (d.chance(30)) mutate(d, c.bytes);

  // Writes: up to five cuts, a few near the front where the status line is.
  if (c.bytes.size() > 1 && d.chance(50)) {
    const int n = d.between(1, 5);
    for (int i = 0; i < n; ++i) {
      const std::size_t limit = d.chance(50) ? std::min<std::size_t>(c.bytes.size(), 40) : c.bytes.size();
      const std::size_t at = 1 + d.below(limit - 1);
      if (at < c.bytes.size()) c.cuts.push_back(at);
    }
    std::sort(c.cuts.begin(), c.cuts.end());
    c.cuts.erase(std::unique(c.cuts.begin(), c.cuts.end()), c.cuts.end());
  }
  // The pauses add up to at most 150 ms, far below kCheckTimeoutMs.
  c.pauses_ms.push_back(d.chance(20) ? d.between(1, 40) : 0);
  for (std::size_t i = 0; i < c.cuts.size(); ++i) c.pauses_ms.push_back(d.between(5, 20));
  const int ending = static_cast<int>(d.below(8));
  c.then = ending == 0 ? mock::core::RawEnd::Hold : ending == 1 ? mock::core::RawEnd::Reset : mock::core::RawEnd::Close;
  // A greeting also goes on to serve: the check's command is then read as a request.
  if (c.server_first && ending >= 5) c.then = mock::core::RawEnd::Serve;
  // A reset right after the last write could overtake the bytes in the checker's reads.
  c.end_pause_ms = c.then == mock::core::RawEnd::Reset ? 30 : 0;
  return c;
}

std::string check_diff_config(const std::vector<CheckCase>& cases, const std::vector<int>& ports,
                              const std::string& api_socket) {
  std::string out = fmt::format(
      "global\n"
      "    stats socket {} level admin\n"
      "defaults\n"
      "    mode http\n"
      "    timeout connect 1s\n"
      "    timeout client 5s\n"
      "    timeout server 5s\n"
      "    timeout check {}ms\n"
      "    default-server inter 1s fall 1 rise 1\n",
      api_socket, kCheckTimeoutMs);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    out += fmt::format("backend {}\n", c.name);
    for (const auto& l : c.check_lines) out += fmt::format("    {}\n", check_line(c, l));
    out += fmt::format("    server s 127.0.0.1:{} check\n", ports.at(i));
  }
  return out;
}

std::string check_diff_listener(const CheckCase& c) { return c.server_first ? c.name : "app"; }

std::string check_diff_spec(const std::vector<CheckCase>& cases) {
  mock::core::Spec spec;
  mock::core::ListenerSpec app;
  app.name = "app";
  app.listen = mock::core::Endpoint{"127.0.0.1", 0};
  for (const auto& c : cases) {
    if (c.server_first) {
      mock::core::ListenerSpec own;
      own.name = check_diff_listener(c);
      own.listen = app.listen;
      own.greeting = c.reply();
      spec.listeners.push_back(std::move(own));
      continue;
    }
    mock::core::Rule r;
    r.id = c.name;
    r.match.path = {mock::core::PathMatch::Kind::Exact, "/" + c.name};
    r.raw = c.reply();
    app.rules.push_back(std::move(r));
  }
  spec.listeners.insert(spec.listeners.begin(), std::move(app));
  return json::serialize(mock::core::to_json(spec));
}

std::string CheckVerdict::to_string() const {
  std::string out = fmt::format("{} {}", status, check_status);
  if (!check_code.empty()) out += fmt::format(" code={}", check_code);
  if (!last_chk.empty()) out += fmt::format(" info=\"{}\"", c_escape(last_chk));
  return out;
}

std::optional<CheckVerdict> check_verdict(const StatsCsv& stats, std::string_view backend) {
  CheckVerdict v;
  const auto get = [&](std::string_view column) { return stats.value(backend, "s", column); };
  const auto status = get("status"), check = get("check_status"), code = get("check_code"), info = get("last_chk");
  if (!status || !check || !code || !info) return std::nullopt;
  // "UP 0/1": a transition haproxy applies a moment after the check status; not settled yet.
  if (status->find(' ') != std::string::npos) return std::nullopt;
  v.status = *status;
  v.check_status = check->starts_with("* ") ? check->substr(2) : *check;
  if (v.check_status.empty() || v.check_status == "INI") return std::nullopt;
  // haproxy sets the check status in the connection's I/O handler (wake_srv_chk) and applies a
  // conditional pass to the server in the check task that runs after it (process_chk_conn,
  // check_notify_stopping); a `show stat` in between sees L7OKC on a server still UP.
  if (v.check_status == "L7OKC" && v.status == "UP") return std::nullopt;
  v.check_code = *code;
  v.last_chk = *info;
  return v;
}

std::vector<CheckCase> shrink_candidates(const CheckCase& c) {
  std::vector<CheckCase> out;
  const auto add = [&](CheckCase x) {
    if (x.size() < c.size() && std::find(out.begin(), out.end(), x) == out.end()) out.push_back(std::move(x));
  };
  // Cut a range of bytes out, halves first, then smaller pieces, down to single bytes.
  const std::size_t n = c.bytes.size();
  for (std::size_t len = std::max<std::size_t>(n / 2, 1); len >= 1 && n > 0; len /= 2) {
    for (std::size_t at = 0; at < n; at += len) {
      CheckCase x = c;
      const std::size_t take = std::min(len, n - at);
      x.bytes.erase(at, take);
      // Cuts after the range move back with it; cuts inside it go, with their pauses.
      std::vector<std::size_t> cuts;
      std::vector<int> pauses{c.pauses_ms.empty() ? 0 : c.pauses_ms[0]};
      for (std::size_t i = 0; i < c.cuts.size(); ++i) {
        std::size_t cut = c.cuts[i];
        if (cut > at && cut < at + take) continue;
        if (cut >= at + take) cut -= take;
        if (cut == 0 || cut >= x.bytes.size() || (!cuts.empty() && cuts.back() == cut)) continue;
        cuts.push_back(cut);
        pauses.push_back(i + 1 < c.pauses_ms.size() ? c.pauses_ms[i + 1] : 0);
      }
      x.cuts = std::move(cuts);
      x.pauses_ms = std::move(pauses);
      add(std::move(x));
      if (out.size() >= 64) return out;
    }
    if (len == 1) break;
  }
  // Writes joined, one cut at a time.
  for (std::size_t i = 0; i < c.cuts.size(); ++i) {
    CheckCase x = c;
    x.cuts.erase(x.cuts.begin() + static_cast<std::ptrdiff_t>(i));
    x.pauses_ms.erase(x.pauses_ms.begin() + static_cast<std::ptrdiff_t>(i + 1));
    add(std::move(x));
  }
  // No pauses; a close for a hold or a reset; an expect fewer.
  CheckCase quick = c;
  std::fill(quick.pauses_ms.begin(), quick.pauses_ms.end(), 0);
  quick.end_pause_ms = 0;
  if (quick.then == mock::core::RawEnd::Reset) quick.end_pause_ms = c.end_pause_ms;
  add(quick);
  if (c.then != mock::core::RawEnd::Close) {
    CheckCase x = c;
    x.then = mock::core::RawEnd::Close;
    x.end_pause_ms = 0;
    add(std::move(x));
  }
  for (std::size_t i = 0; i < c.check_lines.size(); ++i) {
    const auto& l = c.check_lines[i];
    if (!l.starts_with("http-check ") && !l.starts_with("tcp-check expect")) continue;
    CheckCase x = c;
    x.check_lines.erase(x.check_lines.begin() + static_cast<std::ptrdiff_t>(i));
    add(std::move(x));
  }
  return out;
}

std::string describe(const CheckCase& c) {
  std::string out;
  if (c.server_first) out += "    (the server speaks first: the writes go out on connect)\n";
  for (const auto& l : c.check_lines) out += fmt::format("    {}\n", check_line(c, l));
  const auto reply = c.reply();
  for (const auto& w : reply.writes) {
    if (w.pause.count() > 0) out += fmt::format("    (pause {} ms)\n", w.pause.count());
    if (!w.bytes.empty()) out += fmt::format("    \"{}\"\n", c_escape(w.bytes));
  }
  out += c.then == mock::core::RawEnd::Serve ? std::string("    (serve: what the check sends next is read as a request)\n")
                                             : fmt::format("    ({})\n", mock::core::name(c.then));
  return out;
}

}  // namespace lbh
