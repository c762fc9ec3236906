#pragma once
// How many connections the process takes and how many descriptors it reserves for them, as
// HAProxy 2.6 works them out at start-up (haproxy.c: compute_ideal_maxconn, compute_ideal_maxsock)
// for one thread without SSL: lb runs one loop, so the same file gets the same limits.
#include "lb/core/config/model.hpp"

namespace lb::core {

struct ConnectionLimits {
  int maxconn = 0;  // the global maxconn: the configured one, else what the fd limit allows
  int maxsock = 0;  // the descriptors the process needs; the fd limit must reach it
};

// `fd_limit`: RLIMIT_NOFILE as the process starts. Without `maxconn` in `global`, maxconn is what
// remains of it once listeners, checks and HAProxy's fixed reserve are set aside, halved (a proxied
// connection holds two sockets), and never below HAProxy's DEFAULT_MAXCONN of 100.
ConnectionLimits connection_limits(const Config& config, long fd_limit);

// A frontend's own limit: its `maxconn`, else the global one (as haproxy's proxy.c sets it).
int frontend_maxconn(const ProxyConfig& frontend, const ConnectionLimits& limits);

}  // namespace lb::core
