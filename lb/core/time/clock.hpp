#pragma once
// Time as data: the core reads time only through Clock and waits only through Scheduler,
// so the same code runs on simulated milliseconds (SimScheduler) and on Asio timers (lb/net).
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>

namespace lb::core {

using Ms = std::chrono::milliseconds;

// A monotonic instant counted in milliseconds from an arbitrary epoch (process start, or 0 in
// simulations).
struct MonoClockTag {
  using rep = std::int64_t;
  using period = std::milli;
  using duration = Ms;
  using time_point = std::chrono::time_point<MonoClockTag, Ms>;
  static constexpr bool is_steady = true;
};
using TimePoint = MonoClockTag::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

using TimerId = std::uint64_t;

// Runs callbacks at given instants. Callbacks run one at a time, never re-entrantly from
// schedule() or cancel().
class Scheduler : public Clock {
 public:
  virtual TimerId schedule_at(TimePoint when, std::function<void()> fn) = 0;
  // Cancelling an unknown or already-run timer is a no-op.
  virtual void cancel(TimerId id) = 0;
};

// Simulated time: nothing sleeps; advance() runs every timer due, in (time, creation) order,
// and sets now() to each timer's instant before running it.
class SimScheduler final : public Scheduler {
 public:
  explicit SimScheduler(TimePoint start = TimePoint{}) : now_(start) {}
  TimePoint now() const override { return now_; }
  TimerId schedule_at(TimePoint when, std::function<void()> fn) override;
  void cancel(TimerId id) override;

  void advance(Ms by) { run_until(now_ + by); }
  void run_until(TimePoint until);
  // Runs the next due timer, whatever its time; false when none is pending.
  bool run_next();
  bool idle() const { return timers_.empty(); }
  // Instant of the earliest pending timer (now() when none).
  TimePoint next_due() const;

 private:
  struct Key {
    TimePoint when;
    TimerId id;
    bool operator<(const Key& o) const { return when != o.when ? when < o.when : id < o.id; }
  };
  TimePoint now_;
  TimerId next_id_ = 1;
  std::map<Key, std::function<void()>> timers_;
  std::map<TimerId, TimePoint> index_;
};

}  // namespace lb::core
