#pragma once
// The `sim` world: a scenario played on simulated time by the objects lb itself runs — the
// CheckEngine, Backends and Router — against backends that are mockserver's own behaviour model
// (mock::core::Listener) answering the checks. A fault or rule therefore has the same outcome
// here as on sockets: what mockserver would write is what the check reads. A minute of
// incident replays in milliseconds, the same way every time.
#include <map>
#include <string>
#include <vector>

#include "harness/core/events.hpp"
#include "harness/core/scenario.hpp"

namespace lbh {

// One check, for the report's timeline.
struct CheckMark {
  Ms at{0};
  std::string who;     // "be/app1"
  std::string status;  // HAProxy's tag: "L7OK", "L7STS", "L4TOUT", ...
  bool passed = false;
  std::string detail;  // ", reason: Layer7 wrong status, code: 500, ..." as the lines print it
};

// What one world saw while playing a scenario.
// One Runtime API step as the balancer answered it.
struct ApiExchange {
  Ms at{0};
  std::vector<std::string> commands;
  std::string answer;  // the bytes it sent back
};

// A page a get step fetched from the balancer's first frontend.
struct PageFetch {
  Ms at{0};
  std::string path;
  int status = 0;
  std::string body;
};

struct Trace {
  std::vector<Event> events;  // transitions and alerts, in order
  std::vector<ApiExchange> api;
  std::vector<PageFetch> pages;
  // Each check: in the sim world as the engine judged it; in the live worlds as the backend's
  // journal saw it (its answer, and how long the exchange lasted on its side).
  std::vector<CheckMark> check_marks;
  // Where each request of the requests step at `at` went: a server name, or "503".
  std::map<Ms, std::vector<std::string>> routing;
  // Each request a backend received (checks, and the requests routed to it), "METHOD /path",
  // in order.
  std::map<std::string, std::vector<std::string>> checks;
  std::vector<std::string> errors;  // the world could not play the scenario (bad config, ...)
};

Trace play_sim(const Scenario& scenario);

}  // namespace lbh
