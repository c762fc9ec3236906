#pragma once
// The master CLI's sockets (`lb -W -S ADDR`): the master's listeners and connections, driven by
// the master's poll() loop. Each connection is a core mcli::Session: a command for the master
// is answered here (mcli::master_command), one for a worker goes over that worker's channel as
// a fresh socketpair whose other end the worker serves as a CLI connection
// (StatsSockets::serve_master), and its answer is copied back whole.
#include <poll.h>

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include "lb/core/api/master_cli.hpp"

namespace lb::net {

class MasterCli {
 public:
  struct Hooks {
    std::function<core::mcli::Processes()> processes;
    std::function<int(int pid)> channel_of;  // the worker's CLI channel, -1 when it has none
  };
  // The clock `show proc`'s uptimes are read on (seconds): the master stamps its workers with it.
  static std::int64_t now_s();
  explicit MasterCli(Hooks hooks);
  ~MasterCli();
  MasterCli(const MasterCli&) = delete;
  MasterCli& operator=(const MasterCli&) = delete;

  // Binds every socket as HAProxy's master binds them; on failure prints HAProxy's alerts and
  // returns false.
  bool bind(const std::vector<core::mcli::MasterSocket>& sockets);
  // The descriptors to poll, appended to `fds`; then handle() with the same range once poll()
  // returned. handle() returns true when a client asked for a reload.
  void poll_fds(std::vector<pollfd>& fds) const;
  bool handle(const pollfd* fds, std::size_t count);
  // A reload: HAProxy's master re-executes itself, so every master CLI connection ends there,
  // unanswered.
  void drop_clients();
  // In a forked worker: closes every descriptor of the master CLI without touching the files.
  void close_in_child();
  // On the master's exit: closes the listeners and removes their socket files.
  void stop();

 private:
  struct Client;
  struct Listener {
    int fd = -1;
    core::mcli::MasterSocket config;
  };
  void accept_from(const Listener& l);
  void progress(Client& c);
  void close_client(Client& c);
  Hooks hooks_;
  std::vector<Listener> listeners_;
  std::list<std::unique_ptr<Client>> clients_;
  bool reload_ = false;
};

}  // namespace lb::net
