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
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstring>
#include <cstdio>
#include <list>
#include <stdexcept>
#include <unordered_set>

#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>

#include "mockserver/net/tls.hpp"
#include <boost/asio/ip/udp.hpp>

#include "mockserver/core/admin.hpp"
#include "mockserver/core/dns.hpp"
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
// After a failed accept (EMFILE, ENFILE, ENOBUFS ...) the pending connection stays queued, so an
// immediate retry fails again at once: wait instead of spinning the loop.
constexpr auto kAcceptRetry = std::chrono::milliseconds(100);

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

// Whether this kernel lets us attach the filter at all, so /v1/health names the method in use.
bool probe_drop_filter() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const bool ok = attach_drop_filter(fd);
  ::close(fd);
  return ok;
}

void detach_filter(int fd) {
  int unused = 0;
  ::setsockopt(fd, SOL_SOCKET, SO_DETACH_FILTER, &unused, sizeof unused);
}

// Received bytes. Grows (zero-filling the new part, once) to the largest request seen and is
// then reused, so steady-state reads neither allocate nor fill.
class InBuffer {
 public:
  std::string_view view() const { return {buf_.data(), len_}; }
  std::size_t size() const { return len_; }
  asio::mutable_buffer prepare() {
    if (buf_.size() - len_ < kReadChunk / 4) buf_.resize(std::max(buf_.size() * 2, len_ + kReadChunk));
    return asio::buffer(buf_.data() + len_, buf_.size() - len_);
  }
  void commit(std::size_t n) { len_ += n; }
  void append(const char* data, std::size_t n) {
    if (buf_.size() - len_ < n) buf_.resize(std::max(buf_.size() * 2, len_ + n + kReadChunk));
    std::memcpy(buf_.data() + len_, data, n);
    len_ += n;
  }
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
class DnsTcpConnection;

// The DNS responder's sockets: UDP and TCP on one port.
struct DnsRt {
  explicit DnsRt(asio::io_context& io) : udp(io), tcp_acceptor(io) {}
  asio::ip::udp::socket udp;
  tcp::acceptor tcp_acceptor;
  std::vector<char> buf = std::vector<char>(65536);
  asio::ip::udp::endpoint from;
};

struct ListenerRt : std::enable_shared_from_this<ListenerRt> {
  ListenerRt(asio::io_context& io, std::shared_ptr<core::Listener> m)
      : keep_model(std::move(m)), model(*keep_model), acceptor(io), mode_timer(io), accept_retry(io) {}
  std::shared_ptr<core::Listener> keep_model;  // outlives the API's removal while connections last
  core::Listener& model;
  tcp::endpoint ep;
  tcp::acceptor acceptor;
  int reserve_fd = -1;  // refuse: keeps the port bound while nothing listens
  int vacated_fd = -1;  // after a move: keeps the old address bound, so it refuses and no one else takes it
  bool filtered = false;
  bool ever_filtered = false;
  core::Mode applied = core::Mode::Serve;
  bool accepting = false;
  std::uint64_t accept_gen = 0;
  std::uint64_t seen_generation = 0;
  std::uint64_t seen_config = 0;
  std::uint64_t seen_close = 0;
  core::Endpoint bound;  // where the socket is; the model's `listen` differs while a move is asked
  std::optional<TlsContexts> tls;  // a TLS listener's handshake contexts
  asio::steady_timer mode_timer;
  asio::steady_timer accept_retry;
  bool accept_error_logged = false;  // one line per run of failures, not one per attempt
  bool at_cap = false;  // accepting, but paused at max_connections
  bool retired = false;  // removed through the API: queued handlers must not revive it
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
  void start_accepting(ListenerRt& l);
  void resume_accept(ListenerRt& l);
  void do_accept(ListenerRt& l);
  void hold_port(ListenerRt& l);
  std::shared_ptr<ListenerRt> bind_listener(std::shared_ptr<core::Listener> model);
  void retire_listener(ListenerRt& l);
  void sync_listener_set();
  void move_listener(ListenerRt& l);
  void anchor_timelines(ListenerRt& accepting);
  void sync_all();
  void close_all();
  void do_admin_accept();
  void open_dns();
  void do_dns_receive();
  void do_dns_accept();
  // The answer to one DNS query, journaled.
  std::optional<std::string> dns_answer(std::string_view query, const std::string& peer, bool over_tcp);
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
  std::optional<DnsRt> dns;
  std::unordered_set<DnsTcpConnection*> dns_conns;
  asio::steady_timer dns_retry{io};
  std::unordered_set<AdminConnection*> admin_conns;
  std::list<Waiter> waiters;
  asio::signal_set signals{io, SIGTERM, SIGINT};
  bool stopping = false;
  std::uint64_t logged_seq = 0;  // --log: the last entry printed
  std::vector<std::string> sync_errors;  // socket errors of the last sync_all, for the API reply
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
    srv_.resume_accept(*l_);  // below the cap again
  }

  void start() {
    peer_ = peer_string(sock_);
    accepted_ = srv_.now();
    auto d = l_->model.on_accept(accepted_);
    if (!d.fault) {
      greeting_ = std::move(d.greeting);
      return l_->tls ? start_tls(*l_->tls->normal) : greet_then_read();
    }
    record_accept_fault(d);
    held_by_listener_ = d.rule == "listener";
    held_rule_ = d.rule;
    held_kind_ = d.fault->kind;
    switch (d.fault->kind) {
      case core::FaultKind::ResetOnAccept: return reset_now();
      case core::FaultKind::CloseBeforeRequest: return close_gracefully();
      case core::FaultKind::TlsHandshakeFailure: {
        // A fatal handshake_failure alert (TLS 1.2 record) in place of the ServerHello.
        static constexpr char kAlert[] = {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28};
        state_ = State::Writing;
        out_.assign(kAlert, sizeof kAlert);
        return write(out_, [](Connection& c) { c.close_gracefully(); });
      }
      case core::FaultKind::TlsSlowHandshake:
        state_ = State::Reading;
        return after(d.fault->every, [](Connection& c) { c.start_tls(*c.l_->tls->normal); });
      case core::FaultKind::TlsWrongCert: return start_tls(*l_->tls->wrong);
      case core::FaultKind::Tls13Only: return start_tls(*l_->tls->tls13);
      default: return hold(false);  // hang-no-read
    }
  }

  // Server shutdown: everything pending completes with operation_aborted.
  void abort() {
    state_ = State::Done;
    error_code ec;
    timer_.cancel();
    if (client_pace_) client_pace_->cancel();
    sock_.close(ec);
    if (up_) up_->close(ec);
  }

  // Listener reset: connections held by a fault are let go with a FIN.
  void release() {
    if (state_ != State::Holding) return;
    close_gracefully();
  }

  // A TLS listener's handshake, bounded by the idle timeout; a failure is journaled (a client
  // that spoke plain HTTP, or did not accept the certificate) and the connection closed.
  void start_tls(boost::asio::ssl::context& ctx) {
    state_ = State::Reading;
    tls_ = std::make_unique<boost::asio::ssl::stream<tcp::socket&>>(sock_, ctx);
    if (srv_.spec.idle_timeout.count() > 0)
      after(srv_.spec.idle_timeout, [](Connection& c) { c.close_now("idle-timeout"); });
    tls_->async_handshake(boost::asio::ssl::stream_base::server, [self = shared_from_this()](error_code ec) {
      if (self->state_ == State::Done) return;
      self->stop_timer();
      if (!ec) {
        // A handshake fault's entry ends here; the requests get entries of their own.
        if (self->held_kind_ && core::is_tls_fault(*self->held_kind_)) {
          self->set_end("tls-handshake-done");
          self->mark_done();
        }
        return self->greet_then_read();
      }
      if (!self->journaled_) self->record_no_request();
      if (auto* e = self->entry()) e->outcome = "tls-error: " + ec.message();
      const bool fin = ec == asio::error::eof || ec == boost::asio::ssl::error::stream_truncated;
      self->close_now(fin ? "fin-by-peer" : "rst-by-us");
    });
  }

  // Reads and writes go through TLS on a TLS listener once the handshake is done.
  template <class Buffer, class Handler>
  void read_some(const Buffer& b, Handler&& h) {
    if (tls_) tls_->async_read_some(b, std::forward<Handler>(h));
    else sock_.async_read_some(b, std::forward<Handler>(h));
  }
  template <class Buffer, class Handler>
  void write_all(const Buffer& b, Handler&& h) {
    if (tls_) asio::async_write(*tls_, b, std::forward<Handler>(h));
    else asio::async_write(sock_, b, std::forward<Handler>(h));
  }

  // The API closes every connection, as the process exiting would: FIN, or RST when input is
  // still unread.
  void close_by_api() {
    if (state_ == State::Done) return;
    close_now("closed");
  }

  // Rules or the listener fault changed: a connection held by a rule that is gone (or no longer
  // holds) is released, as a reset would.
  void release_if_orphaned() {
    if (state_ != State::Holding) return;
    if (!l_->model.still_holds(held_by_listener_, held_rule_, held_kind_)) release();
  }

 private:
  enum class State { Reading, Writing, Holding, Draining, Proxying, Done };
  static constexpr Ms kPeerPoll{100};  // how often a hang-no-read looks for the peer's FIN

  void record_accept_fault(const core::AcceptDecision& d) {
    journaled_ = true;
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

  // A connection that ends before a complete request still gets its entry, at the accept time.
  void record_no_request() { record_at_accept(in_.size() > 0 ? "incomplete" : "no-request"); }

  // An entry for what the connection did before any request (a greeting, or nothing).
  void record_at_accept(std::string_view outcome, std::string_view rule = {}) {
    journaled_ = true;
    if (auto* e = srv_.world.journal.next()) {
      seq_ = e->seq;
      e->listener = l_->model.name();
      e->peer = peer_;
      e->t = accepted_.time_since_epoch();
      e->rule = rule;
      e->outcome = outcome;
      e->end = "open";
    }
    srv_.on_journal();
  }

  core::JournalEntry* entry() { return seq_ ? srv_.world.journal.find(seq_) : nullptr; }
  void set_end(std::string_view end) {
    if (!journaled_) record_no_request();
    if (auto* e = entry()) e->end = end;
  }
  // The entry's exchange is over: its response is written, or its connection closed.
  void mark_done() {
    if (auto* e = entry(); e && !e->done) e->done = srv_.now().time_since_epoch();
  }
  void add_sent(std::size_t n) {
    if (auto* e = entry()) e->bytes_sent += n;
  }

  // One timer per connection (idle, pause, drain, peer poll); re-arming it supersedes the last.
  template <class F>
  void after(Ms delay, F f) {
    const auto gen = ++timer_gen_;
    timer_.expires_after(delay);
    timer_.async_wait([self = shared_from_this(), gen, f](error_code ec) {
      if (!ec && gen == self->timer_gen_ && self->state_ != State::Done) f(*self);
    });
  }
  void stop_timer() {
    ++timer_gen_;
    timer_.cancel();
  }

  // A listener with a greeting speaks first; its plan ends the connection or reads requests.
  void greet_then_read() {
    if (!greeting_) return begin_request();
    record_at_accept("greeting", "greeting");
    state_ = State::Writing;
    auto greeting = std::move(*greeting_);
    greeting_.reset();
    start_plan(std::move(greeting), "greeting", std::nullopt);
  }

  // Writes `plan` step by step; `rule` and `kind` say what a hold or a close owes to.
  void start_plan(core::WritePlan plan, std::string_view rule, std::optional<core::FaultKind> kind) {
    held_by_listener_ = rule == "listener";
    held_rule_.assign(rule);
    held_kind_ = kind;
    plan_ = std::move(plan);
    step_ = 0;
    piece_ = 0;
    piece_paused_ = false;
    run_plan();
  }

  // Waits for the next request, at most idle_timeout (slowloris and idle keep-alive alike).
  void begin_request() {
    state_ = State::Reading;
    if (srv_.spec.idle_timeout.count() > 0) {
      after(srv_.spec.idle_timeout, [](Connection& c) {
        if (c.state_ != State::Reading) return;
        c.set_end("idle-timeout");
        c.close_now({});
      });
    }
    process();
  }

  // At most one read is pending. While Reading it fills `in_` directly, and nothing else touches
  // `in_` until it completes; in every other state it reads into `spill_` and appends, so the
  // request being answered (views into `in_`) is never moved under a pending read.
  void do_read() {
    if (srv_.stopping || reading_ || state_ == State::Done) return;
    const bool direct = state_ == State::Reading;
    if (in_.size() > core::RequestParser::kMaxHead + core::RequestParser::kMaxBody + kReadChunk) {
      if (direct) close_now("rst-by-us");  // unread input: the close is an RST
      return;  // a peer pipelining without bound waits for us (TCP backpressure)
    }
    if (!direct && spill_.empty()) spill_.resize(4096);
    reading_ = true;
    const auto buf = direct ? in_.prepare() : asio::buffer(spill_);
    read_some(buf, [self = shared_from_this(), direct](error_code ec, std::size_t n) {
      self->reading_ = false;
      if (!ec) {
        if (direct) self->in_.commit(n);
        else self->in_.append(self->spill_.data(), n);
      }
      self->on_read(ec);
    });
  }

  void on_read(error_code ec) {
    if (state_ == State::Done) return;
    if (ec) return peer_left(ec);
    switch (state_) {
      case State::Reading: return process();
      case State::Writing: return do_read();  // pipelined bytes wait in in_
      case State::Holding:
      case State::Draining:
        in_.clear();  // a held or closing connection ignores what it is sent
        return do_read();
      case State::Proxying:  // the read of the answer before: its bytes go on, the relay reads next
        to_up_.append(in_.view());
        in_.clear();
        flush_to_up();
        return client_read();
      case State::Done: return;
    }
  }

  // The peer closed or reset. A response cut short says so in the journal; otherwise the entry
  // keeps how we last left it (held, keep-alive, fin-by-us).
  void peer_left(error_code ec) {
    const bool fin = ec == asio::error::eof || ec == boost::asio::ssl::error::stream_truncated;  // TLS without close_notify
    if (state_ == State::Writing || !journaled_) set_end(fin ? "fin-by-peer" : "rst-by-peer");
    close_now({});
  }

  void process() {
    if (srv_.stopping || state_ != State::Reading) return;
    const auto r = parser_.parse(in_.view());
    switch (r.status) {
      case core::ParseStatus::Incomplete: return do_read();
      case core::ParseStatus::Bad: return reject(400);
      case core::ParseStatus::TooLarge: return reject(431);
      case core::ParseStatus::BodyTooLarge: return reject(413, &parser_.request());
      case core::ParseStatus::Done: break;
    }
    stop_timer();  // the idle deadline is met
    const core::Request& req = parser_.request();
    const TimePoint t = srv_.now();
    l_->model.on_request(req, t, decision_);
    record_request(req, t);
    if (decision_.proxy) {
      // The request, and whatever the client sent after it, go to the upstream as they came.
      std::string pending(in_.view());
      in_.clear();
      if (l_->model.has_listener_rules()) srv_.apply_mode(*l_);
      return start_proxy(*decision_.proxy, std::move(pending));
    }
    in_.consume(r.consumed);  // the views in `req` die here; everything needed is copied
    if (l_->model.has_listener_rules()) srv_.apply_mode(*l_);
    state_ = State::Writing;
    if (!decision_.prepared.empty() && decision_.plan.steps.empty()) {
      out_.assign(decision_.prepared);
      closes_after_ = decision_.prepared_closes;
      return write(out_, [](Connection& c) { c.after_response(); });
    }
    auto plan = std::move(decision_.plan);  // not the hot path: plans only
    decision_.plan.steps.clear();
    start_plan(std::move(plan), decision_.rule, decision_.fault);
  }

  void record_request(const core::Request& req, TimePoint t) {
    journaled_ = true;
    core::JournalEntry* e = srv_.world.journal.next();
    seq_ = e ? e->seq : 0;
    if (e) {
      e->listener = l_->model.name();
      e->peer = peer_;
      e->method = req.method;
      core::record_request_text(*e, req.target, req.headers, req.body);
      e->t = t.time_since_epoch();
      e->rule = decision_.rule;
      if (decision_.fault) {
        e->outcome.assign("fault:").append(core::info(*decision_.fault).name);
      } else if (decision_.proxy) {
        e->outcome.assign("proxied");
      } else {
        char buf[8];
        const auto [p, ec] = std::to_chars(buf, buf + sizeof buf, decision_.status);
        e->outcome.assign(buf, p);
      }
      e->end = "open";
    }
    srv_.on_journal();
  }

  // `req`: the head, when it was read (a body too large), for the journal.
  void reject(int status, const core::Request* req = nullptr) {
    stop_timer();
    state_ = State::Writing;
    journaled_ = true;
    if (auto* e = srv_.world.journal.next()) {
      seq_ = e->seq;
      e->listener = l_->model.name();
      e->peer = peer_;
      if (req) {
        e->method = req->method;
        core::record_request_text(*e, req->target, req->headers);
      }
      e->t = srv_.now().time_since_epoch();
      e->outcome = status == 400 ? "bad-request" : status == 413 ? "body-too-large" : "too-large";
      e->end = "open";
    }
    srv_.on_journal();
    in_.clear();
    out_ = core::reject_response(status);
    closes_after_ = true;
    write(out_, [](Connection& c) { c.after_response(); });
  }

  template <class Next>
  void write(std::string_view bytes, Next next) {
    write_all(asio::buffer(bytes.data(), bytes.size()),
                      [self = shared_from_this(), next](error_code ec, std::size_t n) {
                        if (self->state_ == State::Done) return;
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
    mark_done();
    begin_request();
  }

  void run_plan() {
    if (srv_.stopping || state_ != State::Writing) return;
    if (step_ == plan_.steps.size()) {
      closes_after_ = !plan_.keep_alive;
      return after_response();
    }
    const core::Step& s = plan_.steps[step_];
    if (s.kind == core::StepKind::Pieces) return run_pieces(s);
    ++step_;
    switch (s.kind) {
      case core::StepKind::Send:
        return write(s.bytes, [](Connection& c) { c.run_plan(); });
      case core::StepKind::Pause:
        after(s.pause, [](Connection& c) { c.run_plan(); });
        return do_read();  // notices a peer that leaves during the pause
      case core::StepKind::Close: return close_gracefully();
      case core::StepKind::Reset: return reset_now();
      case core::StepKind::Hold: return hold(true);
      case core::StepKind::Pieces: break;  // above
    }
  }

  // One write of a Pieces step at a time, built into out_ just before it goes out, with the
  // step's pause before every write but the first.
  void run_pieces(const core::Step& s) {
    if (piece_ == core::piece_writes(s)) {
      piece_ = 0;
      piece_paused_ = false;
      ++step_;
      return run_plan();
    }
    if (piece_ > 0 && !piece_paused_) {
      piece_paused_ = true;
      after(s.pause, [](Connection& c) { c.run_plan(); });
      return do_read();  // notices a peer that leaves during the pause
    }
    piece_paused_ = false;
    core::piece_write(s, piece_++, out_);
    write(out_, [](Connection& c) { c.run_plan(); });
  }

  void hold(bool read) {
    state_ = State::Holding;
    set_end("held");
    in_.clear();
    if (read) return do_read();  // notices the peer leaving
    watch_without_reading();
  }

  // hang-no-read: learn that the peer left without consuming a byte. A peek sees FIN or RST when
  // nothing is queued; once request bytes sit unread they hide the FIN from recv, and TCP_INFO
  // (CLOSE_WAIT) reveals it instead.
  void watch_without_reading() {
    sock_.async_wait(tcp::socket::wait_read, [self = shared_from_this()](error_code ec) {
      if (ec || self->state_ != State::Holding) return;
      char c;
      const ssize_t n = ::recv(self->sock_.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n == 0) return self->close_now({});
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return self->close_now({});
      if (n < 0) return self->watch_without_reading();
      self->poll_peer();
    });
  }

  void poll_peer() {
    tcp_info ti{};
    socklen_t len = sizeof ti;
    const bool known = ::getsockopt(sock_.native_handle(), IPPROTO_TCP, TCP_INFO, &ti, &len) == 0;
    if (!known || ti.tcpi_state == TCP_CLOSE_WAIT || ti.tcpi_state == TCP_CLOSE) return close_now({});
    after(kPeerPoll, [](Connection& c) {
      if (c.state_ == State::Holding) c.poll_peer();
    });
  }

  // FIN after draining the peer: closing with unread input would send RST instead.
  void close_gracefully() {
    if (state_ == State::Done || state_ == State::Draining) return;
    state_ = State::Draining;
    set_end("fin-by-us");
    error_code ec;
    sock_.shutdown(tcp::socket::shutdown_send, ec);
    after(std::chrono::duration_cast<Ms>(kDrainLimit), [](Connection& c) { c.close_now({}); });
    in_.clear();
    do_read();  // unless one is already pending (a held connection's)
  }

  void reset_now() {
    set_end("rst-by-us");
    error_code ec;
    sock_.set_option(asio::socket_base::linger(true, 0), ec);
    close_now({});
  }

  void close_now(std::string_view end) {
    if (!end.empty()) set_end(end);
    mark_done();
    state_ = State::Done;
    error_code ec;
    timer_.cancel();
    if (client_pace_) client_pace_->cancel();
    sock_.close(ec);
    if (up_) up_->close(ec);
  }

  // --- pass-through: the connection relayed to the listener's upstream -------------------

  void start_proxy(const core::ProxyAction& a, std::string pending) {
    state_ = State::Proxying;
    stop_timer();
    to_up_ = std::move(pending);
    up_rate_ = a.rate;
    client_rate_ = a.up_rate;
    up_ = std::make_unique<tcp::socket>(srv_.io);
    if (!reading_) client_read();  // bytes the client sends meanwhile wait in to_up_; a pending
                                   // read (a pause of the last answer) hands over in on_read
    if (a.delay.count() > 0) return after(a.delay, [](Connection& c) { c.connect_upstream(); });
    connect_upstream();
  }

  void connect_upstream() {
    const auto& u = *l_->model.spec().upstream;
    error_code ec;
    const tcp::endpoint ep(asio::ip::make_address(u.host, ec), u.port);
    up_->async_connect(ep, [self = shared_from_this()](error_code ec) {
      if (self->state_ != State::Proxying) return;
      if (ec) {
        // As the client would have met the upstream itself: reset, and the reason journaled.
        if (auto* e = self->entry()) e->outcome = "upstream-error: " + ec.message();
        return self->reset_now();
      }
      self->up_connected_ = true;
      error_code ignored;
      self->up_->set_option(tcp::no_delay(true), ignored);
      self->flush_to_up();
      self->shutdown_up_when_flushed();
      self->up_read();
    });
  }

  // client -> upstream. Reads stop while a lot waits to be relayed (TCP backpressure).
  void client_read() {
    if (to_up_.size() > kRelayBacklog) {
      client_paused_ = true;
      return;
    }
    client_buf_.resize(16 * 1024);
    read_some(asio::buffer(client_buf_), [self = shared_from_this()](error_code ec, std::size_t n) {
      if (self->state_ != State::Proxying) return;
      if (ec) {
        self->client_done_ = true;
        self->shutdown_up_when_flushed();
        return self->proxy_maybe_done(ec == asio::error::eof ? "fin-by-peer" : "rst-by-peer");
      }
      self->to_up_.append(self->client_buf_.data(), n);
      self->flush_to_up();
      self->client_read();
    });
  }

  // At the rule's up_rate, a twentieth of it every 50 ms (on its own timer: the connection's
  // one paces the other direction).
  void flush_to_up() {
    if (!up_connected_ || up_writing_ || up_pacing_ || to_up_.empty()) return;
    up_writing_ = true;
    const std::size_t n = client_rate_ > 0 ? std::min(to_up_.size(), std::max<std::size_t>(client_rate_ / 20, 1))
                                           : to_up_.size();
    up_out_.assign(to_up_, 0, n);
    to_up_.erase(0, n);
    asio::async_write(*up_, asio::buffer(up_out_), [self = shared_from_this()](error_code ec, std::size_t) {
      self->up_writing_ = false;
      if (self->state_ != State::Proxying) return;
      if (ec) return self->close_now("rst-by-us");
      if (self->client_paused_ && self->to_up_.size() <= kRelayBacklog) {
        self->client_paused_ = false;
        self->client_read();
      }
      if (self->client_rate_ == 0) {
        self->flush_to_up();
        return self->shutdown_up_when_flushed();
      }
      if (!self->client_pace_) self->client_pace_ = std::make_unique<asio::steady_timer>(self->srv_.io);
      self->up_pacing_ = true;
      self->client_pace_->expires_after(Ms{50});
      self->client_pace_->async_wait([self](error_code ec) {
        self->up_pacing_ = false;
        if (ec || self->state_ != State::Proxying) return;
        self->flush_to_up();
        self->shutdown_up_when_flushed();
      });
    });
  }

  // The client's FIN reaches the upstream after the last of its bytes.
  void shutdown_up_when_flushed() {
    if (!client_done_ || !up_connected_ || up_writing_ || up_pacing_ || !to_up_.empty()) return;
    error_code ignored;
    up_->shutdown(tcp::socket::shutdown_send, ignored);
  }

  // upstream -> client, at the rule's rate: a twentieth of it every 50 ms
  void up_read() {
    const std::size_t chunk = up_rate_ > 0 ? std::max<std::size_t>(up_rate_ / 20, 1) : 16 * 1024;
    up_buf_.resize(chunk);
    up_->async_read_some(asio::buffer(up_buf_), [self = shared_from_this()](error_code ec, std::size_t n) {
      if (self->state_ != State::Proxying) return;
      if (ec) {
        if (ec != asio::error::eof) return self->reset_now();  // the upstream's RST, passed on
        self->up_done_ = true;
        error_code ignored;
        self->sock_.shutdown(tcp::socket::shutdown_send, ignored);  // the upstream's FIN, passed on
        return self->proxy_maybe_done("fin-by-us");
      }
      self->write_all(asio::buffer(self->up_buf_.data(), n), [self](error_code ec, std::size_t n) {
        if (self->state_ != State::Proxying) return;
        self->add_sent(n);
        if (ec) return self->close_now(ec == asio::error::connection_reset ? "rst-by-peer" : "fin-by-peer");
        if (self->up_rate_ > 0) return self->after(Ms{50}, [](Connection& c) { c.up_read(); });
        self->up_read();
      });
    });
  }

  // Over when both directions are: then both sockets close.
  void proxy_maybe_done(std::string_view end) {
    if (first_end_.empty()) first_end_ = end;
    if (up_done_ && (client_done_ || !up_connected_)) return close_now(first_end_);
    // A client that reset during the delay or the connect is gone; one that half-closed still
    // has its request delivered (shutdown_up_when_flushed then passes the FIN on).
    if (client_done_ && !up_connected_ && first_end_ == "rst-by-peer") return close_now(first_end_);
  }

  Server::Impl& srv_;
  std::shared_ptr<ListenerRt> l_;
  tcp::socket sock_;
  std::unique_ptr<boost::asio::ssl::stream<tcp::socket&>> tls_;  // after sock_: it refers to it
  asio::steady_timer timer_;
  std::uint64_t timer_gen_ = 0;
  std::string peer_;
  InBuffer in_;
  std::vector<char> spill_;  // reads outside Reading land here; allocated on first use
  bool reading_ = false;
  std::string out_;
  core::RequestParser parser_;
  core::Decision decision_;
  core::WritePlan plan_;
  std::optional<core::WritePlan> greeting_;  // sent once the connection is accepted (and TLS done)
  std::size_t step_ = 0;
  std::size_t piece_ = 0;  // next write of the Pieces step at step_
  bool piece_paused_ = false;
  bool closes_after_ = false;
  // pass-through
  std::unique_ptr<tcp::socket> up_;
  std::string to_up_, up_out_;
  std::vector<char> client_buf_, up_buf_;
  std::size_t up_rate_ = 0, client_rate_ = 0;
  std::unique_ptr<asio::steady_timer> client_pace_;
  bool up_connected_ = false, up_writing_ = false, up_pacing_ = false, client_paused_ = false;
  bool client_done_ = false, up_done_ = false;
  static constexpr std::size_t kRelayBacklog = 1024 * 1024;  // client bytes waiting for the upstream
  std::string first_end_;
  std::uint64_t seq_ = 0;
  bool journaled_ = false;  // an entry was made for this connection (or the journal is off)
  TimePoint accepted_{};
  State state_ = State::Reading;
  // What holds the connection, to release it when that rule or fault goes away.
  bool held_by_listener_ = false;
  std::string held_rule_;
  std::optional<core::FaultKind> held_kind_;
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
    out_ = fmt::format("HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{}\r\n",
                       r.status, core::standard_reason(r.status), r.body.size() + 1,
                       keep_alive_ ? "" : "Connection: close\r\n");
    out_.reserve(out_.size() + r.body.size() + 1);
    out_ += r.body;  // the one copy of a possibly large journal
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
    if (in_.size() > core::RequestParser::kMaxHead + core::kMaxAdminBody) {
      keep_alive_ = false;
      in_.clear();
      return answer({413, R"({"error":"request larger than 8 MiB of body and 64 KiB of head","field":"request"})", {}});
    }
    sock_.async_read_some(in_.prepare(), [self = shared_from_this()](error_code ec, std::size_t n) {
      if (ec) return;
      self->in_.commit(n);
      self->process();
    });
  }

  void process() {
    if (srv_.stopping) return;  // a read that completed just before the shutdown
    const auto r = parser_.parse(in_.view());
    if (r.status == core::ParseStatus::Incomplete) return do_read();
    if (r.status != core::ParseStatus::Done) {
      keep_alive_ = false;
      in_.clear();
      if (r.status == core::ParseStatus::BodyTooLarge)
        return answer({413, R"({"error":"request body larger than 8 MiB","field":"request"})", {}});
      return answer({r.status == core::ParseStatus::Bad ? 400 : 431,
                     R"({"error":"malformed HTTP request","field":"request"})", {}});
    }
    const auto& req = parser_.request();
    keep_alive_ = req.keep_alive;
    auto reply = core::handle_admin(srv_.world, req.method, req.target, req.body, srv_.now());
    in_.consume(r.consumed);
    srv_.sync_errors.clear();
    srv_.sync_all();
    // A change the socket could not follow fails the request that made it; reads still answer
    // (the listener JSON carries socket_error).
    if (!srv_.sync_errors.empty() && reply.status < 300 && req.method != "GET")
      reply = core::socket_error_reply(srv_.sync_errors.front());
    else if (reply.created)  // with the port it was given
      if (const auto* l = srv_.world.find(*reply.created))
        reply.body = boost::json::serialize(core::listener_json(*l, srv_.now()));
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
  core::RequestParser parser_{core::kMaxAdminBody};
  bool keep_alive_ = true;
};

// One TCP connection to the DNS responder: length-prefixed queries, answered in turn.
class DnsTcpConnection : public std::enable_shared_from_this<DnsTcpConnection> {
 public:
  DnsTcpConnection(Server::Impl& srv, tcp::socket s) : srv_(srv), sock_(std::move(s)), idle_(srv.io) {
    srv_.dns_conns.insert(this);
  }
  ~DnsTcpConnection() { srv_.dns_conns.erase(this); }
  void abort() {
    error_code ec;
    idle_.cancel();
    sock_.close(ec);
  }
  void start() {
    peer_ = peer_string(sock_);
    read_length();
  }

 private:
  void read_length() {
    // A client that sends nothing for the idle timeout is closed, as on the listeners.
    if (srv_.spec.idle_timeout.count() > 0) {
      idle_.expires_after(srv_.spec.idle_timeout);
      idle_.async_wait([self = shared_from_this()](error_code ec) {
        if (!ec) self->abort();
      });
    }
    asio::async_read(sock_, asio::buffer(len_), [self = shared_from_this()](error_code ec, std::size_t) {
      self->idle_.cancel();
      if (ec || self->srv_.stopping) return;
      const std::size_t n = (static_cast<unsigned char>(self->len_[0]) << 8) | static_cast<unsigned char>(self->len_[1]);
      self->query_.resize(n);
      asio::async_read(self->sock_, asio::buffer(self->query_), [self](error_code ec, std::size_t) {
        if (ec || self->srv_.stopping) return;
        auto reply = self->srv_.dns_answer(self->query_, self->peer_, true);
        if (!reply) return self->read_length();  // no answer: the client times out
        if (reply->size() > 65535) reply = core::too_large_dns_reply(*reply);
        self->out_.clear();
        self->out_ += static_cast<char>(reply->size() >> 8);
        self->out_ += static_cast<char>(reply->size() & 0xFF);
        self->out_ += *reply;
        asio::async_write(self->sock_, asio::buffer(self->out_), [self](error_code ec, std::size_t) {
          if (!ec) self->read_length();
        });
      });
    });
  }

  Server::Impl& srv_;
  tcp::socket sock_;
  asio::steady_timer idle_;
  std::string peer_;
  std::array<char, 2> len_{};
  std::string query_, out_;
};

// ---------------------------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------------------------

Server::Impl::Impl(core::Spec s) : spec(std::move(s)), world(spec.journal_limit) {
  for (const auto& ls : spec.listeners) {
    world.listeners.push_back(std::make_shared<core::Listener>(ls, now()));
    listeners.push_back(bind_listener(world.listeners.back()));
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
  if (spec.dns) {
    world.dns = spec.dns;
    open_dns();
  }
  world.blackhole_method = probe_drop_filter() ? "bpf" : "slow-accept";
  world.clock_origin_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(start.time_since_epoch()).count();
  world.journal.set_wall_origin(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count() -
                                now().time_since_epoch().count());
  if (spec.timeline_start == core::TimelineStart::Start) world.timeline_origin = now();  // as armed above
  for (auto& l : listeners) {
    l->seen_generation = l->model.generation();
    l->seen_config = l->model.config_generation();
    apply_mode(*l);
  }
}

Server::Impl::~Impl() {
  // Handlers still queued (run() left early, e.g. a handler threw) own connections whose
  // destructors touch `world` and the listener table: close everything and let them finish
  // while those members still exist.
  stopping = true;
  try {
    close_all();
    io.restart();
    io.run_for(std::chrono::seconds(5));
  } catch (...) {
  }
  for (auto& l : listeners) {
    if (l->reserve_fd >= 0) ::close(l->reserve_fd);
    if (l->vacated_fd >= 0) ::close(l->vacated_fd);
  }
}

std::shared_ptr<ListenerRt> Server::Impl::bind_listener(std::shared_ptr<core::Listener> model) {
  auto rt = std::make_shared<ListenerRt>(io, std::move(model));
  const auto& ls = rt->model.spec();
  error_code ec;
  const auto addr = asio::ip::make_address(ls.listen.host, ec);
  if (ec) throw std::runtime_error(fmt::format("listener {}: bad address '{}'", ls.name, ls.listen.host));
  rt->ep = tcp::endpoint(addr, ls.listen.port);
  if (ls.tls) {
    try {
      rt->tls = make_tls_contexts(*ls.tls);
    } catch (const std::exception& e) {
      throw std::runtime_error(fmt::format("listener {}: {}", ls.name, e.what()));
    }
  }
  open_listener(*rt, true);
  rt->ep = rt->acceptor.local_endpoint();  // port 0 resolved: re-binds reuse the same port
  rt->bound = {ls.listen.host, rt->ep.port()};
  rt->model.set_bound(rt->bound);
  rt->seen_generation = rt->model.generation();
  rt->seen_config = rt->model.config_generation();
  return rt;
}

// The API removed the listener: its port is given back, its connections closed as a dying
// process's are.
void Server::Impl::retire_listener(ListenerRt& l) {
  error_code ec;
  l.retired = true;
  l.accepting = false;
  ++l.accept_gen;
  l.acceptor.close(ec);
  l.mode_timer.cancel();
  l.accept_retry.cancel();
  if (l.reserve_fd >= 0) ::close(l.reserve_fd), l.reserve_fd = -1;
  if (l.vacated_fd >= 0) ::close(l.vacated_fd), l.vacated_fd = -1;
  std::vector<std::shared_ptr<Connection>> all;
  for (auto* c : l.conns) all.push_back(c->shared_from_this());
  for (auto& c : all) c->close_by_api();
}

// Sockets follow the API's listener set: removed ones retire, created ones are bound (and
// removed again, with the reason in sync_errors, when they cannot be).
void Server::Impl::sync_listener_set() {
  auto in_world = [&](const ListenerRt& rt) {
    return std::any_of(world.listeners.begin(), world.listeners.end(),
                       [&](const auto& m) { return m.get() == &rt.model; });
  };
  for (auto it = listeners.begin(); it != listeners.end();) {
    if (in_world(**it)) {
      ++it;
      continue;
    }
    retire_listener(**it);
    it = listeners.erase(it);
  }
  std::vector<std::string> unbound;
  for (const auto& m : world.listeners) {
    if (std::any_of(listeners.begin(), listeners.end(), [&](const auto& rt) { return &rt->model == m.get(); }))
      continue;
    try {
      listeners.push_back(bind_listener(m));
    } catch (const std::exception& e) {
      sync_errors.emplace_back(e.what());
      unbound.push_back(m->name());
    }
  }
  for (const auto& name : unbound) world.remove(name);
}

void Server::Impl::open_listener(ListenerRt& l, bool listen_now) {
  error_code ec;
  l.acceptor.open(l.ep.protocol(), ec);
  if (!ec) l.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) l.acceptor.bind(l.ep, ec);
  if (!ec && listen_now) l.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    error_code ignored;
    l.acceptor.close(ignored);  // never leave an open, unbound socket for the next apply_mode
    throw std::runtime_error(fmt::format("listener {}: cannot listen on {}: {}", l.model.name(),
                                         endpoint_string(l.ep), ec.message()));
  }
}

// Refusing: a bound, never-listening reserve socket keeps the port ours (SO_REUSEPORT would
// avoid the instant between close and bind, but would also let a second server share a fixed
// port silently).
void Server::Impl::hold_port(ListenerRt& l) {
  if (l.reserve_fd >= 0) return;
  l.reserve_fd = ::socket(l.ep.protocol().family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (l.reserve_fd < 0) return;
  const int one = 1;
  ::setsockopt(l.reserve_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(l.reserve_fd, l.ep.data(), static_cast<socklen_t>(l.ep.size())) != 0) {
    ::close(l.reserve_fd);
    l.reserve_fd = -1;  // the port is not held, but refusing still works
  }
}

void Server::Impl::apply_mode(ListenerRt& l) {
  if (stopping || l.retired) return;
  const core::Mode want = l.model.mode_at(now());
  if (want != l.applied || (want == core::Mode::Serve && !l.accepting)) {
    // 1. a listening socket exists unless refusing; the reserve gives the port back first
    if (want != core::Mode::Refuse && !l.acceptor.is_open()) {
      if (l.reserve_fd >= 0) ::close(l.reserve_fd), l.reserve_fd = -1;
      try {
        open_listener(l, true);
        l.model.socket_error.clear();
      } catch (const std::exception& e) {
        if (l.model.socket_error != e.what()) std::fprintf(stderr, "mockserver: %s\n", e.what());
        l.model.socket_error = e.what();
        sync_errors.emplace_back(e.what());
        hold_port(l);
        arm_mode_timer(l);
        return;  // stays refusing; the next mode change tries again
      }
    }
    // 2. the drop filter is on exactly while blackholed
    if (l.acceptor.is_open()) {
      if (want == core::Mode::Blackhole && !l.filtered) {
        l.filtered = attach_drop_filter(l.acceptor.native_handle());
        l.ever_filtered |= l.filtered;
        if (!l.filtered) {
          std::fprintf(stderr, "mockserver: %s: SO_ATTACH_FILTER failed; blackhole acts as slow-accept\n",
                       l.model.name().c_str());
          world.blackhole_method = "slow-accept";
        }
      } else if (want != core::Mode::Blackhole && l.filtered) {
        detach_filter(l.acceptor.native_handle());
        l.filtered = false;
      }
    }
    // 3. accept only while serving
    if (want != core::Mode::Serve && l.accepting) {
      l.accepting = false;
      l.at_cap = false;
      ++l.accept_gen;
      error_code ec;
      l.acceptor.cancel(ec);
      l.accept_retry.cancel();
    }
    // 4. refusing: no listener, so the kernel answers SYNs with RST
    if (want == core::Mode::Refuse && l.acceptor.is_open()) {
      error_code ec;
      l.acceptor.close(ec);
      l.filtered = false;
      hold_port(l);
    }
    if (want == core::Mode::Serve && !l.accepting) start_accepting(l);
    l.applied = want;
  }
  arm_mode_timer(l);
}

void Server::Impl::arm_mode_timer(ListenerRt& l) {
  const auto next = l.model.next_mode_change(now());
  l.mode_timer.cancel();
  if (!next) return;
  l.mode_timer.expires_at(to_steady(*next));
  l.mode_timer.async_wait([this, keep = l.shared_from_this()](error_code ec) {
    if (!ec) apply_mode(*keep);  // a retired listener's apply_mode does nothing
  });
}

void Server::Impl::start_accepting(ListenerRt& l) {
  l.accepting = true;
  l.at_cap = l.conns.size() >= spec.max_connections;
  if (!l.at_cap) do_accept(l);
}

// A connection closed: a listener paused at its cap takes the next one from the backlog.
void Server::Impl::resume_accept(ListenerRt& l) {
  if (stopping || l.retired || !l.accepting || !l.at_cap || l.conns.size() >= spec.max_connections) return;
  l.at_cap = false;
  do_accept(l);
}

void Server::Impl::do_accept(ListenerRt& l) {
  l.acceptor.async_accept([this, keep = l.shared_from_this(), gen = l.accept_gen](error_code ec, tcp::socket s) {
    ListenerRt& l = *keep;
    if (stopping || gen != l.accept_gen || ec == asio::error::operation_aborted) return;
    if (ec) {
      ++l.model.accept_errors;
      if (!l.accept_error_logged) {
        std::fprintf(stderr, "mockserver: %s: accept failed: %s; retrying every %d ms\n",
                     l.model.name().c_str(), ec.message().c_str(),
                     static_cast<int>(kAcceptRetry.count()));
        l.accept_error_logged = true;
      }
      l.accept_retry.expires_after(kAcceptRetry);
      l.accept_retry.async_wait([this, keep, gen](error_code e) {
        if (!e && !stopping && gen == keep->accept_gen) do_accept(*keep);
      });
      return;
    }
    l.accept_error_logged = false;
    if (l.ever_filtered) detach_filter(s.native_handle());  // children inherit the filter
    error_code ignored;  // as nginx's tcp_nodelay: a response is one write, send it now
    s.set_option(tcp::no_delay(true), ignored);
    if (!world.timeline_origin) anchor_timelines(l);
    std::make_shared<Connection>(*this, keep, std::move(s))->start();
    if (l.conns.size() >= spec.max_connections) {
      l.at_cap = true;  // ~Connection resumes
      return;
    }
    do_accept(l);
  });
}

// The first connection starts every listener's timeline; mode timers follow the new origin.
void Server::Impl::anchor_timelines(ListenerRt& accepting) {
  world.start_timelines(now());
  for (auto& l : listeners) {
    if (l.get() == &accepting) arm_mode_timer(*l);  // its accept loop goes on as it is
    else apply_mode(*l);
  }
}

// The API asked for another address: the new one is bound first, so a failure changes nothing.
// Established connections stay; the old address refuses from now on.
void Server::Impl::move_listener(ListenerRt& l) {
  const core::Endpoint to = l.model.spec().listen;
  if (l.vacated_fd >= 0) ::close(l.vacated_fd), l.vacated_fd = -1;  // moving back may need it
  const tcp::endpoint old_ep = l.ep;
  error_code ec;
  const auto addr = asio::ip::make_address(to.host, ec);
  tcp::endpoint ep(addr, to.port);
  tcp::acceptor probe(io);
  if (!ec) probe.open(ep.protocol(), ec);
  if (!ec) probe.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) probe.bind(ep, ec);
  if (ec) {
    l.model.set_bound(l.bound);
    sync_errors.push_back(fmt::format("listener {}: cannot listen on {}: {}", l.model.name(),
                                      core::to_string(to), ec.message()));
    return;
  }
  ep = probe.local_endpoint();  // port 0 resolved
  probe.close(ec);
  l.accepting = false;
  l.at_cap = false;
  ++l.accept_gen;
  l.accept_retry.cancel();
  l.acceptor.close(ec);
  l.filtered = false;
  if (l.reserve_fd >= 0) ::close(l.reserve_fd), l.reserve_fd = -1;
  // The old address refuses, as a removed container's does, and stays ours: a process that
  // binds a free port meanwhile (another test's balancer) must not answer there.
  l.vacated_fd = ::socket(old_ep.protocol().family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (l.vacated_fd >= 0) {
    const int one = 1;
    ::setsockopt(l.vacated_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(l.vacated_fd, old_ep.data(), static_cast<socklen_t>(old_ep.size())) != 0)
      ::close(l.vacated_fd), l.vacated_fd = -1;
  }
  l.ep = ep;
  l.bound = {to.host, ep.port()};
  l.model.set_bound(l.bound);
  l.applied = core::Mode::Refuse;  // nothing is open: apply_mode opens what the mode needs
  if (l.model.mode_at(now()) == core::Mode::Refuse) hold_port(l);
}

void Server::Impl::sync_all() {
  sync_listener_set();
  for (auto& l : listeners) {
    if (l->model.spec().listen != l->bound) move_listener(*l);
    if (l->model.close_generation() != l->seen_close) {
      l->seen_close = l->model.close_generation();
      std::vector<std::shared_ptr<Connection>> all;
      for (auto* c : l->conns) all.push_back(c->shared_from_this());
      for (auto& c : all) c->close_by_api();
    }
    const bool reset = l->model.generation() != l->seen_generation;
    const bool changed = l->model.config_generation() != l->seen_config;
    if (reset || changed) {
      l->seen_generation = l->model.generation();
      l->seen_config = l->model.config_generation();
      std::vector<std::shared_ptr<Connection>> all;
      for (auto* c : l->conns) all.push_back(c->shared_from_this());
      for (auto& c : all) {
        if (reset) c->release();
        else c->release_if_orphaned();
      }
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
  if (spec.log_requests && world.journal.size() > 0 && world.journal.last_seq() != logged_seq) {
    logged_seq = world.journal.last_seq();
    const auto line = core::log_line(world.journal.nth_newest(0), world.journal.wall_origin());
    std::fprintf(stdout, "%s\n", line.c_str());
    std::fflush(stdout);
  }
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
  close_all();
}

void Server::Impl::close_all() {
  error_code ec;
  signals.cancel(ec);
  if (admin) admin->close(ec);
  if (dns) {
    dns->udp.close(ec);
    dns->tcp_acceptor.close(ec);
    dns_retry.cancel();
    std::vector<std::shared_ptr<DnsTcpConnection>> conns;
    for (auto* c : dns_conns) conns.push_back(c->shared_from_this());
    for (auto& c : conns) c->abort();
  }
  for (auto& l : listeners) {
    l->acceptor.close(ec);
    l->mode_timer.cancel();
    l->accept_retry.cancel();
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

void Server::Impl::open_dns() {
  const auto& d = *spec.dns;
  dns.emplace(io);
  error_code ec;
  const auto addr = asio::ip::make_address(d.listen.host, ec);
  if (ec) throw std::runtime_error(fmt::format("dns: bad address '{}'", d.listen.host));
  // Port 0: the UDP socket picks the port and TCP must take the same one, which another process
  // may hold; a few fresh tries find a port free for both.
  const int tries = d.listen.port == 0 ? 64 : 1;
  std::uint16_t port = 0;
  for (int attempt = 1;; ++attempt) {
    error_code bind_ec;
    const asio::ip::udp::endpoint uep(addr, d.listen.port);
    dns->udp.open(uep.protocol(), bind_ec);
    if (!bind_ec) dns->udp.bind(uep, bind_ec);
    if (bind_ec)
      throw std::runtime_error(fmt::format("dns: cannot bind UDP {}: {}", core::to_string(d.listen), bind_ec.message()));
    port = dns->udp.local_endpoint().port();
    const tcp::endpoint tep(addr, port);
    dns->tcp_acceptor.open(tep.protocol(), bind_ec);
    if (!bind_ec) dns->tcp_acceptor.set_option(asio::socket_base::reuse_address(true), bind_ec);
    if (!bind_ec) dns->tcp_acceptor.bind(tep, bind_ec);
    if (!bind_ec) dns->tcp_acceptor.listen(asio::socket_base::max_listen_connections, bind_ec);
    if (!bind_ec) break;
    if (attempt >= tries)
      throw std::runtime_error(fmt::format("dns: cannot listen on TCP {}:{}: {}", d.listen.host, port, bind_ec.message()));
    dns->tcp_acceptor.close(ec);
    dns->udp.close(ec);
  }
  world.dns->listen.port = port;
}

std::optional<std::string> Server::Impl::dns_answer(std::string_view query, const std::string& peer, bool over_tcp) {
  const auto t = now();
  const auto origin = world.timeline_origin.value_or(TimePoint{});
  const auto a = core::answer_dns(*world.dns, query, t - origin, over_tcp);
  if (auto* e = world.journal.next()) {
    e->listener = "dns";
    e->peer = peer;
    e->method = a.qtype;
    e->path = a.qname.substr(0, core::kMaxJournalText);
    e->t = t.time_since_epoch();
    e->done = e->t;
    e->outcome = a.outcome;
    e->bytes_sent = a.reply ? a.reply->size() : 0;
    e->end = over_tcp ? "tcp" : "udp";
  }
  on_journal();
  return a.reply;
}

void Server::Impl::do_dns_receive() {
  dns->udp.async_receive_from(asio::buffer(dns->buf), dns->from, [this](error_code ec, std::size_t n) {
    if (stopping || ec == asio::error::operation_aborted) return;
    if (!ec) {
      const std::string peer = fmt::format("{}:{}", dns->from.address().to_string(), dns->from.port());
      if (const auto reply = dns_answer(std::string_view(dns->buf.data(), n), peer, false)) {
        error_code ignored;  // a datagram goes at once or not at all
        dns->udp.send_to(asio::buffer(*reply), dns->from, 0, ignored);
      }
    }
    do_dns_receive();
  });
}

void Server::Impl::do_dns_accept() {
  dns->tcp_acceptor.async_accept([this](error_code ec, tcp::socket s) {
    if (stopping || ec == asio::error::operation_aborted) return;
    if (ec) {  // out of descriptors, ...: retry later rather than spin
      dns_retry.expires_after(kAcceptRetry);
      dns_retry.async_wait([this](error_code e) {
        if (!e && !stopping) do_dns_accept();
      });
      return;
    }
    std::make_shared<DnsTcpConnection>(*this, std::move(s))->start();
    do_dns_accept();
  });
}

std::string Server::dns() const {
  return impl_->world.dns ? core::to_string(impl_->world.dns->listen) : std::string();
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
  if (s.dns) {
    s.do_dns_receive();
    s.do_dns_accept();
  }
  s.io.run();
}

void Server::stop() {
  asio::post(impl_->io, [this] { impl_->shutdown(); });
}

}  // namespace mock::net
