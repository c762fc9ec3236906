#pragma once
// The core's Prober on real sockets: one non-blocking TCP connection per check, driven by the
// io_context that runs the AsioScheduler, events delivered from that loop.
#include <functional>
#include <string_view>

#include "lb/core/check/prober.hpp"

namespace boost::asio {
class io_context;
}

namespace lb::net {

class NetProber final : public core::Prober {
 public:
  explicit NetProber(boost::asio::io_context& io) : io_(io) {}
  // A target that is not an address literal fails at once with "Invalid argument", as a
  // connect() to an unparsable sockaddr would.
  std::unique_ptr<core::ProbeConnection> connect(const core::ProbeTarget& target, core::ProbeEvents& events) override;
  // Where HAProxy's warnings of a check's connect go ("Failed to transfer socket").
  void on_warning(std::function<void(std::string_view)> warn) { warn_ = std::move(warn); }

 private:
  boost::asio::io_context& io_;
  std::function<void(std::string_view)> warn_;
};

}  // namespace lb::net
