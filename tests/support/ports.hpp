#pragma once
// The tests pick ports with the harness's free_tcp_port (harness/live/ports.hpp).
#include "harness/live/ports.hpp"

namespace lb::test {
using lbh::free_tcp_port;
}  // namespace lb::test
