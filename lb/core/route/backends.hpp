#pragma once
// The runtime state of every backend's servers, in one place: whether each is usable (written
// by the check engine's transitions), how many requests each is serving (written by the proxy),
// and the Router that picks among them. Everything that asks "where does this request go" or
// "how loaded is this server" reads it here.
#include <optional>
#include <string_view>
#include <vector>

#include "lb/core/check/check_engine.hpp"
#include "lb/core/config/model.hpp"
#include "lb/core/route/router.hpp"

namespace lb::core {

class Backends {
 public:
  explicit Backends(const Config& config);

  // The proxy index of the backend (or listen) section called `name`.
  std::optional<std::size_t> find(std::string_view name) const;
  // Where a frontend's requests go: its first unconditional `use_backend`, else `default_backend`
  // (a listen section is its own backend).
  std::optional<std::size_t> backend_of(std::size_t frontend) const;

  void set_usable(ServerKey key, bool usable);
  bool usable(ServerKey key) const;
  // Usable active and backup servers of a backend.
  BackendCounts counts(std::size_t proxy) const;
  // The next server of `proxy` for a request; nullopt = no server available (HTTP 503).
  std::optional<std::size_t> pick(std::size_t proxy);

  // A request was assigned to / finished with a server (leastconn and the log counters).
  void request_started(ServerKey key);
  void request_finished(ServerKey key);
  int sessions(ServerKey key) const;
  int backend_sessions(std::size_t proxy) const;
  ServerLoad load(ServerKey key) const;

 private:
  struct Backend {
    std::optional<Router> router;  // set for backend-role proxies
    std::vector<int> sessions;
    int total = 0;
  };
  const Config& config_;
  std::vector<Backend> backends_;  // [proxy]
};

}  // namespace lb::core
