#pragma once
// Differential fuzzing of health-check replies (`lbharness check-diff`): generated server replies,
// the checks that judge them, and the verdicts two balancers reach. Pure: the live runner
// (harness/live/check_diff) serves the replies with mockserver's raw rules and reads each
// balancer's verdicts from its `show stat`.
//
// A case is a reply (bytes cut into writes with pauses between them, then close, hold or reset)
// and a check (httpchk with its expects, or a tcp-check dialogue) for one backend. The reply
// answers the check's request, or, for a server-first dialogue, is the banner the server sends as
// soon as the check connects. Everything is
// drawn from (seed, index) alone, so a case is named by those two numbers and regenerated anywhere.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/core/stats_csv.hpp"
#include "mockserver/core/model.hpp"

namespace lbh {

struct CheckCase {
  std::string name;                      // "c17": its backend's name and the path its check asks for
  std::vector<std::string> check_lines;  // the backend's check keywords; "{path}" stands for "/<name>"
  std::string bytes;                     // the whole reply
  std::vector<std::size_t> cuts;         // where a new write starts: ascending offsets in (0, bytes.size())
  std::vector<int> pauses_ms;            // the pause before each write: cuts.size() + 1 of them
  int end_pause_ms = 0;                  // the pause before the ending
  mock::core::RawEnd then = mock::core::RawEnd::Close;  // Serve: a greeting goes on to read requests
  // The reply is a greeting, served by a listener of the case's own on connect (the check
  // expects before it sends); otherwise a rule on the shared listener answers the check's path.
  bool server_first = false;

  mock::core::RawReply reply() const;
  // What minimising makes smaller: reply bytes, then writes and pauses.
  std::size_t size() const;
  bool operator==(const CheckCase&) const = default;
};

// "httpchk", "tcp-check" or "server-first": how the case's check talks to the server.
std::string_view check_kind(const CheckCase& c);

// A check line with its "{path}" filled in: the line as the config holds it.
std::string check_line(const CheckCase& c, std::string_view line);

// The case `index` of the run `seed`, named "c<index>".
CheckCase generate_check_case(std::uint64_t seed, std::size_t index);

// The longest a server may hold a check: generated pauses add up to well under it, so a reply
// never races the timeout, and a held connection always ends in it.
inline constexpr int kCheckTimeoutMs = 400;

// The balancer config for a batch of cases: one backend per case whose one server `s` is the
// mockserver listener at `ports[i]` (one port per case; fewer throw), checked every second
// (fall 1, rise 1), and a stats socket at `api_socket` to read the verdicts from. The same text
// for lb and haproxy.
std::string check_diff_config(const std::vector<CheckCase>& cases, const std::vector<int>& ports,
                              const std::string& api_socket);
// The mockserver spec for a batch, every listener on a free loopback port: "app" with one raw
// rule per case on its path, and a listener named after each server-first case, greeting with
// its reply.
std::string check_diff_spec(const std::vector<CheckCase>& cases);
// The listener of check_diff_spec() that serves case `c`.
std::string check_diff_listener(const CheckCase& c);

// What a balancer concluded from a case's reply, as `show stat` reports it.
struct CheckVerdict {
  std::string status;        // UP, DOWN, NOLB
  std::string check_status;  // L7OK, L7STS, L7RSP, L4CON, L7TOUT, ... (without the in-progress "* ")
  std::string check_code;    // the HTTP status, when the check got one
  std::string last_chk;      // the check's info text
  bool operator==(const CheckVerdict&) const = default;
  std::string to_string() const;  // "DOWN L7STS code=500 info=\"Internal Server Error\""
};

// The verdict on backend `backend`'s server `s`; nullopt while it has not been checked yet.
std::optional<CheckVerdict> check_verdict(const StatsCsv& stats, std::string_view backend);

// Smaller variants of `c` for minimising a disagreement, each with a smaller size(): pieces of
// the reply cut out, writes joined, pauses dropped, a hold or reset made a close. Empty once
// nothing can be taken away.
std::vector<CheckCase> shrink_candidates(const CheckCase& c);

// The case as a reader needs it to reproduce it: the check lines, then each write (escaped as a
// C string, with its pause), then the ending.
std::string describe(const CheckCase& c);

}  // namespace lbh
