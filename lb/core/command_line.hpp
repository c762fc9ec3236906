#pragma once
// lb's command line, read as haproxy 2.6 reads its own (init() in src/haproxy.c), so that a script
// or a unit written for haproxy starts lb unchanged: a flag is known by its first letters ("-db",
// "-dM0x55", "-sf PID..."), "--" ends the flags and lists files, and anything else is a usage
// error (haproxy's usage text, exit 1). lb adds "--help" (and "-h") and "--announce".
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lb::core {

struct CommandLine {
  enum class Action {
    Run,           // run (or check, with `check`) the configuration
    Version,       // -v
    BuildOptions,  // -vv
    Help,          // --help, -h: lb's own help
    Usage,         // a usage error: `alert` (if any), then the usage text; exit 1
    Fail,          // an error of haproxy's own words in `alert`; exit 1
  };
  Action action = Action::Run;
  std::string alert;

  std::vector<std::string> config_paths;  // -f, and the words after "--"
  bool check = false;                     // -c
  bool quiet = false;                     // -q
  bool verbose = false;                   // -V: cancels -q
  bool foreground = false;                // -db, -d, -Ws
  bool daemon = false;                    // -D
  bool master_worker = false;             // -W, -Ws
  bool systemd = false;                   // -Ws: tell systemd when ready (sd_notify)
  bool zero_warning = false;              // -dW: a warning is fatal
  bool dump_libraries = false;            // -dL: list the loaded object files once the files are good
  bool announce = false;                  // --announce (lb's)
  std::string pidfile;                    // -p
  std::string change_dir;                 // -C
  std::string localpeer;                  // -L
  std::string transfer_socket;            // -x
  std::vector<std::string> master_cli;    // -S
  std::optional<long> maxconn;            // -n: the process's maxconn, over the configuration's
  std::optional<long> default_maxconn;    // -N: the built-in maxconn of defaults sections
  std::optional<long> memory_mb;          // -m
  std::vector<int> old_pids;              // -sf / -st
  bool terminate_old = false;             // -st
  // Flags haproxy knows that change nothing lb does (-de, -dS, -dM..., -dD...), as given; lb
  // says so on stderr.
  std::vector<std::string> without_effect;
  std::vector<std::string> warnings;  // haproxy's own ("-x option already set, overwriting the value")
};

// `args`: the words after the program name.
CommandLine parse_command_line(const std::vector<std::string>& args);

// haproxy's usage text (on stderr after a usage error), with lb's name.
std::string usage_text(std::string_view program);

}  // namespace lb::core
