#pragma once
// What to put on the wire for one request, computed without a socket: a list of steps the edge
// executes in order. Tests assert the exact bytes and pauses.
#include <string>
#include <string_view>
#include <vector>

#include "mockserver/core/model.hpp"
#include "mockserver/core/request.hpp"

namespace mock::core {

enum class StepKind {
  Send,   // write `bytes`
  Pause,  // wait `pause`
  Close,  // FIN after draining the peer's input
  Reset,  // RST (SO_LINGER 0)
  Hold,   // keep the connection open, send nothing more, until the peer leaves
  Pieces, // write `bytes` in several writes with `pause` between them; see piece_write
};

// A Pieces step stands for what used to be one Send and one Pause per piece (drip bytes=1 made
// two steps per byte). Its first write carries bytes[0, head) plus the first piece of the rest;
// every later write is one piece, `piece` bytes of bytes[head, end). With `chunked` each piece
// goes out framed as an HTTP/1.1 chunk and one last write sends "0\r\n\r\n". The edge makes the
// writes one at a time, so memory stays at the payload's size whatever the piece size.
struct Step {
  StepKind kind = StepKind::Send;
  std::string bytes;
  Ms pause{0};
  std::size_t head = 0;   // Pieces: leading bytes sent with the first piece
  std::size_t piece = 0;  // Pieces: bytes per write after `head`, at least 1
  bool chunked = false;   // Pieces: frame pieces as chunks and end with the last-chunk
  bool operator==(const Step&) const = default;
};

// How many writes a Pieces step makes, and the bytes of write `i` (into `out`, replacing it).
std::size_t piece_writes(const Step& s);
void piece_write(const Step& s, std::size_t i, std::string& out);

// A plan that runs out of steps continues the connection when `keep_alive`, else closes it.
struct WritePlan {
  std::vector<Step> steps;
  bool keep_alive = false;
  std::size_t byte_count() const;
};

// The plan as a client sees it: Pieces steps spelled out as Send and Pause steps, adjacent sends
// joined. For tests, diagnostics and limit-data's cut; it allocates per piece, which the edge's
// hot path never does.
std::vector<Step> expand(const WritePlan& p);

// What the request looked like, as far as the answer depends on it.
struct RequestFacts {
  std::string_view method = "GET";
  std::string_view path = "/";
  bool keep_alive = true;
  bool http10 = false;
  bool head() const { return method == "HEAD"; }
};

// "hello from s1" for an unset body; {name} {method} {path} replaced, the result cut at kMaxBody.
std::string render_body(const Response& r, std::string_view listener, const RequestFacts& req);
// True when the bytes do not depend on the request (beyond HEAD and keep-alive) nor on time.
bool is_static(const Response& r);

// Status line, headers and blank line for a body of `body_size` bytes.
std::string render_head(const Response& r, std::size_t body_size, const RequestFacts& req);

WritePlan plan_response(const Response& r, std::string_view listener, const RequestFacts& req);

// A raw reply's writes and pauses as given, then its ending.
WritePlan plan_raw(const RawReply& r);

// What mockserver answers to a request it cannot parse (400) or that is too large (431), before
// it closes the connection.
std::string reject_response(int status);
// Request-phase and connection-phase faults. `base` is the response the faulty answer distorts
// (drip, bad-length, ...). Listener faults never reach a connection; they plan a plain close.
WritePlan plan_fault(const Fault& f, std::string_view listener, const RequestFacts& req,
                     const Response& base = {});

}  // namespace mock::core
