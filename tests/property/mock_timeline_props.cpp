// Timelines on simulated milliseconds: exact, no sleeps.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "mockserver/core/engine.hpp"
#include "mockserver/core/request.hpp"
#include "mockserver/core/schedule.hpp"

namespace mock::core {
namespace {

RC_GTEST_PROP(MockFlap, IsDownExactlyDutyTimesPeriodOfEveryPeriod, ()) {
  const auto period = *rc::gen::inRange<std::int64_t>(1, 400);
  const auto down = *rc::gen::inRange<std::int64_t>(0, period + 1);
  const auto offset = *rc::gen::inRange<std::int64_t>(0, 1000);
  const auto start = *rc::gen::inRange<std::int64_t>(0, 5000);  // any window of one period
  const TimeFlap f{Ms{period}, Ms{down}, Ms{offset}};
  std::int64_t on = 0;
  for (std::int64_t t = start; t < start + period; ++t) on += in_flap(f, Ms{t}) ? 1 : 0;
  RC_ASSERT(on == down);
}

RC_GTEST_PROP(MockFlap, NextChangeIsTheFirstInstantTheValueFlips, ()) {
  const auto period = *rc::gen::inRange<std::int64_t>(2, 200);
  const auto down = *rc::gen::inRange<std::int64_t>(1, period);
  const auto offset = *rc::gen::inRange<std::int64_t>(0, 500);
  const auto now = *rc::gen::inRange<std::int64_t>(0, 2000);
  const Schedule s{.flap = TimeFlap{Ms{period}, Ms{down}, Ms{offset}}};
  const auto next = next_change(s, Ms{now});
  RC_ASSERT(next.has_value());
  const bool before = in_flap(*s.flap, Ms{now});
  for (auto t = now + 1; t < next->count(); ++t) RC_ASSERT(in_flap(*s.flap, Ms{t}) == before);
  RC_ASSERT(in_flap(*s.flap, *next) != before);
}

RC_GTEST_PROP(MockFlap, RequestFlapFiresDownOfEveryPeriodRequests, ()) {
  const auto period = *rc::gen::inRange<std::uint64_t>(1, 50);
  const auto down = *rc::gen::inRange<std::uint64_t>(0, period + 1);
  const auto offset = *rc::gen::inRange<std::uint64_t>(0, 100);
  const auto first = *rc::gen::inRange<std::uint64_t>(1, 1000);
  const CountFlap f{period, down, offset};
  std::uint64_t on = 0;
  for (auto i = first; i < first + period; ++i) on += in_flap(f, i) ? 1 : 0;
  RC_ASSERT(on == down);
}

RC_GTEST_PROP(MockListener, NthRuleFiresOnExactlyTheNthMatchingRequest, ()) {
  const int n = *rc::gen::inRange(1, 20);
  const int total = *rc::gen::inRange(0, 40);
  Rule r;
  r.id = "nth";
  r.match.methods = {"OPTIONS"};
  r.schedule.matches = Range{static_cast<std::uint64_t>(n), static_cast<std::uint64_t>(n)};
  r.respond.status = 500;
  Listener l(ListenerSpec{.name = "s1", .rules = {r}}, TimePoint{});
  RequestParser check, other;
  check.parse("OPTIONS / HTTP/1.0\r\n\r\n");
  other.parse("GET / HTTP/1.1\r\n\r\n");
  Decision d;
  int checks = 0;
  for (int i = 0; i < total; ++i) {
    const bool is_check = *rc::gen::arbitrary<bool>();
    l.on_request((is_check ? check : other).request(), TimePoint{}, d);
    if (is_check) ++checks;
    RC_ASSERT((d.status == 500) == (is_check && checks == n));
  }
}

}  // namespace
}  // namespace mock::core
