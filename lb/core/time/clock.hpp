#pragma once
// Time as data: the core reads time only through Clock and waits only through Scheduler,
// so the same code runs on simulated milliseconds (SimScheduler) and on Asio timers (lb/net).
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>

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

// A wake-up owned by whoever needs it. Destroying it cancels it; there is no id to look up.
// Its callback may re-arm it or destroy it.
class Timer {
 public:
  virtual ~Timer() = default;
  // Arming again replaces the previous expiry. An instant in the past fires as soon as possible.
  virtual void arm_at(TimePoint when) = 0;
  // After this returns the callback will not run for the previous arming, even if its expiry
  // has already been queued by the underlying loop.
  virtual void disarm() = 0;
  virtual bool armed() const = 0;
};

// Runs callbacks one at a time, never re-entrantly from make_timer(), arm_at(), disarm() or
// post(). A Scheduler outlives every Timer it made.
class Scheduler : public Clock {
 public:
  // One allocation, at creation; arming and disarming allocate nothing.
  virtual std::unique_ptr<Timer> make_timer(std::function<void()> on_fire) = 0;
  // Runs `fn` soon, after the current callback returns. Posted functions run in post order,
  // before any timer armed later for the same instant.
  virtual void post(std::function<void()> fn) = 0;
};

// Simulated time: nothing sleeps; advance() runs every timer due, in (time, arming order)
// order, and sets now() to each timer's instant before running it.
class SimScheduler final : public Scheduler {
 public:
  explicit SimScheduler(TimePoint start = TimePoint{}) : now_(start) {}
  ~SimScheduler() override;
  TimePoint now() const override { return now_; }
  std::unique_ptr<Timer> make_timer(std::function<void()> on_fire) override;
  void post(std::function<void()> fn) override;

  void advance(Ms by) { run_until(now_ + by); }
  void run_until(TimePoint until);
  // Runs the next due callback, whatever its time; false when none is pending.
  bool run_next();
  bool idle() const { return queue_.empty(); }
  // Instant of the earliest pending callback (now() when none).
  TimePoint next_due() const;

 private:
  class SimTimer;
  struct Key {
    TimePoint when;
    std::uint64_t seq;
    bool operator<(const Key& o) const { return when != o.when ? when < o.when : seq < o.seq; }
  };
  // A queued entry is either an armed timer (not owned) or a posted function (owned).
  struct Entry {
    SimTimer* timer = nullptr;
    std::function<void()> posted;
  };
  Key enqueue(TimePoint when, Entry e);
  void dequeue(const Key& k) { queue_.erase(k); }

  TimePoint now_;
  std::uint64_t next_seq_ = 1;
  std::map<Key, Entry> queue_;
};

}  // namespace lb::core
