#pragma once
// HAProxy 2.6's server-state file (src/server_state.c): the `show servers state` dump a reload
// script saves, read back when the new process starts so that servers keep their state (DOWN,
// MAINT, DRAIN, weight) instead of starting UP before their first check. Pure: the edge reads the
// files and prints the warnings.
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lb/core/check/check_engine.hpp"
#include "lb/core/config/model.hpp"
#include "lb/core/route/backends.hpp"

namespace lb::core {

// A file's text, or why it cannot be read ("No such file or directory").
struct StateFileText {
  std::optional<std::string> text;
  std::string error;
};
using StateFileReader = std::function<StateFileText(const std::string& path)>;
// The reader lb runs with: the file on disk.
StateFileText read_state_file(const std::string& path);

// The global file's path, and a backend's local one (`server-state-base` prepended to relative
// names), as HAProxy builds them.
std::string global_state_file(const Config& config);
std::string local_state_file(const Config& config, const ProxyConfig& backend);

// Applies the saved state to every backend that loads it (`load-server-state-from-file`), in
// configuration order, through `engine` and `backends`. `warn` gets HAProxy's warnings as they
// arise, between the engine's own lines ("config: Can't open global server state file '...': No
// such file or directory", "corrupted ... at line 3", "server-state application failed for server
// 'apps/s1', invalid srv_op_state value '7'").
void apply_server_state(const Config& config, const StateFileReader& read, CheckEngine& engine, Backends& backends,
                        const std::function<void(const std::string&)>& warn);

// What loading the state prints before anything runs, as `haproxy -c` prints it before its
// verdict: the loader's warnings and the engine's lines ("Server be/s1 is DOWN, changed from
// server-state after a reload. ..."), in order, from an engine that is never started.
std::vector<std::string> state_loading_lines(const Config& config, const StateFileReader& read);

}  // namespace lb::core
