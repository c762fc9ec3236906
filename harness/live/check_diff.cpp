#include "harness/live/check_diff.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <thread>

#include "harness/live/child.hpp"
#include "harness/live/cli_client.hpp"
#include "harness/live/temp_dir.hpp"

namespace lbh {
namespace {

using Clock = std::chrono::steady_clock;

struct BatchVerdicts {
  std::vector<std::optional<CheckVerdict>> lb, haproxy;
  std::vector<std::string> errors;
};

// Both balancers check every case of the batch once (and again each second until every verdict
// is in); nothing is judged before each side has one for every case, or the deadline passed.
BatchVerdicts play_batch(const std::vector<CheckCase>& cases, const CheckDiffOptions& o) {
  BatchVerdicts out;
  out.lb.resize(cases.size());
  out.haproxy.resize(cases.size());
  TempDir dir;
  Child mock, lb, haproxy;
  try {
    mock = Child::start(o.mockserver, {"-f", dir.write("spec.json", check_diff_spec(cases)).string(),
                                       "--idle-timeout-ms", "5000"});
  } catch (const std::exception& e) {
    out.errors.push_back(fmt::format("mockserver did not start: {}", e.what()));
    return out;
  }
  std::vector<int> ports;
  try {
    for (const auto& c : cases) ports.push_back(mock.port(check_diff_listener(c)));
  } catch (const std::exception& e) {
    out.errors.push_back(fmt::format("mockserver did not listen: {}", e.what()));
    return out;
  }
  const auto start = [&](const std::string& bin, const std::string& who, Child& child) {
    const auto socket = (dir.path() / (who + ".sock")).string();
    const auto cfg = dir.write(who + ".cfg", check_diff_config(cases, ports, socket));
    try {
      child = Child::start(bin, {"-db", "-f", cfg.string()}, {.ready_line = ""});
    } catch (const std::exception& e) {
      out.errors.push_back(fmt::format("{} did not start: {}", who, e.what()));
    }
    return socket;
  };
  const auto lb_socket = start(o.lb, "lb", lb);
  const auto haproxy_socket = start(o.haproxy, "haproxy", haproxy);
  if (!out.errors.empty()) return out;

  // The first checks are spread over the 1 s interval; each ends within the check timeout.
  const auto deadline = Clock::now() + std::chrono::milliseconds(1000 + 3 * kCheckTimeoutMs + 2000);
  const auto poll = [&](const std::string& socket, std::vector<std::optional<CheckVerdict>>& verdicts) {
    if (std::all_of(verdicts.begin(), verdicts.end(), [](const auto& v) { return v.has_value(); })) return true;
    const auto reply = cli_call(socket, "show stat\n", std::chrono::milliseconds(1000));
    const auto csv = find_stats_csv(reply.answer);
    if (!csv) return false;
    bool all = true;
    for (std::size_t i = 0; i < cases.size(); ++i) {
      if (!verdicts[i]) verdicts[i] = check_verdict(*csv, cases[i].name);
      all = all && verdicts[i].has_value();
    }
    return all;
  };
  for (;;) {
    const bool lb_done = poll(lb_socket, out.lb);
    const bool haproxy_done = poll(haproxy_socket, out.haproxy);
    if (lb_done && haproxy_done) break;
    if (Clock::now() > deadline) {
      for (std::size_t i = 0; i < cases.size(); ++i) {
        if (!out.lb[i]) out.errors.push_back(fmt::format("{}: lb gave no verdict", cases[i].name));
        if (!out.haproxy[i]) out.errors.push_back(fmt::format("{}: haproxy gave no verdict", cases[i].name));
      }
      if (!lb.running()) out.errors.push_back(fmt::format("lb exited: {}", lb.stderr_text()));
      if (!haproxy.running()) out.errors.push_back(fmt::format("haproxy exited: {}", haproxy.stderr_text()));
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return out;
}

bool differ(const std::optional<CheckVerdict>& a, const std::optional<CheckVerdict>& b) { return a && b && !(*a == *b); }

// The smallest variant of `d.found` that still shows a disagreement between the same two check
// statuses: a round plays every candidate of the current smallest at once and keeps the
// smallest that disagrees, until no candidate does.
void minimise(CheckDisagreement& d, const CheckDiffOptions& o) {
  d.smallest = d.found;
  d.smallest_lb = d.lb;
  d.smallest_haproxy = d.haproxy;
  for (int round = 0; round < 40; ++round) {
    auto candidates = shrink_candidates(d.smallest);
    if (candidates.empty()) return;
    for (std::size_t i = 0; i < candidates.size(); ++i) candidates[i].name = fmt::format("m{}", i);
    const auto v = play_batch(candidates, o);
    std::optional<std::size_t> best;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      if (!differ(v.lb[i], v.haproxy[i])) continue;
      if (v.lb[i]->check_status != d.lb.check_status || v.haproxy[i]->check_status != d.haproxy.check_status) continue;
      if (!best || candidates[i].size() < candidates[*best].size()) best = i;
    }
    if (!best) return;
    d.smallest = candidates[*best];
    d.smallest.name = d.found.name;
    d.smallest_lb = *v.lb[*best];
    d.smallest_haproxy = *v.haproxy[*best];
  }
}

}  // namespace

CheckDiffResult run_check_diff(const CheckDiffOptions& o) {
  CheckDiffResult r;
  const auto began = Clock::now();
  const std::size_t batch = std::max<std::size_t>(o.batch, 1);
  for (std::size_t at = 0; at < o.cases; at += batch) {
    std::vector<CheckCase> cases;
    for (std::size_t i = at; i < std::min(o.cases, at + batch); ++i) cases.push_back(generate_check_case(o.seed, o.first + i));
    const auto v = play_batch(cases, o);
    r.errors.insert(r.errors.end(), v.errors.begin(), v.errors.end());
    std::size_t agreed = 0, disagreed = 0;
    for (std::size_t i = 0; i < cases.size(); ++i) {
      ++r.cases;
      if (!v.lb[i] || !v.haproxy[i]) {
        ++r.unjudged;
      } else if (*v.lb[i] == *v.haproxy[i]) {
        ++r.agreed;
        ++agreed;
        ++r.agreed_by[fmt::format("{} {}", check_kind(cases[i]), v.lb[i]->check_status)];
      } else {
        ++disagreed;
        CheckDisagreement d{cases[i], cases[i], *v.lb[i], *v.haproxy[i], *v.lb[i], *v.haproxy[i]};
        if (o.minimise) minimise(d, o);
        r.disagreements.push_back(std::move(d));
      }
    }
    if (o.progress)
      o.progress(fmt::format("cases {}..{}: {} agree, {} disagree, {} unjudged", o.first + at,
                             o.first + at + cases.size() - 1, agreed, disagreed, cases.size() - agreed - disagreed));
  }
  r.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - began);
  return r;
}

}  // namespace lbh
