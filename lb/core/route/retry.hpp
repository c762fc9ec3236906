#pragma once
// What HAProxy 2.6 does after a connect to a server failed (stream.c, back_handle_st_cer): retry
// at most `retries` times, and with `option redispatch` move the retry to another server when the
// server is no longer usable, on the retries the redispatch interval names (P > 0: every Pth;
// N < 0: the Nth before the last), and always while more than one active server is usable, since
// lb has no persistence to keep a request on its server. The proxy and the simulated world both
// decide with it.
#include <cstddef>

#include "lb/core/config/model.hpp"
#include "lb/core/route/backends.hpp"

namespace lb::core {

// `retries_done`: the retries made so far, this one included.
bool redispatch_on_retry(const ProxyConfig& backend_config, const Backends& backends, ServerKey server,
                         int retries_done);

}  // namespace lb::core
