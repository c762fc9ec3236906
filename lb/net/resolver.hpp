#pragma once
// Server names are resolved once, at start-up, as HAProxy does with its default `init-addr
// last,libc`: a name that does not resolve makes the configuration unusable.
#include <optional>
#include <string>
#include <vector>

#include "lb/core/config/model.hpp"
#include "lb/core/config/parser.hpp"

namespace lb::net {

// Every server whose address is a name that the system resolver cannot resolve, as HAProxy
// reports it ("'server apps/s1' : could not resolve address 'x'.").
std::vector<core::Diagnostic> unresolvable_servers(const core::Config& config);

// The first address of `host` in `family` (a literal is returned as is); nullopt if none.
std::optional<std::string> resolve_host(const std::string& host, core::AddressFamily family = core::AddressFamily::Any);

}  // namespace lb::net
