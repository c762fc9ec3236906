// mockserver: CLI only. Parse flags, merge them into one Spec, run the server.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>

#include "mockserver/core/cli.hpp"
#include "mockserver/core/spec.hpp"
#include "mockserver/net/server.hpp"

namespace {

constexpr const char* kExamples = R"(Examples:
  # one backend on a free port; prints 'listening s1 127.0.0.1:PORT' then 'ready'
  mockserver --listen s1=127.0.0.1:0

  # 500 on OPTIONS (HAProxy's default health check), 200 for everything else
  mockserver --listen s1=127.0.0.1:8081 --rule 's1: method=OPTIONS -> status 500'

  # hang past 2000 ms: read the request, never answer
  mockserver --listen s1=127.0.0.1:8081 --fault s1=hang
  mockserver --listen s1=127.0.0.1:8081 --rule 's1: -> status 200 delay=2500'

  # refuse connections (ECONNREFUSED), or drop SYNs so connects time out
  mockserver --listen s1=127.0.0.1:8081 --fault s1=refuse
  mockserver --listen s1=127.0.0.1:8081 --fault s1=blackhole

  # the 3rd health check gets 500; down 5 s every 20 s; refuse after 10 requests
  mockserver --listen s1=127.0.0.1:0 --rule 's1: method=OPTIONS nth=3 -> status 500'
  mockserver --listen s1=127.0.0.1:0 --rule 's1: flap=20000/5000 -> refuse'
  mockserver --listen s1=127.0.0.1:0 --rule 's1: after=10 -> refuse'

  # two backends from a file, live control on an admin port
  mockserver -f spec.json --admin 127.0.0.1:9000
  curl -X PATCH -d '{"mode":"refuse"}' 127.0.0.1:9000/v1/listeners/s1
  curl '127.0.0.1:9000/v1/journal?listener=s1&method=OPTIONS'

  mockserver --check -f spec.json      # validate only: exit 0, or 2 with field-named errors
  mockserver --list-faults

Rules: 'NAME: [CONDITION ...] -> status CODE [OPTION ...] | FAULT [PARAM ...]'
  conditions: method=GET,HEAD path=/x path^=/prefix path~=regex header=Name[:value] id=ID
              nth=N matches=A..B requests=A..B probes=A..B after=N times=N every=K
              at_ms=A..B after_ms=T flap=PERIOD/DOWN[/OFFSET] flap_requests=PERIOD/DOWN
  options:    reason=TEXT|none body="TEXT with {name} {method} {path}" header=Name:value
              delay=MS chunk_bytes=N chunk_delay=MS chunked=true
Exit codes: 0 success, 1 runtime failure, 2 bad usage or input. Docs: docs/mockserver.md)";

std::string read_all(const std::string& path, bool& ok) {
  std::ifstream in(path, std::ios::binary);
  ok = static_cast<bool>(in);
  return {std::istreambuf_iterator<char>(in), {}};
}

mock::core::ListenerSpec* find(mock::core::Spec& spec, std::string_view name) {
  for (auto& l : spec.listeners)
    if (l.name == name) return &l;
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"mockserver - a programmable misbehaving HTTP/1.1 backend (rules, faults, timelines,\n"
               "live control API, journal)"};
  app.footer(kExamples);
  std::vector<std::string> listens, rules, faults;
  std::string file, admin;
  bool check = false, list_faults = false;
  std::size_t journal_limit = 0;
  app.add_option("--listen", listens, "NAME=ADDR:PORT, repeatable; port 0 picks a free port")
      ->type_name("NAME=ADDR:PORT");
  app.add_option("-f,--file", file, "JSON spec: listeners, rules, faults, timelines")->type_name("FILE");
  app.add_option("--rule", rules, "'NAME: CONDITIONS -> ACTION', repeatable, appended in order")
      ->type_name("RULE");
  app.add_option("--fault", faults, "NAME=FAULT[ PARAM=VALUE...]: fault for every connection")
      ->type_name("NAME=FAULT");
  app.add_option("--admin", admin, "control API (JSON over HTTP) on ADDR:PORT")->type_name("ADDR:PORT");
  auto* jl = app.add_option("--journal-limit", journal_limit, "journal ring size (default 10000, 0 = off)");
  std::int64_t idle_ms = 0;
  std::size_t max_conns = 0;
  auto* it = app.add_option("--idle-timeout-ms", idle_ms,
                            "close a connection that has not sent a full request after MS "
                            "(default 60000, 0 = never)")
                 ->check(CLI::Range(std::int64_t{0}, std::int64_t{365} * 24 * 3600 * 1000));
  auto* mc = app.add_option("--max-connections", max_conns,
                            "open connections per listener before it stops accepting (default 10000)")
                 ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}));
  std::string timeline_start;
  auto* ts = app.add_option("--timeline-start", timeline_start,
                            "where at_ms/after_ms/flap timelines start: 'start' (default) or "
                            "'first-connection' (the first connection any listener accepts)")
                 ->check(CLI::IsMember({"start", "first-connection"}))
                 ->type_name("WHEN");
  app.add_flag("--check", check, "validate the spec and flags, print every error, exit 0 or 2");
  app.add_flag("--list-faults", list_faults, "print the fault catalogue and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }

  if (list_faults) {
    for (const auto& f : mock::core::fault_table()) fmt::print("{:<22}{}\n", f.name, f.summary);
    return 0;
  }

  std::vector<std::string> errors;
  mock::core::Spec spec;
  if (!file.empty()) {
    bool ok = false;
    const std::string text = read_all(file, ok);
    if (!ok) {
      fmt::print(stderr, "mockserver: cannot read {}\n", file);
      return 2;
    }
    auto decoded = mock::core::decode_spec_text(text);
    if (decoded) {
      spec = std::move(*decoded);
    } else {
      for (const auto& e : decoded.error()) errors.push_back(fmt::format("{}: {}", file, e.to_string()));
    }
  }
  for (const auto& l : listens) {
    auto parsed = mock::core::parse_listen_arg(l);
    if (!parsed) {
      errors.push_back(parsed.error());
      continue;
    }
    if (auto* existing = find(spec, parsed->first)) {
      existing->listen = parsed->second;
    } else {
      spec.listeners.push_back({.name = parsed->first, .listen = parsed->second});
    }
  }
  for (const auto& f : faults) {
    auto parsed = mock::core::parse_fault_arg(f);
    if (!parsed) {
      errors.push_back(parsed.error());
    } else if (auto* l = find(spec, parsed->first)) {
      l->fault = parsed->second;
    } else {
      errors.push_back(fmt::format("--fault '{}': no listener '{}' (add --listen {}=ADDR:PORT)", f,
                                   parsed->first, parsed->first));
    }
  }
  for (const auto& r : rules) {
    const auto colon = r.find(':');
    auto* l = find(spec, std::string_view(r).substr(0, colon));
    auto parsed = mock::core::parse_rule_arg(r, l ? l->rules.size() : 0);
    if (!parsed) {
      errors.push_back(parsed.error());
    } else if (!l) {
      errors.push_back(fmt::format("--rule '{}': no listener '{}'", r, parsed->first));
    } else if (std::any_of(l->rules.begin(), l->rules.end(), [&](auto& x) { return x.id == parsed->second.id; })) {
      errors.push_back(fmt::format("--rule '{}': duplicate rule id '{}'", r, parsed->second.id));
    } else {
      l->rules.push_back(std::move(parsed->second));
    }
  }
  if (!admin.empty()) {
    if (auto e = mock::core::parse_endpoint(admin)) spec.admin = *e;
    else errors.push_back(fmt::format("--admin '{}': expected ADDR:PORT such as 127.0.0.1:0", admin));
  }
  if (*jl) spec.journal_limit = journal_limit;
  if (*it) spec.idle_timeout = mock::core::Ms{idle_ms};
  if (*mc) spec.max_connections = max_conns;
  if (*ts) spec.timeline_start = *mock::core::timeline_start_from_name(timeline_start);
  if (spec.listeners.empty() && errors.empty())
    errors.emplace_back("nothing to serve: give --listen NAME=ADDR:PORT or -f FILE (see --help)");

  if (!errors.empty()) {
    for (const auto& e : errors) fmt::print(stderr, "mockserver: {}\n", e);
    return 2;
  }
  if (check) {
    std::size_t n = 0;
    for (const auto& l : spec.listeners) n += l.rules.size();
    fmt::print("ok: {} listener(s), {} rule(s)\n", spec.listeners.size(), n);
    return 0;
  }

  try {
    mock::net::Server server(std::move(spec));
    for (const auto& [name, addr] : server.listening()) fmt::print("listening {} {}\n", name, addr);
    if (const auto a = server.admin(); !a.empty()) fmt::print("admin {}\n", a);
    fmt::print("ready\n");
    std::fflush(stdout);
    server.run();
  } catch (const std::exception& e) {
    fmt::print(stderr, "mockserver: {}\n", e.what());
    return 1;
  }
  return 0;
}
