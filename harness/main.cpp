// lbharness: plays health-check scenarios (docs/scenarios.md) and checks what happened.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "harness/core/scenario.hpp"
#include "harness/core/sim_world.hpp"
#include "harness/core/verdict.hpp"

namespace fs = std::filesystem;

namespace {

constexpr const char* kExamples = R"(
Examples:
  lbharness run scenarios/                    every scenario of the library, on simulated time
  lbharness run scenarios/options-500.yaml    one scenario
  lbharness run --list scenarios/             what a directory holds, without playing it

Exit status: 0 when every scenario passed, 1 when one failed, 2 on bad input (a file that does
not load, an unknown option).)";

// The scenario files named by `paths`: files as given, directories' *.yaml, *.yml and *.json
// in name order.
std::vector<std::string> scenario_files(const std::vector<std::string>& paths, std::vector<std::string>& errors) {
  std::vector<std::string> out;
  for (const auto& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<std::string> found;
      for (const auto& e : fs::directory_iterator(p, ec)) {
        const auto ext = e.path().extension().string();
        if (e.is_regular_file() && (ext == ".yaml" || ext == ".yml" || ext == ".json")) found.push_back(e.path().string());
      }
      std::sort(found.begin(), found.end());
      if (found.empty()) errors.push_back(fmt::format("{}: no scenario files (*.yaml, *.yml, *.json) in it", p));
      out.insert(out.end(), found.begin(), found.end());
    } else if (fs::is_regular_file(p, ec)) {
      out.push_back(p);
    } else {
      errors.push_back(fmt::format("{}: no such file or directory", p));
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"lbharness: replays load-balancer health-check incidents and checks the UP/DOWN transitions,\n"
               "alerts and request routing they must produce."};
  app.footer(kExamples);
  app.require_subcommand(1);
  auto* run = app.add_subcommand("run", "play scenario files (or directories of them) and judge them");
  std::vector<std::string> paths;
  std::string target = "sim";
  bool list = false;
  run->add_option("paths", paths, "scenario files or directories")->required();
  run->add_option("--target", target,
                  "where to play: sim (lb's check engine and router on simulated time; lb, haproxy and diff are "
                  "not built yet)")
      ->check(CLI::IsMember({"sim"}));
  run->add_flag("--list", list, "print the scenarios found and stop");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  std::vector<std::string> errors;
  const auto files = scenario_files(paths, errors);
  std::vector<lbh::Scenario> scenarios;
  for (const auto& f : files) {
    auto r = lbh::load_scenario(f);
    for (const auto& e : r.errors) errors.push_back(e.text());
    if (r.scenario) scenarios.push_back(std::move(*r.scenario));
  }
  for (const auto& e : errors) fmt::print(stderr, "lbharness: {}\n", e);
  if (!errors.empty()) return 2;
  if (list) {
    for (const auto& s : scenarios) fmt::print("{}  {}  ({})\n", s.name, s.summary, s.file);
    return 0;
  }

  int failed = 0;
  double total_ms = 0;
  lbh::Ms simulated{0};
  for (const auto& s : scenarios) {
    const auto start = std::chrono::steady_clock::now();
    const auto trace = lbh::play_sim(s);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    total_ms += ms;
    simulated += s.duration;
    const auto failures = lbh::judge(s, trace);
    fmt::print("{} {:<36} {:>4} events  {:>8.2f} ms for {} simulated\n", failures.empty() ? "PASS" : "FAIL", s.name,
               trace.events.size(), ms, lbh::seconds(s.duration));
    for (const auto& f : failures)
      fmt::print("     {}{}\n", f.line ? fmt::format("{}:{}: ", s.file, f.line) : std::string(), f.message);
    if (!failures.empty()) ++failed;
  }
  fmt::print("{} scenario(s) on {}: {} passed, {} failed; {:.1f} ms for {} simulated ({:.2f} ms per simulated minute)\n",
             scenarios.size(), target, scenarios.size() - static_cast<std::size_t>(failed), failed, total_ms,
             lbh::seconds(simulated), simulated.count() > 0 ? total_ms * 60000.0 / static_cast<double>(simulated.count()) : 0.0);
  return failed ? 1 : 0;
}
