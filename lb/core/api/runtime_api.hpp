#pragma once
// HAProxy 2.6's Runtime API commands (src/server.c, src/proxy.c, src/stats.c) on lb's engine and
// routing: the same words, the same answers byte for byte, the same refusals per level, and the
// same state changes (whose log lines the engine emits). The CLI framing is cli::Connection's.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "lb/core/api/cli.hpp"
#include "lb/core/check/check_engine.hpp"
#include "lb/core/config/model.hpp"
#include "lb/core/route/backends.hpp"
#include "lb/core/stats/info.hpp"
#include "lb/core/stats/traffic.hpp"

namespace lb::core {

class RuntimeApi {
 public:
  // `config` as parsed (server names as written); `engine` and `backends` run it. All outlive
  // this object.
  // `global_maxconn`: the process's maxconn, which `show stat` gives a frontend without its own.
  RuntimeApi(const Config& config, CheckEngine& engine, Backends& backends, const Clock& clock, int global_maxconn = 0);

  // One command's answer; nullopt when HAProxy 2.6 has no such command.
  std::optional<cli::Connection::Answer> run(const std::vector<std::string>& words, cli::Level level);
  // run() for a cli::Connection.
  cli::Connection::Handler handler();
  // What `show info` says of the process (the edge knows it; unset: zeros).
  void set_process_info(std::function<stats::ProcessInfo()> info) { process_ = std::move(info); }
  // The traffic counters `show stat` reads (unset: zeros).
  void set_traffic(const stats::Traffic* traffic) { traffic_ = traffic; }

 private:
  struct Found {
    ServerKey key;
    std::string error;  // set when nothing was found
  };
  Found find_server(std::string_view arg) const;
  std::optional<std::size_t> find_backend(std::string_view name) const;
  std::string servers_state(const std::vector<std::string>& words, bool connections) const;
  std::string show_stat(const std::vector<std::string>& words, cli::Level level) const;
  std::string set_server(const std::vector<std::string>& words);
  std::string set_weight(ServerKey key, std::string_view text);
  std::string set_address(ServerKey key, std::string_view addr, std::optional<std::string_view> port);

  const Config& config_;
  CheckEngine& engine_;
  Backends& backends_;
  const Clock& clock_;
  int global_maxconn_;
  std::function<stats::ProcessInfo()> process_;
  const stats::Traffic* traffic_ = nullptr;
};

}  // namespace lb::core
