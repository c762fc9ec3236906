#include "mockserver/net/server.hpp"

#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstring>
#include <cstdio>
#include <list>
#include <stdexcept>
#include <unordered_set>

#include "mockserver/core/admin.hpp"
#include "mockserver/core/engine.hpp"
#include "mockserver/core/request.hpp"

namespace mock::net {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;
using core::Ms;
using core::TimePoint;

namespace {

constexpr std::size_t kReadChunk = 16 * 1024;
constexpr auto kDrainLimit = std::chrono::seconds(2);  // a graceful close waits this long for FIN

std::string peer_string(const tcp::socket& s) {
  error_code ec;
  const auto ep = s.remote_endpoint(ec);
  if (ec) return "?";
  const auto addr = ep.address();
  return addr.is_v6() ? fmt::format("[{}]:{}", addr.to_string(), ep.port())
                      : fmt::format("{}:{}", addr.to_string(), ep.port());
}

std::string endpoint_string(const tcp::endpoint& ep) {
  return core::to_string(core::Endpoint{ep.address().to_string(), ep.port()});
}

// A one-instruction classic BPF program that drops every packet: attached to a listening socket
// it discards SYNs before the listener sees them, so connects time out (no root needed).
bool attach_drop_filter(int fd) {
  sock_filter code[] = {{BPF_RET | BPF_K, 0, 0, 0}};
  sock_fprog prog{1, code};
  return ::setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) == 0;
}

void detach_filter(int fd) {
  int unused = 0;
  ::setsockopt(fd, SOL_SOCKET, SO_DETACH_FILTER, &unused, sizeof unused);
}

// Received bytes. Grows to the largest request seen and is reused: reading never zero-fills or
// allocates on the hot path.
class InBuffer {
 public:
  std::string_view view() const { return {buf_.data(), len_}; }
  std::size_t size() const { return len_; }
  asio::mutable_buffer prepare() {
    if (buf_.size() - len_ < kReadChunk / 4) buf_.resize(std::max(buf_.size() * 2, len_ + kReadChunk));
    return asio::buffer(buf_.data() + len_, buf_.size() - len_);
  }
  void commit(std::size_t n) { len_ += n; }
  void consume(std::size_t n) {
    std::memmove(buf_.data(), buf_.data() + n, len_ - n);
    len_ -= n;
  }
  void clear() { len_ = 0; }

 private:
  std::vector<char> buf_ = std::vector<char>(kReadChunk);
  std::size_t len_ = 0;
};

}  // namespace

class Connection;
class AdminConnection;

struct ListenerRt : std::enable_shared_from_this<ListenerRt> {
  ListenerRt(asio::io_context& io, core::Listener& m) : model(m), acceptor(io), mode_timer(io) {}
  core::Listener& model;
  tcp::endpoint ep;
  tcp::acceptor acceptor;
  int reserve_fd = -1;  // refuse: keeps the port bound while nothing listens
  bool filtered = false;
  bool ever_filtered = false;
  core::Mode applied = core::Mode::Serve;
  bool accepting = false;
  std::uint64_t accept_gen = 0;
  std::uint64_t seen_generation = 0;
  asio::steady_timer mode_timer;
  std::unordered_set<Connection*> conns;
};

struct Waiter {
  std::uint64_t id = 0;
  std::shared_ptr<AdminConnection> conn;
  core::WaitQuery query;
  std::unique_ptr<asio::steady_timer> timer;
};

struct Server::Impl {
  explicit Impl(core::Spec s);
  ~Impl();

  TimePoint now() const {
    return TimePoint{std::chrono::duration_cast<Ms>(std::chrono::steady_clock::now() - start)};
  }
  std::chrono::steady_clock::time_point to_steady(TimePoint t) const { return start + t.time_since_epoch(); }

  void open_listener(ListenerRt& l, bool listen_now);
  void apply_mode(ListenerRt& l);
  void arm_mode_timer(ListenerRt& l);
  void do_accept(ListenerRt& l);
  void sync_all();
  void do_admin_accept();
  void on_journal();
  void complete_waiter(std::list<Waiter>::iterator it, bool timed_out);
  void expire_waiter(std::uint64_t id);
  std::uint64_t next_waiter = 1;
  void shutdown();

  asio::io_context io{1};
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  core::Spec spec;
  core::World world;
  std::vector<std::shared_ptr<ListenerRt>> listeners;
  std::optional<tcp::acceptor> admin;
  std::unordered_set<AdminConnection*> admin_conns;
  std::list<Waiter> waiters;
  asio::signal_set signals{io, SIGTERM, SIGINT};
  bool stopping = false;
};

// ---------------------------------------------------------------------------------------------
// Connection: one accepted socket on a listener, executing write plans
// ---------------------------------------------------------------------------------------------

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Server::Impl& srv, std::shared_ptr<ListenerRt> l, tcp::socket s)
      : srv_(srv), l_(std::move(l)), sock_(std::move(s)), timer_(srv.io) {
    l_->conns.insert(this);
    ++l_->model.open_connections;
  }
  ~Connection() {
    l_->conns.erase(this);
    --l_->model.open_connections;
  }

  void start() {
    peer_ = peer_string(sock_);
    const auto d = l_->model.on_accept(srv_.now());
    if (!d.fault) return do_read();
    record_accept_fault(d);
    switch (d.fault->kind) {
      case core::FaultKind::ResetOnAccept: return reset_now();
      case core::FaultKind::CloseBeforeRequest: return close_now("fin-by-us");
      default: return hold(false);  // hang-no-read
    }
  }

  // Server shutdown: everything pending completes with operation_aborted.
  void abort() {
    error_code ec;
    timer_.cancel();
    sock_.close(ec);
    keep_alive_ref_.reset();
  }

  // Listener reset: connections held by a fault are let go with a FIN.
  void release() {
    if (state_ != State::Holding) return;
    close_gracefully();
    keep_alive_ref_.reset();
  }

 private:
  enum class State { Reading, Writing, Holding, Draining, Done };

  void record_accept_fault(const core::AcceptDecision& d) {
    if (auto* e = srv_.world.journal.next()) {
      seq_ = e->seq;
      e->listener = l_->model.name();
      e->peer = peer_;
      e->t = srv_.now().time_since_epoch();
      e->rule = d.rule;
      e->outcome = fmt::format("fault:{}", core::info(d.fault->kind).name);
      e->end = "open";
    }
    srv_.on_journal();
  }

  core::JournalEntry* entry() { return seq_ ? srv_.world.journal.find(seq_) : nullptr; }
  void set_end(std::string_view end) {
    if (auto* e = entry()) e->end = end;
  }
  void add_sent(std::size_t n) {
    if (auto* e = entry()) e->bytes_sent += n;
  }

  void do_read() {
    if (srv_.stopping) return;
    if (in_.size() > core::RequestParser::kMaxHead + core::RequestParser::kMaxBody + kReadChunk)
      return close_now("fin-by-us");
    sock_.async_read_some(in_.prepare(), [self = shared_from_this()](error_code ec, std::size_t n) {
      if (!ec) self->in_.commit(n);
      self->on_read(ec);
    });
  }

  void on_read(error_code ec) {
    if (ec) return close_now({});  // the journal keeps how we last left it (held, ...)
    if (state_ == State::Holding || state_ == State::Draining) {
      in_.clear();  // a held or closing connection ignores what it is sent
      return do_read();
    }
    process();
  }

  void process() {
    if (srv_.stopping) return;
    state_ = State::Reading;
    const auto r = parser_.parse(in_.view());
    switch (r.status) {
      case core::ParseStatus::Incomplete: return do_read();
      case core::ParseStatus::Bad: return reject(400);
      case core::ParseStatus::TooLarge: return reject(431);
      case core::ParseStatus::Done: break;
    }
    const core::Request& req = parser_.request();
    const TimePoint t = srv_.now();
    l_->model.on_request(req, t, decision_);
    record_request(req, t);
    in_.consume(r.consumed);  // the views in `req` die here; everything needed is copied
    if (l_->model.has_listener_rules()) srv_.apply_mode(*l_);
    state_ = State::Writing;
    if (!decision_.prepared.empty() && decision_.plan.steps.empty()) {
      out_.assign(decision_.prepared);
      closes_after_ = decision_.prepared_closes;
      return write(out_, [](Connection& c) { c.after_response(); });
    }
    plan_ = std::move(decision_.plan);
    decision_.plan.steps.clear();
    step_ = 0;
    run_plan();
  }

  void record_request(const core::Request& req, TimePoint t) {
    core::JournalEntry* e = srv_.world.journal.next();
    seq_ = e ? e->seq : 0;
    if (e) {
      e->listener = l_->model.name();
      e->peer = peer_;
      e->method = req.method;
      e->path = req.target;
      for (const auto& h : req.headers) {
        e->headers.append(h.name).append(": ").append(h.value).append("\r\n");
      }
      e->t = t.time_since_epoch();
      e->rule = decision_.rule;
      if (decision_.fault) {
        e->outcome.assign("fault:").append(core::info(*decision_.fault).name);
      } else {
        char buf[8];
        const auto [p, ec] = std::to_chars(buf, buf + sizeof buf, decision_.status);
        e->outcome.assign(buf, p);
      }
      e->end = "open";
    }
    srv_.on_journal();
  }

  void reject(int status) {
    state_ = State::Writing;
    if (auto* e = srv_.world.journal.next()) {
      seq_ = e->seq;
      e->listener = l_->model.name();
      e->peer = peer_;
      e->t = srv_.now().time_since_epoch();
      e->outcome = status == 400 ? "bad-request" : "too-large";
      e->end = "open";
    }
    srv_.on_journal();
    in_.clear();
    out_ = fmt::format("HTTP/1.1 {} {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", status,
                       core::standard_reason(status));
    closes_after_ = true;
    write(out_, [](Connection& c) { c.after_response(); });
  }

  template <class Next>
  void write(std::string_view bytes, Next next) {
    asio::async_write(sock_, asio::buffer(bytes.data(), bytes.size()),
                      [self = shared_from_this(), next](error_code ec, std::size_t n) {
                        self->add_sent(n);
                        if (ec) {
                          self->set_end(ec == asio::error::connection_reset ? "rst-by-peer" : "fin-by-peer");
                          return self->close_now({});
                        }
                        next(*self);
                      });
  }

  void after_response() {
    if (closes_after_) return close_gracefully();
    set_end("keep-alive");
    process();
  }

  void run_plan() {
    if (srv_.stopping) return;
    if (step_ == plan_.steps.size()) {
      closes_after_ = !plan_.keep_alive;
      return after_response();
    }
    const core::Step& s = plan_.steps[step_++];
    switch (s.kind) {
      case core::StepKind::Send:
        return write(s.bytes, [](Connection& c) { c.run_plan(); });
      case core::StepKind::Pause:
        timer_.expires_after(s.pause);
        return timer_.async_wait([self = shared_from_this()](error_code ec) {
          if (!ec) self->run_plan();
        });
      case core::StepKind::Close: return close_gracefully();
      case core::StepKind::Reset: return reset_now();
      case core::StepKind::Hold: return hold(true);
    }
  }

  void hold(bool read) {
    state_ = State::Holding;
    set_end("held");
    in_.clear();
    if (read) return do_read();  // notices the peer leaving
    // hang-no-read has no pending operation to own it: it owns itself until released.
    keep_alive_ref_ = shared_from_this();
  }

  // FIN after draining the peer: closing with unread input would send RST instead.
  void close_gracefully() {
    if (state_ == State::Done || state_ == State::Draining) return;
    state_ = State::Draining;
    set_end("fin-by-us");
    error_code ec;
    sock_.shutdown(tcp::socket::shutdown_send, ec);
    timer_.expires_after(kDrainLimit);
    timer_.async_wait([self = shared_from_this()](error_code e) {
      if (!e) self->close_now({});
    });
    in_.clear();
    do_read();
  }

  void reset_now() {
    set_end("rst-by-us");
    error_code ec;
    sock_.set_option(asio::socket_base::linger(true, 0), ec);
    close_now({});
  }

  void close_now(std::string_view end) {
    if (!end.empty()) set_end(end);
    state_ = State::Done;
    error_code ec;
    timer_.cancel();
    sock_.close(ec);
  }

  Server::Impl& srv_;
  std::shared_ptr<ListenerRt> l_;
  tcp::socket sock_;
  asio::steady_timer timer_;
  std::string peer_;
  InBuffer in_;
  std::string out_;
  core::RequestParser parser_;
  core::Decision decision_;
  core::WritePlan plan_;
  std::size_t step_ = 0;
  bool closes_after_ = false;
  std::uint64_t seq_ = 0;
  State state_ = State::Reading;
  std::shared_ptr<Connection> keep_alive_ref_;
};

// ---------------------------------------------------------------------------------------------
// AdminConnection: the control API, JSON over HTTP/1.1
// ---------------------------------------------------------------------------------------------

class AdminConnection : public std::enable_shared_from_this<AdminConnection> {
 public:
  AdminConnection(Server::Impl& srv, tcp::socket s) : srv_(srv), sock_(std::move(s)) {
    srv_.admin_conns.insert(this);
  }
  ~AdminConnection() { srv_.admin_conns.erase(this); }

  void start() { do_read(); }
  void abort() {
    error_code ec;
    sock_.close(ec);
  }

  void answer(const core::AdminReply& r) {
    body_ = r.body;
    out_ = fmt::format("HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{}\r\n",
                       r.status, core::standard_reason(r.status), body_.size() + 1,
                       keep_alive_ ? "" : "Connection: close\r\n");
    out_ += body_;
    out_ += '\n';
    asio::async_write(sock_, asio::buffer(out_), [self = shared_from_this()](error_code ec, std::size_t) {
      if (ec || !self->keep_alive_) {
        error_code ignored;
        self->sock_.shutdown(tcp::socket::shutdown_send, ignored);
        return;  // the peer closes; the object dies with its last handler
      }
      self->process();
    });
  }

 private:
  void do_read() {
    if (srv_.stopping) return;
    if (in_.size() > core::RequestParser::kMaxHead + core::RequestParser::kMaxBody) return;
    sock_.async_read_some(in_.prepare(), [self = shared_from_this()](error_code ec, std::size_t n) {
      if (ec) return;
      self->in_.commit(n);
      self->process();
    });
  }

  void process() {
    const auto r = parser_.parse(in_.view());
    if (r.status == core::ParseStatus::Incomplete) return do_read();
    if (r.status != core::ParseStatus::Done) {
      keep_alive_ = false;
      in_.clear();
      return answer({r.status == core::ParseStatus::Bad ? 400 : 413,
                     R"({"error":"malformed HTTP request","field":"request"})", {}});
    }
    const auto& req = parser_.request();
    keep_alive_ = req.keep_alive;
    auto reply = core::handle_admin(srv_.world, req.method, req.target, req.body, srv_.now());
    in_.consume(r.consumed);
    srv_.sync_all();
    if (!reply.wait) return answer(reply);
    const auto id = srv_.next_waiter++;
    auto it = srv_.waiters.insert(srv_.waiters.end(),
                                  Waiter{id, shared_from_this(), *reply.wait,
                                         std::make_unique<asio::steady_timer>(srv_.io)});
    it->timer->expires_after(reply.wait->timeout);
    // By id, not iterator: the waiter may be answered while this handler is already queued.
    it->timer->async_wait([&srv = srv_, id](error_code ec) {
      if (!ec) srv.expire_waiter(id);
    });
  }

  Server::Impl& srv_;
  tcp::socket sock_;
  InBuffer in_;
  std::string out_;
  std::string body_;
  core::RequestParser parser_;
  bool keep_alive_ = true;
};

// ---------------------------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------------------------

Server::Impl::Impl(core::Spec s) : spec(std::move(s)), world(spec.journal_limit) {
  for (const auto& ls : spec.listeners) {
    world.listeners.push_back(std::make_unique<core::Listener>(ls, now()));
    auto rt = std::make_shared<ListenerRt>(io, *world.listeners.back());
    error_code ec;
    const auto addr = asio::ip::make_address(ls.listen.host, ec);
    if (ec) throw std::runtime_error(fmt::format("listener {}: bad address '{}'", ls.name, ls.listen.host));
    rt->ep = tcp::endpoint(addr, ls.listen.port);
    open_listener(*rt, true);
    rt->ep = rt->acceptor.local_endpoint();  // port 0 resolved: re-binds reuse the same port
    rt->model.set_bound({ls.listen.host, rt->ep.port()});
    listeners.push_back(std::move(rt));
  }
  if (spec.admin) {
    error_code ec;
    const auto addr = asio::ip::make_address(spec.admin->host, ec);
    if (ec) throw std::runtime_error(fmt::format("admin: bad address '{}'", spec.admin->host));
    admin.emplace(io);
    admin->open(addr.is_v6() ? tcp::v6() : tcp::v4());
    admin->set_option(asio::socket_base::reuse_address(true));
    admin->bind(tcp::endpoint(addr, spec.admin->port), ec);
    if (ec) throw std::runtime_error(fmt::format("admin: cannot bind {}: {}", core::to_string(*spec.admin), ec.message()));
    admin->listen();
  }
  for (auto& l : listeners) {
    l->seen_generation = l->model.generation();
    apply_mode(*l);
  }
}

Server::Impl::~Impl() {
  for (auto& l : listeners)
    if (l->reserve_fd >= 0) ::close(l->reserve_fd);
}

void Server::Impl::open_listener(ListenerRt& l, bool listen_now) {
  error_code ec;
  l.acceptor.open(l.ep.protocol(), ec);
  if (!ec) l.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) l.acceptor.bind(l.ep, ec);
  if (!ec && listen_now) l.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw std::runtime_error(fmt::format("listener {}: cannot listen on {}: {}", l.model.name(),
                                         endpoint_string(l.ep), ec.message()));
  }
}

void Server::Impl::apply_mode(ListenerRt& l) {
  if (stopping) return;
  const core::Mode want = l.model.mode_at(now());
  if (want != l.applied || (want == core::Mode::Serve && !l.accepting)) {
    // 1. a listening socket exists unless refusing; the reserve gives the port back first
    if (want != core::Mode::Refuse && !l.acceptor.is_open()) {
      if (l.reserve_fd >= 0) ::close(l.reserve_fd), l.reserve_fd = -1;
      try {
        open_listener(l, true);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "mockserver: %s\n", e.what());
        arm_mode_timer(l);
        return;  // stays refusing; the next mode change tries again
      }
    }
    // 2. the drop filter is on exactly while blackholed
    if (l.acceptor.is_open()) {
      if (want == core::Mode::Blackhole && !l.filtered) {
        l.filtered = attach_drop_filter(l.acceptor.native_handle());
        l.ever_filtered |= l.filtered;
        if (!l.filtered) std::fprintf(stderr, "mockserver: %s: SO_ATTACH_FILTER failed; blackhole acts as slow-accept\n", l.model.name().c_str());
      } else if (want != core::Mode::Blackhole && l.filtered) {
        detach_filter(l.acceptor.native_handle());
        l.filtered = false;
      }
    }
    // 3. accept only while serving
    if (want != core::Mode::Serve && l.accepting) {
      l.accepting = false;
      ++l.accept_gen;
      error_code ec;
      l.acceptor.cancel(ec);
    }
    // 4. refusing: no listener, so the kernel answers SYNs with RST. A bound, never-listening
    // reserve socket keeps the port ours meanwhile (SO_REUSEPORT would avoid the instant
    // between close and bind, but would also let a second server share a fixed port silently).
    if (want == core::Mode::Refuse && l.acceptor.is_open()) {
      error_code ec;
      l.acceptor.close(ec);
      l.filtered = false;
      l.reserve_fd = ::socket(l.ep.protocol().family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
      const int one = 1;
      ::setsockopt(l.reserve_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      if (::bind(l.reserve_fd, l.ep.data(), static_cast<socklen_t>(l.ep.size())) != 0) {
        ::close(l.reserve_fd);
        l.reserve_fd = -1;  // the port is not held, but refusing still works
      }
    }
    if (want == core::Mode::Serve && !l.accepting) {
      l.accepting = true;
      do_accept(l);
    }
    l.applied = want;
  }
  arm_mode_timer(l);
}

void Server::Impl::arm_mode_timer(ListenerRt& l) {
  const auto next = l.model.next_mode_change(now());
  l.mode_timer.cancel();
  if (!next) return;
  l.mode_timer.expires_at(to_steady(*next));
  l.mode_timer.async_wait([this, &l](error_code ec) {
    if (!ec) apply_mode(l);
  });
}

void Server::Impl::do_accept(ListenerRt& l) {
  l.acceptor.async_accept([this, keep = l.shared_from_this(), gen = l.accept_gen](error_code ec, tcp::socket s) {
    ListenerRt& l = *keep;
    if (stopping || gen != l.accept_gen || ec == asio::error::operation_aborted) return;
    if (!ec) {
      if (l.ever_filtered) detach_filter(s.native_handle());  // children inherit the filter
      error_code ignored;  // as nginx's tcp_nodelay: a response is one write, send it now
      s.set_option(tcp::no_delay(true), ignored);
      std::make_shared<Connection>(*this, keep, std::move(s))->start();
    }
    do_accept(l);
  });
}

void Server::Impl::sync_all() {
  for (auto& l : listeners) {
    if (l->model.generation() != l->seen_generation) {
      l->seen_generation = l->model.generation();
      std::vector<std::shared_ptr<Connection>> held;
      for (auto* c : l->conns) held.push_back(c->shared_from_this());
      for (auto& c : held) c->release();
    }
    apply_mode(*l);
  }
}

void Server::Impl::do_admin_accept() {
  admin->async_accept([this](error_code ec, tcp::socket s) {
    if (stopping) return;
    if (!ec) std::make_shared<AdminConnection>(*this, std::move(s))->start();
    do_admin_accept();
  });
}

void Server::Impl::on_journal() {
  for (auto it = waiters.begin(); it != waiters.end();) {
    auto cur = it++;
    if (world.journal.count(cur->query.filter) >= cur->query.count) complete_waiter(cur, false);
  }
}

void Server::Impl::complete_waiter(std::list<Waiter>::iterator it, bool timed_out) {
  auto conn = std::move(it->conn);
  const auto reply = core::wait_reply(world, it->query, timed_out);
  waiters.erase(it);
  conn->answer(reply);
}

void Server::Impl::expire_waiter(std::uint64_t id) {
  const auto it = std::find_if(waiters.begin(), waiters.end(), [&](const Waiter& w) { return w.id == id; });
  if (it != waiters.end()) complete_waiter(it, true);
}

void Server::Impl::shutdown() {
  if (stopping) return;
  stopping = true;
  error_code ec;
  signals.cancel(ec);
  if (admin) admin->close(ec);
  for (auto& l : listeners) {
    l->acceptor.close(ec);
    l->mode_timer.cancel();
    std::vector<std::shared_ptr<Connection>> all;
    for (auto* c : l->conns) all.push_back(c->shared_from_this());
    for (auto& c : all) c->abort();
  }
  for (auto& w : waiters) w.timer->cancel();
  waiters.clear();
  std::vector<std::shared_ptr<AdminConnection>> admins;
  for (auto* a : admin_conns) admins.push_back(a->shared_from_this());
  for (auto& a : admins) a->abort();
}

Server::Server(core::Spec spec) : impl_(std::make_unique<Impl>(std::move(spec))) {}

Server::~Server() = default;

std::vector<std::pair<std::string, std::string>> Server::listening() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& l : impl_->listeners) out.emplace_back(l->model.name(), endpoint_string(l->ep));
  return out;
}

std::string Server::admin() const {
  return impl_->admin ? endpoint_string(impl_->admin->local_endpoint()) : std::string();
}

std::string Server::blackhole_method() const { return impl_->world.blackhole_method; }

void Server::run() {
  auto& s = *impl_;
  s.signals.async_wait([&s](error_code ec, int) {
    if (!ec) s.shutdown();
  });
  if (s.admin) s.do_admin_accept();
  s.io.run();
}

void Server::stop() {
  asio::post(impl_->io, [this] { impl_->shutdown(); });
}

}  // namespace mock::net
