#pragma once
// A real `lb` in front of real mockserver backends on loopback, for the runtime integration
// tests: a config template with {{fe}}, {{s1}}, {{s2}}, ... for the ports, lb's stdout (its
// `log stdout format raw` target) awaited line by line, never slept on.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "harness/live/cli_client.hpp"
#include "tests/integration/mockserver_client.hpp"
#include "tests/support/child.hpp"
#include "tests/support/ports.hpp"
#include "tests/support/temp_file.hpp"

namespace lb::test {

class LbWorld {
 public:
  // `mock_args`: mockserver flags besides --listen; the world adds a listener per server name.
  LbWorld(std::vector<std::string> servers, std::vector<std::string> mock_args)
      : servers_(std::move(servers)), fe_port_(free_tcp_port()) {
    for (const auto& s : servers_) {
      mock_args.push_back("--listen");
      mock_args.push_back(s + "=127.0.0.1:0");
    }
    mock_.emplace(std::move(mock_args));
  }

  // Replaces {{fe}} by the frontend port and {{NAME}} by each mock listener's port.
  std::string render(std::string cfg) const {
    cfg = std::regex_replace(cfg, std::regex(R"(\{\{fe\}\})"), std::to_string(fe_port_));
    for (const auto& s : servers_)
      cfg = std::regex_replace(cfg, std::regex("\\{\\{" + s + "\\}\\}"), std::to_string(mock_->port(s)));
    return cfg;
  }

  void start_lb(const std::string& cfg_template, std::vector<std::string> extra = {}) {
    const auto path = dir_.write("lb.cfg", render(cfg_template));
    std::vector<std::string> args{"-db", "--announce", "-f", path.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    lb_ = Child::start(LB_BIN, args);
  }

  // The next lb log line containing `substr` (stdout: the raw log target).
  std::optional<std::string> await(std::string_view substr, milliseconds timeout = kPatience) {
    return lb_.await_line(substr, timeout);
  }

  int fe_port() const { return fe_port_; }
  // The world's scratch directory (for UNIX sockets the configuration names).
  std::filesystem::path dir() const { return dir_.path(); }
  Mock& mock() { return *mock_; }
  Child& lb() { return lb_; }

 private:
  std::vector<std::string> servers_;
  int fe_port_;
  std::optional<Mock> mock_;
  TempDir dir_;
  Child lb_;
};

// The first number on the line of /proc/PID/FILE that starts with `key`: ("status", "VmHWM:") is
// the peak RSS in kB, ("limits", "Max open files") the soft descriptor limit. -1 if absent.
inline long proc_number(pid_t pid, std::string_view file, std::string_view key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/" + std::string(file));
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with(key)) continue;
    const auto digit = line.find_first_of("0123456789", key.size());
    return digit == std::string::npos ? -1 : std::stol(line.substr(digit));
  }
  return -1;
}

// The server named in a mockserver "hello from NAME" body ("status N" for anything else).
inline std::string served_by(const Received& r) {
  const auto body = body_of(r.bytes);
  return body.starts_with("hello from ") ? body.substr(11) : "status " + std::to_string(status_of(r.bytes));
}

// One TCP socket as the kernel's tables (/proc/net/tcp, /proc/net/tcp6) list it.
struct KernelTcpSocket {
  std::string table;          // "tcp" or "tcp6"
  std::string local_address;  // as the table writes it, in hex
  int local_port = 0, remote_port = 0;
  bool listening = false;     // state 0A
  std::string inode;          // "0" for a socket no process holds
};
inline std::vector<KernelTcpSocket> kernel_tcp_sockets(bool with_ipv6 = true) {
  std::vector<KernelTcpSocket> out;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    if (!with_ipv6 && std::string_view(table).ends_with('6')) continue;
    std::istringstream in(read_file(table));
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream row(line);
      std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
      row >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >> timeout >> inode;
      const auto port_of = [](const std::string& a) { return std::stoi(a.substr(a.rfind(':') + 1), nullptr, 16); };
      out.push_back({std::string(table).substr(10), local.substr(0, local.rfind(':')), port_of(local), port_of(remote),
                     state == "0A", inode});
    }
  }
  return out;
}

// Whether a socket listens on TCP `port`, read from the kernel's tables: a probe that connected
// would be one more exchange in the balancer's log, and without `option dontlognull` the two
// balancers log it at moments of their own.
inline bool listening_on(int port) {
  for (const auto& s : kernel_tcp_sockets())
    if (s.listening && s.local_port == port) return true;
  return false;
}

// Waits until `port` is listened on (haproxy prints no readiness line).
inline bool wait_listening(int port) {
  const auto deadline = Clock::now() + kPatience;
  while (Clock::now() < deadline) {
    if (listening_on(port)) return true;
    std::this_thread::sleep_for(milliseconds(5));  // polling a port: there is no event to wait on
  }
  return false;
}

// A connected UNIX stream socket (a Runtime API socket); an invalid Fd when none listens there.
inline Fd connect_unix(const std::string& path) {
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return Fd();
  return fd;
}

// The abstract UNIX address `name` as HAProxy names it (`abns@NAME`: the name after a NUL,
// zero-padded to the whole sun_path).
inline sockaddr_un abstract_address(const std::string& name) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path + 1, name.data(), std::min(name.size(), sizeof addr.sun_path - 1));
  return addr;
}

// A connected socket to the abstract name `name`; an invalid Fd when none listens there.
inline Fd connect_abstract(const std::string& name) {
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const auto addr = abstract_address(name);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) return Fd();
  return fd;
}

// One non-interactive Runtime API exchange, as the harness makes it (harness/live/cli_client):
// the commands, then everything lb says until it closes.
inline std::string cli_ask(const std::string& path, std::string_view commands) {
  return lbh::cli_call(path, commands, kPatience).answer;
}

// A TCP socket listening on 127.0.0.1 at a port the kernel picks, and that port. `inherited`:
// not close-on-exec, so that a balancer started next inherits it (`bind fd@N`).
struct LoopbackListener {
  int fd = -1;
  int port = 0;
};
inline LoopbackListener listen_on_loopback(bool inherited) {
  LoopbackListener l;
  l.fd = ::socket(AF_INET, SOCK_STREAM | (inherited ? 0 : SOCK_CLOEXEC), 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (l.fd < 0 || ::bind(l.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(l.fd, 16) != 0) {
    ADD_FAILURE() << "cannot listen on 127.0.0.1: " << std::strerror(errno);
    return l;
  }
  socklen_t len = sizeof a;
  ::getsockname(l.fd, reinterpret_cast<sockaddr*>(&a), &len);
  l.port = ntohs(a.sin_port);
  return l;
}

// A UNIX stream socket listening at `path`, not close-on-exec, so that a balancer started next
// inherits it (`bind fd@N`, `stats socket fd@N`); -1 (and a test failure) when it cannot listen.
inline int listen_on_unix_path(const std::string& path, int backlog = 16) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, backlog) != 0) {
    ADD_FAILURE() << "cannot listen on " << path << ": " << std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return -1;
  }
  return fd;
}

// A frontend on 127.0.0.1:`port` and a backend whose one server nothing listens for, with 1 s
// timeouts: the smallest configuration that runs, for tests of the process rather than of
// traffic. `global`: the lines of a global section, if any.
inline std::string one_frontend_config(int port, std::string_view global = "") {
  return fmt::format(R"({}defaults
    mode http
    timeout connect 1s
    timeout client 1s
    timeout server 1s
frontend fe
    bind 127.0.0.1:{}
    default_backend apps
backend apps
    server s1 127.0.0.1:9
)",
                     global.empty() ? std::string() : fmt::format("global\n{}", global), port);
}

// The exact 503 page haproxy 2.6 sent for a request with Connection: close.
inline std::string haproxy_503_close() {
  return read_file(source_path("tests/data/haproxy26/http_503_no_server_close11.bin"));
}

}  // namespace lb::test
