#include "lb/core/http/request_parser.hpp"

#include <algorithm>
#include <utility>

#include "lb/core/text.hpp"

namespace lb::core {
namespace {

bool is_tchar(unsigned char c) {
  if (std::isalnum(c)) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}
bool is_blank(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

// Comma-separated items of a header value, each trimmed.
std::vector<std::string_view> items(std::string_view v) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (;;) {
    const auto comma = v.find(',', start);
    out.push_back(trim(v.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start)));
    if (comma == std::string_view::npos) return out;
    start = comma + 1;
  }
}

bool has_token(std::string_view value, std::string_view token) {
  for (const auto t : items(value))
    if (iequals(t, token)) return true;
  return false;
}

// One line of the head: its content and where the next one starts. A line ends with LF, with
// or without a CR before it; a CR anywhere else is refused.
struct Line {
  std::string_view text;
  std::size_t next = 0;
  std::size_t eol_size = 0;  // 1 (LF) or 2 (CRLF)
  bool bad_cr = false;
};
std::optional<Line> next_line(std::string_view buf, std::size_t at) {
  const auto lf = buf.find('\n', at);
  if (lf == std::string_view::npos) return std::nullopt;
  Line l;
  l.text = buf.substr(at, lf - at);
  l.eol_size = 1;
  if (!l.text.empty() && l.text.back() == '\r') {
    l.text.remove_suffix(1);
    l.eol_size = 2;
  }
  l.bad_cr = l.text.find('\r') != std::string_view::npos;
  l.next = lf + 1;
  return l;
}

RequestParse error(int status = 400) {
  RequestParse r;
  r.state = RequestParse::State::Error;
  r.error_status = status;
  return r;
}

// METHOD SP+ TARGET SP+ HTTP/D.D, blanks being spaces or tabs.
bool parse_request_line(std::string_view line, RequestParse& r) {
  std::size_t i = 0;
  while (i < line.size() && is_tchar(static_cast<unsigned char>(line[i]))) ++i;
  if (i == 0 || i >= line.size() || !is_blank(line[i])) return false;
  r.head.method = std::string(line.substr(0, i));
  while (i < line.size() && is_blank(line[i])) ++i;
  const std::size_t t0 = i;
  while (i < line.size() && !is_blank(line[i])) {
    const auto c = static_cast<unsigned char>(line[i]);
    // Control bytes, bytes above 0x7f and '#' (a fragment) are refused; DEL passes.
    if (c < 0x21 || c > 0x7f || c == '#') return false;
    ++i;
  }
  if (i == t0 || i >= line.size()) return false;  // no version: HAProxy does not speak HTTP/0.9
  r.head.target = std::string(line.substr(t0, i - t0));
  while (i < line.size() && is_blank(line[i])) ++i;
  const auto v = line.substr(i);
  if (v.size() != 8 || !v.starts_with("HTTP/") || !std::isdigit(static_cast<unsigned char>(v[5])) || v[6] != '.' ||
      !std::isdigit(static_cast<unsigned char>(v[7])))
    return false;
  r.version_text = std::string(v);
  const int major = v[5] - '0', minor = v[7] - '0';
  r.head.version = major == 0 ? 9 : (major == 1 && minor == 0) ? 10 : 11;
  return true;
}

// Where a target of this method may point: origin-form "/...", "*", absolute-form
// "scheme://authority/...", and for CONNECT only authority-form "host:port".
bool valid_target(const RequestParse& r, std::string& authority) {
  const std::string_view t = r.head.target;
  const bool connect = r.head.method == "CONNECT";
  if (connect) {
    if (t.starts_with('/') || t == "*" || t.find("://") != std::string_view::npos) return false;
    authority = std::string(t);
    return true;
  }
  if (t.starts_with('/') || t == "*") return true;
  const auto scheme = t.find("://");
  if (scheme == std::string_view::npos || scheme == 0) return false;
  const auto rest = t.substr(scheme + 3);
  authority = std::string(rest.substr(0, rest.find('/')));
  return true;
}

}  // namespace

RequestParse parse_request_head(std::string_view buf, RequestLimits limits) {
  RequestParse r;
  std::size_t at = 0;
  // Empty lines before a request are skipped (RFC 7230 3.5), however many.
  while (at < buf.size() && (buf[at] == '\r' || buf[at] == '\n')) {
    if (buf[at] == '\r' && at + 1 < buf.size() && buf[at + 1] != '\n') return error();
    ++at;
  }
  const auto too_long = [&](std::size_t end) { return end > limits.max_head; };
  auto line = next_line(buf, at);
  if (!line) return too_long(buf.size()) ? error() : r;
  if (line->bad_cr || !parse_request_line(line->text, r)) return error();
  // HTTP/2 with prior knowledge: HAProxy switches the connection to HTTP/2, which lb does not
  // speak; status 0 tells the caller to close without an HTTP/1 answer (and without a log line).
  if (r.head.method == "PRI" && r.head.target == "*" && r.version_text == "HTTP/2.0") return error(0);
  at = line->next;

  std::vector<HttpHeader> headers;
  for (;;) {
    line = next_line(buf, at);
    if (!line) return too_long(buf.size()) ? error() : r;
    if (too_long(line->next)) return error();
    at = line->next;
    if (line->bad_cr) return error();
    if (line->text.empty()) break;
    if (is_blank(line->text.front())) {
      // A folded line continues the previous value; its line break becomes blanks.
      if (headers.empty()) return error();
      headers.back().value += std::string(line->eol_size, ' ');
      headers.back().value += line->text;
      continue;
    }
    const auto colon = line->text.find(':');
    if (colon == std::string_view::npos || colon == 0) return error();
    const auto name = line->text.substr(0, colon);
    if (!std::all_of(name.begin(), name.end(), [](char c) { return is_tchar(static_cast<unsigned char>(c)); }))
      return error();
    headers.push_back({std::string(name), std::string(line->text.substr(colon + 1))});
    if (static_cast<int>(headers.size()) > limits.max_headers) return error();
  }
  r.consumed = at;

  // Normalise as HAProxy does: trimmed values; one Content-Length and one Host however many
  // equal ones came; Transfer-Encoding judged as a whole.
  std::optional<std::string> length_text, host;
  bool chunked = false, coding_before_chunked = false;
  std::optional<std::string> connection;
  for (auto& h : headers) {
    h.value = std::string(trim(h.value));
    if (iequals(h.name, "content-length")) {
      for (const auto item : items(h.value)) {
        if (item.empty() || item.size() > 19 ||
            !std::all_of(item.begin(), item.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
          return error();
        if (length_text && std::stoull(std::string(item)) != std::stoull(*length_text)) return error();
        if (!length_text) length_text = std::string(item);
      }
    } else if (iequals(h.name, "transfer-encoding")) {
      auto codings = items(h.value);
      if (!codings.empty() && codings.back().empty()) codings.pop_back();  // "chunked," ends with nothing
      for (const auto coding : codings) {
        if (chunked) return error();  // chunked twice, or a coding after chunked
        if (iequals(coding, "chunked"))
          chunked = true;
        else
          coding_before_chunked = true;
      }
    } else if (iequals(h.name, "host")) {
      if (host && *host != h.value) return error();
      host = h.value;
    } else if (iequals(h.name, "connection")) {
      connection = connection ? *connection + "," + h.value : h.value;
    }
  }
  const bool has_te = std::any_of(headers.begin(), headers.end(),
                                  [](const HttpHeader& h) { return iequals(h.name, "transfer-encoding"); });
  if (has_te && !chunked) return error();
  if (chunked && coding_before_chunked) return error(422);

  std::string authority;
  if (!valid_target(r, authority)) return error();
  if (!authority.empty() && host && r.head.method != "CONNECT" && !iequals(authority, *host)) return error();

  bool seen_length = false, seen_host = false;
  for (auto& h : headers) {
    if (iequals(h.name, "content-length")) {
      // Chunked wins over a length (RFC 7230 3.3.3), and HAProxy drops the length.
      if (chunked || std::exchange(seen_length, true)) continue;
      h.value = *length_text;
    } else if (iequals(h.name, "host")) {
      if (std::exchange(seen_host, true)) continue;
      if (r.head.method == "CONNECT" && h.value == authority && h.value.ends_with(":443"))
        h.value.resize(h.value.size() - 4);  // the default port of a CONNECT is dropped
    }
    r.head.headers.push_back(std::move(h));
  }
  r.head.chunked = chunked;
  if (!chunked && length_text) r.content_length = std::stoull(*length_text);
  r.keep_alive = r.head.version >= 11 ? !(connection && has_token(*connection, "close"))
                                      : (connection && has_token(*connection, "keep-alive"));
  r.close_after = chunked && (length_text || r.head.version < 11);
  if (r.close_after) r.keep_alive = false;
  r.state = RequestParse::State::Done;
  return r;
}

std::size_t ChunkedDecoder::feed(std::string_view in, std::string& body) {
  std::size_t used = 0;
  auto take_line = [&]() -> std::optional<std::string> {
    const auto lf = in.find('\n', used);
    if (lf == std::string_view::npos) {
      line_.append(in.substr(used));
      used = in.size();
      if (line_.size() > 16 * 1024) state_ = State::Failed;
      return std::nullopt;
    }
    line_.append(in.substr(used, lf - used));
    used = lf + 1;
    std::string l = std::exchange(line_, {});
    if (!l.empty() && l.back() == '\r') l.pop_back();
    return l;
  };
  while (used < in.size() && state_ != State::Done && state_ != State::Failed) {
    switch (state_) {
      case State::Size: {
        const auto l = take_line();
        if (!l) break;
        std::size_t i = 0;
        std::uint64_t size = 0;
        while (i < l->size() && hex_digit((*l)[i]) >= 0) {
          if (size >> 60) return state_ = State::Failed, used;  // would overflow
          size = size * 16 + static_cast<std::uint64_t>(hex_digit((*l)[i++]));
        }
        while (i < l->size() && is_blank((*l)[i])) ++i;
        if (i == 0 || (i < l->size() && (*l)[i] != ';')) return state_ = State::Failed, used;
        left_ = size;
        state_ = size == 0 ? State::Trailers : State::Data;
        break;
      }
      case State::Data: {
        const auto n = std::min<std::uint64_t>(left_, in.size() - used);
        body.append(in.substr(used, n));
        used += n;
        left_ -= n;
        if (left_ == 0) state_ = State::DataEnd;
        break;
      }
      case State::DataEnd: {
        const auto l = take_line();
        if (!l) break;
        if (!l->empty()) return state_ = State::Failed, used;  // data longer than its size
        state_ = State::Size;
        break;
      }
      case State::Trailers: {
        const auto l = take_line();
        if (!l) break;
        if (l->empty()) {
          state_ = State::Done;
          break;
        }
        const auto colon = l->find(':');
        if (colon == std::string::npos || colon == 0) return state_ = State::Failed, used;
        trailers_.push_back({ascii_lower(std::string_view(*l).substr(0, colon)),
                             std::string(trim(std::string_view(*l).substr(colon + 1)))});
        break;
      }
      case State::Done:
      case State::Failed: break;
    }
  }
  return used;
}

}  // namespace lb::core
