#pragma once
// What `lb -c` prints for a parsed file, line for line as `haproxy -c` prints it: diagnostics and
// closing lines for stderr, the verdict for stdout, and the exit code.
#include <string>
#include <string_view>
#include <vector>

#include "lb/core/config/parser.hpp"

namespace lb::core {

struct CheckReport {
  struct Line {
    std::string_view level;  // "ALERT" or "WARNING", for the "[LEVEL]    (pid) : " prefix
    std::string text;        // may continue on further lines ("\n   | ...")
  };
  std::vector<Line> stderr_lines;
  std::string stdout_text;
  int exit_code = 0;  // 0 valid, 2 invalid or nothing to run (HAProxy: 1 and 2)
};

// Whether a warning is one of lb's own, which haproxy does not print: a value read loosely "as
// HAProxy does", or a keyword that has no effect "in lb". -dW counts only haproxy's.
bool lb_own_warning(std::string_view text);

// `startup_warnings`: what the start-up after parsing warns of (the server-state loader's lines),
// printed as "config : TEXT" after the file's diagnostics, as haproxy -c prints them.
CheckReport check_report(const ParseResult& result, std::string_view path,
                         const std::vector<std::string>& startup_warnings = {});

}  // namespace lb::core
