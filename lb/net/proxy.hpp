#pragma once
// The traffic side of lb: every frontend's listeners, and for each accepted connection an HTTP/1.1
// session (mode http) or a byte pump (mode tcp) to the server the core Router picks. Timeouts,
// retries and redispatch follow HAProxy 2.6; the answers lb makes itself are HAProxy's pages;
// every session ends with its httplog/tcplog line when the frontend asks for one.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lb/core/config/limits.hpp"
#include "lb/core/config/model.hpp"
#include "lb/core/route/backends.hpp"
#include "lb/core/stats/traffic.hpp"
#include "lb/core/time/clock.hpp"

namespace boost::asio {
class io_context;
}

namespace lb::net {

class ListenSockets;
class LogSink;

// Requests lb answers itself (the stats page, the Prometheus exporter): `wants` tells them from
// the others by their head; `answer` gets the whole request and returns the bytes to send.
struct LocalRequest {
  std::size_t frontend = 0;
  std::string method, target;
  std::optional<std::string> authorization;
  std::string body;
  bool http10 = false;
  bool keep_alive = false;
  bool from_localhost = false;
};
struct LocalAnswer {
  int status = 200;
  std::string bytes;
  bool close = true;
  std::string server;  // as the log line names it: "<STATS>", "<PROMEX>"
};
struct LocalServices {
  std::function<bool(std::size_t frontend, const std::string& method, const std::string& target)> wants;
  std::function<LocalAnswer(const LocalRequest&)> answer;
};

class Proxy {
 public:
  // `limits`: the global maxconn, and the maxsock HAProxy names when descriptors run out.
  // A frontend at its maxconn, or the process at the global one, stops accepting until a
  // connection ends; the kernel holds new ones in the listen backlog (the frontend's maxconn).
  // `traffic` gets what every connection, attempt and exchange did (the stats' counters).
  Proxy(const core::Config& config, const core::ConnectionLimits& limits, boost::asio::io_context& io,
        core::Backends& backends, LogSink& log, core::stats::Traffic& traffic, const core::Clock& clock);
  ~Proxy();
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  void set_local_services(LocalServices services);

  // Binds every `bind` of every frontend, taking the sockets `handover` has (a reload) instead
  // of binding them again. On failure prints HAProxy's alerts ("Binding [haproxy.cfg:9] for
  // frontend fe: cannot bind socket (Address already in use) for [127.0.0.1:8080]") and returns
  // false.
  // `replacing`: how many processes (-sf/-st) listen on the same addresses; the new sockets then
  // take every new connection from the kernel at once (a reuseport BPF program), so that the old
  // ones only answer what they had queued. An abstract name they hold cannot be shared: it is
  // asked for with `release_abstract` (bind_unix's `release`: SIGTTOU to them).
  bool bind_all(ListenSockets* handover = nullptr, int replacing = 0, const std::function<bool()>& release_abstract = {});
  // SIGTTOU from a process taking over: the abstract listeners let go of their names (what they
  // had queued is answered first), while TCP and path listeners go on accepting until the
  // SIGUSR1 that follows. SIGTTIN, from one that gave up: they are bound again, or HAProxy's
  // warning says they could not be.
  void release_abstract();
  void resume_released();
  // The listening sockets, named as a ListenSockets handover names them (still owned here).
  std::vector<std::pair<std::string, int>> listen_sockets() const;
  // HAProxy's cumulated connections of proxy `proxy`: {accepted as a frontend, given to it as
  // a backend}, as "Proxy X stopped (cumulated conns: FE: N, BE: M)." says them.
  std::pair<long, long> cumulated(std::size_t proxy) const;
  // (frontend, "ADDR:PORT") of each bound listener, in configuration order (ports as bound,
  // for port 0).
  std::vector<std::pair<std::string, std::string>> listening() const;
  // Client connections open now (HAProxy's CurrConns).
  int connections() const;
  // Stops accepting; sessions in flight go on.
  void stop_accepting();
  int connections(std::size_t frontend) const;  // of one frontend (its feconn)
  // Calls `done` once no session is left, or after `grace` (none: no limit), whichever comes
  // first; `overdue` first when sessions are still open then.
  void drain(std::optional<std::chrono::milliseconds> grace, std::function<void()> done,
             std::function<void()> overdue = {});

  struct Impl;  // public so the session classes in proxy.cpp can name it

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace lb::net
