// lb — HTTP/1.1 load balancer with HAProxy 2.6 active health checks. CLI only: parse flags,
// load the configuration, run.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "lb/core/config/check_report.hpp"
#include "lb/core/config/parser.hpp"
#include "lb/core/log/log_lines.hpp"
#include "lb/net/resolver.hpp"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitRuntime = 1;
constexpr int kExitBadInput = 2;

// Prints what `haproxy -c` prints for the file: diagnostics on stderr, verdict on stdout.
int check_config(const std::string& path, bool quiet) {
  const int pid = ::getpid();
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    fmt::print(stderr, "{}\n",
               lb::core::stderr_line("ALERT", pid,
                                     fmt::format("config : Cannot open configuration file/directory {} : {}", path,
                                                 std::strerror(errno))));
    return kExitBadInput;
  }
  std::ostringstream text;
  text << in.rdbuf();
  const auto parsed = lb::core::parse_config(text.str(), path);
  const auto report = lb::core::check_report(parsed, path);
  for (const auto& line : report.stderr_lines)
    fmt::print(stderr, "{}\n", lb::core::stderr_line(line.level, pid, line.text));
  if (parsed.ok()) {
    // Like haproxy, names are resolved now, once; a name that does not resolve is fatal.
    const auto unresolved = lb::net::unresolvable_servers(parsed.config);
    for (const auto& d : unresolved)
      fmt::print(stderr, "{}\n", lb::core::stderr_line("ALERT", pid, lb::core::format_diagnostic(d)));
    if (!unresolved.empty()) {
      fmt::print(stderr, "{}\n", lb::core::stderr_line("ALERT", pid, "config : Failed to initialize server(s) addr."));
      return kExitBadInput;
    }
  }
  if (!quiet || report.exit_code != kExitOk) fmt::print("{}", report.stdout_text);
  return report.exit_code;
}

}  // namespace

int main(int argc, char** argv) try {
  CLI::App app{"lb - HTTP/1.1 load balancer with HAProxy 2.6 active health checks", "lb"};
  std::string config_path;
  bool check_only = false;
  bool quiet = false;
  app.add_option("-f,--config", config_path, "HAProxy-syntax config (supported subset: docs/config.md)")
      ->required()
      ->option_text("FILE");
  app.add_flag("-c,--check", check_only, "validate FILE like `haproxy -c`: print every error as file:line, exit 0 or 2");
  app.add_flag("-q,--quiet", quiet, "with -c: print nothing when the file is valid");
  app.footer(R"(Examples:
  lb -c -f examples/incidents/options-500.cfg   # "Configuration file is valid", exit 0
  lb -c -f haproxy.cfg                          # exit 2 and "parsing [haproxy.cfg:12] : ..." on error

Exit codes: 0 success, 1 runtime failure, 2 bad usage or bad configuration.
This build validates configurations; the runtime (health checks, proxying) comes next.)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitBadInput;  // --help is a success
  }

  if (!check_only) {
    fmt::print(stderr,
               "lb: this build validates configurations only; the runtime (health checks and proxying) is not "
               "built yet.\nUse: lb -c -f {}\n",
               config_path);
    return kExitBadInput;
  }
  return check_config(config_path, quiet);
} catch (const std::exception& e) {
  std::fprintf(stderr, "lb: internal error: %s\n", e.what());
  return kExitRuntime;
}
