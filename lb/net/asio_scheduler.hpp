#pragma once
// The core's Scheduler on one Asio io_context and the steady clock: what `lb` runs the check
// engine on. Single-threaded: every callback runs on the thread that runs the io_context.
#include <memory>

#include "lb/core/time/clock.hpp"

namespace boost::asio {
class io_context;
}

namespace lb::net {

class AsioScheduler final : public core::Scheduler {
 public:
  explicit AsioScheduler(boost::asio::io_context& io);
  ~AsioScheduler() override;
  // Milliseconds since this scheduler was made (the steady clock, so never jumps).
  core::TimePoint now() const override;
  std::unique_ptr<core::Timer> make_timer(std::function<void()> on_fire) override;
  void post(std::function<void()> fn) override;
  boost::asio::io_context& io() const { return io_; }
  std::int64_t epoch_ns() const { return epoch_ns_; }

  struct Queue;  // the timers, in due order (public for the timer class in the .cpp)

 private:
  boost::asio::io_context& io_;
  std::int64_t epoch_ns_;
  std::unique_ptr<Queue> queue_;
};

}  // namespace lb::net
