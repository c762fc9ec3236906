#pragma once
// What a balancer said about its servers, read back from the lines HAProxy (and lb) log:
// "Server be/app1 is DOWN, reason: Layer7 wrong status, code: 500, ...", "... is UP", "... is
// stopping", "backend be has no server available!". Every world of the runner is judged on these
// events, so lb on simulated time, lb on sockets and haproxy itself are compared on the same terms.
#include <optional>
#include <string>
#include <string_view>

#include "lb/core/time/clock.hpp"

namespace lbh {

using lb::core::Ms;

struct Event {
  // Maintenance: its name stopped resolving ("is going DOWN for maintenance (DNS NX status)",
  // "was DOWN and now enters maintenance (...)"); the reason is the cause in brackets. Address:
  // run-time resolution changed its address ("be/s changed its IP from A to B by dns/ns1"); the
  // info is the new address, the reason who gave it. A server leaving maintenance ("('name') is
  // UP/READY (resolves again)") is an Up with the reason "resolves again". The Runtime API's
  // maintenance is a Maintenance without a reason; leaving it an Up (or Down) with the reason
  // "leaving forced maintenance"; `state drain` a Drain ("enters drain state"), left as an Up (or
  // Down) with "leaving forced drain"; `set server health` a state with "changed from CLI".
  enum class Kind { Down, Up, Stopping, NoServer, Maintenance, Address, Drain };
  Kind kind = Kind::Down;
  std::string proxy;
  std::string server;               // empty for NoServer
  bool backup = false;              // "Backup Server be/b1 is UP"
  std::string reason;               // "Layer7 wrong status" (empty: the line gave none)
  std::optional<int> code;          // "code: 500"
  std::string info;                 // "info: \"Connection refused\"", unquoted
  std::optional<long> duration_ms;  // "check duration: 2001ms"
  Ms at{0};                         // when, from the start of the world
  std::string line;                 // the message as logged, any prefix removed

  std::string who() const { return server.empty() ? proxy : proxy + "/" + server; }
};

// "DOWN", "UP", "stopping", "no server available", "MAINT", "address", "DRAIN"
std::string_view name(Event::Kind k);
// Whether the event changes the server's state (an address change does not).
bool is_state(Event::Kind k);

// The event a log line reports, or nullopt. Accepts the bare message and the prefixes balancers
// put before it: "[WARNING]  (1234) : ", a syslog header ("<129>Dec  1 12:00:00 haproxy[1234]: "),
// an ISO or bracketed timestamp.
std::optional<Event> parse_event(std::string_view line);

}  // namespace lbh
