#pragma once
// Listening sockets handed from one lb process to the next, so that a reload never closes one:
// the old worker stops accepting on a socket the new worker already accepts on, and the
// connections waiting in its queue are served by the new one. A worker sends the sockets it
// listens on to its master over a socketpair (SCM_RIGHTS); the master keeps them and the next
// worker it forks inherits them. Sockets are named by what the configuration says:
// "tcp 127.0.0.1:8080" (port 0 included), "unix /run/lb.sock".
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lb::core {
struct InheritedSocket;
}

namespace lb::net {

// `bind fd@N`: what the descriptor lb was started with is (getsockname, SO_TYPE), for the parser.
core::InheritedSocket inspect_inherited_socket(int fd);

class ListenSockets {
 public:
  ListenSockets() = default;
  ~ListenSockets();
  ListenSockets(ListenSockets&& o) noexcept : sockets_(std::exchange(o.sockets_, {})) {}
  ListenSockets& operator=(ListenSockets&& o) noexcept;
  ListenSockets(const ListenSockets&) = delete;
  ListenSockets& operator=(const ListenSockets&) = delete;

  // The socket named `key`, for the caller to own from now on; -1 when there is none (or it was
  // taken already: two binds of one address do not share a socket).
  int take(std::string_view key);
  void add(std::string key, int fd);  // owns `fd` from now on
  bool empty() const { return sockets_.empty(); }
  const std::vector<std::pair<std::string, int>>& all() const { return sockets_; }

 private:
  std::vector<std::pair<std::string, int>> sockets_;
};

// One message over a channel: a name and, if `fd` >= 0, a descriptor (SCM_RIGHTS; the sender
// keeps its copy). False when the peer is gone.
bool send_descriptor(int channel, std::string_view name, int fd);
struct Descriptor {
  std::string name;
  int fd = -1;  // the receiver owns it (close-on-exec)
};
// The next message of send_descriptor(); nullopt when the channel closed or, with MSG_DONTWAIT
// in `flags`, nothing is waiting.
std::optional<Descriptor> receive_descriptor(int channel, int flags = 0);

// A `sockpair@N` channel: whoever holds its other end passes connections over it (SCM_RIGHTS).
// Takes the descriptors waiting there, without blocking, each handed to `take` (which owns it),
// until none is left or `more()` says to stop. False once the sender has gone.
bool take_passed_descriptors(int channel, const std::function<void(int fd)>& take,
                             const std::function<bool()>& more = {});

// A SOCK_SEQPACKET socketpair, both ends close-on-exec; {-1, -1} on failure.
std::pair<int, int> handover_channel();
// One message per socket (its name, its descriptor), then "ready". False when the peer is gone.
bool send_sockets(int channel, const std::vector<std::pair<std::string, int>>& sockets);
// The sockets of send_sockets(), once "ready" came; nullopt when the channel closed first (the
// sender exited before it was ready).
std::optional<ListenSockets> receive_sockets(int channel);

}  // namespace lb::net
