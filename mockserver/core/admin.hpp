#pragma once
// The control API as a pure function of (world, request): the edge parses HTTP and writes the
// reply; everything the API decides is testable without a socket.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mockserver/core/engine.hpp"
#include "mockserver/core/journal.hpp"

namespace mock::core {

// The largest control API body: a rule carrying the largest response body (kMaxBody), JSON-
// escaped (up to six bytes a byte, \u00XX), fits.
constexpr std::size_t kMaxAdminBody = 8 * 1024 * 1024;

// Most listeners one process serves (the spec file's, plus those the API creates).
constexpr std::size_t kMaxListeners = 1000;

struct World {
  explicit World(std::size_t journal_limit) : journal(journal_limit) {}
  // Shared with the edge's sockets: a removed listener lives on until its last connection ends.
  std::vector<std::shared_ptr<Listener>> listeners;
  Journal journal;
  std::string blackhole_method = "bpf";  // reported by /v1/health; the edge sets what it uses
  // Where the listeners' timelines start; unset while a `first-connection` start waits.
  std::optional<TimePoint> timeline_origin;
  std::optional<DnsSpec> dns;  // the DNS responder's table, changed live by the API
  // The mockserver's time zero on the machine's monotonic clock (CLOCK_MONOTONIC, ns), set by
  // the edge: another process reads the journal's times on its own clock with it.
  std::int64_t clock_origin_ns = 0;
  Listener* find(std::string_view name);
  void remove(std::string_view name);
  // Starts every listener's timeline at `now` unless it has started; true if it did now.
  bool start_timelines(TimePoint now);
};

// GET /v1/wait: hold the reply until `count` journal entries match, or 408 after `timeout`.
struct WaitQuery {
  JournalFilter filter;
  std::size_t count = 1;
  Ms timeout{5000};
};

struct AdminReply {
  int status = 200;
  std::string body;               // JSON
  std::optional<WaitQuery> wait;  // set: the edge waits, then answers with wait_reply()
  // A listener the API created: the edge binds it, then answers with its JSON (the port it got)
  // or, when the bind fails, removes it again and answers 503.
  std::optional<std::string> created;
};

boost::json::value listener_json(const Listener& l, TimePoint now);

AdminReply handle_admin(World& w, std::string_view method, std::string_view target,
                        std::string_view body, TimePoint now);
AdminReply wait_reply(const World& w, const WaitQuery& q, bool timed_out);
// The change was made in the model, but the edge could not apply it to the socket (a re-bind
// failed); the listener keeps its old state and retries on the next change.
AdminReply socket_error_reply(std::string_view message);

}  // namespace mock::core
