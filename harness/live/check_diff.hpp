#pragma once
// `lbharness check-diff`: generated check replies (harness/core/check_fuzz) served by one
// mockserver to lb's checker and real haproxy's at once, on loopback; the verdicts each reaches
// (status, check status, code, info, from `show stat`) are compared case by case, and each
// disagreement is minimised to the smallest reply that still shows it.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "harness/core/check_fuzz.hpp"

namespace lbh {

struct CheckDiffOptions {
  std::string lb, haproxy, mockserver;  // the binaries
  std::uint64_t seed = 1;
  std::size_t first = 0;    // the index of the first case
  std::size_t cases = 300;  // how many cases
  std::size_t batch = 100;  // cases played by one set of processes (one backend each)
  bool minimise = true;
  std::function<void(std::string_view)> progress;  // a line per batch, when set
};

struct CheckDisagreement {
  CheckCase found;      // as generated
  CheckCase smallest;   // minimised; equal to `found` when minimising is off
  CheckVerdict lb, haproxy;              // on `found`
  CheckVerdict smallest_lb, smallest_haproxy;  // on `smallest`
};

struct CheckDiffResult {
  std::size_t cases = 0;
  std::size_t agreed = 0;
  // The verdicts both gave, counted by check kind and check status ("server-first L7TOUT"):
  // what the agreement covers.
  std::map<std::string, std::size_t> agreed_by;
  std::size_t unjudged = 0;  // a balancer gave no verdict in time (each is listed in errors)
  std::vector<CheckDisagreement> disagreements;
  std::vector<std::string> errors;  // processes that did not start, verdicts that never came
  std::chrono::milliseconds elapsed{0};
};

CheckDiffResult run_check_diff(const CheckDiffOptions& options);

}  // namespace lbh
