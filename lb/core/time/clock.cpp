#include "lb/core/time/clock.hpp"

namespace lb::core {

TimerId SimScheduler::schedule_at(TimePoint when, std::function<void()> fn) {
  if (when < now_) when = now_;
  const TimerId id = next_id_++;
  timers_.emplace(Key{when, id}, std::move(fn));
  index_.emplace(id, when);
  return id;
}

void SimScheduler::cancel(TimerId id) {
  const auto it = index_.find(id);
  if (it == index_.end()) return;
  timers_.erase(Key{it->second, id});
  index_.erase(it);
}

bool SimScheduler::run_next() {
  if (timers_.empty()) return false;
  auto node = timers_.extract(timers_.begin());
  index_.erase(node.key().id);
  if (node.key().when > now_) now_ = node.key().when;
  node.mapped()();
  return true;
}

void SimScheduler::run_until(TimePoint until) {
  while (!timers_.empty() && timers_.begin()->first.when <= until) run_next();
  if (until > now_) now_ = until;
}

TimePoint SimScheduler::next_due() const {
  return timers_.empty() ? now_ : timers_.begin()->first.when;
}

}  // namespace lb::core
