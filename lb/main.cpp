// lb — HTTP/1.1 load balancer with HAProxy 2.6 active health checks. CLI only: parse flags,
// load the configuration, run.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <vector>

#include "lb/core/config/check_report.hpp"
#include "lb/core/config/parser.hpp"
#include "lb/core/input_file.hpp"
#include "lb/core/log/log_lines.hpp"
#include "lb/core/state/server_state.hpp"
#include "lb/net/master.hpp"
#include "lb/net/resolver.hpp"
#include "lb/net/runtime.hpp"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitRuntime = 1;
constexpr int kExitBadInput = 2;

struct Loaded {
  lb::core::ParseResult parsed;
  int exit_code = kExitOk;  // non-zero: do not run
};

// The files of the -f options in order; a directory stands for its *.cfg files in lexical order,
// as haproxy reads it. nullopt after printing haproxy's alert for one that cannot be read.
std::optional<std::vector<lb::core::ConfigFile>> read_configs(const std::vector<std::string>& paths, int pid) {
  std::vector<lb::core::ConfigFile> out;
  auto fail = [&](const std::string& path, int err) {
    fmt::print(stderr, "{}\n",
               lb::core::stderr_line("ALERT", pid,
                                     fmt::format("config : Cannot open configuration file/directory {} : {}", path,
                                                 std::strerror(err))));
    return std::nullopt;
  };
  for (const auto& path : paths) {
    std::error_code ec;
    std::vector<std::string> files{path};
    if (std::filesystem::is_directory(path, ec)) {
      files.clear();
      for (const auto& e : std::filesystem::directory_iterator(path, ec))
        if (e.path().extension() == ".cfg" && !e.is_directory()) files.push_back(e.path().string());
      std::sort(files.begin(), files.end());
    }
    for (const auto& f : files) {
      auto file = lb::core::read_input_file(f);
      if (!file) return fail(f, file.error);
      out.push_back({f, std::move(file.text)});
    }
  }
  return out;
}

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "localhost";
  return name;
}

// Reads and judges the files exactly as `haproxy -c` does, printing its diagnostics on stderr;
// with `check_only` also the verdict on stdout.
Loaded load(const std::vector<std::string>& paths, bool check_only, bool quiet, const std::string& localpeer) {
  const int pid = ::getpid();
  Loaded out;
  const auto files = read_configs(paths, pid);
  if (!files) {
    out.exit_code = kExitBadInput;
    return out;
  }
  // Like haproxy, server names are resolved now, by libc, as `init-addr` says; a name that does
  // not resolve is fatal unless `none` or an address follows it.
  lb::core::ParseEnvironment env;
  for (char** v = environ; *v; ++v) {
    const std::string_view entry(*v);
    if (const auto eq = entry.find('='); eq != std::string_view::npos && eq > 0)
      env.variables.emplace(entry.substr(0, eq), entry.substr(eq + 1));
  }
  // As haproxy: the peer name from -L, else the host name, readable as "${HAPROXY_LOCALPEER}".
  env.localpeer_from_command_line = !localpeer.empty();
  env.variables["HAPROXY_LOCALPEER"] = localpeer.empty() ? host_name() : localpeer;
  env.lookup = [](const std::string& host, lb::core::AddressFamily family) { return lb::net::resolve_host(host, family); };
  if (auto resolv = lb::core::read_input_file("/etc/resolv.conf")) env.resolv_conf = std::move(resolv.text);
  out.parsed = lb::core::parse_config_files(*files, env);
  // haproxy -c also loads the server-state files, and prints what that says.
  const auto state_lines = check_only && out.parsed.ok()
                               ? lb::core::state_loading_lines(out.parsed.config, lb::core::read_state_file)
                               : std::vector<std::string>{};
  const auto report = lb::core::check_report(out.parsed, paths.front(), state_lines);
  for (const auto& line : report.stderr_lines)
    if (!quiet || line.level == "ALERT") fmt::print(stderr, "{}\n", lb::core::stderr_line(line.level, pid, line.text));
  if (check_only && (!quiet || report.exit_code != kExitOk)) fmt::print("{}", report.stdout_text);
  if (!check_only && report.exit_code != kExitOk && out.parsed.ok()) {
    // What haproxy says when asked to run a file without any listener.
    fmt::print(stderr, "{}\n",
               lb::core::stderr_line("ALERT", pid,
                                     "[haproxy.main()] No enabled listener found (check for 'bind' directives) ! "
                                     "Exiting."));
    out.exit_code = 1;  // haproxy's exit(1) there; `-c` says 2
    return out;
  }
  out.exit_code = report.exit_code;
  return out;
}

// HAProxy spells some flags as one dash and two letters (-db, -sf); CLI11 would read "-db" as
// "-d -b", so those are rewritten to their long forms first.
std::vector<std::string> normalized_args(int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = argc - 1; i >= 1; --i) {
    std::string a = argv[i];
    if (a == "-db" || a == "-Ws" || a == "-sf" || a == "-st") a = "-" + a;
    args.push_back(std::move(a));
  }
  return args;  // CLI11 takes them in reverse order
}

}  // namespace

int main(int argc, char** argv) try {
  CLI::App app{"lb - HTTP/1.1 load balancer that reads HAProxy's configuration and checks servers as HAProxy 2.6 does",
               "lb"};
  std::vector<std::string> config_paths;
  std::string pidfile;
  bool check_only = false, quiet = false, foreground = false, debug = false;
  app.add_option("-f,--config", config_paths,
                 "HAProxy-syntax config (supported subset: docs/config.md); repeatable, read in order; a directory "
                 "means its *.cfg files in lexical order")
      ->required()
      ->option_text("FILE|DIR");
  app.add_flag("-c,--check", check_only, "validate FILE like `haproxy -c`: print every error as file:line, exit 0 or 2");
  app.add_flag("-q,--quiet", quiet, "print no warnings, and no stderr copies of server state changes");
  app.add_flag("--db", foreground, "-db: stay in the foreground (lb always does; accepted as haproxy takes it)");
  app.add_flag("-d", debug, "debug mode: same as -db (accepted as haproxy takes it)");
  app.add_option("-p,--pidfile", pidfile, "write the process id to PIDFILE")->option_text("PIDFILE");
  std::string localpeer;
  app.add_option("-L", localpeer,
                 "local peer name, as haproxy's -L: the configuration reads it as \"${HAPROXY_LOCALPEER}\" "
                 "(default: the host name)")
      ->option_text("NAME");
  bool master_worker = false, systemd = false;
  app.add_flag("-W", master_worker,
               "master-worker mode, as HAProxy's: a master process runs a worker; SIGUSR2 to the master reloads "
               "(the files are read again, a new worker takes over the listening sockets, the old one finishes "
               "its sessions); same as `master-worker` in global");
  app.add_flag("--Ws", systemd, "-Ws: as -W (lb sends no systemd notifications; Type=notify units need Type=simple)");
  std::vector<int> finish_pids, terminate_pids;
  app.add_option("--sf", finish_pids,
                 "-sf PID...: once listening, tell these processes to finish their sessions and exit (SIGUSR1); "
                 "the legacy reload")
      ->expected(1, 1 << 16)
      ->option_text("PID...");
  app.add_option("--st", terminate_pids, "-st PID...: as -sf, but they stop at once (SIGTERM)")
      ->expected(1, 1 << 16)
      ->option_text("PID...");
  std::string transfer_socket;
  app.add_option("-x", transfer_socket,
                 "accepted as haproxy takes it with -sf (socket transfer); lb does not need it: its listeners share "
                 "the address with the old process (SO_REUSEPORT)")
      ->option_text("SOCKET");
  bool announce = false;
  app.add_flag("--announce", announce,
               "once every listener is bound, print 'listening FRONTEND ADDR:PORT' per listener, then 'ready', "
               "on stdout (for scripts that wait until lb accepts connections)");
  app.footer(R"(Examples:
  lb -c -f examples/incidents/options-500.cfg   # "Configuration file is valid", exit 0
  lb -c -f haproxy.cfg                          # exit 2 and "parsing [haproxy.cfg:12] : ..." on error
  lb -db -f haproxy.cfg                         # run: health checks, proxying, HAProxy's log lines

Reloads, as Debian's haproxy.service does them (SIGUSR2 to the master):
  lb -W -f haproxy.cfg -p /run/lb.pid &         # master and worker
  kill -USR2 $(cat /run/lb.pid)                  # "Reloading HAProxy" ... "Loading success."
  lb -db -f haproxy.cfg -sf $(cat /run/lb.pid)   # legacy: a new process replaces the old one
Keep servers' states across a reload with `server-state-file` (docs/runtime.md):
  echo "show servers state" | socat stdio UNIX-CONNECT:/run/lb.sock > /var/lib/lb/state

While running, server state changes are printed on stderr as haproxy prints them
("[WARNING]  (pid) : Server apps/s1 is DOWN, reason: ...") and sent to the `log` targets of the
configuration. SIGTERM or SIGINT stops accepting, lets requests in flight finish, and exits 0.

Exit codes: 0 success, 1 runtime failure (e.g. a port already in use), 2 bad usage or bad configuration.)");
  try {
    app.parse(normalized_args(argc, argv));
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitBadInput;  // --help is a success
  }

  const Loaded loaded = load(config_paths, check_only, quiet, localpeer);
  if (check_only || loaded.exit_code != kExitOk) return loaded.exit_code;

  if (!pidfile.empty()) {
    std::ofstream out(pidfile, std::ios::trunc);
    if (!out) {
      fmt::print(stderr, "{}\n",
                 lb::core::stderr_line("ALERT", ::getpid(), fmt::format("[lb.main()] Cannot create pidfile {}", pidfile)));
      return kExitRuntime;
    }
    out << ::getpid() << '\n';
  }
  std::string program = argv[0];
  if (const auto slash = program.rfind('/'); slash != std::string::npos) program.erase(0, slash + 1);
  lb::net::RuntimeOptions options;
  options.program = program;
  options.quiet = quiet;
  options.announce = announce;
  options.finish_pids = finish_pids.empty() ? terminate_pids : finish_pids;
  options.terminate_old = finish_pids.empty() && !terminate_pids.empty();
  if (!master_worker && !systemd && !loaded.parsed.config.global.master_worker)
    return lb::net::run(loaded.parsed.config, options);
  return lb::net::run_master(
      loaded.parsed.config,
      [&]() -> std::optional<lb::core::Config> {
        auto again = load(config_paths, false, quiet, localpeer);
        if (again.exit_code != kExitOk) return std::nullopt;
        return std::move(again.parsed.config);
      },
      options);
} catch (const std::exception& e) {
  std::fprintf(stderr, "lb: internal error: %s\n", e.what());
  return kExitRuntime;
}
