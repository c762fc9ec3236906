// Any sequence of Runtime API commands, interleaved with checks that pass or fail and with new
// requests, leaves lb consistent: the engine's usable counts are what its servers' states say,
// routing counts the same servers, a new request never goes to a server in maintenance, drained,
// DOWN or at weight 0, and when some server is usable a request is always placed.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "lb/core/api/runtime_api.hpp"
#include "lb/core/config/parser.hpp"
#include "lb/core/sim/sim_prober.hpp"

namespace lb::core {
namespace {

constexpr int kServers = 4;

std::string config_text(Balance balance) {
  std::string servers;
  for (int i = 0; i < kServers; ++i)
    servers += fmt::format("    server s{} 127.0.0.1:{} check weight {}{}\n", i, 9000 + i, i + 1, i == 3 ? " backup" : "");
  return fmt::format(R"(global
    stats socket /tmp/never-bound.sock level admin
defaults
    mode http
    timeout connect 1s
    timeout client 1s
    timeout server 1s
    timeout check 300ms
backend be
    balance {}
    option httpchk
    default-server inter 200ms fall 2 rise 2
{})",
                     balance == Balance::LeastConn ? "leastconn" : "roundrobin", servers);
}

// One step: an API command, a backend's health flipping, time passing, or a request routed.
struct Action {
  enum class Kind { Command, Health, Wait, Request } kind;
  std::string command;
  int server = 0;
  bool healthy = true;
  int ms = 0;
};

rc::Gen<std::string> command() {
  using namespace rc;
  const auto srv = gen::map(gen::inRange(0, kServers + 1), [](int i) { return fmt::format("be/s{}", i); });
  return gen::oneOf(
      gen::map(srv, [](std::string s) { return "disable server " + s; }),
      gen::map(srv, [](std::string s) { return "enable server " + s; }),
      gen::apply([](std::string s, int st) { return fmt::format("set server {} state {}", s, std::array{"ready", "drain", "maint", "bogus"}[st]); },
                 srv, gen::inRange(0, 4)),
      gen::apply([](std::string s, int w, bool pct) { return fmt::format("set server {} weight {}{}", s, w, pct ? "%" : ""); },
                 srv, gen::inRange(-1, 300), gen::arbitrary<bool>()),
      gen::apply([](std::string s, int h) { return fmt::format("set server {} health {}", s, std::array{"up", "stopping", "down"}[h]); },
                 srv, gen::inRange(0, 3)),
      gen::apply([](std::string s, bool on) { return fmt::format("{} health {}", on ? "enable" : "disable", s); }, srv,
                 gen::arbitrary<bool>()),
      gen::apply([](std::string s, int a) { return fmt::format("set server {} addr 127.0.0.{}", s, a); }, srv, gen::inRange(1, 3)),
      gen::map(srv, [](std::string s) { return "set weight " + s + " 0"; }));
}

rc::Gen<Action> action() {
  using namespace rc;
  return gen::oneOf(gen::map(command(), [](std::string c) { return Action{Action::Kind::Command, std::move(c)}; }),
                    gen::apply([](int s, bool h) { return Action{Action::Kind::Health, {}, s, h}; }, gen::inRange(0, kServers),
                               gen::arbitrary<bool>()),
                    gen::map(gen::inRange(1, 700), [](int ms) { return Action{Action::Kind::Wait, {}, 0, true, ms}; }),
                    gen::just(Action{Action::Kind::Request}));
}

RC_GTEST_PROP(RuntimeApiProps, AnyCommandSequenceLeavesCountsAndRoutingConsistent, ()) {
  const auto balance = *rc::gen::element(Balance::RoundRobin, Balance::LeastConn);
  const auto actions = *rc::gen::container<std::vector<Action>>(action());
  const auto parsed = parse_config(config_text(balance), "props.cfg");
  RC_ASSERT(parsed.ok());
  const Config& config = parsed.config;
  SimScheduler sched;
  SimProber prober(sched);
  std::array<bool, kServers> healthy{};
  healthy.fill(true);
  for (int i = 0; i < kServers; ++i)
    for (const auto* host : {"127.0.0.1", "127.0.0.2"})
      prober.set({host, static_cast<std::uint16_t>(9000 + i)},
                 [&healthy, i](const ProbeTarget&, int) { return healthy[i] ? SimBehavior::http(200, "OK") : SimBehavior::http(503, "No"); });
  Backends backends(config);
  std::unique_ptr<CheckEngine> engine;
  engine = std::make_unique<CheckEngine>(config, sched, prober, [&](const HealthEvent& e) { backends.follow(e, *engine); });
  RuntimeApi api(config, *engine, backends, sched);
  engine->start();

  for (const auto& a : actions) {
    switch (a.kind) {
      case Action::Kind::Command: {
        cli::Connection conn(cli::Level::Admin, api.handler());
        conn.feed(a.command + "\n");
        break;
      }
      case Action::Kind::Health:
        healthy[static_cast<std::size_t>(a.server)] = a.healthy;
        break;
      case Action::Kind::Wait:
        sched.advance(Ms{a.ms});
        break;
      case Action::Kind::Request: {
        const auto pick = backends.pick(0);
        if (!pick.server) break;
        const auto st = engine->status({0, *pick.server});
        RC_ASSERT(st.usable());
        RC_ASSERT(!(st.admin & (admin::kAnyMaint | admin::kAnyDrain)));
        RC_ASSERT(st.uweight > 0);
        backends.request_started({0, *pick.server});
        backends.request_finished({0, *pick.server});
        break;
      }
    }
    BackendCounts expected;
    for (int i = 0; i < kServers; ++i) {
      const auto st = engine->status({0, static_cast<std::size_t>(i)});
      if (st.usable()) ++(config.proxies[0].servers[static_cast<std::size_t>(i)].settings.backup ? expected.backup : expected.active);
      RC_ASSERT(st.uweight >= 0 && st.uweight <= 256);
      RC_ASSERT(st.health >= 0 && st.health <= st.rise + st.fall - 1);
      RC_ASSERT(backends.usable({0, static_cast<std::size_t>(i)}) == st.usable());
    }
    RC_ASSERT(engine->counts(0).active == expected.active);
    RC_ASSERT(engine->counts(0).backup == expected.backup);
    RC_ASSERT(backends.counts(0).active == expected.active);
    RC_ASSERT(backends.counts(0).backup == expected.backup);
    // Someone usable: a request is placed.
    if (expected.active + expected.backup > 0) RC_ASSERT(backends.pick(0).server.has_value());
  }
}

}  // namespace
}  // namespace lb::core
