#pragma once
// The mockserver on real sockets: one single-threaded Asio loop running every listener, each
// connection's write plan, the listener modes (refuse, blackhole, slow-accept) and the admin API.
// Asio stays inside server.cpp.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "mockserver/core/model.hpp"

namespace mock::net {

class Server {
 public:
  // Binds every listener and the admin endpoint; throws std::runtime_error naming the listener
  // when a bind fails.
  explicit Server(core::Spec spec);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // (name, "ADDR:PORT") for each listener in spec order, with the ports actually bound.
  std::vector<std::pair<std::string, std::string>> listening() const;
  // "ADDR:PORT" of the admin API, empty when none.
  std::string admin() const;
  // "ADDR:PORT" of the DNS responder (UDP and TCP), empty when none.
  std::string dns() const;
  std::string blackhole_method() const;

  // Runs until SIGTERM, SIGINT or stop(); returns after closing every socket.
  void run();
  void stop();

  struct Impl;  // opaque; public so the connection classes in server.cpp can name it

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace mock::net
