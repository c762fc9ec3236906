#pragma once
// An incremental HTTP/1.x response parser that accepts and rejects what HAProxy 2.6's H1
// parser does for a health check (src/h1.c, src/h1_htx.c with the default strict settings):
// status line `XXXX/d.d NNN[ reason]`, bare LF line endings, obs-fold continuations,
// Content-Length lists that must agree, Transfer-Encoding chunked (which drops
// Content-Length), a header block that must fit the 16384-byte check buffer, at most 100
// header fields. The body is kept (decoded) up to what the check buffer could hold.
//
// feed() stops right after the header block ends, so a caller can judge the status before it
// looks at a single body byte: that is what makes the check's answer independent of how the
// bytes were split.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lb::core {

// HAProxy's tune.bufsize: a check response (headers + kept body) lives in one such buffer.
inline constexpr std::size_t kCheckBufferSize = 16384;
// HAProxy's tune.http.maxhdr: the parser's header slots; the end-of-headers marker takes one,
// so 100 header fields fit and 101 do not.
inline constexpr int kMaxHeaderSlots = 101;

// An interim response (1xx but 101, which switches protocols): another message follows it.
constexpr bool is_interim_status(int status) { return status >= 100 && status < 200 && status != 101; }

class HttpResponseParser {
 public:
  // A response to HEAD carries no body whatever its headers say.
  explicit HttpResponseParser(bool head_request = false) : head_request_(head_request) {}

  // Consumes bytes up to the next event and returns how many it took: it stops right after the
  // header block, at a parse error, when the message is complete, and when the body window is
  // full. Call again with the rest; once it returns 0 for a non-empty input, nothing more will
  // be taken.
  std::size_t feed(std::string_view bytes);
  // The peer closed its side: a body delimited by the close is complete; a message cut short
  // inside the header block is an error; a body cut short stays incomplete.
  void close();
  // After a complete 101 head: bytes that came with it, which HAProxy's check reads as the
  // body (the tunnel's first bytes); later ones it does not wait for.
  void take_tunnel_data(std::string_view data);
  // The read that brought the bytes fed so far ended (see value_errors_wait_).
  void end_of_read();

  bool failed() const { return failed_; }
  bool headers_done() const { return headers_done_; }
  // The whole message (headers and body) was received.
  bool complete() const { return complete_; }
  // The check buffer is full: HAProxy stops waiting for more body then.
  bool body_window_full() const { return headers_done_ && body_.size() >= body_capacity_; }
  bool closed() const { return closed_; }

  int status() const { return status_; }
  std::string_view status_text() const { return status_text_; }  // the code as written
  std::string_view reason() const { return reason_; }
  std::string_view version() const { return version_; }
  // Header fields as HAProxy indexes them (names as written, values trimmed, obs-folds joined).
  const std::vector<std::pair<std::string, std::string>>& headers() const { return headers_; }
  std::optional<std::uint64_t> content_length() const { return content_length_; }
  bool chunked() const { return chunked_; }
  // Decoded body bytes received so far, at most what fits in the check buffer.
  std::string_view body() const { return body_; }

 private:
  enum class State {
    Before,       // before the status line; empty lines are skipped
    BeforeLf,     // CR seen before the status line
    Version,
    VersionSp,
    Code,
    CodeSp,
    Reason,
    LineLf,       // CR seen, LF must follow (status or header line)
    HeaderFirst,  // at the start of a header line
    Name,
    ValueSp,      // spaces after the colon
    Value,
    HeaderNext,   // after a header line: SP/HT continues it, anything else completes it
    LastLf,       // CR of the empty line seen
    BodyLength,   // Content-Length body
    BodyClose,    // body delimited by the close
    ChunkSize,
    ChunkExt,
    ChunkSizeEnd,
    ChunkData,
    ChunkCrlf,
    ChunkLf,
    Trailer,      // trailer lines after the last chunk, up to the empty line
    TrailerLf,
    Done,
  };

  bool fail();
  bool step_header_byte(char c);  // one byte of the status line or header block
  // A CR (then its LF) or a bare LF ends the current line; the next one is read in `next`.
  bool end_line(char c, State next);
  bool complete_header();
  bool end_of_headers();
  void append_body(std::string_view data);
  std::size_t take_body(std::string_view bytes);  // bulk body states

  bool head_request_;
  State state_ = State::Before;
  State after_lf_ = State::HeaderFirst;  // where LineLf goes
  bool failed_ = false, headers_done_ = false, complete_ = false, closed_ = false;
  // h1_headers_to_hdr_list checks Content-Length and Transfer-Encoding values as their lines
  // end, but once a read ended inside the head it only looks for the head's end, and checks
  // them when it parses the whole head again: an error there waits for the end of the head.
  bool value_errors_wait_ = false;
  bool head_invalid_ = false;  // an error found that fails the head once it is complete
  std::size_t header_bytes_ = 0;
  std::string version_, status_text_, reason_;
  int status_ = 0;
  std::string name_, value_;
  bool have_header_ = false;  // name_/value_ hold a header not yet completed
  int header_slots_ = 0;
  std::size_t htx_bytes_ = 0;  // what the head takes in HTX (see end_of_headers)
  static constexpr std::size_t kHtxHeader = 48, kHtxBlock = 8, kHtxStartLine = 20;
  std::vector<std::pair<std::string, std::string>> headers_;
  std::optional<std::uint64_t> content_length_;
  bool transfer_encoding_ = false, chunked_ = false, te_chunked_seen_ = false;
  std::uint64_t remaining_ = 0;  // Content-Length or chunk bytes still to come
  int chunk_digits_ = 0;
  std::size_t line_bytes_ = 0;  // bytes of the current chunk-size or trailer line
  std::string body_;
  std::size_t body_capacity_ = 0;
};

}  // namespace lb::core
