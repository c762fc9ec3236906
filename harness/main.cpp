// lbharness: plays health-check scenarios (docs/scenarios.md) and checks what happened.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <unistd.h>
#include <sstream>
#include <thread>

#include "harness/core/diff.hpp"
#include "harness/core/import_log.hpp"
#include "harness/core/report.hpp"
#include "harness/core/scenario.hpp"
#include "harness/core/sim_world.hpp"
#include "harness/core/verdict.hpp"
#include "harness/live/check_diff.hpp"
#include "harness/live/live_world.hpp"
#include "lb/core/config/values.hpp"
#include "lb/core/input_file.hpp"

namespace fs = std::filesystem;

namespace {

constexpr const char* kExamples = R"(
Examples:
  lbharness run scenarios/                    every scenario of the library, on simulated time
  lbharness run scenarios/options-500.yaml    one scenario
  lbharness run --target lb scenarios/        the same against real lb and mockserver processes
  lbharness run --target diff scenarios/      lb and real haproxy side by side, every difference listed
  lbharness run --list scenarios/             what a directory holds, without playing it
  lbharness run --junit out.xml -j 4 --target lb scenarios/
  lbharness run --shard 2/4 --junit shard2.xml scenarios/   the second quarter of the library
  lbharness merge-junit -o all.xml shard1.xml shard2.xml shard3.xml shard4.xml
                                              the shards' JUnit files as one
  lbharness import-log incident.log -o scenarios/my-incident.yaml
                                              a real incident's log lines become a scenario
  lbharness check-diff --cases 10000 --seed 7 generated check replies judged by lb and by real
                                              haproxy side by side, each disagreement minimised

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

// `name` next to this program's build tree (build/PRESET/harness/lbharness -> build/PRESET/REL),
// else on PATH.
std::string find_binary(const std::string& rel, const std::string& name) {
  std::error_code ec;
  const auto self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const auto near = self.parent_path().parent_path() / rel;
    if (fs::is_regular_file(near, ec)) return near.string();
  }
  if (const char* path = std::getenv("PATH")) {
    std::string_view rest = path;
    while (!rest.empty()) {
      const auto colon = rest.find(':');
      const auto dir = rest.substr(0, colon);
      const auto candidate = fs::path(std::string(dir)) / name;
      if (!dir.empty() && fs::is_regular_file(candidate, ec)) return candidate.string();
      rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 1);
    }
  }
  return {};
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
  std::string lb_bin = find_binary("lb/lb", "lb"), mock_bin = find_binary("mockserver/mockserver", "mockserver");
  std::string haproxy_bin = find_binary("", "haproxy");
  std::string tolerance_text = "150ms";
  run->add_option("paths", paths, "scenario files or directories")->required();
  run->add_option("--target", target,
                  "where to play: sim (lb's engine and router on simulated time), lb or haproxy (real processes on "
                  "loopback), diff (all three, lb and sim each compared with haproxy)")
      ->check(CLI::IsMember({"sim", "lb", "haproxy", "diff"}));
  run->add_option("--lb", lb_bin, "the lb binary (default: next to lbharness, else on PATH)");
  run->add_option("--haproxy", haproxy_bin, "the haproxy binary (default: on PATH)");
  run->add_option("--mockserver", mock_bin, "the mockserver binary (default: next to lbharness, else on PATH)");
  run->add_option("--tolerance", tolerance_text, "diff: how far apart the same event may be (default 150ms)");
  std::string junit_file, json_file, report_file;
  int jobs = 1;
  run->add_option("--junit", junit_file, "write JUnit XML (GitLab, Jenkins) to FILE")->type_name("FILE");
  run->add_option("--json", json_file, "write the full trace as JSON to FILE")->type_name("FILE");
  run->add_option("--report", report_file, "write a self-contained HTML page with a timeline per scenario")
      ->type_name("FILE.html");
  run->add_option("-j,--jobs", jobs, "play N scenarios at once (each on ports of its own)")->check(CLI::Range(1, 64));
  std::string shard;
  run->add_option("--shard", shard, "play only shard K of N (1-based), e.g. 2/4, for spreading a suite over CI machines")
      ->type_name("K/N");
  run->add_flag("--list", list, "print the scenarios found and stop");
  auto* import = app.add_subcommand("import-log", "turn a balancer's log of a real incident into a scenario skeleton");
  std::string log_file, out_file, scenario_name;
  import->add_option("log", log_file, "the log: haproxy's or lb's lines, any prefix (syslog, [WARNING], ISO time)")
      ->required();
  import->add_option("-o,--output", out_file, "write the scenario to FILE (default: standard output)")->type_name("FILE");
  import->add_option("--name", scenario_name, "the scenario's name (default: the log's file name)");
  auto* merge = app.add_subcommand("merge-junit", "merge the JUnit files of shards (run --shard K/N --junit F) into one");
  std::vector<std::string> junit_inputs;
  std::string merged_file;
  merge->add_option("files", junit_inputs, "the shards' JUnit files, in shard order")->required();
  merge->add_option("-o,--output", merged_file, "write the merged file to FILE (default: standard output)")
      ->type_name("FILE");
  auto* check_diff = app.add_subcommand(
      "check-diff", "serve generated health-check replies to lb's and haproxy's checkers and compare their verdicts");
  lbh::CheckDiffOptions diff_options;
  check_diff->add_option("--cases", diff_options.cases, "how many cases (default 300)")->check(CLI::Range(1, 10'000'000));
  check_diff->add_option("--seed", diff_options.seed, "the run's seed: the same seed gives the same cases (default 1)");
  check_diff->add_option("--first", diff_options.first, "the index of the first case (default 0): --first 17 --cases 1 "
                                                        "replays case c17 alone");
  check_diff->add_option("--batch", diff_options.batch, "cases per set of processes (default 100)")->check(CLI::Range(1, 1000));
  bool no_minimise = false;
  check_diff->add_flag("--no-minimise", no_minimise, "report disagreements as generated, without shrinking them");
  check_diff->add_option("--lb", lb_bin, "the lb binary (default: next to lbharness, else on PATH)");
  check_diff->add_option("--haproxy", haproxy_bin, "the haproxy binary (default: on PATH)");
  check_diff->add_option("--mockserver", mock_bin, "the mockserver binary (default: next to lbharness, else on PATH)");
  check_diff->footer(R"(
Each case is a check (option httpchk with expects, a tcp-check dialogue, or a server-first
tcp-check that expects a banner before it sends) and a reply: bytes cut into writes with pauses
between them, then a close, a hold or a reset. One mockserver serves a batch's replies to lb and
haproxy at once (a banner from a listener of its own, on connect); their verdicts (status,
check_status, check_code, last_chk of `show stat`) are compared, and the agreed verdicts are
counted by kind and check status. Exit status: 0 when every case agrees, 1 when one
disagrees, 2 when a balancer did not start or gave no verdict.)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (import->parsed()) {
    const auto text = lb::core::read_input_file(log_file);
    if (!text) {
      fmt::print(stderr, "lbharness: {}: cannot read the file: {}\n", log_file, text.reason());
      return 2;
    }
    if (scenario_name.empty()) scenario_name = fs::path(log_file).stem().string();
    const auto r = lbh::import_log(text.text, scenario_name, log_file);
    for (const auto& w : r.warnings) fmt::print(stderr, "lbharness: {}: {}\n", log_file, w);
    if (r.events == 0) return 2;
    if (out_file.empty()) {
      fmt::print("{}", r.yaml);
    } else {
      std::ofstream(out_file, std::ios::binary) << r.yaml;
      fmt::print(stderr, "lbharness: wrote {} ({} event(s)); play it with: lbharness run {}\n", out_file, r.events, out_file);
    }
    return 0;
  }

  if (check_diff->parsed()) {
    if (lb_bin.empty() || mock_bin.empty() || haproxy_bin.empty()) {
      fmt::print(stderr, "lbharness: check-diff needs lb, mockserver and haproxy: give --lb, --mockserver, --haproxy\n");
      return 2;
    }
    diff_options.lb = lb_bin;
    diff_options.haproxy = haproxy_bin;
    diff_options.mockserver = mock_bin;
    diff_options.minimise = !no_minimise;
    diff_options.progress = [](std::string_view line) { fmt::print(stderr, "check-diff: {}\n", line); };
    const auto r = lbh::run_check_diff(diff_options);
    for (std::size_t i = 0; i < r.disagreements.size(); ++i) {
      const auto& d = r.disagreements[i];
      fmt::print("disagreement {}: case {} of seed {} (replay: lbharness check-diff --seed {} --first {} --cases 1)\n",
                 i + 1, d.found.name, diff_options.seed, diff_options.seed, d.found.name.substr(1));
      fmt::print("  lb:      {}\n  haproxy: {}\n", d.lb.to_string(), d.haproxy.to_string());
      if (!(d.smallest == d.found)) {
        fmt::print("  smallest reply that disagrees ({} bytes, from {}):\n", d.smallest.bytes.size(), d.found.bytes.size());
        fmt::print("  lb:      {}\n  haproxy: {}\n", d.smallest_lb.to_string(), d.smallest_haproxy.to_string());
      }
      fmt::print("{}", lbh::describe(d.smallest));
    }
    for (const auto& e : r.errors) fmt::print(stderr, "lbharness: check-diff: {}\n", e);
    std::string kinds;
    for (const auto& [verdict, n] : r.agreed_by) kinds += fmt::format("{}{} {}", kinds.empty() ? "" : ", ", verdict, n);
    if (!kinds.empty()) fmt::print("agreed on: {}\n", kinds);
    fmt::print("check-diff: {} cases of seed {} from c{}: {} agree, {} disagree, {} unjudged ({:.1f} s)\n", r.cases,
               diff_options.seed, diff_options.first, r.agreed, r.disagreements.size(), r.unjudged,
               static_cast<double>(r.elapsed.count()) / 1000);
    if (!r.errors.empty() || r.unjudged > 0) return 2;
    return r.disagreements.empty() ? 0 : 1;
  }

  if (merge->parsed()) {
    std::vector<std::pair<std::string, std::string>> inputs;
    for (const auto& f : junit_inputs) {
      auto file = lb::core::read_input_file(f);
      if (!file) {
        fmt::print(stderr, "lbharness: {}: cannot read the file: {}\n", f, file.reason());
        return 2;
      }
      inputs.emplace_back(f, std::move(file.text));
    }
    std::string error;
    const auto merged = lbh::merge_junit(inputs, error);
    if (!merged) {
      fmt::print(stderr, "lbharness: {}\n", error);
      return 2;
    }
    if (merged_file.empty()) {
      fmt::print("{}", *merged);
    } else if (!(std::ofstream(merged_file, std::ios::binary) << *merged)) {
      fmt::print(stderr, "lbharness: cannot write {}\n", merged_file);
      return 1;
    }
    return 0;
  }

  std::vector<std::string> errors;
  const auto tolerance = lb::core::parse_duration(tolerance_text);
  if (!tolerance) errors.push_back(fmt::format("--tolerance '{}': {}", tolerance_text, tolerance.error().message));
  const bool live = target != "sim";
  if (live && mock_bin.empty()) errors.push_back("no mockserver binary found: give --mockserver PATH");
  if ((target == "lb" || target == "diff") && lb_bin.empty()) errors.push_back("no lb binary found: give --lb PATH");
  if ((target == "haproxy" || target == "diff") && haproxy_bin.empty())
    errors.push_back("no haproxy on PATH: install it (ci/install-deps.sh) or give --haproxy PATH");
  const auto files = scenario_files(paths, errors);
  std::vector<lbh::Scenario> scenarios;
  for (const auto& f : files) {
    auto r = lbh::load_scenario(f);
    for (const auto& e : r.errors) errors.push_back(e.text());
    if (r.scenario) scenarios.push_back(std::move(*r.scenario));
  }
  if (!shard.empty()) {
    // Scenarios in file order, dealt round-robin: shard K of N gets the ones whose index is K-1 mod N.
    unsigned k = 0, n = 0;
    char slash = 0;
    std::istringstream in(shard);
    if (!(in >> k >> slash >> n) || slash != '/' || n == 0 || k == 0 || k > n || !in.eof()) {
      errors.push_back(fmt::format("--shard '{}': expected K/N with 1 <= K <= N, e.g. 2/4", shard));
    } else {
      std::vector<lbh::Scenario> mine;
      for (std::size_t i = 0; i < scenarios.size(); ++i)
        if (i % n == k - 1) mine.push_back(std::move(scenarios[i]));
      scenarios = std::move(mine);
    }
  }
  for (const auto& e : errors) fmt::print(stderr, "lbharness: {}\n", e);
  if (!errors.empty()) return 2;
  if (list) {
    for (const auto& s : scenarios) fmt::print("{}  {}  ({})\n", s.name, s.summary, s.file);
    return 0;
  }

  std::vector<std::string> worlds;
  if (target == "diff") worlds = {"sim", "lb", "haproxy"};
  else worlds = {target};
  auto play = [&](const lbh::Scenario& s) {
    lbh::ScenarioRun run{&s};
    for (const auto& w : worlds) {
      lbh::WorldRun world{w};
      const auto start = std::chrono::steady_clock::now();
      if (w == "sim") world.trace = lbh::play_sim(s);
      else world.trace = lbh::play_live(s, {w == "lb" ? lb_bin : haproxy_bin, mock_bin});
      world.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
      world.failures = lbh::judge(s, world.trace);
      run.worlds.push_back(std::move(world));
    }
    // diff: lb against haproxy, and the simulated world against haproxy too, so that the
    // library's sim runs stay true to what haproxy does.
    std::set<lbh::Ms> unordered;
    for (const auto& st : s.timeline)
      if (st.concurrent) unordered.insert(st.at);
    if (run.worlds.size() == 3)
      for (const auto* w : {&run.worlds[1], &run.worlds[0]})
        run.differences.push_back(
            {w->name, lbh::diff_traces(w->trace, run.worlds[2].trace, *tolerance, w->name, "haproxy", unordered)});
    return run;
  };
  auto print = [&](const lbh::ScenarioRun& r) {
    const auto& s = *r.scenario;
    fmt::print("{} {:<36} {:>4} events  {:>9.2f} ms for {}{}\n", r.ok() ? "PASS" : "FAIL", s.name,
               r.worlds.front().trace.events.size(), r.ms(), lbh::seconds(s.duration), live ? "" : " simulated");
    for (const auto& w : r.worlds)
      for (const auto& f : w.failures)
        fmt::print("     [{}] {}{}\n", w.name, f.line ? fmt::format("{}:{}: ", s.file, f.line) : std::string(), f.message);
    for (const auto& [world, ds] : r.differences) {
      if (ds.empty()) continue;
      fmt::print("     {:<22} | {:<52} | {}\n", "difference", world, "haproxy");
      for (const auto& d : ds) fmt::print("     {:<22} | {:<52} | {}\n", d.what, d.left, d.right);
    }
    std::fflush(stdout);
  };

  // Scenarios play on `jobs` threads; results print in file order as soon as they are in. On a
  // terminal a progress line under them says what is playing.
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::optional<lbh::ScenarioRun>> runs(scenarios.size());
  std::mutex mu;
  std::size_t printed = 0;
  std::atomic<std::size_t> next{0};
  const bool tty = ::isatty(STDOUT_FILENO) == 1;
  std::set<std::string> playing;
  auto progress = [&] {
    if (!tty) return;
    fmt::print("\r\033[K");
    if (playing.empty()) return;
    fmt::print("[{}/{}] playing on {}: {}", printed, scenarios.size(), target, fmt::join(playing, ", "));
    std::fflush(stdout);
  };
  auto worker = [&] {
    for (std::size_t i; (i = next++) < scenarios.size();) {
      {
        std::lock_guard lock(mu);
        playing.insert(scenarios[i].name);
        progress();
      }
      auto r = play(scenarios[i]);
      std::lock_guard lock(mu);
      playing.erase(scenarios[i].name);
      runs[i] = std::move(r);
      if (tty) fmt::print("\r\033[K");
      while (printed < runs.size() && runs[printed]) print(*runs[printed++]);
      progress();
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < std::min<int>(jobs, static_cast<int>(scenarios.size())); ++t) pool.emplace_back(worker);
  for (auto& t : pool) t.join();

  std::vector<lbh::ScenarioRun> done;
  for (auto& r : runs) done.push_back(std::move(*r));
  int failed = 0;
  double total_ms = 0;
  lbh::Ms simulated{0};
  for (const auto& r : done) failed += !r.ok(), total_ms += r.ms(), simulated += r.scenario->duration;
  auto write = [&](const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
    if (!out) {
      fmt::print(stderr, "lbharness: cannot write {}\n", path);
      failed = failed ? failed : 1;
    }
  };
  if (!junit_file.empty()) write(junit_file, lbh::junit_xml(done, target));
  if (!json_file.empty()) write(json_file, lbh::json_report(done, target));
  if (!report_file.empty()) write(report_file, lbh::html_report(done, target));
  fmt::print("{} scenario(s) on {}: {} passed, {} failed; {:.1f} ms of play", scenarios.size(), target,
             scenarios.size() - static_cast<std::size_t>(failed), failed, total_ms);
  if (jobs > 1)
    fmt::print(" in {:.1f} ms on {} jobs",
               std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count(), jobs);
  if (!live && simulated.count() > 0)
    fmt::print(" for {} simulated ({:.2f} ms per simulated minute)", lbh::seconds(simulated),
               total_ms * 60000.0 / static_cast<double>(simulated.count()));
  fmt::print("\n");
  if (!report_file.empty()) fmt::print("report: {}\n", fs::absolute(report_file).string());
  return failed ? 1 : 0;
}
