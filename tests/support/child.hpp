#pragma once
// The tests start their children with the harness's Child (harness/live/child.hpp).
#include "harness/live/child.hpp"

namespace lb::test {
using namespace std::chrono_literals;
using lbh::Child;
using lbh::ChildOptions;
}  // namespace lb::test
