#pragma once
// Server selection for one backend, as HAProxy 2.6 does it: roundrobin (weighted, same order
// as HAProxy's lb_fwrr), leastconn, first; backup servers only when no active server is up.
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lb/core/config/model.hpp"
#include "lb/core/log/log_lines.hpp"

namespace lb::core {

struct RouteServer {
  std::string name;
  int weight = 1;       // 0..256; 0 = never chosen
  bool backup = false;
  int maxconn = 0;      // 0 = unlimited (used by `first`)
};

class Router {
 public:
  Router(Balance balance, bool allbackups, std::vector<RouteServer> servers);
  ~Router();
  Router(Router&&) noexcept;
  Router& operator=(Router&&) noexcept;

  // Servers start UP (as HAProxy assumes until a check says otherwise).
  void set_up(std::size_t server, bool up);
  bool is_up(std::size_t server) const;
  // A new weight (0..256) at run time, placed as HAProxy places it (fwrr/fwlc
  // update_server_weight); 0 takes the server out of the choice.
  void set_weight(std::size_t server, int weight);
  // The server for the next request; nullopt = "no server available" (HTTP 503).
  std::optional<std::size_t> pick();
  // Connection accounting for leastconn/first: call when a connection to `server` opens/closes.
  void connection_opened(std::size_t server);
  void connection_closed(std::size_t server);
  // Usable active/backup servers, as the UP/DOWN lines count them.
  BackendCounts counts() const;
  const std::vector<RouteServer>& servers() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lb::core
