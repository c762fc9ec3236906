#pragma once
// The edge that carries a check over a connection: lb/net does it with sockets, SimProber on
// simulated time. The engine never sees a socket, only these events.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace lb::core {

struct ProbeTarget {
  std::string host;  // as configured (an address literal or a name resolved by the prober)
  std::uint16_t port = 0;
  bool operator==(const ProbeTarget&) const = default;
};

// What happens on one check connection. A prober delivers events later, from its own loop,
// never from inside connect() or send().
class ProbeEvents {
 public:
  virtual ~ProbeEvents() = default;
  virtual void on_connected() = 0;
  virtual void on_data(std::string_view bytes) = 0;
  virtual void on_peer_closed() = 0;
  // The OS error text, as strerror() gives it: "Connection refused", "No route to host", ...
  virtual void on_error(std::string_view os_error) = 0;
};

// One check connection; destroying it closes the socket and guarantees no further events.
class ProbeConnection {
 public:
  virtual ~ProbeConnection() = default;
  virtual void send(std::string_view bytes) = 0;
};

class Prober {
 public:
  virtual ~Prober() = default;
  virtual std::unique_ptr<ProbeConnection> connect(const ProbeTarget& target, ProbeEvents& events) = 0;
};

}  // namespace lb::core
