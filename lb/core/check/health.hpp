#pragma once
// HAProxy's health counter (src/check.c): one bounded integer per checked server. 0..rise-1
// counts towards UP, rise..rise+fall-1 is "checks say UP". The counter only says what the checks
// report (check_notify_success/failure/stopping); the server's state is the engine's, because the
// Runtime API and maintenance change it without a check.
#include "lb/core/check/status.hpp"

namespace lb::core {

// What a finished check asks of the server (HAProxy's check_notify_*). The engine applies it
// unless the server is in maintenance, and it changes nothing when the server is already there.
enum class CheckNotify { None, Failure, Success, Stopping };

struct IntervalParams {
  Ms inter{2000};
  std::optional<Ms> fastinter, downinter;
};

class Health {
 public:
  // A server starts at `rise`: UP, but one failure drops it to 0 (DOWN); `disabled` starts at 0.
  Health(int rise, int fall, bool start_down = false) : rise_(rise), fall_(fall), value_(start_down ? 0 : rise) {}

  int rise() const { return rise_; }
  int fall() const { return fall_; }
  int value() const { return value_; }
  int max() const { return rise_ + fall_ - 1; }
  bool passing() const { return value_ >= rise_; }

  // Applies one finished check. `conditional_applies`: http-check disable-on-404 is on and the
  // server is not DOWN, so a conditional pass makes it stopping rather than UP.
  CheckNotify record(CheckVerdict v, bool conditional_applies = false) {
    if (v == CheckVerdict::Failed) {
      if (value_ > 0) {
        --value_;
        if (value_ < rise_) value_ = 0;
      }
      return value_ == 0 ? CheckNotify::Failure : CheckNotify::None;
    }
    if (v == CheckVerdict::Passed || v == CheckVerdict::ConditionallyPassed) {
      if (value_ < max()) {
        ++value_;
        if (value_ >= rise_) value_ = max();
      }
      if (!passing()) return CheckNotify::None;
      return v == CheckVerdict::ConditionallyPassed && conditional_applies ? CheckNotify::Stopping
                                                                             : CheckNotify::Success;
    }
    return CheckNotify::None;
  }

  // Set from outside the checks: maintenance (0 on entering, `rise` on leaving: "start OK but
  // check immediately") and `set server health up|stopping|down` (max or 0).
  void set(int value) { value_ = value < 0 ? 0 : (value > max() ? max() : value); }

  // The delay before the next check (HAProxy's srv_getinter): inter when fully UP, downinter
  // when fully DOWN, fastinter while moving between the two.
  Ms next_interval(const IntervalParams& p, bool server_down) const {
    if (value_ == max()) return p.inter;
    if (server_down && value_ == 0) return p.downinter.value_or(p.inter);
    return p.fastinter.value_or(p.inter);
  }

 private:
  int rise_;
  int fall_;
  int value_;
};

}  // namespace lb::core
