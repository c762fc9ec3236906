#include "lb/core/route/backends.hpp"

#include <algorithm>

namespace lb::core {

Backends::Backends(const Config& config) : config_(config), backends_(config.proxies.size()) {
  for (std::size_t pi = 0; pi < config.proxies.size(); ++pi) {
    const auto& px = config.proxies[pi];
    if (!px.has_backend_role()) continue;
    std::vector<RouteServer> servers;
    for (const auto& s : px.servers)
      servers.push_back({s.name, s.settings.weight, s.settings.backup, s.settings.maxconn});
    auto& b = backends_[pi];
    b.router.emplace(px.balance, px.allbackups, std::move(servers));
    b.sessions.assign(px.servers.size(), 0);
    b.max_sessions.assign(px.servers.size(), 0);
    b.total_sessions.assign(px.servers.size(), 0);
    for (const auto& s : px.servers) {
      b.addresses.push_back(s.host);
      b.ports.push_back(s.port);
    }
    // Servers start UP, as HAProxy assumes until a check says otherwise; `disabled` ones do not.
    for (std::size_t si = 0; si < px.servers.size(); ++si)
      if (px.servers[si].settings.disabled) b.router->set_up(si, false);
  }
}

std::optional<std::size_t> Backends::find(std::string_view name) const {
  for (std::size_t i = 0; i < config_.proxies.size(); ++i)
    if (config_.proxies[i].has_backend_role() && config_.proxies[i].name == name) return i;
  return std::nullopt;
}

std::optional<std::size_t> Backends::backend_of(std::size_t frontend) const {
  const auto& fe = config_.proxies.at(frontend);
  if (!fe.use_backends.empty()) return find(fe.use_backends.front());
  if (!fe.default_backend.empty()) return find(fe.default_backend);
  if (fe.kind == ProxyKind::Listen) return frontend;
  return std::nullopt;
}

void Backends::set_usable(ServerKey key, bool usable) {
  auto& b = backends_.at(key.proxy);
  if (!b.router) return;
  b.router->set_up(key.server, usable);
  if (usable) serve_queue(key.proxy);  // a server back UP takes waiting requests at once
}

Backends::Connections Backends::connections(ServerKey key) const {
  const auto& b = backends_.at(key.proxy);
  if (key.server >= b.sessions.size()) return {};
  return {b.sessions[key.server], b.max_sessions[key.server], b.total_sessions[key.server]};
}

long Backends::backend_total(std::size_t proxy) const { return backends_.at(proxy).placed; }

void Backends::follow(const HealthEvent& event, const CheckEngine& engine) {
  using K = HealthEvent::Kind;
  if (event.kind == K::CheckStarted || event.kind == K::CheckFinished || event.kind == K::NoServerAvailable) return;
  auto& b = backends_.at(event.key.proxy);
  if (!b.router) return;
  const ServerStatus st = engine.status(event.key);
  b.router->set_weight(event.key.server, st.uweight);
  set_usable(event.key, st.usable());
}

const std::string& Backends::address(ServerKey key) const { return backends_.at(key.proxy).addresses.at(key.server); }

void Backends::set_address(ServerKey key, std::string host) {
  auto& b = backends_.at(key.proxy);
  if (key.server < b.addresses.size()) b.addresses[key.server] = std::move(host);
}

std::uint16_t Backends::port(ServerKey key) const { return backends_.at(key.proxy).ports.at(key.server); }

void Backends::set_port(ServerKey key, std::uint16_t port) {
  auto& b = backends_.at(key.proxy);
  if (key.server < b.ports.size()) b.ports[key.server] = port;
}

bool Backends::usable(ServerKey key) const {
  const auto& b = backends_.at(key.proxy);
  return b.router && b.router->is_up(key.server);
}

BackendCounts Backends::counts(std::size_t proxy) const {
  const auto& b = backends_.at(proxy);
  return b.router ? b.router->counts() : BackendCounts{};
}

Backends::Pick Backends::pick(std::size_t proxy) {
  auto& b = backends_.at(proxy);
  if (!b.router) return {};
  // Requests already waiting go first: a newcomer queues behind them.
  if (!b.queue.empty()) return {std::nullopt, true};
  if (const auto server = b.router->pick()) return {server, false};
  const auto c = b.router->counts();
  return {std::nullopt, c.active + c.backup > 0};
}

Backends::QueueTicket Backends::enqueue(std::size_t proxy, std::function<void(std::size_t)> on_server) {
  const QueueTicket t = next_ticket_++;
  backends_.at(proxy).queue.push_back({t, std::move(on_server)});
  return t;
}

void Backends::dequeue(std::size_t proxy, QueueTicket ticket) {
  auto& q = backends_.at(proxy).queue;
  std::erase_if(q, [ticket](const Waiter& w) { return w.ticket == ticket; });
}

int Backends::queued(std::size_t proxy) const { return static_cast<int>(backends_.at(proxy).queue.size()); }

void Backends::serve_queue(std::size_t proxy) {
  auto& b = backends_.at(proxy);
  while (!b.queue.empty()) {
    const auto server = b.router->pick();
    if (!server) return;
    Waiter w = std::move(b.queue.front());
    b.queue.pop_front();
    request_started({proxy, *server});
    w.on_server(*server);
  }
}

void Backends::request_started(ServerKey key) {
  auto& b = backends_.at(key.proxy);
  const int now = ++b.sessions.at(key.server);
  b.max_sessions[key.server] = std::max(b.max_sessions[key.server], now);
  ++b.total_sessions[key.server];
  ++b.placed;
  ++b.total;
  b.router->connection_opened(key.server);
}

void Backends::request_finished(ServerKey key) {
  auto& b = backends_.at(key.proxy);
  --b.sessions.at(key.server);
  --b.total;
  b.router->connection_closed(key.server);
  serve_queue(key.proxy);
}

int Backends::sessions(ServerKey key) const { return backends_.at(key.proxy).sessions.at(key.server); }

int Backends::backend_sessions(std::size_t proxy) const { return backends_.at(proxy).total; }

ServerLoad Backends::load(ServerKey key) const { return {sessions(key), 0, 0}; }

}  // namespace lb::core
