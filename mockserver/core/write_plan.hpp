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
};

struct Step {
  StepKind kind = StepKind::Send;
  std::string bytes;
  Ms pause{0};
  bool operator==(const Step&) const = default;
};

// A plan that runs out of steps continues the connection when `keep_alive`, else closes it.
struct WritePlan {
  std::vector<Step> steps;
  bool keep_alive = false;
  std::size_t byte_count() const;
};

// What the request looked like, as far as the answer depends on it.
struct RequestFacts {
  std::string_view method = "GET";
  std::string_view path = "/";
  bool keep_alive = true;
  bool http10 = false;
  bool head() const { return method == "HEAD"; }
};

// "hello from s1" for an unset body; {name} {method} {path} replaced.
std::string render_body(const Response& r, std::string_view listener, const RequestFacts& req);
// True when the bytes do not depend on the request (beyond HEAD and keep-alive) nor on time.
bool is_static(const Response& r);

// Status line, headers and blank line for a body of `body_size` bytes.
std::string render_head(const Response& r, std::size_t body_size, const RequestFacts& req);

WritePlan plan_response(const Response& r, std::string_view listener, const RequestFacts& req);
// Request-phase and connection-phase faults. `base` is the response the faulty answer distorts
// (drip, bad-length, ...). Listener faults never reach a connection; they plan a plain close.
WritePlan plan_fault(const Fault& f, std::string_view listener, const RequestFacts& req,
                     const Response& base = {});

}  // namespace mock::core
