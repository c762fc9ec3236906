#pragma once
// HAProxy's health counter (src/check.c, src/server.c): one bounded integer per server.
// 0..rise-1 is DOWN, rise..rise+fall-1 is UP. Counting here; acting on a transition is the
// engine's job.
#include "lb/core/check/status.hpp"

namespace lb::core {

enum class Transition { None, WentUp, WentDown, WentStopping };

struct IntervalParams {
  Ms inter{2000};
  std::optional<Ms> fastinter, downinter;
};

class Health {
 public:
  // A server starts at `rise`: UP, but one failure drops it to 0 (DOWN); `disabled` starts at 0.
  Health(int rise, int fall, bool start_down = false)
      : rise_(rise), fall_(fall), value_(start_down ? 0 : rise), up_(!start_down) {}

  int rise() const { return rise_; }
  int fall() const { return fall_; }
  int value() const { return value_; }
  int max() const { return rise_ + fall_ - 1; }
  // The state the server is in (it changes only on the transitions returned below).
  bool up() const { return up_; }
  bool stopping() const { return stopping_; }

  // Applies one finished check; returns the server transition it causes.
  Transition record(CheckVerdict v, bool disable_on_404_applies = false) {
    if (v == CheckVerdict::Failed) {
      if (value_ > 0) {
        --value_;
        if (value_ < rise_) value_ = 0;
      }
      if (value_ == 0 && up_) {
        up_ = false;
        stopping_ = false;
        return Transition::WentDown;
      }
      return Transition::None;
    }
    if (v == CheckVerdict::Passed || v == CheckVerdict::ConditionallyPassed) {
      if (value_ < max()) {
        ++value_;
        if (value_ >= rise_) value_ = max();
      }
      if (v == CheckVerdict::ConditionallyPassed && disable_on_404_applies && up_ && !stopping_) {
        stopping_ = true;
        return Transition::WentStopping;
      }
      if (value_ >= rise_ && (!up_ || (stopping_ && v == CheckVerdict::Passed))) {
        up_ = true;
        stopping_ = false;
        return Transition::WentUp;
      }
    }
    return Transition::None;
  }

  // Maintenance stops the counting at 0 (DOWN); leaving it starts again at `rise`: UP, with one
  // failure away from DOWN, as HAProxy leaves maintenance ("start OK but check immediately").
  void enter_maintenance() {
    value_ = 0;
    up_ = stopping_ = false;
  }
  void leave_maintenance() {
    value_ = rise_;
    up_ = true;
    stopping_ = false;
  }

  // The delay before the next check (HAProxy's srv_getinter): inter when fully UP, downinter
  // when fully DOWN, fastinter while moving between the two.
  Ms next_interval(const IntervalParams& p) const {
    if (value_ == max()) return p.inter;
    if (!up_ && value_ == 0) return p.downinter.value_or(p.inter);
    return p.fastinter.value_or(p.inter);
  }

 private:
  int rise_;
  int fall_;
  int value_;
  bool up_;
  bool stopping_ = false;
};

}  // namespace lb::core
