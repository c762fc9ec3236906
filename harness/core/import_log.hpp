#pragma once
// `lbharness import-log`: the lines a balancer logged during a real incident ("Server be/app2 is
// DOWN, reason: Layer7 timeout, ...", "is UP", "has no server available!", with syslog, ISO or
// [WARNING] prefixes) become a scenario skeleton. It has the servers, a timeline that applies,
// before each transition, the mockserver fault that gives its reason, and the transitions
// themselves as expectations. A production incident becomes a regression test to refine.
#include <string>
#include <string_view>
#include <vector>

namespace lbh {

struct ImportResult {
  std::string yaml;                   // the scenario, ready to save and run
  std::vector<std::string> warnings;  // lines read but not reproduced, and why
  int events = 0;                     // transitions and alerts found
};

// `name`: the scenario's name; `file`: where the log came from (for the source line).
ImportResult import_log(std::string_view log, std::string_view name, std::string_view file);

}  // namespace lbh
