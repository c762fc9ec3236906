#pragma once
// The Runtime API's listeners (`stats socket`): UNIX and TCP sockets whose connections speak
// HAProxy's CLI line protocol. Bytes go to a core cli::Connection and its answers come back;
// this file only moves them, closes idle connections after `stats timeout`, and binds as
// HAProxy binds (an old UNIX socket file is replaced, `mode` applied).
#include <memory>
#include <string>
#include <vector>

#include "lb/core/api/runtime_api.hpp"
#include "lb/core/config/model.hpp"

namespace boost::asio {
class io_context;
}

namespace lb::net {

class ListenSockets;
class LogSink;

class StatsSockets {
 public:
  StatsSockets(const core::Config& config, boost::asio::io_context& io, core::RuntimeApi& api, LogSink& log);
  ~StatsSockets();
  StatsSockets(const StatsSockets&) = delete;
  StatsSockets& operator=(const StatsSockets&) = delete;

  // Binds every socket, taking those `handover` has (a reload) instead of binding them again.
  // On failure prints HAProxy's alert ("Binding [f:l] for frontend GLOBAL: cannot bind UNIX
  // socket (No such file or directory) [/run/x.sock]") and returns false.
  bool bind_all(ListenSockets* handover = nullptr);
  // `lb -W -S`: serves the master CLI's commands for this worker. Each message on `channel`
  // (owned from now on) passes one connected socket, answered at the admin level as one CLI
  // connection; the master writes the level's lines in front of the command.
  void serve_master(int channel);
  // The listening sockets, named as a ListenSockets handover names them (still owned here).
  std::vector<std::pair<std::string, int>> listen_sockets() const;
  // Each socket served with its level, as `show cli sockets` lists them: the configuration's in
  // its order, socket pairs included, then the master's channel ("unix@/run/lb.sock admin",
  // "ipv4@127.0.0.1:9999 operator", "sockpair@4 admin").
  std::vector<std::string> listening() const;
  long accepted() const;  // connections so far (HAProxy's GLOBAL proxy counts them)
  // Stops accepting; with `remove_files` (SIGTERM, not a reload) the UNIX socket files are
  // removed too.
  void stop(bool remove_files = true);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lb::net
