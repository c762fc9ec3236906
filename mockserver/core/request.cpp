#include "mockserver/core/request.hpp"

#include <charconv>

#include "lb/core/text.hpp"

namespace mock::core {

namespace {

bool token_char(char c) {
  if (c >= 'a' && c <= 'z') return true;
  if (c >= 'A' && c <= 'Z') return true;
  if (c >= '0' && c <= '9') return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
    case '.': case '^': case '_': case '`': case '|': case '~': return true;
    default: return false;
  }
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool contains_token(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    const auto comma = list.find(',');
    if (iequals(trim(list.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

// Line ending at `at`: accepts CRLF and, leniently, bare LF. Returns npos when not yet complete.
std::size_t line_end(std::string_view buf, std::size_t at, std::size_t& next) {
  const auto lf = buf.find('\n', at);
  if (lf == std::string_view::npos) return std::string_view::npos;
  next = lf + 1;
  return lf > at && buf[lf - 1] == '\r' ? lf - 1 : lf;
}

}  // namespace

const Header* Request::find(std::string_view name) const {
  for (const auto& h : headers)
    if (iequals(h.name, name)) return &h;
  return nullptr;
}

ParseResult RequestParser::parse(std::string_view buf) {
  // Tolerate blank lines before the request line (RFC 9112 §2.2).
  std::size_t at = 0;
  while (at < buf.size() && (buf[at] == '\r' || buf[at] == '\n')) ++at;
  std::size_t next = 0;
  const auto eol = line_end(buf, at, next);
  if (eol == std::string_view::npos) {
    return {buf.size() > kMaxHead ? ParseStatus::TooLarge : ParseStatus::Incomplete, 0};
  }
  const auto line = buf.substr(at, eol - at);
  const auto sp1 = line.find(' ');
  const auto sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp1 == sp2 || sp1 == 0) return {ParseStatus::Bad, 0};
  req_.method = line.substr(0, sp1);
  for (char c : req_.method)
    if (!token_char(c)) return {ParseStatus::Bad, 0};
  req_.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (req_.target.empty() || req_.target.find(' ') != std::string_view::npos)
    return {ParseStatus::Bad, 0};
  const auto version = line.substr(sp2 + 1);
  if (version.size() != 8 || !version.starts_with("HTTP/1.") || version[7] < '0' || version[7] > '9')
    return {ParseStatus::Bad, 0};
  req_.minor = version[7] - '0';
  req_.headers.clear();
  req_.body = {};

  at = next;
  while (true) {
    const auto end = line_end(buf, at, next);
    if (end == std::string_view::npos) {
      return {buf.size() > kMaxHead ? ParseStatus::TooLarge : ParseStatus::Incomplete, 0};
    }
    if (end == at) break;  // blank line: end of the head
    const auto field = buf.substr(at, end - at);
    const auto colon = field.find(':');
    if (colon == std::string_view::npos || colon == 0) return {ParseStatus::Bad, 0};
    const auto name = field.substr(0, colon);
    for (char c : name)
      if (!token_char(c)) return {ParseStatus::Bad, 0};
    if (req_.headers.size() == kMaxHeaders) return {ParseStatus::TooLarge, 0};
    req_.headers.push_back({name, trim(field.substr(colon + 1))});
    at = next;
  }
  const std::size_t head_end = next;
  if (head_end > kMaxHead) return {ParseStatus::TooLarge, 0};

  const Header* connection = req_.find("Connection");
  req_.keep_alive = req_.minor >= 1 ? !(connection && contains_token(connection->value, "close"))
                                    : (connection && contains_token(connection->value, "keep-alive"));

  if (const Header* te = req_.find("Transfer-Encoding")) {
    if (!contains_token(te->value, "chunked")) return {ParseStatus::Bad, 0};
    return parse_chunked(buf, head_end);
  }
  std::size_t length = 0;
  bool seen_length = false;
  for (const auto& h : req_.headers) {
    if (!iequals(h.name, "Content-Length")) continue;
    std::size_t value = 0;
    const auto* b = h.value.data();
    const auto [p, ec] = std::from_chars(b, b + h.value.size(), value);
    if (ec != std::errc{} || p != b + h.value.size() || h.value.empty()) return {ParseStatus::Bad, 0};
    if (seen_length && value != length) return {ParseStatus::Bad, 0};
    seen_length = true;
    length = value;
  }
  if (length > max_body_) return {ParseStatus::BodyTooLarge, 0};
  if (buf.size() - head_end < length) return {ParseStatus::Incomplete, 0};
  req_.body = buf.substr(head_end, length);
  return {ParseStatus::Done, head_end + length};
}

ParseResult RequestParser::parse_chunked(std::string_view buf, std::size_t at) {
  std::size_t total = 0;
  chunked_body_.clear();
  while (true) {
    std::size_t next = 0;
    const auto end = line_end(buf, at, next);
    if (end == std::string_view::npos) return {ParseStatus::Incomplete, 0};
    auto size_text = buf.substr(at, end - at);
    size_text = size_text.substr(0, size_text.find(';'));  // chunk extensions
    std::size_t size = 0;
    const auto* b = size_text.data();
    const auto [p, ec] = std::from_chars(b, b + size_text.size(), size, 16);
    if (ec != std::errc{} || p != b + size_text.size()) return {ParseStatus::Bad, 0};
    if (size > max_body_ - total) return {ParseStatus::BodyTooLarge, 0};  // before adding: no wrap
    total += size;
    at = next;
    if (size == 0) {
      // Trailer fields, then the blank line.
      while (true) {
        const auto t_end = line_end(buf, at, next);
        if (t_end == std::string_view::npos) return {ParseStatus::Incomplete, 0};
        const bool blank = t_end == at;
        at = next;
        if (blank) {
          req_.body = chunked_body_;
          return {ParseStatus::Done, at};
        }
      }
    }
    if (buf.size() < at + size + 1) return {ParseStatus::Incomplete, 0};
    chunked_body_.append(buf.substr(at, size));
    at += size;
    const auto data_end = line_end(buf, at, next);
    if (data_end == std::string_view::npos) return {ParseStatus::Incomplete, 0};
    if (data_end != at) return {ParseStatus::Bad, 0};
    at = next;
  }
}

}  // namespace mock::core
