// mockserver: CLI only. Parse flags, merge them into one Spec, run the server.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>

#include "lb/core/input_file.hpp"
#include "mockserver/core/cli.hpp"
#include "mockserver/core/dns.hpp"
#include "mockserver/core/spec.hpp"
#include "mockserver/net/server.hpp"
#include "mockserver/net/tls.hpp"

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

  # backends from a file (examples/mockserver/*.json), live control on an admin port
  mockserver -f examples/mockserver/seed-incidents.json --admin 127.0.0.1:9000
  curl -X PATCH -d '{"mode":"refuse"}' 127.0.0.1:9000/v1/listeners/s1
  curl '127.0.0.1:9000/v1/journal?listener=s1&method=OPTIONS'

  mockserver --check -f examples/mockserver/reference.json   # validate only: exit 0, or 2 with errors
  mockserver --list-faults

Rules: 'NAME: [CONDITION ...] -> status CODE [OPTION ...] | FAULT [PARAM ...]'
  conditions: method=GET,HEAD path=/x path^=/prefix path~=regex header=Name[:value] id=ID
              query=name[:value] body=TEXT body*=TEXT body~=REGEX json=/pointer:VALUE
              nth=N matches=A..B requests=A..B probes=A..B after=N times=N every=K
              at_ms=A..B after_ms=T flap=PERIOD/DOWN[/OFFSET] flap_requests=PERIOD/DOWN
              probability=P seed=N
  options:    reason=TEXT|none body="TEXT with {name} {method} {path}" header=Name:value
              delay=MS jitter=MS jitter_dist=uniform|normal rate=BYTES_PER_S
              chunk_bytes=N chunk_delay=MS chunked=true
Exit codes: 0 success, 1 runtime failure, 2 bad usage or input. Docs: docs/mockserver.md)";

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
  app.set_version_flag("--version", std::string("mockserver ") + LBH_VERSION);
  app.add_option("--listen", listens, "NAME=ADDR:PORT, repeatable; port 0 picks a free port")
      ->type_name("NAME=ADDR:PORT");
  app.add_option("-f,--file", file, "JSON spec: listeners, rules, faults, timelines")->type_name("FILE");
  app.add_option("--rule", rules, "'NAME: CONDITIONS -> ACTION', repeatable, appended in order")
      ->type_name("RULE");
  app.add_option("--fault", faults, "NAME=FAULT[ PARAM=VALUE...]: fault for every connection")
      ->type_name("NAME=FAULT");
  std::vector<std::string> upstreams, tls, dns_records, dns_faults;
  std::string dns_listen;
  app.add_option("--dns", dns_listen, "a DNS responder (UDP and TCP) on IP:PORT, answering from --dns-record")
      ->type_name("IP:PORT");
  app.add_option("--dns-record", dns_records,
                 "'NAME TYPE VALUE [ttl=N] [at_ms=A..B]', repeatable: A, AAAA, CNAME, or SRV with "
                 "'PRIORITY WEIGHT PORT TARGET'")
      ->type_name("RECORD");
  app.add_option("--dns-fault", dns_faults,
                 "'[NAME=]KIND [at_ms=A..B]', repeatable: nxdomain servfail refused no-answer truncated ttl-0 "
                 "wrong-id garbage")
      ->type_name("FAULT");
  app.add_option("--tls", tls,
                 "NAME=CERT,KEY (PEM files) or NAME=self-signed: listener NAME speaks TLS; faults "
                 "tls-handshake-failure, tls-slow-handshake, tls-wrong-cert, tls13-only act on its handshake")
      ->type_name("NAME=CERT,KEY");
  app.add_option("--upstream", upstreams,
                 "NAME=IP:PORT: a real server behind listener NAME; requests no rule answers are relayed "
                 "to it (rules act first: '-> proxy delay=MS rate=BYTES up_rate=BYTES' relays with faults on "
                 "the way)")
      ->type_name("NAME=IP:PORT");
  app.add_option("--admin", admin, "control API (JSON over HTTP) on ADDR:PORT")->type_name("ADDR:PORT");
  // Settings are judged by the spec file's decoder (mock::core::apply_setting_flags), so a
  // value is accepted or refused the same way in both.
  std::vector<std::pair<std::string, std::string>> settings;
  auto setting = [&](const char* flag, const char* type, const char* help) {
    app.add_option_function<std::string>(flag, [&settings, flag](const std::string& v) { settings.emplace_back(flag, v); },
                                         help)
        ->type_name(type);
  };
  setting("--journal-limit", "N", "journal ring size, 0 to 10000000 (default 10000; 0 = off)");
  setting("--idle-timeout-ms", "MS",
          "close a connection that has not sent a full request after MS, up to 365 days (default 60000, 0 = never)");
  setting("--max-connections", "N", "open connections per listener before it stops accepting, 1 to 1000000 (default 10000)");
  setting("--timeline-start", "WHEN",
          "where at_ms/after_ms/flap timelines start: 'start' (default) or 'first-connection' (the first "
          "connection any listener accepts)");
  bool log_requests = false;
  app.add_flag("--log", log_requests,
               "print a line per request (and per connection without one) on stdout: wall-clock time, "
               "listener, peer, request, outcome, rule");
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
    const auto input = lb::core::read_input_file(file);
    if (!input) {
      fmt::print(stderr, "mockserver: cannot read {}: {}\n", file, input.reason());
      return 2;
    }
    auto decoded = mock::core::decode_spec_text(input.text);
    if (decoded) {
      spec = std::move(*decoded);
    } else {
      for (const auto& e : decoded.error()) errors.push_back(fmt::format("{}: {}", file, e.to_string()));
    }
  }
  std::vector<std::string> listened;  // by --listen: a second one for a name is ambiguous
  for (const auto& l : listens) {
    auto parsed = mock::core::parse_listen_arg(l);
    if (!parsed) {
      errors.push_back(parsed.error());
      continue;
    }
    if (std::find(listened.begin(), listened.end(), parsed->first) != listened.end()) {
      errors.push_back(fmt::format("--listen '{}': listener '{}' is already given by --listen", l, parsed->first));
      continue;
    }
    listened.push_back(parsed->first);
    if (auto* existing = find(spec, parsed->first)) {  // the spec file's, moved
      existing->listen = parsed->second;
    } else {
      spec.listeners.push_back({.name = parsed->first, .listen = parsed->second});
    }
  }
  for (const auto& u : upstreams) {
    auto parsed = mock::core::parse_listen_arg(u);  // the same NAME=IP:PORT form
    if (!parsed) {
      errors.push_back(fmt::format("--upstream '{}': expected NAME=IP:PORT such as s1=127.0.0.1:8080", u));
    } else if (auto* l = find(spec, parsed->first)) {
      l->upstream = parsed->second;
    } else {
      errors.push_back(fmt::format("--upstream '{}': no listener '{}' (add --listen {}=ADDR:PORT)", u,
                                   parsed->first, parsed->first));
    }
  }
  for (const auto& t : tls) {
    const auto eq = t.find('=');
    auto* l = eq == std::string::npos ? nullptr : find(spec, std::string_view(t).substr(0, eq));
    const std::string files = eq == std::string::npos ? "" : t.substr(eq + 1);
    const auto comma = files.find(',');
    if (!l) {
      errors.push_back(fmt::format("--tls '{}': expected NAME=CERT,KEY or NAME=self-signed for a --listen NAME", t));
    } else if (files == "self-signed") {
      l->tls = mock::core::TlsSpec{};
    } else if (comma == std::string::npos || comma == 0 || comma + 1 == files.size()) {
      errors.push_back(fmt::format("--tls '{}': expected NAME=CERT,KEY (two PEM files) or NAME=self-signed", t));
    } else {
      l->tls = mock::core::TlsSpec{files.substr(0, comma), files.substr(comma + 1)};
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
  if (!dns_listen.empty()) {
    if (auto e = mock::core::parse_endpoint(dns_listen)) {
      if (!spec.dns) spec.dns.emplace();
      spec.dns->listen = *e;
    } else {
      errors.push_back(fmt::format("--dns '{}': expected IP:PORT such as 127.0.0.1:0 (an IP address, not a name)", dns_listen));
    }
  }
  if ((!dns_records.empty() || !dns_faults.empty()) && !spec.dns && dns_listen.empty())
    errors.emplace_back("--dns-record and --dns-fault need a DNS responder: add --dns IP:PORT");
  for (const auto& r : dns_records) {
    auto parsed = mock::core::parse_dns_record_arg(r);
    if (!parsed) errors.push_back(parsed.error());
    else if (spec.dns) spec.dns->records.push_back(std::move(*parsed));
  }
  for (const auto& f : dns_faults) {
    auto parsed = mock::core::parse_dns_fault_arg(f);
    if (!parsed) errors.push_back(parsed.error());
    else if (spec.dns) spec.dns->faults.push_back(std::move(*parsed));
  }
  if (!admin.empty()) {
    if (auto e = mock::core::parse_endpoint(admin)) spec.admin = *e;
    else errors.push_back(fmt::format("--admin '{}': expected IP:PORT such as 127.0.0.1:0 (an IP address, not a name)", admin));
  }
  for (auto& e : mock::core::apply_setting_flags(spec, settings)) errors.push_back(std::move(e));
  // What the flags put together must agree too (a proxy rule and its upstream, ...).
  for (const auto& l : spec.listeners)
    for (const auto& [where, why] : mock::core::listener_conflicts(l, "listener " + l.name))
      errors.push_back(fmt::format("{}: {}", where, why));
  // Certificates are loaded as the run loads them, so --check judges them too.
  for (const auto& l : spec.listeners)
    if (l.tls)
      if (auto e = mock::net::check_tls(*l.tls)) errors.push_back(fmt::format("listener {}: {}", l.name, *e));
  if (log_requests) spec.log_requests = true;
  if (spec.listeners.empty() && !spec.dns && errors.empty())
    errors.emplace_back("nothing to serve: give --listen NAME=ADDR:PORT, --dns IP:PORT or -f FILE (see --help)");

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
    if (const auto d = server.dns(); !d.empty()) fmt::print("dns {}\n", d);
    fmt::print("ready\n");
    std::fflush(stdout);
    server.run();
  } catch (const std::exception& e) {
    fmt::print(stderr, "mockserver: {}\n", e.what());
    return 1;
  }
  return 0;
}
