// Any bytes on a Runtime API connection: the CLI framing (commands cut at LF and ';', escapes,
// prompt mode, levels) and every command's argument handling never crash or hang, whatever
// order of state changes the bytes ask for, and the engine's counts stay what its servers' states
// say. The first byte picks the socket's level; the rest arrives in chunks cut at 0xff bytes,
// with simulated time moving on between them so checks run in between.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "lb/core/api/runtime_api.hpp"
#include "lb/core/config/parser.hpp"
#include "lb/core/dns/resolution.hpp"
#include "lb/core/sim/sim_prober.hpp"

namespace {

constexpr std::string_view kConfig = R"(global
    stats socket /tmp/never-bound.sock level admin
defaults
    mode http
    timeout connect 1s
    timeout client 1s
    timeout server 1s
backend apps
    option httpchk
    default-server inter 100ms fall 2 rise 2
    server s1 127.0.0.1:9001 check
    server s2 127.0.0.1:9002 check weight 50
    server s3 127.0.0.1:9003 check backup
    server s4 127.0.0.1:9004
    server s5 app.lbh.test:9005 check init-addr none disabled
backend empty
)";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto parsed = lb::core::parse_config(kConfig, "fuzz.cfg");
  if (!parsed.ok()) std::abort();
  if (size == 0) return 0;
  using namespace lb::core;
  const Config config = with_start_addresses(parsed.config);
  SimScheduler sched;
  SimProber prober(sched);
  prober.set({"127.0.0.1", 9001}, SimBehavior::http(200, "OK"));
  prober.set({"127.0.0.1", 9002}, SimBehavior::http(503, "No"));
  Backends backends(config);
  std::unique_ptr<CheckEngine> engine;
  engine = std::make_unique<CheckEngine>(config, sched, prober, [&](const HealthEvent& e) { backends.follow(e, *engine); });
  RuntimeApi api(parsed.config, *engine, backends, sched);
  engine->start();
  const auto level = static_cast<cli::Level>(1 + data[0] % 3);
  cli::Connection conn(level, api.handler());
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  while (!rest.empty() && !conn.done()) {
    const auto cut = rest.find('\xff');
    conn.feed(rest.substr(0, cut));
    rest = cut == std::string_view::npos ? std::string_view() : rest.substr(cut + 1);
    sched.advance(Ms{150});
    const auto counts = engine->counts(0);
    int usable = 0;
    for (std::size_t i = 0; i < config.proxies[0].servers.size(); ++i) usable += engine->status({0, i}).usable();
    if (counts.active + counts.backup != usable) std::abort();
  }
  return 0;
}
