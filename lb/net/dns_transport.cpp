#include "lb/net/dns_transport.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>

#include <array>
#include <vector>

namespace lb::net {
namespace asio = boost::asio;
using udp = asio::ip::udp;

struct UdpDnsTransport::Impl {
  struct Socket {
    std::size_t section = 0, nameserver = 0;
    std::unique_ptr<udp::socket> socket;
    std::array<char, 65536> buffer{};
    bool open = false;
  };

  Impl(asio::io_context& i, ReplyHandler h) : io(i), on_reply(std::move(h)) {}

  void receive(Socket& s) {
    s.socket->async_receive(asio::buffer(s.buffer), [this, &s, alive = std::weak_ptr<bool>(alive)](
                                                         const boost::system::error_code& ec, std::size_t n) {
      // A completion already queued when the transport went must not touch it.
      if (ec == asio::error::operation_aborted || alive.expired()) return;
      // ICMP port unreachable shows as connection_refused on a connected UDP socket: a
      // nameserver that is down; its queries simply go unanswered, as for HAProxy.
      if (!ec && on_reply) on_reply(s.section, s.nameserver, std::string_view(s.buffer.data(), n));
      receive(s);
    });
  }

  asio::io_context& io;
  ReplyHandler on_reply;
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);
  std::vector<std::vector<std::unique_ptr<Socket>>> sockets;  // [section][nameserver]
};

UdpDnsTransport::UdpDnsTransport(asio::io_context& io, const core::Config& config, ReplyHandler on_reply)
    : impl_(std::make_unique<Impl>(io, std::move(on_reply))) {
  for (std::size_t si = 0; si < config.resolvers.size(); ++si) {
    auto& row = impl_->sockets.emplace_back();
    const auto& section = config.resolvers[si];
    for (std::size_t ni = 0; ni < section.nameservers.size(); ++ni) {
      auto s = std::make_unique<Impl::Socket>();
      s->section = si;
      s->nameserver = ni;
      s->socket = std::make_unique<udp::socket>(io);
      const auto& ns = section.nameservers[ni];
      boost::system::error_code ec;
      const auto address = asio::ip::make_address(ns.host, ec);
      if (!ec) {
        const udp::endpoint to(address, ns.port);
        s->socket->open(to.protocol(), ec);
        if (!ec) s->socket->connect(to, ec);
        s->open = !ec;
      }
      if (s->open) impl_->receive(*s);
      row.push_back(std::move(s));
    }
  }
}

UdpDnsTransport::~UdpDnsTransport() {
  for (auto& row : impl_->sockets)
    for (auto& s : row) {
      boost::system::error_code ec;
      s->socket->close(ec);
    }
}

bool UdpDnsTransport::send(std::size_t section, std::size_t nameserver, std::string_view query) {
  if (section >= impl_->sockets.size() || nameserver >= impl_->sockets[section].size()) return false;
  auto& s = *impl_->sockets[section][nameserver];
  if (!s.open) return false;
  boost::system::error_code ec;
  s.socket->send(asio::buffer(query.data(), query.size()), 0, ec);
  return !ec;
}

}  // namespace lb::net
