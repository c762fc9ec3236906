#pragma once
// The tests start their children with the harness's Child (harness/live/child.hpp).
#include <string>
#include <vector>

#include "harness/live/child.hpp"

namespace lb::test {
using namespace std::chrono_literals;
using lbh::Child;
using lbh::ChildOptions;

// A program run to its end: its exit code (-1 when it outlived `limit` and was stopped), and
// everything it printed.
struct Finished {
  int code = -1;
  std::string out, err;
};
inline Finished run_to_exit(const std::string& bin, const std::vector<std::string>& args,
                            std::chrono::milliseconds limit = 10s) {
  Child c = Child::start(bin, args, {.ready_line = ""});
  Finished r;
  r.code = c.wait_exit(limit).value_or(-1);
  if (r.code == -1) c.stop();
  for (const auto& l : c.stdout_lines()) r.out += l + "\n";
  r.err = c.stderr_text();
  return r;
}

}  // namespace lb::test
