// lb — HTTP/1.1 load balancer with HAProxy 2.6 active health checks. CLI only: parse flags,
// load the configuration, run.
#include <boost/version.hpp>
#include <fcntl.h>
#include <link.h>
#include <fmt/format.h>
#include <sys/utsname.h>
#include <unistd.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <vector>

#include "lb/core/command_line.hpp"
#include "lb/core/config/check_report.hpp"
#include "lb/core/config/parser.hpp"
#include "lb/core/input_file.hpp"
#include "lb/core/log/log_lines.hpp"
#include "lb/core/state/server_state.hpp"
#include "lb/net/listen_sockets.hpp"
#include "lb/net/master.hpp"
#include "lb/net/resolver.hpp"
#include "lb/net/runtime.hpp"
#include "lb/net/startup.hpp"

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

// -dL, as haproxy prints it: the program, then every shared object it runs with.
void print_loaded_objects(bool quiet) {
  if (!quiet) fmt::print("List of loaded object files:\n");
  ::dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void*) -> int {
        std::string name = info->dlpi_name ? info->dlpi_name : "";
        if (name.empty()) {
          std::error_code ec;
          name = std::filesystem::read_symlink("/proc/self/exe", ec).string();
        }
        if (name.starts_with('/')) fmt::print("{}\n", name);  // not the kernel's vDSO
        return 0;
      },
      nullptr);
}

// Reads and judges the files exactly as `haproxy -c` does, printing its diagnostics on stderr;
// with `check_only` also the verdict on stdout.
Loaded load(const lb::core::CommandLine& cl) {
  const auto& paths = cl.config_paths;
  const bool check_only = cl.check, quiet = cl.quiet;
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
  env.localpeer_from_command_line = !cl.localpeer.empty();
  env.variables["HAPROXY_LOCALPEER"] = cl.localpeer.empty() ? lb::net::local_host_name() : cl.localpeer;
  env.default_maxconn = static_cast<int>(std::clamp(cl.default_maxconn.value_or(0), 0L, 0x7fffffL));
  env.lookup = [](const std::string& host, lb::core::AddressFamily family) { return lb::net::resolve_host(host, family); };
  env.inherited_socket = lb::net::inspect_inherited_socket;
  if (auto resolv = lb::core::read_input_file("/etc/resolv.conf")) env.resolv_conf = std::move(resolv.text);
  out.parsed = lb::core::parse_config_files(*files, env);
  // haproxy -c also loads the server-state files, and prints what that says.
  std::vector<std::string> startup_warnings;
  if (!cl.master_cli.empty() && !cl.master_worker && !out.parsed.config.global.master_worker)
    startup_warnings.push_back("a master CLI socket was defined, but master-worker mode (-W) is not enabled.");
  if (check_only && out.parsed.ok())
    for (auto& line : lb::core::state_loading_lines(out.parsed.config, lb::core::read_state_file))
      startup_warnings.push_back(std::move(line));
  const auto report = lb::core::check_report(out.parsed, paths.front(), startup_warnings);
  for (const auto& line : report.stderr_lines)
    if (!quiet || line.level == "ALERT") fmt::print(stderr, "{}\n", lb::core::stderr_line(line.level, pid, line.text));
  // -dW: a warning haproxy would print is fatal (lb's own notes about loose values are not).
  const bool warned = std::any_of(report.stderr_lines.begin(), report.stderr_lines.end(), [](const auto& l) {
    return l.level == "WARNING" && !lb::core::lb_own_warning(l.text);
  });
  if (cl.zero_warning && warned && out.parsed.ok()) {
    fmt::print(stderr, "{}\n",
               lb::core::stderr_line("ALERT", pid, "config : Some warnings were found and 'zero-warning' is set. Aborting."));
    out.exit_code = 1;
    return out;
  }
  if (cl.dump_libraries && report.exit_code == kExitOk) print_loaded_objects(quiet);
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

constexpr std::string_view kVersion = LB_VERSION;

void print_version() {
  fmt::print("lb version {} - lbharness's balancer, with HAProxy 2.6's health checks, routing and logs\n", kVersion);
  if (struct utsname u {}; ::uname(&u) == 0) fmt::print("Running on: {} {} {} {}\n", u.sysname, u.release, u.version, u.machine);
}

void print_build_options() {
  fmt::print("Build options :\n  COMPILER: {}\n  Boost {}.{}.{} (Asio, Beast, JSON), {{fmt}} {}.{}.{}, PCRE2 {}.{}\n\n",
             __VERSION__, BOOST_VERSION / 100000, BOOST_VERSION / 100 % 1000, BOOST_VERSION % 100, FMT_VERSION / 10000,
             FMT_VERSION / 100 % 100, FMT_VERSION % 100, PCRE2_MAJOR, PCRE2_MINOR);
  fmt::print("Feature list : +HTTP_CHECK +TCP_CHECK +RESOLVERS +RUNTIME_API +PROMEX +MASTER_WORKER -SSL -LUA -ACL\n\n");
  fmt::print("Available polling systems :\n      epoll : pref=300,  test result OK (through Asio)\n");
}

constexpr std::string_view kHelp = R"(lb - an HTTP/1.1 load balancer that reads HAProxy's configuration and checks servers,
routes and logs as HAProxy 2.6 does. Its command line is haproxy's: a script or a systemd unit
written for haproxy starts lb unchanged.

Usage: lb [-f <cfgfile|cfgdir>]* [options] [-- <cfgfile>*]
  -f FILE|DIR     configuration (supported subset: docs/config.md); repeatable, read in order; a
                  directory means its *.cfg files in lexical order
  -c              check the files like `haproxy -c`: every error as file:line; exit 0, or 2
  -q              quiet: no warnings, no stderr copies of server state changes
  -V              verbose: cancels -q
  -db, -d         stay in the foreground (lb does unless -D)
  -D              daemon: go to the background (the pid file names the background process)
  -p PIDFILE      write the process id to PIDFILE
  -W              master-worker mode: a master runs a worker; SIGUSR2 to the master reloads (the
                  files are read again, a new worker takes over the listening sockets, the old one
                  finishes its sessions); same as `master-worker` in global
  -Ws             as -W, telling systemd when lb is ready and when it reloads (Type=notify)
  -S ADDR[,level,L][,mode,M]
                  with -W: the master CLI on a UNIX path or ADDR:PORT (`show proc`, `reload`,
                  `@1 CMD` for the worker's Runtime API, `@!PID CMD` for a given worker)
  -sf PID...      once listening, tell these processes to finish their sessions and exit (SIGUSR1)
  -st PID...      as -sf, but they stop at once (SIGTERM)
  -C DIR          change to DIR before reading the files
  -L NAME         local peer name, "${HAPROXY_LOCALPEER}" in the files (default: the host name)
  -n N            the process's maxconn, over the configuration's
  -N N            a frontend's maxconn where no section sets one
  -dW             a warning is fatal
  -x SOCKET       accepted as haproxy takes it (lb's listeners share the address with the old
                  process through SO_REUSEPORT instead)
  -v, -vv         version; build options
  --announce      once every listener is bound, print 'listening FRONTEND ADDR:PORT' per listener,
                  then 'ready', on stdout (lb's own, for scripts that wait until lb accepts)
  -h, --help      this help (lb's own; any other unknown flag prints haproxy's usage, exit 1)
Flags of haproxy's own machinery (-de, -dp, -dS, -dG, -dR, -dV, -dL, -dD, -dM, -m N)
are accepted and named in a warning: they change nothing lb does. -dr, -dK and -cc are refused.

Examples:
  lb -c -f examples/incidents/options-500.cfg   # "Configuration file is valid", exit 0
  lb -c -f haproxy.cfg                          # exit 2 and "parsing [haproxy.cfg:12] : ..." on error
  lb -db -f haproxy.cfg                         # run: health checks, proxying, HAProxy's log lines
  PORT=8080 lb -db -f site.cfg                  # "${PORT}" in the files reads the environment

Reloads, as Debian's haproxy.service does them (SIGUSR2 to the master):
  lb -W -f haproxy.cfg -p /run/lb.pid &         # master and worker
  kill -USR2 $(cat /run/lb.pid)                  # "Reloading HAProxy" ... "Loading success."
  lb -W -S /run/lb-master.sock -f haproxy.cfg &  # the same, with a master CLI:
  echo "show proc" | socat stdio UNIX-CONNECT:/run/lb-master.sock
  echo "@1 show stat" | socat stdio UNIX-CONNECT:/run/lb-master.sock
  echo "reload" | socat stdio UNIX-CONNECT:/run/lb-master.sock
  lb -db -f haproxy.cfg -sf $(cat /run/lb.pid)   # legacy: a new process replaces the old one
Keep servers' states across a reload with `server-state-file` (docs/runtime.md):
  echo "show servers state" | socat stdio UNIX-CONNECT:/run/lb.sock > /var/lib/lb/state

While running, server state changes are printed on stderr as haproxy prints them
("[WARNING]  (pid) : Server apps/s1 is DOWN, reason: ...") and sent to the `log` targets of the
configuration. SIGTERM or SIGINT stops accepting, lets requests in flight finish, and exits 0.

Exit codes: 0 success; 1 runtime failure (a port already in use) or a usage error; 2 a bad
configuration.
)";

void alert(std::string_view text) { fmt::print(stderr, "{}\n", lb::core::stderr_line("ALERT", ::getpid(), text)); }
void warning(std::string_view text) { fmt::print(stderr, "{}\n", lb::core::stderr_line("WARNING", ::getpid(), text)); }

}  // namespace

int main(int argc, char** argv) try {
  std::string program = argv[0];
  if (const auto slash = program.rfind('/'); slash != std::string::npos) program.erase(0, slash + 1);
  const auto cl = lb::core::parse_command_line(std::vector<std::string>(argv + 1, argv + argc));
  using Action = lb::core::CommandLine::Action;
  switch (cl.action) {
    case Action::Help: fmt::print("{}", kHelp); return kExitOk;
    case Action::Version: print_version(); return kExitOk;
    case Action::BuildOptions: print_version(); print_build_options(); return kExitOk;
    case Action::Usage:
      // As haproxy: the version on stdout, then the reason and the usage on stderr.
      print_version();
      std::fflush(stdout);
      if (!cl.alert.empty()) alert(cl.alert);
      fmt::print(stderr, "{}", lb::core::usage_text(program));
      return kExitRuntime;
    case Action::Fail: alert(cl.alert); return kExitRuntime;
    case Action::Run: break;
  }
  if (!cl.quiet) {
    for (const auto& w : cl.warnings) warning(w);
    for (const auto& f : cl.without_effect) warning(fmt::format("{} has no effect in lb and is ignored", f));
    if (cl.memory_mb) warning(fmt::format("-m {}: lb does not limit its memory; the limit is ignored", *cl.memory_mb));
  }
  if (!cl.change_dir.empty() && ::chdir(cl.change_dir.c_str()) != 0) {
    alert(fmt::format("Could not change to directory {} : {}", cl.change_dir, std::strerror(errno)));
    return kExitRuntime;
  }

  Loaded loaded = load(cl);
  if (cl.check || loaded.exit_code != kExitOk) return loaded.exit_code;
  if (cl.maxconn && *cl.maxconn > 0) loaded.parsed.config.global.maxconn = static_cast<int>(std::min(*cl.maxconn, 0x7fffffffL));

  // -D, or `daemon` in global unless -d/-db/-Ws keep lb in the foreground, as in haproxy.
  const bool daemon = cl.daemon || (loaded.parsed.config.global.daemon && !cl.foreground);
  std::optional<lb::net::Daemon> detached;
  if (daemon) {
    detached.emplace(lb::net::Daemon::start(cl.pidfile));
    if (!detached->started()) {
      alert(fmt::format("[lb.main()] Cannot fork: {}.", std::strerror(errno)));
      return kExitRuntime;
    }
  } else if (!cl.pidfile.empty()) {
    std::ofstream out(cl.pidfile, std::ios::trunc);
    if (!out) {
      alert(fmt::format("[lb.main()] Cannot create pidfile {}", cl.pidfile));
      return kExitRuntime;
    }
    out << ::getpid() << '\n';
  }
  lb::net::RuntimeOptions options;
  options.program = program;
  options.quiet = cl.quiet;
  options.announce = cl.announce;
  options.finish_pids = cl.old_pids;
  options.terminate_old = cl.terminate_old;
  options.systemd = cl.systemd;
  options.detach = daemon;
  if (daemon) options.on_ready = [&detached] { detached->ready(); };
  if (!cl.master_worker && !loaded.parsed.config.global.master_worker) return lb::net::run(loaded.parsed.config, options);
  for (const auto& text : cl.master_cli) {
    auto parsed = lb::core::mcli::parse_master_socket(text);
    for (const auto& a : parsed.alerts) alert(a);
    if (!parsed.socket) return kExitRuntime;
    if (!cl.quiet)
      for (const auto& w : parsed.warnings) warning(w);
    options.master_sockets.push_back(std::move(*parsed.socket));
  }
  return lb::net::run_master(
      loaded.parsed.config,
      [&]() -> std::optional<lb::core::Config> {
        auto again = load(cl);
        if (again.exit_code != kExitOk) return std::nullopt;
        if (cl.maxconn && *cl.maxconn > 0) again.parsed.config.global.maxconn = static_cast<int>(std::min(*cl.maxconn, 0x7fffffffL));
        return std::move(again.parsed.config);
      },
      options);
} catch (const std::exception& e) {
  std::fprintf(stderr, "lb: internal error: %s\n", e.what());
  return kExitRuntime;
}
