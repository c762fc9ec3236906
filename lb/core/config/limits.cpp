#include "lb/core/config/limits.hpp"

#include <algorithm>

namespace lb::core {
namespace {

// HAProxy's descriptors besides listeners, checks and connections, measured on 2.6.12 with
// `haproxy -c`-valid files under low `ulimit -n` ("Cannot raise FD limit to N"): its 10 reserved
// at boot, the poller and its wake-up pipe (3 for one thread), and 3 more.
constexpr int kFixedReserve = 16;
constexpr int kDefaultMaxconn = 100;

}  // namespace

ConnectionLimits connection_limits(const Config& config, long fd_limit) {
  // Each `stats socket` is a listener too.
  long eaters = kFixedReserve + static_cast<long>(config.global.stats_sockets.size());
  for (const auto& p : config.proxies) {
    if (p.has_frontend_role()) eaters += static_cast<long>(p.binds.size());
    if (p.has_backend_role())
      eaters += std::count_if(p.servers.begin(), p.servers.end(), [](const ServerConfig& s) { return s.settings.check; });
  }
  ConnectionLimits out;
  out.maxconn = config.global.maxconn > 0
                    ? config.global.maxconn
                    : static_cast<int>(std::max<long>((fd_limit - eaters) / 2, kDefaultMaxconn));
  out.maxsock = static_cast<int>(eaters + 2L * out.maxconn);
  return out;
}

int frontend_maxconn(const ProxyConfig& frontend, const ConnectionLimits& limits) {
  return frontend.maxconn > 0 ? frontend.maxconn : limits.maxconn;
}

}  // namespace lb::core
