#include "mockserver/core/schedule.hpp"

#include <algorithm>

namespace mock::core {

namespace {

// Floor modulo: the flap's phase is well defined before `offset` too.
std::int64_t mod(std::int64_t a, std::int64_t m) {
  const auto r = a % m;
  return r < 0 ? r + m : r;
}

void earliest(std::optional<Ms>& best, Ms candidate) {
  if (!best || candidate < *best) best = candidate;
}

}  // namespace

bool in_flap(const TimeFlap& f, Ms elapsed) {
  if (f.period.count() <= 0) return false;
  return mod((elapsed - f.offset).count(), f.period.count()) < f.down.count();
}

bool in_flap(const CountFlap& f, std::uint64_t index) {
  if (f.period == 0 || index == 0) return false;
  const auto shifted = static_cast<std::int64_t>(index - 1) - static_cast<std::int64_t>(f.offset);
  return static_cast<std::uint64_t>(mod(shifted, static_cast<std::int64_t>(f.period))) < f.down;
}

bool active(const Schedule& s, const ListenerCounters& lc, const RuleCounters& rc, Ms elapsed) {
  if (s.matches && !s.matches->contains(rc.matches)) return false;
  if (s.requests && !s.requests->contains(lc.requests)) return false;
  if (s.probes && !s.probes->contains(lc.probes)) return false;
  if (s.times && rc.fired >= *s.times) return false;
  if (s.every && (*s.every == 0 || rc.matches % *s.every != 0)) return false;
  if (s.from && elapsed < *s.from) return false;
  if (s.until && elapsed >= *s.until) return false;
  if (s.flap && !in_flap(*s.flap, elapsed)) return false;
  if (s.flap_requests && !in_flap(*s.flap_requests, lc.requests)) return false;
  if (s.probability && seeded_unit(s.seed, rc.matches) >= *s.probability) return false;
  return true;
}

std::optional<Ms> next_change(const Schedule& s, Ms elapsed) {
  std::optional<Ms> best;
  if (s.from && *s.from > elapsed) earliest(best, *s.from);
  if (s.until && *s.until > elapsed) earliest(best, *s.until);
  if (s.flap && s.flap->period.count() > 0 && s.flap->down.count() > 0 &&
      s.flap->down < s.flap->period) {
    const auto p = s.flap->period.count();
    const auto phase = mod((elapsed - s.flap->offset).count(), p);
    const auto cycle_start = elapsed.count() - phase;
    // Boundaries inside one cycle are at phase 0 (goes on) and phase `down` (goes off).
    const auto next = phase < s.flap->down.count() ? cycle_start + s.flap->down.count()
                                                   : cycle_start + p;
    earliest(best, Ms{next});
  }
  return best;
}

}  // namespace mock::core
