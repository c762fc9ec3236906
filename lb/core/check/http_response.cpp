#include "lb/core/check/http_response.hpp"

#include <algorithm>

#include "lb/core/text.hpp"

namespace lb::core {
namespace {

bool is_alnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_spht(char c) { return c == ' ' || c == '\t'; }
bool is_lws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
// RFC 7230 tchar, HAProxy's HTTP_FLG_TOK.
bool is_token(char c) {
  if (is_alnum(c)) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}
// HAProxy's HTTP_FLG_VER: what a version token may be made of.
// HTTP_FLG_VER (src/http.c): digits, capitals, '.' and '/'; "http/1.1" is not a version.
bool is_version_char(char c) { return is_digit(c) || (c >= 'A' && c <= 'Z') || c == '.' || c == '/'; }
std::string_view trim_lws(std::string_view v) {
  while (!v.empty() && is_lws(v.front())) v.remove_prefix(1);
  while (!v.empty() && is_lws(v.back())) v.remove_suffix(1);
  return v;
}

// h1_parse_cont_len_header: a comma-separated list of identical decimal values. Returns the
// value, or nullopt for anything HAProxy rejects (sign, non-digit, overflow, disagreement).
// An empty value yields `previous` unchanged.
std::optional<std::optional<std::uint64_t>> parse_content_length(
    std::string_view v, std::optional<std::uint64_t> previous) {
  std::optional<std::uint64_t> result = previous;
  std::size_t i = 0;
  while (i < v.size()) {
    if (is_lws(v[i])) {
      ++i;
      continue;
    }
    if (!is_digit(v[i])) return std::nullopt;
    std::uint64_t n = 0;
    for (; i < v.size() && is_digit(v[i]); ++i) {
      const auto d = static_cast<std::uint64_t>(v[i] - '0');
      if (n > (UINT64_MAX - d) / 10) return std::nullopt;
      n = n * 10 + d;
    }
    for (; i < v.size() && v[i] != ','; ++i)
      if (!is_lws(v[i])) return std::nullopt;
    if (result && *result != n) return std::nullopt;
    result = n;
    if (i < v.size()) ++i;  // the comma
  }
  return result;
}

// Splits a comma-separated header value into trimmed words.
template <class F>
void for_each_word(std::string_view v, F&& f) {
  while (!v.empty()) {
    const auto comma = v.find(',');
    f(trim_lws(v.substr(0, comma)));
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
}

// h1_parse_xfer_enc_header (src/h1.c) word by word: a word starts after blanks, and a comma
// where a word should start is an empty word. Whether a coding other than chunked is there
// (mux_h1 then rejects the message, a response as much as a request), and whether chunked
// comes twice.
struct TransferCodings {
  bool other = false;
  bool chunked_twice = false;
  bool chunked_last = false;
};
TransferCodings transfer_codings(std::string_view v, bool chunked_before) {
  TransferCodings t;
  bool chunked = chunked_before;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (is_lws(v[i])) continue;
    std::size_t end = v.find(',', i);
    if (end == std::string_view::npos) end = v.size();
    const std::string_view word = trim_lws(v.substr(i, end - i));
    t.chunked_last = false;
    if (iequals(word, "chunked")) {
      if (chunked) t.chunked_twice = true;
      chunked = t.chunked_last = true;
    } else {
      t.other = true;
    }
    i = end;
  }
  return t;
}

}  // namespace

bool HttpResponseParser::fail() {
  failed_ = true;
  state_ = State::Done;
  return false;
}

std::size_t HttpResponseParser::feed(std::string_view bytes) {
  if (failed_ || complete_ || closed_) return 0;
  std::size_t used = 0;
  while (used < bytes.size()) {
    if (!headers_done_) {
      // A header block that does not fit the check buffer can never be parsed.
      if (++header_bytes_ > kCheckBufferSize) {
        fail();
        return used;
      }
      const bool ok = step_header_byte(bytes[used++]);
      if (!ok || headers_done_) return used;
      continue;
    }
    if (complete_ || failed_ || body_window_full()) return used;
    used += take_body(bytes.substr(used));
    if (complete_ || failed_ || body_window_full()) return used;
  }
  return used;
}

void HttpResponseParser::close() {
  if (closed_) return;
  closed_ = true;
  if (failed_ || complete_) return;
  if (!headers_done_) {
    // Nothing, or a header block cut short: HAProxy's H1 parser reports an error.
    fail();
    return;
  }
  if (state_ == State::BodyClose) {
    complete_ = true;
    state_ = State::Done;
  }
}

bool HttpResponseParser::end_line(char c, State next) {
  if (c == '\r') {
    after_lf_ = next;
    state_ = State::LineLf;
    return true;
  }
  if (c == '\n') {
    state_ = next;
    return true;
  }
  return false;
}

bool HttpResponseParser::step_header_byte(char c) {
  switch (state_) {
    case State::Before:
      if (c == '\n') return true;  // empty lines before the status line are skipped
      if (c == '\r') {
        state_ = State::BeforeLf;
        return true;
      }
      if (!is_token(c) || !is_version_char(c)) return fail();
      version_ += c;
      state_ = State::Version;
      return true;
    case State::BeforeLf:
      if (c != '\n') return fail();
      state_ = State::Before;
      return true;
    case State::Version:
      if (is_version_char(c)) {
        version_ += c;
        return true;
      }
      if (!is_spht(c)) return fail();
      state_ = State::VersionSp;
      return true;
    case State::VersionSp:
      if (is_spht(c)) return true;
      if (!is_digit(c)) return fail();  // CR/LF (no code) or `2OO`
      state_ = State::Code;
      [[fallthrough]];
    case State::Code:
      if (is_digit(c)) {
        // The parser keeps the code in 16 bits.
        status_ = (status_ * 10 + (c - '0')) & 0xffff;
        status_text_ += c;
        return true;
      }
      if (is_spht(c)) {
        state_ = State::CodeSp;
        return true;
      }
      return end_line(c, State::HeaderFirst) || fail();
    case State::CodeSp:
      if (is_spht(c)) return true;
      state_ = State::Reason;
      [[fallthrough]];
    case State::Reason:
      if (end_line(c, State::HeaderFirst)) return true;
      reason_ += c;
      return true;
    case State::LineLf:
      if (c != '\n') return fail();
      state_ = after_lf_;
      return true;
    case State::HeaderNext:
      if (is_spht(c)) {
        // obs-fold: HAProxy turns the line break and the fold into spaces.
        value_ += ' ';
        state_ = State::Value;
        return true;
      }
      if (!complete_header()) return false;
      state_ = State::HeaderFirst;
      [[fallthrough]];
    case State::HeaderFirst:
      if (c == '\r') {
        state_ = State::LastLf;
        return true;
      }
      if (c == '\n') return end_of_headers();
      name_.clear();
      value_.clear();
      // An empty name (": x"), a continuation line without a header, a control byte.
      if (!is_token(c)) return fail();
      name_ += c;
      state_ = State::Name;
      return true;
    case State::Name:
      if (is_token(c)) {
        name_ += c;
        return true;
      }
      if (c != ':') return fail();  // no colon, space before the colon, control byte
      have_header_ = true;
      state_ = State::ValueSp;
      return true;
    case State::ValueSp:
      if (is_spht(c)) return true;
      state_ = State::Value;
      [[fallthrough]];
    case State::Value:
      if (end_line(c, State::HeaderNext)) return true;
      value_ += c;
      return true;
    case State::LastLf:
      if (c != '\n') return fail();
      return end_of_headers();
    default:
      return fail();
  }
}

bool HttpResponseParser::complete_header() {
  have_header_ = false;
  std::string value(trim_lws(value_));
  if (iequals(name_, "transfer-encoding")) {
    transfer_encoding_ = true;
    const auto t = transfer_codings(value, te_chunked_seen_);
    // Chunking twice is the H1 parser's error; any coding but chunked, mux_h1's (2.6.12), once
    // the whole head is in.
    if (t.chunked_twice && !value_errors_wait_) return fail();
    if (t.chunked_twice || t.other) head_invalid_ = true;
    if (t.chunked_last) te_chunked_seen_ = true;
    chunked_ = te_chunked_seen_;
  } else if (iequals(name_, "content-length")) {
    const bool first = !content_length_.has_value();
    const auto cl = parse_content_length(value, content_length_);
    if (!cl && !value_errors_wait_) return fail();
    // An empty value passes the H1 parser, not the message's conversion.
    if (!cl || value.empty()) head_invalid_ = true;
    if (cl) content_length_ = *cl;
    if (!first) return true;  // an identical repeat is dropped, not indexed
  } else if (iequals(name_, "connection")) {
    // close/keep-alive tokens are consumed; a header left empty is not indexed.
    std::string kept;
    for_each_word(value, [&](std::string_view w) {
      if (w.empty() || iequals(w, "close") || iequals(w, "keep-alive")) return;
      if (!kept.empty()) kept += ',';
      kept += w;
    });
    if (kept.empty()) return true;
    value = kept;
  }
  if (header_slots_ >= kMaxHeaderSlots) return fail();
  ++header_slots_;
  htx_bytes_ += kHtxBlock + name_.size() + value.size();
  headers_.emplace_back(std::move(name_), std::move(value));
  name_.clear();
  value_.clear();
  return true;
}

void HttpResponseParser::end_of_read() {
  if (!headers_done_ && !failed_ && state_ != State::Before && state_ != State::BeforeLf) value_errors_wait_ = true;
}

bool HttpResponseParser::end_of_headers() {
  if (have_header_ && !complete_header()) return false;
  if (head_invalid_) return fail();
  if (header_slots_ >= kMaxHeaderSlots) return fail();  // the end marker needs a slot too
  // RFC 7230 §2.6 as HAProxy enforces it on responses: exactly one digit "." one digit.
  const bool version_ok = version_.size() == 8 && version_[4] == '/' && is_digit(version_[5]) &&
                          version_[6] == '.' && is_digit(version_[7]);
  if (!version_ok) return fail();
  // The head is converted to HTX in the check buffer: the start line, each header kept and the
  // end of headers as blocks, each with its 8-byte index entry, after the 48-byte HTX header.
  htx_bytes_ += kHtxBlock + kHtxStartLine + version_.size() + status_text_.size() + reason_.size() + kHtxBlock + 1;
  if (htx_bytes_ > kCheckBufferSize - kHtxHeader) return fail();
  if (transfer_encoding_ && content_length_) {
    // T-E + C-L: the length is dropped and the chunked framing (or the close) wins.
    content_length_.reset();
    std::erase_if(headers_, [](const auto& h) { return iequals(h.first, "content-length"); });
  }
  headers_done_ = true;
  body_capacity_ = kCheckBufferSize - std::min(header_bytes_, kCheckBufferSize);
  if (head_request_ || (status_ >= 100 && status_ < 200) || status_ == 204 || status_ == 304) {
    complete_ = true;
    state_ = State::Done;
  } else if (chunked_) {
    state_ = State::ChunkSize;
  } else if (content_length_) {
    remaining_ = *content_length_;
    state_ = remaining_ == 0 ? State::Done : State::BodyLength;
    complete_ = remaining_ == 0;
  } else {
    state_ = State::BodyClose;  // no length, or a transfer-coding other than chunked
  }
  return true;
}

void HttpResponseParser::take_tunnel_data(std::string_view data) {
  if (complete_ && status_ == 101) append_body(data);
}

void HttpResponseParser::append_body(std::string_view data) {
  const std::size_t room = body_capacity_ - std::min(body_capacity_, body_.size());
  body_.append(data.substr(0, room));
}

std::size_t HttpResponseParser::take_body(std::string_view bytes) {
  const std::size_t room = body_capacity_ - std::min(body_capacity_, body_.size());
  const char c = bytes.front();
  switch (state_) {
    case State::BodyLength: {
      const auto n = static_cast<std::size_t>(
          std::min<std::uint64_t>({bytes.size(), remaining_, std::max<std::size_t>(room, 1)}));
      append_body(bytes.substr(0, n));
      remaining_ -= n;
      if (remaining_ == 0) {
        complete_ = true;
        state_ = State::Done;
      }
      return n;
    }
    case State::BodyClose: {
      const auto n = std::min(bytes.size(), std::max<std::size_t>(room, 1));
      append_body(bytes.substr(0, n));
      return n;
    }
    case State::ChunkData: {
      const auto n = static_cast<std::size_t>(
          std::min<std::uint64_t>({bytes.size(), remaining_, std::max<std::size_t>(room, 1)}));
      append_body(bytes.substr(0, n));
      remaining_ -= n;
      if (remaining_ == 0) state_ = State::ChunkCrlf;
      return n;
    }
    default:
      break;
  }
  // Framing bytes, one at a time. Lines are bounded by the buffer, as in HAProxy.
  if (++line_bytes_ > kCheckBufferSize) {
    fail();
    return 1;
  }
  switch (state_) {
    case State::ChunkSize:
      if (const int h = hex_digit(c); h >= 0) {
        remaining_ = (remaining_ << 4) + static_cast<std::uint64_t>(h);
        ++chunk_digits_;
        // HAProxy refuses sizes over 13 hex digits' worth (2^52).
        if (remaining_ & 0xF0000000000000ULL) fail();
        return 1;
      }
      if (chunk_digits_ == 0) {
        fail();
        return 1;
      }
      state_ = State::ChunkSizeEnd;
      [[fallthrough]];
    case State::ChunkSizeEnd:  // after the digits: spaces, then an extension or the line end
      if (is_spht(c)) return 1;
      if (c == ';') {
        state_ = State::ChunkExt;
        return 1;
      }
      if (c == '\r') {
        state_ = State::ChunkLf;
        after_lf_ = State::ChunkSize;
        return 1;
      }
      if (c != '\n') {
        fail();
        return 1;
      }
      break;  // end of the size line
    case State::ChunkExt:
      if (c == '\r') {
        state_ = State::ChunkLf;
        after_lf_ = State::ChunkSize;
        return 1;
      }
      if (c != '\n') return 1;
      break;  // end of the size line
    case State::ChunkCrlf:
      if (c == '\r') {
        state_ = State::ChunkLf;
        after_lf_ = State::ChunkData;
        return 1;
      }
      if (c != '\n') {
        fail();
        return 1;
      }
      after_lf_ = State::ChunkData;
      break;
    case State::ChunkLf:
      if (c != '\n') {
        fail();
        return 1;
      }
      break;
    case State::Trailer:
      if (c == '\r') {
        state_ = State::TrailerLf;
        return 1;
      }
      if (c == '\n') {
        if (line_bytes_ == 1) {  // the empty line ends the message
          complete_ = true;
          state_ = State::Done;
        }
        line_bytes_ = 0;
        return 1;
      }
      return 1;
    case State::TrailerLf:
      if (c != '\n') {
        fail();
        return 1;
      }
      if (line_bytes_ == 2) {
        complete_ = true;
        state_ = State::Done;
      }
      line_bytes_ = 0;
      state_ = complete_ ? State::Done : State::Trailer;
      return 1;
    default:
      fail();
      return 1;
  }
  // A line ended: either a chunk-size line or the CRLF after chunk data.
  line_bytes_ = 0;
  if (state_ == State::ChunkCrlf || (state_ == State::ChunkLf && after_lf_ == State::ChunkData)) {
    chunk_digits_ = 0;
    remaining_ = 0;
    state_ = State::ChunkSize;
    return 1;
  }
  // End of a chunk-size line.
  chunk_digits_ = 0;
  state_ = remaining_ == 0 ? State::Trailer : State::ChunkData;
  return 1;
}

}  // namespace lb::core
