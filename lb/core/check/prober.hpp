#pragma once
// The edge that carries a check over a connection: lb/net does it with sockets, SimProber on
// simulated time. The engine never sees a socket, only these events.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace lb::core {

// Where a check connects: an IPv4/IPv6 address literal (names are resolved before the engine
// starts, as HAProxy resolves them once at start-up) and a port, or a UNIX socket in
// UnixAddress's form ("unix@PATH", "abns@NAME"; the port unused).
struct ProbeTarget {
  std::string host;
  std::uint16_t port = 0;
  // Delay the handshake's last ACK (TCP_QUICKACK off), as HAProxy does unless an expect comes
  // right after the connect: it then rides on the first data sent, and a connect-only check,
  // reset as soon as it is through, never completes the handshake on the server's side.
  bool delayed_ack = false;
  bool operator==(const ProbeTarget&) const = default;
};

// What happens on one check connection. A prober delivers events later, from its own loop,
// never from inside connect() or send(). After on_error or on_peer_closed nothing more is
// delivered.
class ProbeEvents {
 public:
  virtual ~ProbeEvents() = default;
  virtual void on_connected() = 0;
  virtual void on_data(std::string_view bytes) = 0;
  virtual void on_peer_closed() = 0;
  // The OS error text, as strerror() gives it: "Connection refused", "No route to host", ...
  virtual void on_error(std::string_view os_error) = 0;
  // connect() itself failed, at once, with errno `error` (a local route says unreachable, a
  // UNIX path is missing, a UNIX server's backlog is full): no handshake was ever under way.
  // `tcp`: a TCP socket, which HAProxy counts as connecting even then (a UNIX one it does not).
  virtual void on_connect_failed(int error, bool tcp) = 0;
  // One read that brought bytes and then hit the error: a reset right behind the data.
  virtual void on_data_then_error(std::string_view bytes, std::string_view os_error) {
    on_data(bytes);
    on_error(os_error);
  }
};

// One check connection. Destroying it closes the socket (as HAProxy closes a finished check)
// and guarantees that no further event is delivered, even one the loop has already queued. It
// may be destroyed at any time, including from inside one of its own events.
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
