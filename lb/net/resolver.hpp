#pragma once
// The system resolver (libc), as HAProxy's `init-addr libc` uses it at start-up.
#include <optional>
#include <string>
#include <vector>

#include "lb/core/config/model.hpp"
#include "lb/core/config/parser.hpp"

namespace lb::net {

// The first address of `host` in `family` (a literal is returned as is); nullopt if none.
std::optional<std::string> resolve_host(const std::string& host, core::AddressFamily family = core::AddressFamily::Any);

// This machine's host name (gethostname), as haproxy names the node; "localhost" if it has none.
std::string local_host_name();

}  // namespace lb::net
