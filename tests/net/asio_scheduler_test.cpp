#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "lb/net/asio_scheduler.hpp"
#include "tests/support/scheduler_conformance.hpp"

namespace lb::test {
namespace {

// Real time, tiny delays: each test waits a few milliseconds of steady clock at most.
struct AsioWorld {
  boost::asio::io_context io;
  net::AsioScheduler sched{io};
  core::Scheduler& scheduler() { return sched; }
  void run_until_idle() {
    io.restart();
    io.run();
  }
};
using AsioWorlds = ::testing::Types<AsioWorld>;

}  // namespace
INSTANTIATE_TYPED_TEST_SUITE_P(Asio, SchedulerConformance, AsioWorlds);
}  // namespace lb::test
