#pragma once
// The core's DnsTransport over UDP: one connected socket per nameserver, replies read on the
// io_context that runs the AsioScheduler and handed to the resolution from that loop.
#include <functional>
#include <memory>
#include <string_view>

#include "lb/core/config/model.hpp"
#include "lb/core/dns/resolution.hpp"

namespace boost::asio {
class io_context;
}

namespace lb::net {

class UdpDnsTransport final : public core::DnsTransport {
 public:
  using ReplyHandler = std::function<void(std::size_t section, std::size_t nameserver, std::string_view bytes)>;
  // Opens a socket per nameserver of every section (nameserver names were resolved when the
  // configuration was read). `on_reply` receives each datagram.
  UdpDnsTransport(boost::asio::io_context& io, const core::Config& config, ReplyHandler on_reply);
  ~UdpDnsTransport() override;
  bool send(std::size_t section, std::size_t nameserver, std::string_view query) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lb::net
