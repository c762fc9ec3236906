// Any bytes as a server-state file (the `show servers state` dump a reload script saves): the
// loader judges the version line, every line's fields and values, and applies what it keeps to
// the engine, without crashing, and the engine's counts stay what its servers' states say.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "lb/core/config/parser.hpp"
#include "lb/core/sim/sim_prober.hpp"
#include "lb/core/state/server_state.hpp"

namespace {

constexpr std::string_view kConfig = R"(global
    server-state-file /state
defaults
    mode http
    timeout connect 1s
    timeout client 1s
    timeout server 1s
    load-server-state-from-file global
backend apps
    option httpchk
    server s1 127.0.0.1:9001 check rise 1 fall 1
    server s2 127.0.0.1:9002 check weight 5
    server s3 127.0.0.1:9003 disabled check
    server s4 127.0.0.1:9004 backup
backend local
    load-server-state-from-file local
    server t1 127.0.0.1:9005 check
)";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto parsed = lb::core::parse_config(kConfig, "fuzz.cfg");
  if (!parsed.ok()) std::abort();
  using namespace lb::core;
  const std::string text(reinterpret_cast<const char*>(data), size);
  SimScheduler sched;
  SimProber prober(sched);
  Backends backends(parsed.config);
  std::unique_ptr<CheckEngine> engine;
  engine = std::make_unique<CheckEngine>(parsed.config, sched, prober, [&](const HealthEvent& e) { backends.follow(e, *engine); });
  apply_server_state(parsed.config, [&](const std::string&) { return StateFileText{text, {}}; }, *engine, backends, {});
  for (std::size_t pi = 0; pi < parsed.config.proxies.size(); ++pi) {
    int usable = 0;
    for (std::size_t si = 0; si < parsed.config.proxies[pi].servers.size(); ++si) usable += engine->status({pi, si}).usable();
    const auto c = engine->counts(pi);
    if (c.active + c.backup != usable || backends.counts(pi).active + backends.counts(pi).backup != usable) std::abort();
  }
  engine->start();
  sched.advance(Ms{3000});
  return 0;
}
