#include "lb/net/asio_scheduler.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <map>
#include <optional>

namespace lb::net {
namespace {

std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

// Every timer of the scheduler in one ordered map, woken by a single Asio timer set to the
// earliest. Arming, re-arming and disarming are map operations: no Asio wait is started or
// cancelled per timer (each cancel would queue an aborted completion, one more pass of the
// loop), so a check that arms and disarms its deadline costs nothing in the reactor.
struct AsioScheduler::Queue {
  struct Entry {
    std::function<void()> fn;
    bool armed = false;
    std::map<std::pair<core::TimePoint, std::uint64_t>, std::shared_ptr<Entry>>::iterator pos;
  };
  using Key = std::pair<core::TimePoint, std::uint64_t>;  // due time, then arming order

  explicit Queue(AsioScheduler& s) : sched(s), wake(s.io()) {}

  void arm(const std::shared_ptr<Entry>& e, core::TimePoint when) {
    disarm(*e);
    e->pos = due.emplace(Key{when, next_seq++}, e).first;
    e->armed = true;
    wake_for(when);
  }
  // The wake-up stays set: a wake with nothing due only sets the next one.
  void disarm(Entry& e) {
    if (!e.armed) return;
    due.erase(e.pos);
    e.armed = false;
  }

  // As HAProxy's poller sleeps (fd.c, compute_poll_timeout): the whole milliseconds left from
  // the current millisecond, plus one. Timers so fire 1 to 2 ms after they are due, which is why
  // haproxy reports a 2 s check timeout as "check duration: 2001ms", and timers due within the
  // same millisecond or two run in one pass of the loop.
  void wake_for(core::TimePoint t) {
    if (wake_at && *wake_at <= t) return;
    wake_at = t;
    const auto now_ns = steady_ns();
    const auto now_ms = core::TimePoint{core::Ms{(now_ns - sched.epoch_ns()) / 1'000'000}};
    const auto sleep = t <= now_ms ? core::Ms{0} : (t - now_ms) + core::Ms{1};
    // A wait this replaces completes with an old generation.
    wake.expires_at(std::chrono::steady_clock::time_point{std::chrono::nanoseconds{now_ns}} + sleep);
    wake.async_wait([this, g = ++wake_generation](const boost::system::error_code&) {
      if (g != wake_generation) return;
      wake_at.reset();
      run_due();
    });
  }

  // Runs what is due, in due-time then arming order. Timers armed by these callbacks wait for
  // the next pass, even when already due, so that I/O gets its turn in between.
  void run_due() {
    const auto now = sched.now();
    const auto armed_before = next_seq;
    while (!due.empty()) {
      const auto it = due.begin();
      if (it->first.first > now || it->first.second >= armed_before) break;
      auto entry = it->second;  // alive through its callback, which may destroy its timer
      due.erase(it);
      entry->armed = false;
      entry->fn();
    }
    if (!due.empty()) wake_for(due.begin()->first.first);
  }

  AsioScheduler& sched;
  boost::asio::steady_timer wake;
  std::optional<core::TimePoint> wake_at;
  std::uint64_t wake_generation = 0;
  std::uint64_t next_seq = 0;
  std::map<Key, std::shared_ptr<Entry>> due;
};

namespace {

class AsioTimer final : public core::Timer {
 public:
  AsioTimer(AsioScheduler::Queue& q, std::function<void()> fn)
      : queue_(q), entry_(std::make_shared<AsioScheduler::Queue::Entry>()) {
    entry_->fn = std::move(fn);
  }
  ~AsioTimer() override { queue_.disarm(*entry_); }
  void arm_at(core::TimePoint when) override { queue_.arm(entry_, when); }
  void disarm() override { queue_.disarm(*entry_); }
  bool armed() const override { return entry_->armed; }

 private:
  AsioScheduler::Queue& queue_;
  std::shared_ptr<AsioScheduler::Queue::Entry> entry_;
};

}  // namespace

AsioScheduler::AsioScheduler(boost::asio::io_context& io)
    : io_(io), epoch_ns_(steady_ns()), queue_(std::make_unique<Queue>(*this)) {}

AsioScheduler::~AsioScheduler() = default;

core::TimePoint AsioScheduler::now() const { return core::TimePoint{core::Ms{(steady_ns() - epoch_ns_) / 1'000'000}}; }

std::unique_ptr<core::Timer> AsioScheduler::make_timer(std::function<void()> on_fire) {
  return std::make_unique<AsioTimer>(*queue_, std::move(on_fire));
}

void AsioScheduler::post(std::function<void()> fn) { boost::asio::post(io_, std::move(fn)); }

}  // namespace lb::net
