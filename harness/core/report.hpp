#pragma once
// The results of a run and the files written from them: JUnit XML (what GitLab and Jenkins
// read) and the full trace as JSON.
#include <string>
#include <utility>
#include <vector>

#include "harness/core/diff.hpp"
#include "harness/core/scenario.hpp"
#include "harness/core/sim_world.hpp"
#include "harness/core/verdict.hpp"

namespace lbh {

struct WorldRun {
  std::string name;  // "sim", "lb", "haproxy"
  Trace trace;
  std::vector<Failure> failures;
  double ms = 0;  // wall time the world took
};

struct ScenarioRun {
  const Scenario* scenario = nullptr;
  std::vector<WorldRun> worlds;
  // For diff: (world, its differences from haproxy).
  std::vector<std::pair<std::string, std::vector<Difference>>> differences;
  bool ok() const;
  double ms() const;
};

std::string junit_xml(const std::vector<ScenarioRun>& runs, const std::string& target);
std::string json_report(const std::vector<ScenarioRun>& runs, const std::string& target);
// One self-contained page (no script, no network): per scenario an SVG timeline with a lane per
// server and world (UP green, DOWN red, stopping orange), each check a tick coloured by its
// result with its reason on hover, the timeline's steps and where each request burst went.
std::string html_report(const std::vector<ScenarioRun>& runs, const std::string& target);

}  // namespace lbh
