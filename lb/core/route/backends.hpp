#pragma once
// The runtime state of every backend's servers, in one place: whether each is usable (written
// by the check engine's transitions), how many requests each is serving (written by the proxy),
// and the Router that picks among them. Everything that asks "where does this request go" or
// "how loaded is this server" reads it here.
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
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
  // Brings a server's routing in line with the engine after one of its events (state, admin
  // flags, weight): the one place lb and the simulator update routing from health.
  void follow(const HealthEvent& event, const CheckEngine& engine);
  // Where requests for the server connect: its configured address, until run-time resolution
  // changes it ("" while it has none).
  const std::string& address(ServerKey key) const;
  void set_address(ServerKey key, std::string host);
  // The port requests connect to: the configured one, or an SRV record's.
  std::uint16_t port(ServerKey key) const;
  void set_port(ServerKey key, std::uint16_t port);
  bool usable(ServerKey key) const;
  // Usable active and backup servers of a backend.
  BackendCounts counts(std::size_t proxy) const;
  // The next server of `proxy` for a request. No server and `full`: every usable server is at its
  // `maxconn`, so the request waits in the backend's queue; no server and not full: none is
  // usable (HAProxy's 503).
  struct Pick {
    std::optional<std::size_t> server;
    bool full = false;
  };
  Pick pick(std::size_t proxy);

  // The backend queue, first come first served. When a request finishes and its server has
  // room again, the oldest waiter gets that server (already counted as started) through its
  // callback. A waiter that gives up (`timeout queue`) leaves with dequeue().
  using QueueTicket = std::uint64_t;
  QueueTicket enqueue(std::size_t proxy, std::function<void(std::size_t server)> on_server);
  void dequeue(std::size_t proxy, QueueTicket ticket);
  int queued(std::size_t proxy) const;

  // A request was assigned to / finished with a server (leastconn and the log counters).
  void request_started(ServerKey key);
  void request_finished(ServerKey key);
  int sessions(ServerKey key) const;
  // Requests being served on the server now, and the most it has served at once.
  struct Connections {
    int current = 0;
    int max = 0;
    long total = 0;  // requests it was given since start-up
  };
  Connections connections(ServerKey key) const;
  int backend_sessions(std::size_t proxy) const;
  long backend_total(std::size_t proxy) const;  // requests the backend placed since start-up
  ServerLoad load(ServerKey key) const;

 private:
  struct Waiter {
    QueueTicket ticket;
    std::function<void(std::size_t)> on_server;
  };
  struct Backend {
    std::optional<Router> router;  // set for backend-role proxies
    std::vector<int> sessions;
    std::vector<int> max_sessions;
    std::vector<long> total_sessions;
    long placed = 0;
    std::vector<std::string> addresses;
    std::vector<std::uint16_t> ports;
    int total = 0;
    std::deque<Waiter> queue;
  };
  void serve_queue(std::size_t proxy);
  const Config& config_;
  QueueTicket next_ticket_ = 1;
  std::vector<Backend> backends_;  // [proxy]
};

}  // namespace lb::core
