#include "lb/core/command_line.hpp"

#include <fmt/format.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace lb::core {
namespace {

// atol() of a numeric flag: haproxy takes "12abc" as 12 and "abc" as 0 without a word.
long atol_of(const std::string& s) { return std::atol(s.c_str()); }

CommandLine usage(CommandLine out, std::string alert = {}) {
  out.action = CommandLine::Action::Usage;
  out.alert = std::move(alert);
  return out;
}

CommandLine fail(CommandLine out, std::string alert) {
  out.action = CommandLine::Action::Fail;
  out.alert = std::move(alert);
  return out;
}

// Before it reads its flags, haproxy copies them for a later re-execution (copy_argv()), and
// fails when one that takes a value is the last word: "-f", "-p", "-S" and the like.
bool copies_as_haproxy(const std::vector<std::string>& args) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.empty() || a[0] != '-') continue;
    if (a == "--") return true;
    const char f0 = a.size() > 1 ? a[1] : '\0';
    const char f1 = a.size() > 2 ? a[2] : '\0';
    if (f0 == 's' && (f1 == 'f' || f1 == 't')) {
      while (i + 1 < args.size() && !args[i + 1].starts_with('-')) ++i;
    } else if (f0 == 'x') {
      ++i;
    } else if (std::string_view("CnmNLfpS").find(f0) != std::string_view::npos && f0 != '\0') {
      if (i + 1 >= args.size()) return false;
      ++i;
    }
  }
  return true;
}

}  // namespace

CommandLine parse_command_line(const std::vector<std::string>& args) {
  CommandLine out;
  if (!copies_as_haproxy(args)) return fail(std::move(out), "failed to copy argv.");
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      out.action = CommandLine::Action::Help;
      return out;
    }
    if (a == "--announce") {
      out.announce = true;
      continue;
    }
    if (a.empty() || a[0] != '-') return usage(std::move(out));
    const std::string flag = a.substr(1);
    const char f0 = flag.empty() ? '\0' : flag[0];
    const char f1 = flag.size() > 1 ? flag[1] : '\0';
    const bool has_next = i + 1 < args.size();
    if (f0 == 'v') {
      out.action = f1 == 'v' ? CommandLine::Action::BuildOptions : CommandLine::Action::Version;
      return out;
    }
    if (f0 == 'd' && f1 == 'L') {
      out.dump_libraries = true;
    } else if (f0 == 'd' && (f1 == 'e' || f1 == 'p' || f1 == 'S' || f1 == 'G' || f1 == 'R' || f1 == 'V' || f1 == 'D' ||
                             f1 == 'M')) {
      // Pollers, splice, getaddrinfo, SO_REUSEPORT, SSL verify, diagnostics, memory poisoning:
      // haproxy's own machinery, which lb does not have.
      out.without_effect.push_back(a);
    } else if (f0 == 'V') {
      out.verbose = true;
    } else if (f0 == 'd' && f1 == 'b') {
      out.foreground = true;
    } else if (f0 == 'd' && f1 == 'W') {
      out.zero_warning = true;
    } else if (f0 == 'd' && f1 == 'r') {
      return fail(std::move(out), "-dr (ignore server address resolution failures) is not supported by lb; "
                                  "use 'init-addr last,libc,none' on the servers instead");
    } else if (f0 == 'd' && f1 == 'K') {
      return fail(std::move(out), "-dK (dump registered keywords) is not supported by lb");
    } else if (f0 == 'd') {
      out.foreground = true;  // -d: debug mode, which runs in the foreground
    } else if (f0 == 'c' && f1 == 'c') {
      return fail(std::move(out), "-cc (check a condition) is not supported by lb");
    } else if (f0 == 'c') {
      out.check = true;
    } else if (f0 == 'D') {
      out.daemon = true;
    } else if (f0 == 'W' && f1 == 's') {
      out.master_worker = out.systemd = out.foreground = true;
    } else if (f0 == 'W') {
      out.master_worker = true;
    } else if (f0 == 'q') {
      out.quiet = true;
    } else if (f0 == 'x') {
      if (!has_next) return usage(std::move(out), "Unix socket path expected with the -x flag\n");
      if (!out.transfer_socket.empty()) out.warnings.emplace_back("-x option already set, overwriting the value");
      out.transfer_socket = args[++i];
    } else if (f0 == 'S') {
      out.master_cli.push_back(args[++i]);  // copies_as_haproxy() saw its value
    } else if (f0 == 's' && (f1 == 'f' || f1 == 't')) {
      out.terminate_old = f1 == 't';
      // The PIDs are the words up to the next one that starts with '-', read with strtol().
      while (i + 1 < args.size() && !args[i + 1].starts_with('-')) {
        const std::string& word = args[++i];
        errno = 0;
        char* end = nullptr;
        const long pid = std::strtol(word.c_str(), &end, 10);
        if (errno != 0)
          return fail(std::move(out), fmt::format("-{} option: failed to parse {{{}}}: {}", flag, word,
                                                  std::strerror(errno)));
        while (*end != '\0' && std::isspace(static_cast<unsigned char>(*end))) ++end;
        if (*end != '\0')
          return fail(std::move(out), fmt::format("-{} option: some bytes unconsumed in PID list {{{}}}", flag,
                                                  word.substr(static_cast<std::size_t>(end - word.c_str()))));
        if (pid <= 0 || pid > 0x7fffffff) return usage(std::move(out));
        out.old_pids.push_back(static_cast<int>(pid));
      }
    } else if (f0 == '-' && f1 == '\0') {
      for (++i; i < args.size(); ++i) out.config_paths.push_back(args[i]);  // "--": files from here on
      break;
    } else {
      // The flags that take the next word.
      if (!has_next) return usage(std::move(out));
      const std::string& value = args[++i];
      switch (f0) {
        case 'C': out.change_dir = value; break;
        case 'n': out.maxconn = atol_of(value); break;
        case 'm': out.memory_mb = atol_of(value); break;
        case 'N': out.default_maxconn = atol_of(value); break;
        case 'L': out.localpeer = value; break;
        case 'f': out.config_paths.push_back(value); break;
        case 'p': out.pidfile = value; break;
        default: return usage(std::move(out));
      }
    }
  }
  if (out.config_paths.empty()) return usage(std::move(out));
  if (out.verbose) out.quiet = false;
  return out;
}

std::string usage_text(std::string_view program) {
  return fmt::format(
      "Usage : {} [-f <cfgfile|cfgdir>]* [ -vdVD ] [ -n <maxconn> ] [ -N <maxpconn> ]\n"
      "        [ -p <pidfile> ] [ -m <max megs> ] [ -C <dir> ] [-- <cfgfile>*]\n"
      "        -v displays version ; -vv shows known build options.\n"
      "        -d enters debug mode ; -db only disables background mode.\n"
      "        -dM[<byte>,help,...] debug memory (default: poison with <byte>/0x50)\n"
      "        -V enters verbose mode (disables quiet mode)\n"
      "        -D goes daemon ; -C changes to <dir> before loading files.\n"
      "        -W master-worker mode.\n"
      "        -Ws master-worker mode with systemd notify support.\n"
      "        -q quiet mode : don't display messages\n"
      "        -c check mode : only check config files and exit\n"
      "        -cc check condition : evaluate a condition and exit\n"
      "        -n sets the maximum total # of connections (uses ulimit -n)\n"
      "        -m limits the usable amount of memory (in MB)\n"
      "        -N sets the default, per-proxy maximum # of connections (0)\n"
      "        -L set local peer name (default to hostname)\n"
      "        -p writes pids of all children to this file\n"
      "        -de disables epoll() usage even when available\n"
      "        -dp disables poll() usage even when available\n"
      "        -dS disables splice usage (broken on old kernels)\n"
      "        -dG disables getaddrinfo() usage\n"
      "        -dR disables SO_REUSEPORT usage\n"
      "        -dL dumps loaded object files after config checks\n"
      "        -dK{{class[,...]}} dump registered keywords (use 'help' for list)\n"
      "        -dr ignores server address resolution failures\n"
      "        -dV disables SSL verify on servers side\n"
      "        -dW fails if any warning is emitted\n"
      "        -dD diagnostic mode : warn about suspicious configuration statements\n"
      "        -sf/-st [pid ]* finishes/terminates old pids.\n"
      "        -x <unix_socket> get listening sockets from a unix socket\n"
      "        -S <bind>[,<bind options>...] new master CLI\n"
      "\n",
      program);
}

}  // namespace lb::core
