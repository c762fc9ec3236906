#pragma once
// How many idle keep-alive connections a server's pool keeps, as HAProxy 2.6 sizes it
// (server.c: srv_add_to_idle_list, srv_cleanup_idle_conns): from the connections in use now,
// the most in use since the last purge, and an estimate of what the server needs.
#include <algorithm>

namespace lb::core {

struct IdleNeed {
  int used = 0, max_used = 0, est_need = 0;

  void taken() { max_used = std::max(max_used, ++used); }
  void given_back() { --used; }
  // Whether a connection coming back (still counted in `used`) joins the `idle` ones: the first
  // idle one always does, the next ones while the server's connections, in use and idle, stay
  // within what it was seen to need. HAProxy's srv_add_to_idle_list caps them at
  // max(used, est_need); lb caps them at the purge's target, max(max_used, est_need), which
  // keeps more in the first period, before any estimate: HAProxy's sessions hold their own
  // connection between requests, lb's give it back to the pool and take one again.
  bool keeps(int idle) const { return idle == 0 || used + idle <= std::max(max_used, est_need); }
  // Every pool-purge-delay: how many of the `idle` ones to close (half of what exceeds the
  // need, rounded up); the estimate follows the last period's peak. A pool with none idle is
  // not looked at.
  int purge(int idle) {
    if (idle == 0) return 0;
    const int exceed = used + idle - std::max(max_used, est_need);
    est_need = std::max((est_need + max_used) / 2, max_used);
    max_used = used;
    return exceed > 0 ? exceed / 2 + (exceed & 1) : 0;
  }
};

}  // namespace lb::core
