#include "lb/core/time/clock.hpp"

#include <cassert>
#include <vector>

namespace lb::core {

class SimScheduler::SimTimer final : public Timer {
 public:
  SimTimer(SimScheduler& s, std::function<void()> fn)
      : sched_(s), fn_(std::make_shared<std::function<void()>>(std::move(fn))) {}
  ~SimTimer() override { disarm(); }
  void arm_at(TimePoint when) override {
    disarm();
    key_ = sched_.enqueue(when, Entry{this, {}});
    armed_ = true;
  }
  void disarm() override {
    if (!armed_) return;
    sched_.dequeue(key_);
    armed_ = false;
  }
  bool armed() const override { return armed_; }
  // Called by the scheduler once the entry has left the queue.
  // The callback may destroy this timer, so it runs from its own reference.
  void fire() {
    armed_ = false;
    const auto fn = fn_;
    (*fn)();
  }

 private:
  SimScheduler& sched_;
  std::shared_ptr<std::function<void()>> fn_;
  Key key_{};
  bool armed_ = false;
};

SimScheduler::~SimScheduler() {
  // Posted functions are dropped unrun. Dropping one may destroy timers (a connection that held
  // them), which then dequeue themselves: so empty the queue before destroying them.
  std::vector<std::function<void()>> dropped;
  for (auto& [k, e] : queue_) {
    assert(e.timer == nullptr && "a Timer outlived its SimScheduler");
    dropped.push_back(std::move(e.posted));
  }
  queue_.clear();
}

std::unique_ptr<Timer> SimScheduler::make_timer(std::function<void()> on_fire) {
  return std::make_unique<SimTimer>(*this, std::move(on_fire));
}

void SimScheduler::post(std::function<void()> fn) { enqueue(now_, Entry{nullptr, std::move(fn)}); }

SimScheduler::Key SimScheduler::enqueue(TimePoint when, Entry e) {
  const Key k{when < now_ ? now_ : when, next_seq_++};
  queue_.emplace(k, std::move(e));
  return k;
}

bool SimScheduler::run_next() {
  if (queue_.empty()) return false;
  auto node = queue_.extract(queue_.begin());
  if (node.key().when > now_) now_ = node.key().when;
  Entry& e = node.mapped();
  if (e.timer)
    e.timer->fire();
  else
    e.posted();
  return true;
}

void SimScheduler::run_until(TimePoint until) {
  while (!queue_.empty() && queue_.begin()->first.when <= until) run_next();
  if (until > now_) now_ = until;
}

TimePoint SimScheduler::next_due() const { return queue_.empty() ? now_ : queue_.begin()->first.when; }

}  // namespace lb::core
