#pragma once
// The results of a run and the files written from them: JUnit XML (what GitLab and Jenkins
// read) and the full trace as JSON.
#include <optional>
#include <string>
#include <string_view>
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

// The JUnit XML lbharness writes, as data: what shards' files are merged through.
struct JunitCase {
  std::string classname, name, file;
  double seconds = 0;
  std::optional<std::string> failure;  // the failure's message; unset: passed
  std::string failure_text;            // every problem, one a line
};
struct JunitSuite {
  std::string name;  // "lbharness.TARGET"
  std::vector<JunitCase> cases;
};
std::string write_junit(const std::vector<JunitSuite>& suites);
// The JUnit files of shards (`--shard K/N --junit F`), given as (path, text), as one file, as an
// unsharded run writes it: suites of the same name become one, cases in the order of the files
// given. nullopt, with `error` naming the file and what is wrong, when one cannot be read as
// such a file.
std::optional<std::string> merge_junit(const std::vector<std::pair<std::string, std::string>>& files,
                                       std::string& error);

std::string xml_escape(std::string_view s);
std::string json_report(const std::vector<ScenarioRun>& runs, const std::string& target);
// One self-contained page (no script, no network): per scenario an SVG timeline with a lane per
// server and world (UP green, DOWN red, stopping orange), each check a tick coloured by its
// result with its reason on hover, the timeline's steps and where each request burst went.
std::string html_report(const std::vector<ScenarioRun>& runs, const std::string& target);

}  // namespace lbh
