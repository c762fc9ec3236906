#pragma once
// What traffic did, counted as HAProxy 2.6.12 counts it for its statistics (frontends', backends'
// and servers' counters: bin, bout, hrsp_*, req_tot, ereq, econ, eresp, wretr, wredis, cli_abrt,
// srv_abrt, conn_tot, and the per-second rates with their maxima). Pure: the proxy tells it what
// happened and when; the stats read it (tests/data/haproxy26/stats_traffic has what haproxy did).
#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "lb/core/config/model.hpp"
#include "lb/core/log/access_log.hpp"
#include "lb/core/route/backends.hpp"
#include "lb/core/time/clock.hpp"

namespace lb::core::stats {

// HAProxy's freq_ctr over one-second periods: the events of the current second plus the previous
// second's, weighted by what is left of the current one.
class RateCounter {
 public:
  void add(TimePoint now);
  long read(TimePoint now) const;
  long max() const { return max_; }

 private:
  // This second's and the previous second's events, seen from `second`.
  struct Counts {
    long current, previous;
  };
  Counts counts_in(long long second) const;
  long long period_ = -1;  // the second `current_` counts
  long current_ = 0, previous_ = 0, max_ = 0;
};

struct Counters {
  std::uint64_t bytes_in = 0, bytes_out = 0;  // HTX sizes of requests and responses, as %B counts
  std::array<long, 6> responses{};            // hrsp_1xx .. hrsp_5xx, hrsp_other
  long requests = 0;                          // req_tot
  long request_errors = 0, connect_errors = 0, response_errors = 0;
  long retries = 0, redispatches = 0;
  long client_aborts = 0, server_aborts = 0;
  long connections = 0;  // conn_tot: accepted client connections (frontends)
  long sessions = 0;     // stot: frontend sessions, backend streams, server connection attempts
  int current = 0, max_current = 0;  // scur, smax of a frontend: its client connections open
  RateCounter session_rate, request_rate, connection_rate;
  std::optional<TimePoint> last_session;
};

// One HTTP exchange (or TCP session) as it ended.
struct Exchange {
  std::size_t frontend = 0;
  std::optional<std::size_t> backend, server;
  std::uint64_t request_size = 0;  // the request's HTX size (logged_request_size; 0: none parsed)
  std::uint64_t response_size = 0; // what was sent to the client (the log's %B)
  int status = -1;                 // the status sent to the client
  bool server_answered = false;    // that status came from the server
  bool http = true;
  Termination term;
  // A kept-alive request the server closed or reset before answering: haproxy closes the
  // client's connection without an answer or a log line (http_ana.c, abort_keep_alive) and
  // counts the request but no response; a reset still counts as the server's abort.
  bool unanswered = false;
  bool server_reset = false;  // the server reset the connection (before the head: two `eresp`)
};

class Traffic {
 public:
  explicit Traffic(const Config& config);

  void connection_accepted(std::size_t frontend, TimePoint now);
  void connection_closed(std::size_t frontend);
  // A connection attempt to a server (each retry is one).
  void server_attempt(ServerKey key, TimePoint now);
  // A failed attempt tried again: on the same server (a retry) or on another (a redispatch,
  // counted on the server left).
  void retried(ServerKey key, bool redispatched);
  void exchange(const Exchange& e, TimePoint now);

  const Counters& proxy(std::size_t proxy) const { return proxies_.at(proxy); }
  const Counters& server(ServerKey key) const { return servers_.at(key.proxy).at(key.server); }

 private:
  std::vector<Counters> proxies_;               // [proxy]: its frontend and backend counters
  std::vector<std::vector<Counters>> servers_;  // [proxy][server]
};

}  // namespace lb::core::stats
