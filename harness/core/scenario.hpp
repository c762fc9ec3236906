#pragma once
// A scenario file (docs/scenarios.md): backends with their mockserver behaviour, a haproxy.cfg
// with {{name}} placeholders for the ports the runner allocates, a timeline of steps and the
// expected outcome. Read from YAML (or JSON, a subset of YAML); every error names the file, the
// line and the field.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "harness/core/events.hpp"

namespace lbh {

// A backend as mockserver serves it: `rules` and `fault` in mockserver's own syntax (the text of
// `--rule 'NAME: ...'` after the name, and of `--fault NAME=...` after the `=`).
struct BackendSpec {
  std::string name;
  std::vector<std::string> rules;
  std::optional<std::string> fault;
  int line = 0;
};

// A DNS server (mockserver's responder) the config reaches at 127.0.0.1:{{dns}}: `records` and
// `faults` in mockserver's own syntax (the text of `--dns-record` and `--dns-fault`).
struct DnsTable {
  std::vector<std::string> records;
  std::vector<std::string> faults;
  int line = 0;
};

// One timeline step, at `at` from the start. A backend step changes `backend` (its rules, its
// fault, kills / restarts it on the same port, or moves it to another address); a request step
// sends `requests` requests, one after the other or all at once, to the first frontend; a rate
// step sends `rate` requests a second for `rate_for`, each at its instant however long the
// others take (open loop).
struct Step {
  Ms at{0};
  std::string backend;
  std::optional<std::vector<std::string>> rules;
  std::optional<std::string> fault;  // "none" clears it
  bool kill = false;
  bool restart = false;
  std::optional<std::string> move_to;  // an IP address on loopback; the port stays
  // A DNS step replaces the table's records or its faults (an empty list clears them).
  std::optional<std::vector<std::string>> dns_records, dns_faults;
  bool dns_step() const { return dns_records.has_value() || dns_faults.has_value(); }
  // A Runtime API step: these commands, on one connection to the balancer's admin socket (the
  // config's `stats socket {{api}} level admin`).
  std::optional<std::vector<std::string>> api;
  // A reload of the balancer, as HAProxy 2.6 users reload: SIGUSR2 to the master of `-W`. With
  // `save_state`, first the state a reload script saves: `show servers state` over the admin
  // socket into the config's `server-state-file {{state}}`.
  bool reload = false;
  bool save_state = false;
  // A page step: GET this path on the first frontend (the stats page, the Prometheus exporter),
  // its answer kept for `metric_at` expectations.
  std::optional<std::string> get;
  int requests = 0;
  bool concurrent = false;  // the requests all at once, each on a connection of its own
  int rate = 0;             // requests per second ...
  Ms rate_for{0};           // ... for this long
  bool sends_requests() const { return requests > 0 || rate > 0; }
  // The requests of a rate step, each at its offset from `at`.
  std::vector<Ms> request_offsets() const;
  int line = 0;
};

// An expected transition: `server` ("be/app1") goes `to` DOWN/UP/stopping within [from, until],
// with the reason, code and info given (each optional, matched as a substring for reason/info).
struct ExpectTransition {
  std::string server;
  Event::Kind to = Event::Kind::Down;
  std::optional<std::string> reason;
  std::optional<int> code;
  std::optional<std::string> info;
  Ms from{0};
  std::optional<Ms> until;
  // The line's "check duration", within [duration_min, duration_max] when given.
  std::optional<Ms> duration_min, duration_max;
};

// An expected "backend X has no server available!" within [from, until].
struct ExpectNoServer {
  std::string backend;
  Ms from{0};
  std::optional<Ms> until;
};

// Where the requests of the step at `step_at` went: server names in order, "503" for a request
// no server took (`to`); or the share each server took, each within `tolerance` (`share`).
struct ExpectRouting {
  Ms step_at{0};
  std::vector<std::string> to;
  std::map<std::string, double> share;
  double tolerance = 0.05;
};

// What a backend received: how many requests (checks, and requests routed to it) matched
// `request` ("METHOD /path", or a prefix of it such as "OPTIONS"), at least `at_least` and at
// most `at_most` (when set).
struct ExpectReceived {
  std::string backend;
  std::string request;
  int at_least = 1;
  std::optional<int> at_most;
};

// A value of the stats (`show stat`, HAProxy's CSV) in the answer of the api step at `step_at`:
// the row `proxy`/`row` (a server, FRONTEND or BACKEND), the column `field` ("status", "weight",
// "chkfail", ...), equal to `equals`.
struct ExpectStat {
  Ms step_at{0};
  std::string proxy, row, field, equals;
};

// A Prometheus sample in the answer of the page step at `step_at`: the line `metric` (name and
// labels as the exporter prints them) has the value `equals`.
struct ExpectMetric {
  Ms step_at{0};
  std::string metric, equals;
};

struct Expectation {
  std::variant<ExpectTransition, ExpectNoServer, ExpectRouting, ExpectReceived, ExpectStat, ExpectMetric> what;
  int line = 0;
};

struct Scenario {
  std::string file;
  std::string name;
  std::string summary;
  std::string source;  // where the incident comes from
  Ms duration{0};
  std::vector<BackendSpec> backends;
  std::optional<DnsTable> dns;
  std::string config;  // haproxy.cfg text with {{frontend}} and {{BACKEND}} placeholders (or
                       // read from `config_file`, relative to the scenario)
  int config_line = 0;
  std::vector<Step> timeline;
  std::vector<Expectation> expect;
  // Unless set, a transition or alert no expectation names is a failure.
  bool other_transitions_allowed = false;
};

struct ScenarioError {
  std::string file;
  int line = 0;        // 1-based; 0 when the error is about the whole file
  std::string field;   // "timeline[2].at"
  std::string message;
  std::string text() const;  // "file:line: field: message"
};

struct LoadResult {
  std::optional<Scenario> scenario;
  std::vector<ScenarioError> errors;
};

LoadResult parse_scenario(std::string_view text, std::string_view file);

LoadResult load_scenario(const std::string& path);

// The config with its placeholders replaced by `ports` (name -> port; "frontend" included) and
// `texts` (name -> text, such as "api" -> the admin socket's path). An unknown placeholder is
// left as is, so that haproxy and lb report it.
std::string render_config(const std::string& config, const std::map<std::string, int>& ports,
                          const std::map<std::string, std::string>& texts = {});

}  // namespace lbh
