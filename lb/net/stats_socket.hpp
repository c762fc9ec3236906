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

class LogSink;

class StatsSockets {
 public:
  StatsSockets(const core::Config& config, boost::asio::io_context& io, core::RuntimeApi& api, LogSink& log);
  ~StatsSockets();
  StatsSockets(const StatsSockets&) = delete;
  StatsSockets& operator=(const StatsSockets&) = delete;

  // Binds every socket. On failure prints HAProxy's alert ("Binding [f:l] for frontend GLOBAL:
  // cannot bind UNIX socket (No such file or directory) [/run/x.sock]") and returns false.
  bool bind_all();
  // "PATH" or "ADDR:PORT" of each bound socket, in configuration order (ports as bound).
  std::vector<std::string> listening() const;
  // Stops accepting and ends every connection (SIGTERM); UNIX socket files are removed.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lb::net
