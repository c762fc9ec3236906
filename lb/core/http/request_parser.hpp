#pragma once
// HTTP/1.x requests as HAProxy 2.6's H1 parser reads them from a client: what it accepts,
// normalises (leading empty lines, bare LF, folded lines, merged Content-Length and Host, OWS) and
// refuses, with the status it answers (400, or 422 for a Transfer-Encoding that is chunked but not
// only chunked). Pure and incremental: the caller keeps the bytes and calls again with more; the
// answer never depends on how the bytes were split. Held to haproxy by
// tests/data/haproxy26/hostile_requests.tsv.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lb/core/http/message.hpp"

namespace lb::core {

struct RequestParse {
  enum class State { Incomplete, Error, Done };
  State state = State::Incomplete;
  int error_status = 400;    // 400, 422; 0 = close without an answer (an HTTP/2 preface)
  std::size_t consumed = 0;  // Done: bytes up to and including the blank line
  HttpRequestHead head;      // normalised; version 9, 10 or 11 (1.2 and 2.x are read as 1.1)
  std::string version_text;  // as written ("HTTP/1.2"), for the log line
  std::optional<std::uint64_t> content_length;  // the body's length; nullopt: none or chunked
  bool keep_alive = false;   // what the client asked for (1.1 unless close; 1.0 with keep-alive)
  bool close_after = false;  // Content-Length with Transfer-Encoding, or chunked on HTTP/1.0
};

struct RequestLimits {
  std::size_t max_head = kMaxHeadBytes;
  int max_headers = 100;
};

// Parses the head at the start of `buffered` (everything received so far on the connection).
RequestParse parse_request_head(std::string_view buffered, RequestLimits limits = {});

// A chunked body as HAProxy decodes it: sizes in hex (leading zeros fine), extensions and blanks
// after the size dropped, bare LF accepted, trailers kept. Feed it bytes as they come.
class ChunkedDecoder {
 public:
  // Consumes what it can of `in`, appending decoded data to `body`; returns the bytes consumed.
  std::size_t feed(std::string_view in, std::string& body);
  bool done() const { return state_ == State::Done; }
  bool failed() const { return state_ == State::Failed; }
  // The trailers, names lower-cased, as they are forwarded after the last chunk.
  const std::vector<HttpHeader>& trailers() const { return trailers_; }

 private:
  enum class State { Size, Data, DataEnd, Trailers, Done, Failed };
  State state_ = State::Size;
  std::uint64_t left_ = 0;
  std::string line_;  // a size or trailer line being assembled
  std::vector<HttpHeader> trailers_;
};

}  // namespace lb::core
