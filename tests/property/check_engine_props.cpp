// The check engine against a reference model of HAProxy's counter and timers: for random
// rise/fall/inter/fastinter/downinter and random backend behaviour per check, every UP/DOWN
// transition must happen at the same simulated millisecond, with the same reason.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "lb/core/check/check_engine.hpp"
#include "lb/core/config/parser.hpp"
#include "lb/core/sim/sim_prober.hpp"

namespace lb::core {
namespace {

enum class Outcome { Pass, WrongStatus, Hang, Refuse };

struct Probe {
  Outcome outcome;
  int delay_ms;  // answer delay for Pass/WrongStatus
};

struct Params {
  int rise, fall, inter, timeout_check;
  std::optional<int> fastinter, downinter;  // unset: HAProxy falls back to inter
};

struct Transition {
  bool up;
  long at;
  std::string reason;
  bool operator==(const Transition&) const = default;
};

// HAProxy 2.6's counter and scheduling, written straight from the fact sheet (§1, §2).
std::vector<Transition> model(const Params& p, const std::vector<Probe>& probes, long horizon) {
  std::vector<Transition> out;
  int health = p.rise;
  bool up = true;
  long start = 0;
  for (const auto& probe : probes) {
    if (start > horizon) break;
    long end = start;
    bool pass = false;
    std::string reason;
    switch (probe.outcome) {
      case Outcome::Pass:
        end = start + probe.delay_ms;
        pass = true;
        reason = fmt::format("Layer7 check passed, code: 200, check duration: {}ms", probe.delay_ms);
        break;
      case Outcome::WrongStatus:
        end = start + probe.delay_ms;
        reason = fmt::format("Layer7 wrong status, code: 503, info: \"Unavailable\", check duration: {}ms",
                             probe.delay_ms);
        break;
      case Outcome::Hang:  // connected at once; `timeout check` bounds the response
        end = start + p.timeout_check;
        reason = fmt::format("Layer7 timeout, check duration: {}ms", p.timeout_check);
        break;
      case Outcome::Refuse:
        reason = "Layer4 connection problem, info: \"Connection refused\", check duration: 0ms";
        break;
    }
    if (end > horizon) break;
    const int max = p.rise + p.fall - 1;
    if (pass) {
      if (health < max) health = health + 1 >= p.rise ? max : health + 1;
      if (health >= p.rise && !up) {
        up = true;
        out.push_back({true, end, reason});
      }
    } else {
      if (health > 0) health = health - 1 < p.rise ? 0 : health - 1;
      if (health == 0 && up) {
        up = false;
        out.push_back({false, end, reason});
      }
    }
    const int interval = health == max ? p.inter
                         : (!up && health == 0) ? p.downinter.value_or(p.inter)
                                                : p.fastinter.value_or(p.inter);
    start = end + interval;
  }
  return out;
}

RC_GTEST_PROP(CheckEngineModel, TransitionsAndTheirTimesMatchHaproxysCounter, ()) {
  Params p{};
  p.rise = *rc::gen::inRange(1, 6);
  p.fall = *rc::gen::inRange(1, 6);
  p.inter = *rc::gen::inRange(100, 3000);
  if (*rc::gen::arbitrary<bool>()) p.fastinter = *rc::gen::inRange(50, 3000);
  if (*rc::gen::arbitrary<bool>()) p.downinter = *rc::gen::inRange(50, 5000);
  p.timeout_check = *rc::gen::inRange(p.inter, 4000);  // >= inter: the deterministic regime
  const auto probes = *rc::gen::container<std::vector<Probe>>(rc::gen::build<Probe>(
      rc::gen::set(&Probe::outcome, rc::gen::element(Outcome::Pass, Outcome::WrongStatus, Outcome::Hang, Outcome::Refuse)),
      rc::gen::set(&Probe::delay_ms, rc::gen::inRange(0, 50))));

  const auto parsed = parse_config(fmt::format(R"(backend apps
    option httpchk
    timeout connect 5s
    timeout check {}
    server s1 10.0.0.1:80 check rise {} fall {} inter {}{}{}
)",
                                               p.timeout_check, p.rise, p.fall, p.inter,
                                               p.fastinter ? fmt::format(" fastinter {}", *p.fastinter) : "",
                                               p.downinter ? fmt::format(" downinter {}", *p.downinter) : ""),
                                   "prop.cfg");
  RC_ASSERT(parsed.ok());
  SimScheduler sched;
  SimProber prober(sched);
  prober.set({"10.0.0.1", 80}, [&](const ProbeTarget&, int attempt) {
    if (attempt > static_cast<int>(probes.size())) return SimBehavior::hang();
    const auto& probe = probes[static_cast<std::size_t>(attempt - 1)];
    switch (probe.outcome) {
      case Outcome::Pass: return SimBehavior::http(200, "OK", Ms{probe.delay_ms});
      case Outcome::WrongStatus: return SimBehavior::http(503, "Unavailable", Ms{probe.delay_ms});
      case Outcome::Hang: return SimBehavior::hang();
      case Outcome::Refuse: return SimBehavior::refuse();
    }
    return SimBehavior::hang();
  });
  std::vector<Transition> seen;
  CheckEngine engine(parsed.config, sched, prober, [&](const HealthEvent& e) {
    if (e.kind != HealthEvent::Kind::WentUp && e.kind != HealthEvent::Kind::WentDown) return;
    const std::string& text = e.line->text;
    const auto from = text.find(", reason: ") + 10;
    const auto to = text.find("ms. ") + 2;
    seen.push_back({e.kind == HealthEvent::Kind::WentUp, e.at.time_since_epoch().count(), text.substr(from, to - from)});
  });
  engine.start();
  // Run well past the last generated probe; later probes hang, which only fails further.
  long horizon = 0;
  for (const auto& probe : probes) horizon += probe.delay_ms + p.timeout_check + 5000;
  sched.run_until(TimePoint{Ms{horizon}});
  const auto expected = model(p, probes, horizon);
  // Transitions caused by the trailing hangs after the generated probes are not modelled.
  RC_ASSERT(seen.size() >= expected.size());
  seen.resize(expected.size());
  RC_ASSERT(seen == expected);
}

}  // namespace
}  // namespace lb::core
