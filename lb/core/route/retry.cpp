#include "lb/core/route/retry.hpp"

namespace lb::core {

bool redispatch_on_retry(const ProxyConfig& p, const Backends& backends, ServerKey server, int retries_done) {
  const int interval = p.redispatch_interval;
  if (!p.redispatch || interval == 0) return false;
  if (!backends.usable(server)) return true;
  if (interval > 0 && retries_done % interval == 0) return true;
  if (const int every = p.retries + 1 + interval; interval < 0 && every > 0 && retries_done % every == 0) return true;
  return backends.counts(server.proxy).active > 1;
}

}  // namespace lb::core
