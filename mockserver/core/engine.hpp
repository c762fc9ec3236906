#pragma once
// One listener's behaviour: counters, rules, listener fault and mode, evaluated on a time the
// caller supplies. The edge asks it what to do on accept and on each request, and which mode the
// listening socket should be in now.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mockserver/core/model.hpp"
#include "mockserver/core/request.hpp"
#include "mockserver/core/schedule.hpp"
#include "mockserver/core/write_plan.hpp"

namespace mock::core {

bool matches(const Match& m, const Request& req);

// A static response rendered once for each (HEAD?, keep-alive shape) so the hot path copies
// bytes and allocates nothing.
struct PreparedResponse {
  // [head][shape]: shape 0 = HTTP/1.1 keep-alive, 1 = close, 2 = HTTP/1.0 keep-alive
  std::string bytes[2][3];
  bool closes[3] = {false, true, false};
};

struct Decision {
  std::string_view rule;   // "" when the default answered
  std::optional<FaultKind> fault;
  std::optional<ProxyAction> proxy;  // set: relay the connection to the upstream; nothing planned
  int status = 0;          // 0 for faults and proxied requests
  // Exactly one of these is used: `prepared` (static bytes, no plan) or `plan`.
  std::string_view prepared;
  bool prepared_closes = false;
  WritePlan plan;
};

struct AcceptDecision {
  std::string_view rule;
  std::optional<Fault> fault;  // a Phase::Connection fault, or nothing (read the request)
  std::optional<WritePlan> greeting;  // no fault: what to send before reading (ListenerSpec::greeting)
};

struct RuleStats {
  std::string id;
  std::uint64_t matches = 0;
  std::uint64_t fired = 0;
};

class Listener {
 public:
  Listener(ListenerSpec spec, TimePoint armed);

  const ListenerSpec& spec() const { return spec_; }
  const std::string& name() const { return spec_.name; }
  const ListenerCounters& counters() const { return counters_; }
  std::vector<RuleStats> rule_stats() const;
  std::uint64_t generation() const { return generation_; }
  // Moves whenever rules or the listener fault change.
  std::uint64_t config_generation() const { return config_generation_; }
  // Whether a connection held by the listener fault (or by rule `rule`) with fault `kind` would
  // still be held under the current configuration.
  bool still_holds(bool by_listener, std::string_view rule, std::optional<FaultKind> kind) const;

  void set_rules(std::vector<Rule> rules);
  void set_fault(std::optional<Fault> fault);
  void set_mode(Mode mode) { spec_.mode = mode; }
  void set_greeting(std::optional<RawReply> greeting) { spec_.greeting = std::move(greeting); }
  void set_bound(Endpoint e) { spec_.listen = std::move(e); }
  // Counters and timeline restart; held connections of the old generation are released.
  void reset(TimePoint now);
  // The timeline restarts at `now`, counters kept: a run anchored on its first connection.
  void rearm(TimePoint now) { armed_ = now; }
  // Every open connection is to be closed, as the process exiting would close it.
  void close_connections() { ++close_generation_; }
  std::uint64_t close_generation() const { return close_generation_; }

  // Precedence: an explicit mode other than serve, then a listener-phase fault, then the first
  // active listener-phase rule, then serve.
  Mode mode_at(TimePoint now) const;
  // The listener-phase rule deciding the mode now, if any.
  const Rule* listener_rule_at(TimePoint now) const;
  // True when a rule can change the mode; the edge then re-checks it after each request.
  bool has_listener_rules() const;
  // When mode_at() may next change, for the edge to arm one timer.
  std::optional<TimePoint> next_mode_change(TimePoint now) const;

  AcceptDecision on_accept(TimePoint now);
  // Kept by the edge, reported by the API.
  std::uint64_t open_connections = 0;
  std::uint64_t accept_errors = 0;
  std::string socket_error;  // why the listening socket could not be (re)opened; "" = fine

  // `decision` is reused between calls so steady-state requests allocate nothing.
  void on_request(const Request& req, TimePoint now, Decision& decision);

 private:
  struct Compiled {
    Rule rule;
    RuleCounters counters;
    std::optional<PreparedResponse> prepared;
  };
  void compile();
  Ms elapsed(TimePoint now) const { return now - armed_; }

  ListenerSpec spec_;
  std::vector<Compiled> rules_;
  PreparedResponse default_;
  ListenerCounters counters_;
  TimePoint armed_;
  std::uint64_t generation_ = 0;
  std::uint64_t config_generation_ = 0;
  std::uint64_t close_generation_ = 0;
};

}  // namespace mock::core
