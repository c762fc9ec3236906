#pragma once
// Reads the HAProxy 2.6 configuration subset lb supports (docs/config.md) into a Config, and
// judges a file as `haproxy -c` does: every error is collected with its file:line, keywords
// HAProxy knows but lb does not implement are named as such, and values HAProxy reads loosely
// (`weight abc`) are accepted with a warning.
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lb/core/config/model.hpp"

namespace lb::core {

struct Diagnostic {
  // Continuing: printed as an ALERT, but the file stays valid (HAProxy's "... Continuing.").
  enum class Level { Alert, Warning, Continuing };
  // HAProxy words its position prefix differently depending on which parser found the problem.
  enum class Form {
    Parsing,        // "parsing [f:l] : msg"
    ParsingTight,   // "parsing [f:l]: msg"
    ParsingUpper,   // "Parsing [f:l]: msg"
    Bracketed,      // "[f:l] : msg" (server keywords)
    Whole,          // "msg" (a finding about the whole configuration)
  };
  Level level = Level::Alert;
  SourcePos pos;
  std::string message;
  Form form = Form::Parsing;
  // Found while reading lines (HAProxy then says "Error(s) found in configuration file") or by the
  // whole-configuration checks that only run once reading succeeded.
  bool while_reading = true;
  bool operator==(const Diagnostic&) const = default;
};

struct ParseResult {
  Config config;
  std::vector<Diagnostic> diagnostics;
  // HAProxy stopped without its closing "Fatal errors found in configuration." line: reading
  // was aborted (ERR_ABORT), or server addresses could not be initialized.
  bool stopped_early = false;
  bool ok() const {
    for (const auto& d : diagnostics)
      if (d.level == Diagnostic::Level::Alert) return false;
    return true;
  }
};

// What a configuration may read besides its own text: `parse-resolv-conf` reads /etc/resolv.conf
// (nullopt: it could not be opened). The edge fills it in; tests pass their own.
// What getsockname() and SO_TYPE tell of an inherited descriptor (`bind fd@N`, `sockpair@N`),
// which haproxy asks while it parses.
struct InheritedSocket {
  std::string error;  // strerror() of a failed getsockname(): not a socket, or not open
  bool stream = false;
  bool ip = false;    // AF_INET/AF_INET6 (else a UNIX socket)
  std::string host;   // its local address: an IP literal, or a UNIX socket as UnixAddress writes it
  std::uint16_t port = 0;
};

struct ParseEnvironment {
  // Unset: descriptors as `haproxy -c` has them, 0-2 the terminal and 3 the file being read (no
  // sockets), the others closed; so a file is judged the same on every machine.
  std::function<InheritedSocket(int fd)> inherited_socket;
  // The process environment that "${NAME}" in double quotes reads (and `setenv`, `presetenv`,
  // `unsetenv`, `resetenv` in global change for the lines after them). Empty by default, so that
  // parsing stays pure; lb/main passes its own, with HAPROXY_LOCALPEER set as haproxy sets it.
  std::map<std::string, std::string> variables;
  bool localpeer_from_command_line = false;  // `-L NAME` given: a `localpeer` line is ignored
  int default_maxconn = 0;                   // `-N N`: a frontend's maxconn unless a section sets one
  std::optional<std::string> resolv_conf;
  // The system resolver (libc) for `init-addr libc` and nameserver names: the first address of
  // a host in a family, nullopt if none. Unset: only address literals and "localhost" resolve,
  // so that parsing stays pure and the same on every machine.
  std::function<std::optional<std::string>(const std::string& host, AddressFamily family)> lookup;
};

ParseResult parse_config(std::string_view text, std::string_view file_name, const ParseEnvironment& env = {});

// Several files (`-f a.cfg -f b.cfg`) read in order as one configuration: a section ends with its
// file; defaults carry on into the next.
struct ConfigFile {
  std::string name;
  std::string text;
};
ParseResult parse_config_files(const std::vector<ConfigFile>& files, const ParseEnvironment& env = {});

// HAProxy's wording after the stderr prefix, e.g.
// "config : parsing [site.cfg:12] : unknown keyword 'chek' in 'backend' section".
std::string format_diagnostic(const Diagnostic& d);


}  // namespace lb::core
