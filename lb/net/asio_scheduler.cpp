#include "lb/net/asio_scheduler.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

namespace lb::net {
namespace {

std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A steady_timer plus a generation: a completion whose generation is no longer current (the
// timer was re-armed, disarmed or destroyed after Asio had already queued the expiry) is
// dropped. The shared part outlives the Timer while a completion is pending.
class AsioTimer final : public core::Timer {
 public:
  AsioTimer(const AsioScheduler& sched, std::function<void()> fn)
      : sched_(sched), timer_(sched.io()), shared_(std::make_shared<Shared>()) {
    shared_->fn = std::move(fn);
  }
  ~AsioTimer() override {
    ++shared_->generation;
    shared_->armed = false;
  }
  void arm_at(core::TimePoint when) override {
    timer_.expires_at(sched_.to_steady(when));
    const auto gen = ++shared_->generation;
    shared_->armed = true;
    timer_.async_wait([s = shared_, gen](const boost::system::error_code& ec) {
      if (ec || s->generation != gen) return;
      s->armed = false;
      const auto fn = s;  // the callback may destroy the timer; `s` keeps fn alive
      fn->fn();
    });
  }
  void disarm() override {
    ++shared_->generation;
    shared_->armed = false;
    timer_.cancel();
  }
  bool armed() const override { return shared_->armed; }

 private:
  struct Shared {
    std::function<void()> fn;
    std::uint64_t generation = 0;
    bool armed = false;
  };
  const AsioScheduler& sched_;
  boost::asio::steady_timer timer_;
  std::shared_ptr<Shared> shared_;
};

}  // namespace

AsioScheduler::AsioScheduler(boost::asio::io_context& io) : io_(io), epoch_ns_(steady_ns()) {}

core::TimePoint AsioScheduler::now() const { return core::TimePoint{core::Ms{(steady_ns() - epoch_ns_) / 1'000'000}}; }

std::unique_ptr<core::Timer> AsioScheduler::make_timer(std::function<void()> on_fire) {
  return std::make_unique<AsioTimer>(*this, std::move(on_fire));
}

std::chrono::steady_clock::time_point AsioScheduler::to_steady(core::TimePoint t) const {
  return std::chrono::steady_clock::time_point{std::chrono::nanoseconds{epoch_ns_} + t.time_since_epoch()};
}

void AsioScheduler::post(std::function<void()> fn) { boost::asio::post(io_, std::move(fn)); }

}  // namespace lb::net
