#include "lb/net/proxy.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/write.hpp>
#include <fmt/format.h>

#include <linux/filter.h>
#include <fcntl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <map>
#include <optional>

#include "lb/core/check/connect_failure.hpp"
#include "lb/core/text.hpp"
#include "lb/core/config/values.hpp"
#include "lb/core/http/error_page.hpp"
#include "lb/core/http/message.hpp"
#include "lb/core/http/request_parser.hpp"
#include "lb/core/log/access_log.hpp"
#include "lb/core/log/syslog.hpp"
#include "lb/core/route/idle_need.hpp"
#include "lb/core/route/retry.hpp"
#include "lb/net/listen_sockets.hpp"
#include "lb/net/log_sink.hpp"
#include "lb/net/server_response.hpp"
#include "lb/net/stream_endpoint.hpp"

namespace lb::net {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using core::Ms;

namespace {

constexpr Ms kPoolPurgeDelay{5000};

long ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

// HAProxy's emerg line for a socket the system would not give (sock.c on accept, proto_tcp.c on
// connect), or "" for a failure that has none.
std::string resource_shortage(std::string_view proxy, int error, int maxsock) {
  if (error == EMFILE)
    return fmt::format("Proxy {} reached process FD limit (maxsock={}). Please check 'ulimit-n' and restart.", proxy, maxsock);
  if (error == ENFILE)
    return fmt::format("Proxy {} reached system FD limit (maxsock={}). Please check system tunables.", proxy, maxsock);
  if (error == ENOBUFS || error == ENOMEM)
    return fmt::format("Proxy {} reached system memory limit (maxsock={}). Please check system tunables.", proxy, maxsock);
  return {};
}

}  // namespace

// One socket with its own deadline. When the deadline passes, the socket's pending operations
// are cancelled, not the socket closed, so lb can still write HAProxy's 408 or 504 on it;
// timed_out() then tells a timeout from any other failure. Kept behind a pointer so that the
// deadline's completion can check the connection still exists.
//
// Deadlines move on every read and write, nearly always later. Moving one later only records
// it: the Asio wait already pending, when it completes, waits again for the rest. Only a deadline
// earlier than the pending wait restarts it (a restart cancels the wait, and every cancelled
// wait costs the loop a completion to run).
struct ServerPool;
struct Conn {
  explicit Conn(asio::io_context& io) : socket(io), timer(io) {}
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // A timeout that is not set waits forever, as in HAProxy.
  void deadline(const std::optional<Ms>& after) {
    if (after)
      deadline_at(Clock::now() + *after);
    else
      disarm();
  }
  void deadline_at(Clock::time_point at) {
    expired = false;
    due = at;
    if (!waiting || at < waiting_until) wait_until(at);
  }
  void disarm() {
    expired = false;
    due.reset();
  }
  bool timed_out(const boost::system::error_code& ec) const {
    return expired && (ec == asio::error::operation_aborted || ec == beast::error::timeout);
  }
  void close() {
    disarm();
    boost::system::error_code ignored;
    socket.close(ignored);
  }

  StreamSocket socket;
  asio::steady_timer timer;
  bool expired = false;
  // A server connection's address as it was dialled: once the server has moved (`set server
  // addr`, DNS), an idle connection to the old address is not reused.
  std::string dialled_host;
  std::uint16_t dialled_port = 0;
  ServerPool* in_use_of = nullptr;  // a server connection in use: counted there
  Clock::time_point idle_since;     // an idle one: since when
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);

 private:
  void wait_until(Clock::time_point at) {
    waiting = true;
    waiting_until = at;
    timer.expires_at(at);  // a wait this replaces completes with an old generation
    timer.async_wait([this, a = alive, g = ++generation](const boost::system::error_code&) {
      if (!*a || g != generation) return;
      waiting = false;
      if (!due) return;
      if (Clock::now() < *due) return wait_until(*due);
      due.reset();
      expired = true;
      boost::system::error_code ignored;
      socket.cancel(ignored);
    });
  }

  std::optional<Clock::time_point> due;  // the deadline; none: no timeout
  bool waiting = false;                  // an Asio wait is pending, until waiting_until
  Clock::time_point waiting_until;
  std::uint64_t generation = 0;
};
using ConnPtr = std::unique_ptr<Conn>;

// A server's idle keep-alive connections, newest last, and the count that sizes them.
struct ServerPool {
  std::deque<ConnPtr> idle;
  core::IdleNeed need;

  void count_in(Conn& c) {
    c.in_use_of = this;
    need.taken();
  }
  void count_out(Conn& c) {
    c.in_use_of = nullptr;
    need.given_back();
  }
  void purge() {
    for (int kill = need.purge(static_cast<int>(idle.size())); kill > 0 && !idle.empty(); --kill) idle.pop_front();
  }
};

Conn::~Conn() {
  *alive = false;
  if (in_use_of) in_use_of->need.given_back();
}

// ----------------------------------------------------------------------------- shared state

// Who a session serves: the peer's address, and the listener that accepted it.
struct Client {
  EndpointParts address;
  int listener = 0;
};

struct Proxy::Impl {
  Impl(const core::Config& c, const core::ConnectionLimits& lim, asio::io_context& i, core::Backends& b, LogSink& l,
       core::stats::Traffic& t, const core::Clock& k)
      : config(c), limits(lim), io(i), backends(b), log(l), traffic(t), clock(k), feconn(c.proxies.size(), 0),
        cum_fe(c.proxies.size(), 0), cum_be(c.proxies.size(), 0) {
    for (const auto& p : c.proxies) fe_maxconn.push_back(core::frontend_maxconn(p, lim));
  }

  struct Listener {
    std::size_t frontend;
    int id;  // its frontend's listener number (haproxy's luid, from 1): a UNIX client's name
    StreamAcceptor acceptor;
    StreamEndpoint endpoint;
    // `bind sockpair@N`: connections come passed over this channel, not from the acceptor.
    std::unique_ptr<asio::posix::stream_descriptor> channel;
    int channel_fd = -1;  // N, as the configuration names it
    bool paused = false;  // at a connection limit: no accept pending
    std::string key;      // its name in a ListenSockets handover
    std::optional<core::UnixAddress> abstract;  // `bind abns@NAME`
    bool released = false;  // its name let go of for a process taking over (SIGTTOU)
  };

  // Each server's pool, per (backend, server).
  struct PoolKey {
    std::size_t proxy, server;
    auto operator<=>(const PoolKey&) const = default;
  };
  ServerPool& pool(core::ServerKey k) { return pools[{k.proxy, k.server}]; }
  ConnPtr take_idle(core::ServerKey k) {
    auto& p = pool(k);
    const auto now = Clock::now();
    while (!p.idle.empty()) {
      ConnPtr c = std::move(p.idle.back());
      p.idle.pop_back();
      if (c->dialled_port == backends.port(k) && c->dialled_host == backends.address(k) && still_open(*c, now)) {
        p.count_in(*c);
        return c;
      }
    }
    return nullptr;
  }
  // Whether the server has kept an idle connection open: nothing to read, no end, no error.
  // HAProxy watches its idle connections and drops one the server closes, so no request is
  // ever sent on it; lb looks once, when it would reuse one that has idled for a while (a
  // request a server fails after that is the client's to retry, as in HAProxy). One back from
  // its last response a moment ago is taken without a look: servers close idle connections
  // after a keep-alive timeout, and a busy pool is then spared a syscall per request.
  static bool still_open(Conn& c, Clock::time_point now) {
    constexpr auto kTrustedIdle = std::chrono::milliseconds(10);
    if (now - c.idle_since < kTrustedIdle) return true;
    char byte;
    const ssize_t n = ::recv(c.socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }
  // An idle connection stays pooled until it is reused or a purge (every HAProxy's default
  // pool-purge-delay of 5 s) finds it in excess. One the server closed meanwhile is found out on
  // reuse (still_open), and the request goes on another (the pool is not watched between
  // requests).
  void give_idle(core::ServerKey k, ConnPtr c) {
    c->disarm();
    auto& p = pool(k);
    // Once stopping, nothing is pooled: the pool is emptied and no purge comes.
    const bool keep = accepting && p.need.keeps(static_cast<int>(p.idle.size()));
    p.count_out(*c);
    if (!keep) return;
    c->idle_since = Clock::now();
    p.idle.push_back(std::move(c));
    if (!purge_timer) {
      purge_timer.emplace(io);
      purge_later();
    }
  }
  void purge_later() {
    purge_timer->expires_after(kPoolPurgeDelay);
    purge_timer->async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      for (auto& [key, p] : pools) p.purge();
      purge_later();
    });
  }

  // The access-log record of a new exchange from `peer` on frontend `fe`, before any routing. A
  // UNIX socket's client is "unix" and the listener's number, as haproxy logs it.
  core::AccessRecord new_record(const Client& peer, std::size_t fe) const {
    core::AccessRecord r;
    r.client = peer.address.unix_socket ? "unix" : peer.address.host;
    r.client_port = peer.address.unix_socket ? static_cast<std::uint16_t>(peer.listener) : peer.address.port;
    r.frontend = r.backend = config.proxies[fe].name;
    r.server = "<NOSRV>";
    r.date = std::chrono::system_clock::now();
    return r;
  }
  // The connection counters the log line carries, taken once the server has let go.
  void count_connections(core::AccessRecord& r, std::size_t fe, std::optional<std::size_t> backend,
                         std::optional<std::size_t> server) const {
    r.actconn = actconn;
    r.feconn = feconn[fe];
    if (!backend) return;
    r.beconn = backends.backend_sessions(*backend);
    if (server) r.srvconn = backends.sessions({*backend, *server});
  }

  // A frontend with log targets and no log format tells them of each stream it starts, as
  // haproxy's frontend_accept does: in mode http each request, in mode tcp each connection.
  void log_stream_start(std::size_t fe, const Client& peer, StreamSocket& s) {
    const auto& f = config.proxies[fe];
    if (f.httplog || f.tcplog || !log.logs(fe)) return;
    const bool http = f.mode == core::Mode::Http;
    if (peer.address.unix_socket) return log.traffic(fe, core::Severity::Info, core::unix_connect_line(peer.listener, f.name, http));
    if (peer.address.host.empty()) return;
    const auto local = local_parts(s.native_handle());
    if (local.host.empty()) return;
    log.traffic(fe, core::Severity::Info,
                core::connect_line(peer.address.host, peer.address.port, local.host, local.port, f.name, http));
  }

  void accept(Listener& l);
  void receive(Listener& l);
  void accept_failed(Listener& l, const boost::system::error_code& ec);
  void serve(const Listener& l, StreamSocket socket);
  // Closes its socket once what the kernel had queued on it is taken.
  void close_listener(Listener& l);
  bool below_limits(std::size_t fe) const { return actconn < limits.maxconn && feconn[fe] < fe_maxconn[fe]; }
  void session_started(std::size_t fe) {
    ++actconn;
    ++feconn[fe];
    ++cum_fe[fe];
    traffic.connection_accepted(fe, clock.now());
  }
  void session_ended(std::size_t fe) {
    --actconn;
    --feconn[fe];
    traffic.connection_closed(fe);
    if (accepting)
      for (auto& l : listeners)
        if (l->paused && below_limits(l->frontend)) {
          l->paused = false;
          accept(*l);
        }
    if (actconn == 0 && on_drained) std::exchange(on_drained, nullptr)();
  }

  const core::Config& config;
  core::ConnectionLimits limits;
  std::vector<int> fe_maxconn;  // [proxy]
  asio::io_context& io;
  core::Backends& backends;
  LogSink& log;
  core::stats::Traffic& traffic;
  const core::Clock& clock;
  LocalServices local;
  std::vector<std::unique_ptr<Listener>> listeners;
  std::map<PoolKey, ServerPool> pools;
  std::optional<asio::steady_timer> purge_timer;
  int actconn = 0;
  std::vector<int> feconn;  // [proxy]
  // HAProxy's cumulated connections: accepted by a frontend, streams given to a backend.
  std::vector<long> cum_fe, cum_be;  // [proxy]
  bool accepting = true;
  // Called on soft stop: sessions idle between requests close at once, as HAProxy closes idle
  // keep-alive connections when it stops.
  std::map<std::uint64_t, std::function<void()>> stop_hooks;
  std::uint64_t next_session_id = 1;
  std::function<void()> on_drained;
  std::optional<asio::steady_timer> grace_timer;
};

namespace {

// ----------------------------------------------------------------------------- server connect

// Connects a request to a server of `backend` as HAProxy's connect/retry loop does: after a
// failed connect, up to `retries` more attempts; an attempt that `option redispatch` moves to
// another server goes at once, one that stays after a refusal waits min(timeout connect, 1 s)
// first. A request sent is never sent again: a server that fails it after that fails the
// request (a reused connection included, as in HAProxy).
class Connector : public std::enable_shared_from_this<Connector> {
 public:
  struct Outcome {
    std::size_t server = 0;  // the server of the last attempt
    ConnPtr stream;  // null: every attempt failed
    int retries = 0;
    bool redispatched = false;
    long connect_ms = -1;
    bool timed_out = false;  // the last attempt met `timeout connect` (haproxy's sC--)
    bool internal = false;   // it failed inside lb (haproxy's SF_ERR_INTERNAL: 500 IC--)
  };
  using Done = std::function<void(Outcome)>;

  Connector(Proxy::Impl& px, std::size_t backend, std::size_t server, bool allow_reuse, Done done)
      : px_(px), backend_(backend), proxy_(px.config.proxies[backend]), allow_reuse_(allow_reuse), timer_(px.io),
        done_(std::move(done)) {
    out_.server = server;
  }

  // An idle connection to the server, when one may be reused, is the outcome at once (and no
  // Connector is made: the common case of a kept-alive backend costs no allocation).
  static void connect(Proxy::Impl& px, std::size_t backend, std::size_t server, bool allow_reuse, Done done) {
    Outcome out;
    out.server = server;
    if (allow_reuse && reuse_idle(px, backend, out)) {
      px.traffic.server_attempt({backend, server}, px.clock.now());  // HAProxy counts a reuse too
      return done(std::move(out));
    }
    std::make_shared<Connector>(px, backend, server, allow_reuse, std::move(done))->attempt();
  }

 private:
  static bool reuse_idle(Proxy::Impl& px, std::size_t backend, Outcome& out) {
    auto idle = px.take_idle({backend, out.server});
    if (!idle) return false;
    out.stream = std::move(idle);
    out.connect_ms = 0;
    return true;
  }

  void attempt() {
    if (allow_reuse_ && reuse_idle(px_, backend_, out_)) return finish();
    px_.traffic.server_attempt({backend_, out_.server}, px_.clock.now());
    stream_ = std::make_unique<Conn>(px_.io);
    started_ = Clock::now();
    stream_->dialled_host = px_.backends.address({backend_, out_.server});
    stream_->dialled_port = px_.backends.port({backend_, out_.server});
    const auto unix_socket = core::unix_address(stream_->dialled_host);
    if (unix_socket && unix_socket->socket_pair >= 0) {
      bool made = false;
      if (!connect_socket_pair(stream_->socket, unix_socket->socket_pair, made)) return on_connect({});
      if (!made) {  // SF_ERR_RESOURCE
        // ha_alert(): stderr only, "[ALERT]" (foreground_line's prefix for the emerg level).
        px_.log.foreground_only({core::Severity::Emerg, "socketpair(): Cannot create socketpair. Giving up.", {}});
        return retry_at_once();
      }
      // SF_ERR_INTERNAL: no retry, and a 500 for the client.
      px_.log.foreground_only({core::Severity::Warning, "Failed to transfer socket", {}});
      stream_.reset();
      out_.internal = true;
      return finish();
    }
    const auto endpoint = stream_endpoint(stream_->dialled_host, stream_->dialled_port);
    if (!endpoint) return on_connect(asio::error::host_unreachable);
    boost::system::error_code no_socket;
    stream_->socket.open(endpoint->protocol(), no_socket);
    if (!no_socket) stream_->socket.non_blocking(true, no_socket);
    if (no_socket) return on_no_socket(no_socket);
    // connect() is called here rather than through Asio, which reports a failure of connect()
    // itself like any other: haproxy retries that one at once (no turn-around), as nothing was
    // ever under way (a missing UNIX path, a local route that says unreachable).
    if (::connect(stream_->socket.native_handle(), endpoint->data(), endpoint->size()) == 0) return on_connect({});
    if (errno != EINPROGRESS) {
      const auto failure = core::classify_connect_failure(errno, !unix_socket);
      if (!failure.log_reason.empty()) px_.log.connect_failed(backend_, failure.log_reason);
      return retry_at_once();
    }
    stream_->deadline(proxy_.timeouts.connect);
    stream_->socket.async_wait(asio::socket_base::wait_write, [self = shared_from_this()](const boost::system::error_code& e) {
      self->on_connect(e ? e : pending_connect_error(self->stream_->socket.native_handle()));
    });
  }

  void on_connect(const boost::system::error_code& ec) {
    if (!ec) {
      out_.connect_ms = ms_since(started_);
      boost::system::error_code ignored;
      stream_->socket.set_option(tcp::no_delay(true), ignored);  // a UNIX socket has none: ignored
      stream_->disarm();
      px_.pool({backend_, out_.server}).count_in(*stream_);
      out_.stream = std::move(stream_);
      return finish();
    }
    // A refused connect waits the turn-around before the next attempt; a timed-out one has
    // waited enough (backend.c, back_handle_st_cer: only an error of the connection waits).
    out_.timed_out = stream_->timed_out(ec);
    stream_.reset();
    retry(!out_.timed_out);
  }

  // No socket to connect with (descriptors or memory ran out): haproxy's tcp_connect_server
  // says so on stderr and at emerg in the backend's log, and the next attempt follows at once,
  // a resource error waiting for no turn-around.
  void on_no_socket(const boost::system::error_code& ec) {
    px_.log.foreground_text("Cannot get a server socket.");
    const auto why = resource_shortage(proxy_.name, ec.value(), px_.limits.maxsock);
    if (!why.empty()) px_.log.traffic(backend_, core::Severity::Emerg, why);
    retry_at_once();
  }

  // An attempt that failed before anything was under way (no socket, connect() failing at
  // once): the next follows without the turn-around.
  void retry_at_once() {
    stream_.reset();
    out_.timed_out = false;
    retry(false);
  }

  // The next attempt after a failed one, while retries are left: on another server when
  // `option redispatch` says so, else on the same one after the turn-around, if it applies.
  void retry(bool turn_around) {
    if (out_.retries >= proxy_.retries) return finish();
    ++out_.retries;
    if (core::redispatch_on_retry(proxy_, px_.backends, {backend_, out_.server}, out_.retries)) {
      if (const auto other = px_.backends.pick(backend_).server) {
        px_.traffic.retried({backend_, out_.server}, true);
        px_.backends.request_finished({backend_, out_.server});
        px_.backends.request_started({backend_, *other});
        out_.server = *other;
        out_.redispatched = true;
        return attempt();
      }
    }
    px_.traffic.retried({backend_, out_.server}, false);
    if (!turn_around) return attempt();
    // The turn-around timer gives a restarting server a moment before it is tried again.
    timer_.expires_after(std::min(proxy_.timeouts.connect.value_or(Ms{1000}), Ms{1000}));
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& e) {
      if (!e) self->attempt();
    });
  }

  void finish() { done_(std::move(out_)); }

  Proxy::Impl& px_;
  std::size_t backend_;
  const core::ProxyConfig& proxy_;
  bool allow_reuse_;
  asio::steady_timer timer_;
  Done done_;
  Outcome out_;
  ConnPtr stream_;
  Clock::time_point started_;
};

// ----------------------------------------------------------------------------- backend queue

// A session waiting in its backend's queue because every usable server is at its maxconn: it
// gets the first free slot, first come first served, or gives up after `timeout queue` (else
// `timeout connect`), as HAProxy's sessions do in both modes. The callbacks carry the session.
class QueueWait {
 public:
  explicit QueueWait(Proxy::Impl& px) : px_(px), timer_(px.io) {}

  // served(server, ms waited) or timed_out(ms waited), once.
  template <class Served, class TimedOut>
  void wait(std::size_t backend, const core::Timeouts& t, Served served, TimedOut timed_out) {
    backend_ = backend;
    since_ = Clock::now();
    ticket_ = px_.backends.enqueue(backend, [this, served](std::size_t server) {
      timer_.cancel();
      ticket_.reset();
      served(server, ms_since(since_));
    });
    if (const auto limit = t.queue ? t.queue : t.connect) {
      timer_.expires_after(*limit);
      timer_.async_wait([this, timed_out](const boost::system::error_code& ec) {
        if (ec || !ticket_) return;
        px_.backends.dequeue(backend_, *std::exchange(ticket_, std::nullopt));
        timed_out(ms_since(since_));
      });
    }
  }

 private:
  Proxy::Impl& px_;
  asio::steady_timer timer_;
  std::size_t backend_ = 0;
  std::optional<core::Backends::QueueTicket> ticket_;
  Clock::time_point since_;
};

// ----------------------------------------------------------------------------- writes

// Writes `bytes` (which must outlive the write), then calls then(error_code): at once when the
// socket takes them all, as it nearly always takes a head or a small body, else once the rest
// is out. Saves the loop a completion per write. The socket is in non-blocking mode.
template <class Then>
void write_then(Conn& conn, std::string_view bytes, Then then) {
  boost::system::error_code ec;
  const std::size_t n = bytes.empty() ? 0 : conn.socket.write_some(asio::buffer(bytes.data(), bytes.size()), ec);
  if (!ec && n == bytes.size()) return then(ec);
  if (ec && ec != asio::error::would_block && ec != asio::error::try_again) return then(ec);
  asio::async_write(conn.socket, asio::buffer(bytes.data() + n, bytes.size() - n),
                    [then](const boost::system::error_code& e, std::size_t) mutable { then(e); });
}

// ----------------------------------------------------------------------------- HTTP session

// One client connection in mode http: read a request, pick a server, forward, answer, log,
// and again while both sides keep the connection alive. Requests on one connection are
// answered in order, so pipelined requests simply wait in the read buffer.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(Proxy::Impl& px, std::size_t fe, Client peer, StreamSocket socket)
      : px_(px), fe_(fe), fe_cfg_(px.config.proxies[fe]), client_(std::make_unique<Conn>(px.io)), accepted_(Clock::now()),
        peer_(std::move(peer)) {
    client_->socket = std::move(socket);
    boost::system::error_code ec;
    client_->socket.non_blocking(true, ec);  // for write_then()
    px_.session_started(fe_);
    px_.stop_hooks[id_] = [this] {
      if (idle_between_requests_) client_->close();
    };
  }
  ~HttpSession() {
    px_.stop_hooks.erase(id_);
    release_server();
    px_.session_ended(fe_);
  }

  void start() { read_request(); }

 private:
  // --- request ---------------------------------------------------------------------------
  void read_request() {
    ++exchange_;
    settled_ = response_started_ = response_done_ = server_reset_ = false;
    server_writing_ = server_write_failed_ = server_keepalive_ = false;
    req_ = core::RequestParse{};
    chunks_ = core::ChunkedDecoder{};
    response_.reset();
    // Without `option httplog` nothing reads the record: it is not filled in on the hot path.
    rec_ = logging_ ? px_.new_record(peer_, fe_) : core::AccessRecord{};
    const auto& t = fe_cfg_.timeouts;
    const std::optional<Ms> request_timeout = t.http_request ? t.http_request : t.client;
    if (!cbuf_.empty()) {  // a pipelined request: timed from now
      request_started_ = Clock::now();
      arm_request_deadline(request_timeout);
      return parse_head();
    }
    if (served_ == 0) {
      // The first request's `timeout http-request` runs from the accept; its timers (%TR, %Ta)
      // and date start with its first byte, the wait before it being haproxy's idle time (%Ti).
      // A client that sends nothing is timed from the accept.
      request_started_ = accepted_;
      arm_request_deadline(request_timeout);
      return read_more([self = shared_from_this()] {
        self->request_started_ = Clock::now();
        if (self->logging_) self->rec_.date = std::chrono::system_clock::now();
        self->parse_head();
      });
    }
    // Between requests the connection idles for `timeout http-keep-alive` (else http-request);
    // the next request's own timers start with its first byte.
    idle_between_requests_ = true;
    client_->deadline(t.http_keep_alive ? t.http_keep_alive : request_timeout);
    // A read, not a wait (Asio starts each wait with an epoll_ctl): the next request's timers
    // start when its first bytes are in.
    client_->socket.async_read_some(asio::buffer(rbuf_), [self = shared_from_this(), request_timeout](
                                                            boost::system::error_code ec, std::size_t n) {
      self->idle_between_requests_ = false;
      if (ec || !self->px_.accepting) return self->close_client();  // idle close: nothing is logged
      self->cbuf_.append(self->rbuf_.data(), n);
      self->request_started_ = Clock::now();
      if (self->logging_) self->rec_.date = std::chrono::system_clock::now();
      self->arm_request_deadline(request_timeout);
      self->parse_head();
    });
  }

  void arm_request_deadline(const std::optional<Ms>& timeout) {
    if (timeout)
      client_->deadline_at(request_started_ + *timeout);
    else
      client_->disarm();
  }

  // Appends what the client sends next to cbuf_, then calls `then`; failures end the request.
  template <class Then>
  void read_more(Then then) {
    client_->socket.async_read_some(asio::buffer(rbuf_), [self = shared_from_this(), then](boost::system::error_code ec, std::size_t n) {
      if (ec) return self->request_failed(ec);
      self->cbuf_.append(self->rbuf_.data(), n);
      then();
    });
  }

  void parse_head() {
    req_ = core::parse_request_head(cbuf_);
    switch (req_.state) {
      case core::RequestParse::State::Incomplete: return read_more([self = shared_from_this()] { self->parse_head(); });
      case core::RequestParse::State::Error:
        if (req_.error_status == 0) return close_client();  // HTTP/2: nothing lb can answer in
        return answer_and_close(req_.error_status, {'P', 'R'}, false);
      case core::RequestParse::State::Done: break;
    }
    cbuf_.erase(0, req_.consumed);
    if (logging_) {
      rec_.TR = ms_since(request_started_);
      rec_.request_line = fmt::format("{} {} {}", req_.head.method, req_.head.target, req_.version_text);
    }
    client_wants_keepalive_ = req_.keep_alive;
    body_left_ = req_.head.chunked ? 0 : req_.content_length.value_or(0);
    request_body_done_ = !req_.head.chunked && body_left_ == 0;
    // The body is the client's to send within `timeout client`. What of it came with the head
    // goes with the head; a framing error in it is answered before any server is involved, as
    // HAProxy's H1 parser finds it there.
    client_->deadline(fe_cfg_.timeouts.client);
    first_body_piece_.clear();
    take_body(first_body_piece_);
    if (chunks_.failed()) return answer_and_close(400, {'P', 'R'}, false);
    px_.log_stream_start(fe_, peer_, client_->socket);  // haproxy's stream starts with a parsed head
    if (px_.local.wants && px_.local.wants(fe_, req_.head.method, req_.head.target)) {
      local_body_ = first_body_piece_;
      return serve_local();
    }
    route();
  }

  // A request lb answers itself: its (bounded) body first, then the service's bytes.
  void serve_local() {
    constexpr std::size_t kMaxLocalBody = 64 * 1024;
    if (!request_body_done_) {
      if (local_body_.size() > kMaxLocalBody) return answer_and_close(413, {'P', 'R'}, false);
      return read_more([self = shared_from_this()] {
        self->take_body(self->local_body_);
        if (self->chunks_.failed()) return self->answer_and_close(400, {'P', 'R'}, false);
        self->serve_local();
      });
    }
    LocalRequest r;
    r.frontend = fe_;
    r.method = req_.head.method;
    r.target = req_.head.target;
    for (const auto& h : req_.head.headers)
      if (core::iequals(h.name, "authorization")) r.authorization = h.value;
    // A chunked body was re-framed on the way in; the service reads the form's bytes.
    r.body = req_.head.chunked ? std::string() : local_body_;
    r.http10 = req_.head.version < 11;
    r.keep_alive = client_wants_keepalive_ && px_.accepting && fe_cfg_.http_conn_mode != core::HttpConnMode::Close;
    // haproxy's LOCALHOST is `src 127.0.0.1/8 ::1`, which a UNIX socket's client has no address to match.
    boost::system::error_code not_ip;
    r.from_localhost = !peer_.address.unix_socket && asio::ip::make_address(peer_.address.host, not_ip).is_loopback();
    auto a = px_.local.answer(r);
    settled_ = true;
    client_keepalive_ = !a.close;
    to_client_ = std::move(a.bytes);
    rec_.backend = fe_cfg_.name;
    rec_.server = a.server;
    rec_.Tw = rec_.Tc = rec_.Tr = 0;
    rec_.status = a.status;
    rec_.bytes = to_client_.size();
    rec_.term = {'L', 'R'};
    write_answer();
  }

  // Moves the body bytes cbuf_ holds to `out`, framed as they are forwarded (re-chunked when
  // the body is chunked), and notes when the body is complete.
  void take_body(std::string& out) {
    if (request_body_done_) return;
    if (req_.head.chunked) {
      piece_.clear();
      cbuf_.erase(0, chunks_.feed(cbuf_, piece_));
      if (chunks_.failed()) return;
      out += core::chunk(piece_);
      if (chunks_.done()) {
        out += core::last_chunk(chunks_.trailers());
        request_body_done_ = true;
      }
      return;
    }
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(body_left_, cbuf_.size()));
    out.append(cbuf_, 0, n);
    cbuf_.erase(0, n);
    body_left_ -= n;
    request_body_done_ = body_left_ == 0;
  }

  // No request could be read: HAProxy logs "<BADREQ>" with the cause, and answers 408 unless
  // the client is gone.
  void request_failed(boost::system::error_code ec) {
    const bool timed_out = client_->timed_out(ec);
    client_->disarm();
    if (ec == asio::error::operation_aborted && !timed_out) return close_client();
    const bool nothing_read = cbuf_.empty() && req_.state != core::RequestParse::State::Done;
    // A kept-alive connection the client closes between requests ends quietly, as in HAProxy.
    if (nothing_read && served_ > 0) return close_client();
    if (timed_out) return answer_and_close(408, {'c', 'R'}, nothing_read);
    rec_.TR = -1;
    rec_.request_line = "<BADREQ>";
    rec_.status = 400;
    rec_.term = {'C', 'R'};
    log_and_close(nothing_read);
  }

  // --- routing and the server side -------------------------------------------------------
  void route() {
    const auto be = px_.backends.backend_of(fe_);
    if (!be) return answer(503, {'S', 'C'});
    backend_ = *be;
    ++px_.cum_be[*be];
    be_cfg_ = &px_.config.proxies[*be];
    rec_.backend = be_cfg_->name;
    const auto pick = px_.backends.pick(*be);
    if (pick.full) return wait_in_queue();
    if (!pick.server) return answer(503, {'S', 'C'});
    server_ = *pick.server;
    px_.backends.request_started({backend_, *server_});
    rec_.Tw = 0;
    connect(may_reuse());
  }

  // Every usable server is full: HAProxy's 503 with sQ-- if no slot frees in time.
  void wait_in_queue() {
    queue_.wait(
        backend_, be_cfg_->timeouts,
        [self = shared_from_this()](std::size_t server, long waited) {
          self->server_ = server;
          self->rec_.Tw = waited;
          self->connect(self->may_reuse());
        },
        [self = shared_from_this()](long waited) {
          self->rec_.Tw = waited;
          self->answer(503, {'s', 'Q'});
        });
    rec_.backend_queue = px_.backends.queued(backend_);  // %bq: its place in the queue, as haproxy logs it
  }

  // HAProxy's default `http-reuse safe`: the first request of a client session goes on a
  // connection of its own; later ones may take an idle one.
  bool may_reuse() const { return served_ > 0; }

  void connect(bool allow_reuse) {
    Connector::connect(px_, backend_, *server_, allow_reuse,
                       [self = shared_from_this()](Connector::Outcome o) { self->on_connected(std::move(o)); });
  }

  void on_connected(Connector::Outcome o) {
    server_ = o.server;
    rec_.server = be_cfg_->servers[*server_].name;
    rec_.retries = o.retries;
    rec_.redispatched = o.redispatched;
    if (!o.stream) return o.internal ? answer(500, {'I', 'C'}) : connect_failed(o.timed_out);
    rec_.Tc = o.connect_ms;
    upstream_ = std::move(o.stream);
    forward_request();
  }

  // Every connect failed: HAProxy's 503 page, except that a connect timeout on a kept-alive
  // connection's later request is logged with no page sent and the connection closed
  // (http_ana.c, http_return_srv_error: the client is expected to retry).
  void connect_failed(bool timed_out) {
    if (!timed_out) return answer(503, {'S', 'C'});
    if (served_ == 0) return answer(503, {'s', 'C'});
    settled_ = true;
    client_keepalive_ = false;
    rec_.status = 503;
    rec_.bytes = 0;
    rec_.term = {'s', 'C'};
    finish_exchange();
  }

  bool server_keepalive_mode() const {
    return be_cfg_->http_conn_mode == core::HttpConnMode::KeepAlive &&
           fe_cfg_.http_conn_mode == core::HttpConnMode::KeepAlive;
  }

  // Handlers of the server side and of the request body check that their exchange is still the
  // current one and undecided: an answer lb made, or the next request, leaves them nothing to do.
  bool stale(std::uint64_t exchange) const { return exchange != exchange_ || settled_; }

  // The head and what of the body came with it go in one write; the response is read from then
  // on while the rest of the body follows, as HAProxy reads a server that answers early.
  void forward_request() {
    core::ForwardOptions opts;
    // A UNIX socket's client has no address to forward: haproxy adds none.
    if ((be_cfg_->forwardfor || fe_cfg_.forwardfor) && !peer_.address.unix_socket) opts.forwarded_for = peer_.address.host;
    opts.server_close = !server_keepalive_mode();
    opts.closing = req_.close_after;
    to_server_ = core::forwarded_request_head(req_.head, opts);
    to_server_ += first_body_piece_;
    request_sent_ = Clock::now();
    upstream_->deadline(be_cfg_->timeouts.server);
    server_writing_ = true;
    write_then(*upstream_, to_server_, [self = shared_from_this(), x = exchange_](boost::system::error_code ec) {
      if (self->stale(x)) return;
      self->server_writing_ = false;
      if (ec) return self->server_failed(ec);
      self->read_response();
      self->pump_request_body();
    });
  }

  // The rest of the request body, forwarded read by read. Once the server can no longer take it
  // (it answered and lb let go of it, or a write failed) what still comes is read and dropped.
  void pump_request_body() {
    if (request_body_done_) return;
    // While the server owes the response and can time out itself, haproxy lets the client's
    // timeout not strike (stream.c, CF_READ_NOEXP): a body that stalls ends at `timeout server`
    // with a 504 (sH--). Once the response has begun, the client's timeout counts again.
    if (!response_started_ && be_cfg_->timeouts.server)
      client_->disarm();
    else
      client_->deadline(fe_cfg_.timeouts.client);
    client_->socket.async_read_some(asio::buffer(rbuf_), [self = shared_from_this(), x = exchange_](
                                                            boost::system::error_code ec, std::size_t n) {
      if (self->stale(x)) return;
      if (ec) return self->request_body_failed(ec);
      self->cbuf_.append(self->rbuf_.data(), n);
      self->body_out_.clear();
      self->take_body(self->body_out_);
      if (self->chunks_.failed()) return self->request_body_invalid();
      if (self->request_body_done_ && self->response_done_) return self->finish_exchange();
      if (self->body_out_.empty() || !self->upstream_ || self->server_write_failed_) return self->pump_request_body();
      self->server_writing_ = true;
      self->upstream_->deadline(self->be_cfg_->timeouts.server);
      write_then(*self->upstream_, self->body_out_, [self, x](boost::system::error_code e) {
        if (self->stale(x)) return;
        self->server_writing_ = false;
        // The server's side of the story comes from the response read.
        if (e) self->server_write_failed_ = true;
        if (self->response_done_ && self->upstream_) self->release_upstream();
        self->pump_request_body();
      });
    });
  }

  // The client stopped sending before the end of its body. A client that went away before any
  // response gets nothing, and haproxy logs no status (-1, CD--); one that stalled is timed out
  // only where no server timeout runs (see pump_request_body), with a 400 (cD--). Once the
  // response has begun, the line keeps the response's status.
  void request_body_failed(boost::system::error_code ec) {
    const bool timed_out = client_->timed_out(ec);
    const core::Termination term{timed_out ? 'c' : 'C', 'D'};
    if (!response_started_ && timed_out) {
      abandon_upstream();
      client_wants_keepalive_ = false;
      return answer(400, term);
    }
    if (!response_started_) rec_.status = -1;
    rec_.term = term;
    abandon_upstream();
    log_and_close(false);
  }

  void request_body_invalid() {
    if (!response_started_) {
      abandon_upstream();
      client_wants_keepalive_ = false;
      return answer(400, {'P', 'D'});
    }
    rec_.term = {'P', 'D'};
    abandon_upstream();
    log_and_close(false);
  }

  void read_response() {
    response_.emplace();
    response_->header_limit(core::kMaxHeadBytes);
    response_->body_limit(boost::none);
    if (req_.head.method == "HEAD") response_->skip(true);
    upstream_->deadline(be_cfg_->timeouts.server);
    http::async_read_header(upstream_->socket, ubuf_, *response_,
                            [self = shared_from_this(), x = exchange_](beast::error_code ec, std::size_t) {
                              if (self->stale(x)) return;
                              if (ec) return self->server_failed(ec);
                              if (self->logging_ && self->rec_.Tr < 0) self->rec_.Tr = ms_since(self->request_sent_);
                              self->start_response();
                            });
  }

  void server_failed(beast::error_code ec) {
    const bool head_seen = response_ && response_->is_header_done();
    const bool timed_out = upstream_->timed_out(ec);
    server_reset_ = ec == asio::error::connection_reset;
    abandon_upstream();
    if (head_seen || response_started_) {
      // The answer had begun: nothing better to send than a close.
      rec_.status = static_cast<int>(response_->get().result_int());
      rec_.term = {'S', 'D'};
      return log_and_close(false);
    }
    if (!request_body_done_) client_wants_keepalive_ = false;
    if (timed_out) return answer(504, {'s', 'H'});
    const bool closed = ec == http::error::end_of_stream || ec == asio::error::connection_reset ||
                        ec == asio::error::eof || ec == http::error::partial_message;
    // What came before the close is no matter (http_wait_for_response: a close or a read error
    // before the whole head); only bytes that cannot be a head are the server's protocol error.
    if (closed && served_ > 0) return close_unanswered();
    answer(502, closed ? core::Termination{'S', 'H'} : core::Termination{'P', 'H'});
  }

  // A later request of a kept-alive connection that its server closed or reset before the whole
  // head of an answer: HAProxy closes the client's connection without an answer or a log line,
  // so that the client sends the request again (http_ana.c, abort_keep_alive).
  void close_unanswered() {
    settled_ = true;
    release_server();
    rec_.bytes = 0;
    count_exchange(true);
    close_client();
  }

  // The response head is in. An interim 1xx (100 Continue) is passed on and the final response
  // read after it; the final one is relayed piece by piece as the server sends it.
  void start_response() {
    server_answered_ = true;
    response_head_ = response_head(*response_);
    const int status = response_head_.status;
    if (status / 100 == 1 && status != 101) {
      to_client_ = core::client_response_head(response_head_, false, false);
      return send_to_client([self = shared_from_this()] { self->read_response(); });
    }
    response_started_ = true;
    rec_.status = status;
    bodyless_ = req_.head.method == "HEAD" || status == 204 || status == 304 || status == 101;
    // A body that ends with the server's close can reach the client only on a connection that
    // closes after it too.
    const bool ends_by_close = !bodyless_ && !response_->chunked() && !response_->content_length();
    const bool http10 = req_.head.version < 11;
    client_keepalive_ = client_wants_keepalive_ && fe_cfg_.http_conn_mode != core::HttpConnMode::Close &&
                        be_cfg_->http_conn_mode != core::HttpConnMode::Close && px_.accepting && !ends_by_close;
    to_client_ = core::client_response_head(response_head_, !client_keepalive_, client_keepalive_ && http10);
    response_body_bytes_ = 0;
    if (bodyless_ || response_->is_done()) return send_to_client([self = shared_from_this()] { self->response_finished(); });
    // Body bytes that came with the head go out with it; otherwise the head goes on its own,
    // so the client sees it while the server takes its time.
    relay_response_body();
  }

  // What the server sent of the body so far is parsed where it lies (no read, no completion to
  // wait for), framed into to_client_ and written; then the next read, until the message ends.
  void relay_response_body() {
    beast::error_code ec;
    take_buffered_body(ec);
    if (ec) return server_failed(ec);
    if (response_->is_done()) {
      if (response_head_.chunked) to_client_ += core::last_chunk();
      return send_to_client([self = shared_from_this()] { self->response_finished(); });
    }
    if (to_client_.empty()) return read_more_body();
    send_to_client([self = shared_from_this()] { self->read_more_body(); });
  }

  void take_buffered_body(beast::error_code& ec) {
    response_->eager(true);
    while (ubuf_.size() > 0 && !response_->is_done()) {
      auto& body = response_->get().body();
      body.data = bbuf_.data();
      body.size = bbuf_.size();
      body.more = true;
      const auto used = response_->put(ubuf_.data(), ec);
      ubuf_.consume(used);
      if (ec == http::error::need_buffer || ec == http::error::need_more) ec = {};
      if (ec) return;
      const std::string_view got(bbuf_.data(), bbuf_.size() - body.size);
      response_body_bytes_ += got.size();
      if (response_head_.chunked)
        to_client_ += core::chunk(got);
      else
        to_client_ += got;
      if (used == 0 && got.empty()) return;  // the next piece needs bytes not yet here
    }
  }

  void read_more_body() {
    upstream_->deadline(be_cfg_->timeouts.server);
    upstream_->socket.async_read_some(
        ubuf_.prepare(bbuf_.size()), [self = shared_from_this(), x = exchange_](boost::system::error_code ec, std::size_t n) {
          if (self->stale(x)) return;
          if (ec == asio::error::eof) {
            // The end of a body that ends with the close; for any other it came too soon.
            beast::error_code e;
            self->response_->put_eof(e);
            return e ? self->server_failed(http::error::partial_message) : self->relay_response_body();
          }
          if (ec) return self->server_failed(ec);
          self->ubuf_.commit(n);
          self->relay_response_body();
        });
  }

  // The response is through: the server connection goes back to the pool when both sides said
  // keep-alive and the request went out whole; the exchange ends once the request body has too.
  void response_finished() {
    response_done_ = true;
    rec_.bytes = core::logged_response_size(response_head_, bodyless_ ? 0 : response_body_bytes_, true);
    server_keepalive_ = response_->get().keep_alive() && server_keepalive_mode();
    if (!server_writing_) release_upstream();
    if (!request_body_done_) {
      client_keepalive_ = false;  // the rest of the body is read until it ends or `timeout client`
      return;
    }
    finish_exchange();
  }

  // A connection the server sent more on than the response is not reused (haproxy closes it).
  void release_upstream() {
    if (server_keepalive_ && request_body_done_ && !server_write_failed_ && ubuf_.size() == 0)
      px_.give_idle({backend_, *server_}, std::move(upstream_));
    abandon_upstream();
  }

  void abandon_upstream() {
    upstream_.reset();
    ubuf_.clear();
  }

  // Writes to_client_, then calls `then`; a client that cannot take it ends the exchange (CD--).
  template <class Then>
  void send_to_client(Then then) {
    client_->deadline(fe_cfg_.timeouts.client);
    write_then(*client_, to_client_, [self = shared_from_this(), x = exchange_, then](boost::system::error_code ec) {
      if (self->stale(x)) return;
      self->to_client_.clear();
      if (!ec) return then();
      self->rec_.term = {self->client_->timed_out(ec) ? 'c' : 'C', 'D'};
      self->abandon_upstream();
      self->log_and_close(false);
    });
  }

  // --- answers lb makes itself -----------------------------------------------------------
  void answer(int status, core::Termination term) {
    settled_ = true;
    const bool head = req_.state == core::RequestParse::State::Done && req_.head.method == "HEAD";
    client_keepalive_ = req_.state == core::RequestParse::State::Done && request_body_done_ &&
                        client_wants_keepalive_ && px_.accepting && fe_cfg_.http_conn_mode != core::HttpConnMode::Close;
    to_client_ = core::haproxy_error_response(status, !client_keepalive_, head);
    rec_.status = status;
    rec_.bytes = core::logged_error_size(status);
    rec_.term = term;
    write_answer();
  }

  // Sends to_client_, an answer lb made itself, then ends the exchange.
  void write_answer() {
    client_->deadline(fe_cfg_.timeouts.client);
    write_then(*client_, to_client_, [self = shared_from_this()](boost::system::error_code ec) {
      if (ec) {
        self->rec_.term = {'C', 'D'};
        self->client_keepalive_ = false;
      }
      self->finish_exchange();
    });
  }

  // A request that could not be read: HAProxy logs it as "<BADREQ>" with no timers.
  void answer_and_close(int status, core::Termination term, bool nothing_read) {
    settled_ = true;
    client_keepalive_ = false;
    rec_.TR = -1;
    rec_.request_line = "<BADREQ>";
    to_client_ = core::haproxy_error_response(status, true);
    rec_.status = status;
    rec_.bytes = core::logged_error_size(status);
    rec_.term = term;
    client_->deadline(fe_cfg_.timeouts.client);
    asio::async_write(client_->socket, asio::buffer(to_client_),
                      [self = shared_from_this(), nothing_read](boost::system::error_code, std::size_t) {
                        self->log_and_close(nothing_read);
                      });
  }

  // --- end of one exchange ---------------------------------------------------------------
  void finish_exchange() {
    settled_ = true;
    ++served_;
    release_server();
    log_line(false);
    if (client_keepalive_ && px_.accepting) return read_request();
    close_client();
  }

  void log_and_close(bool nothing_read) {
    settled_ = true;
    release_server();
    log_line(nothing_read);
    close_client();
  }

  // `option dontlognull` drops the line of a connection that never sent a byte.
  void log_line(bool nothing_read) {
    // A response cut short counts what of it was forwarded, as haproxy counts its bytes out.
    if (response_started_ && !response_done_)
      rec_.bytes = core::logged_response_size(response_head_, bodyless_ ? 0 : response_body_bytes_, false);
    count_exchange();
    if (!fe_cfg_.httplog || (nothing_read && fe_cfg_.dontlognull)) return;
    if (fe_cfg_.dontlog_normal && !core::abnormal_exchange(rec_, true)) return;
    rec_.Ta = ms_since(request_started_);
    px_.count_connections(rec_, fe_, backend_of_record_, server_of_record_);
    px_.log.traffic(fe_, core::Severity::Info, core::httplog_line(rec_));
  }

  // What the exchange did, for the stats: the request and response sizes as HAProxy counts them.
  void count_exchange(bool unanswered = false) {
    core::stats::Exchange e;
    e.frontend = fe_;
    e.backend = backend_of_record_;
    e.server = server_of_record_;
    if (req_.state == core::RequestParse::State::Done)
      // The body bytes that came: a client that left mid-body sent fewer than it announced.
      e.request_size = core::logged_request_size(req_.head, req_.head.chunked ? 0 : req_.content_length.value_or(0) - body_left_);
    e.response_size = rec_.bytes;
    e.status = rec_.status;
    e.server_answered = server_answered_;
    e.term = rec_.term;
    e.unanswered = unanswered;
    e.server_reset = server_reset_;
    px_.traffic.exchange(e, px_.clock.now());
    server_answered_ = false;
  }

  // HAProxy logs after the server is released, so its own connection is no longer counted.
  void release_server() {
    backend_of_record_.reset();
    server_of_record_.reset();
    if (be_cfg_) backend_of_record_ = backend_;
    if (be_cfg_ && server_) {
      server_of_record_ = server_;
      px_.backends.request_finished({backend_, *server_});
    }
    server_.reset();
    be_cfg_ = nullptr;
  }

  void close_client() {
    boost::system::error_code ec;
    client_->socket.shutdown(asio::socket_base::shutdown_send, ec);
    client_->close();
  }

  Proxy::Impl& px_;
  std::uint64_t id_ = px_.next_session_id++;
  std::size_t fe_;
  const core::ProxyConfig& fe_cfg_;
  bool logging_ = fe_cfg_.httplog;
  ConnPtr client_;
  Clock::time_point accepted_;
  Client peer_;
  bool idle_between_requests_ = false;
  std::string cbuf_;                  // client bytes not yet parsed (pipelined requests wait here)
  std::array<char, 16384> rbuf_{};
  core::RequestParse req_;
  std::uint64_t body_left_ = 0;       // Content-Length body bytes still to come
  bool request_body_done_ = false;
  core::ChunkedDecoder chunks_;
  std::string piece_;                 // a chunked body's bytes decoded from one read
  std::string first_body_piece_;      // the body bytes that came with the head, framed
  std::string local_body_;            // the body of a request lb answers itself
  std::string body_out_;              // body bytes being forwarded after the head, framed
  std::size_t backend_ = 0;
  const core::ProxyConfig* be_cfg_ = nullptr;
  std::optional<std::size_t> server_;
  std::optional<std::size_t> backend_of_record_, server_of_record_;
  QueueWait queue_{px_};
  ConnPtr upstream_;
  beast::flat_buffer ubuf_;
  std::optional<http::response_parser<http::buffer_body>> response_;
  core::HttpResponseHead response_head_;
  std::array<char, 16384> bbuf_{};  // one piece of the response body
  std::uint64_t response_body_bytes_ = 0;
  bool bodyless_ = false;
  std::string to_server_;  // the request head and first body piece
  std::string to_client_;  // the bytes being written to the client
  std::uint64_t exchange_ = 0;  // which request of the connection is being served
  bool settled_ = false;        // the exchange's outcome is decided; late handlers do nothing
  bool response_started_ = false, response_done_ = false;
  bool server_writing_ = false, server_write_failed_ = false;
  bool server_answered_ = false;  // a response head came from the server
  bool server_reset_ = false;     // the server reset the connection
  bool server_keepalive_ = false;
  bool client_wants_keepalive_ = false;  // as the request asked, before lb rewrote it
  bool client_keepalive_ = false;
  int served_ = 0;
  core::AccessRecord rec_;
  Clock::time_point request_started_, request_sent_;
};

// ----------------------------------------------------------------------------- TCP session

// mode tcp: connect to the picked server, then copy bytes both ways. A side that closes
// half-closes the other; the session ends when both directions are done or one times out.
class TcpSession : public std::enable_shared_from_this<TcpSession> {
 public:
  TcpSession(Proxy::Impl& px, std::size_t fe, const Client& peer, StreamSocket socket)
      : px_(px), fe_(fe), fe_cfg_(px.config.proxies[fe]), client_(std::make_unique<Conn>(px.io)) {
    client_->socket = std::move(socket);
    px_.session_started(fe_);
    started_ = Clock::now();
    rec_ = px_.new_record(peer, fe_);
    px_.log_stream_start(fe_, peer, client_->socket);
  }
  ~TcpSession() {
    release_server();
    px_.session_ended(fe_);
  }

  void start() {
    const auto be = px_.backends.backend_of(fe_);
    if (!be) return end({'S', 'C'});
    backend_ = *be;
    ++px_.cum_be[*be];
    be_cfg_ = &px_.config.proxies[*be];
    rec_.backend = be_cfg_->name;
    const auto pick = px_.backends.pick(*be);
    if (pick.full) return wait_in_queue();
    if (!pick.server) return end({'S', 'C'});
    server_ = *pick.server;
    px_.backends.request_started({backend_, *server_});
    rec_.Tw = 0;
    connect();
  }

 private:
  void wait_in_queue() {
    queue_.wait(
        backend_, be_cfg_->timeouts,
        [self = shared_from_this()](std::size_t server, long waited) {
          self->server_ = server;
          self->rec_.Tw = waited;
          self->connect();
        },
        [self = shared_from_this()](long waited) {
          self->rec_.Tw = waited;
          self->end({'s', 'Q'});
        });
    rec_.backend_queue = px_.backends.queued(backend_);
  }

  void connect() {
    Connector::connect(px_, backend_, *server_, false,
                       [self = shared_from_this()](Connector::Outcome o) { self->on_connected(std::move(o)); });
  }

  struct Direction {
    Conn* from;
    Conn* to;
    std::optional<Ms> idle;  // the reading side's inactivity timeout
    std::array<char, 16384> buf{};
    bool done = false;
    bool counts_bytes = false;  // server to client: what the log's bytes field counts
  };

  void on_connected(Connector::Outcome o) {
    server_ = o.server;
    rec_.server = be_cfg_->servers[*server_].name;
    rec_.retries = o.retries;
    rec_.redispatched = o.redispatched;
    rec_.Tc = o.connect_ms;
    if (!o.stream) return end({'S', 'C'});
    upstream_ = std::move(o.stream);
    dirs_[0].from = client_.get();
    dirs_[0].to = upstream_.get();
    dirs_[0].idle = fe_cfg_.timeouts.client;
    dirs_[1].from = upstream_.get();
    dirs_[1].to = client_.get();
    dirs_[1].idle = be_cfg_->timeouts.server;
    dirs_[1].counts_bytes = true;
    pump(dirs_[0]);
    pump(dirs_[1]);
  }

  void pump(Direction& d) {
    d.from->deadline(d.idle);
    d.from->socket.async_read_some(asio::buffer(d.buf), [self = shared_from_this(), &d](boost::system::error_code ec, std::size_t n) {
      if (ec) return self->direction_done(d, d.from->timed_out(ec) ? (&d == &self->dirs_[0] ? 'c' : 's') : '-');
      if (d.counts_bytes) self->rec_.bytes += n;
      asio::async_write(d.to->socket, asio::buffer(d.buf.data(), n), [self, &d](boost::system::error_code e, std::size_t) {
        if (e) return self->direction_done(d, '-');
        self->pump(d);
      });
    });
  }

  // `timeout_cause`: 'c' or 's' when the reading side timed out, '-' for a close or an error.
  void direction_done(Direction& d, char timeout_cause) {
    if (d.done || finished_) return;
    d.done = true;
    boost::system::error_code ignored;
    d.to->socket.shutdown(asio::socket_base::shutdown_send, ignored);
    if (timeout_cause != '-') {
      rec_.term = {timeout_cause, 'D'};
      return finish();
    }
    if (dirs_[0].done && dirs_[1].done) finish();
  }

  void finish() {
    finished_ = true;
    client_->close();
    if (upstream_) upstream_->close();
    log_line();
  }

  void end(core::Termination term) {
    rec_.term = term;
    finished_ = true;
    client_->close();
    log_line();
  }

  void log_line() {
    rec_.Ta = ms_since(started_);
    core::stats::Exchange e;
    e.frontend = fe_;
    if (be_cfg_) e.backend = backend_;
    e.server = be_cfg_ ? server_ : std::nullopt;
    e.response_size = rec_.bytes;
    e.http = false;
    e.term = rec_.term;
    px_.traffic.exchange(e, px_.clock.now());
    if (!fe_cfg_.tcplog && !fe_cfg_.httplog) return;
    release_server();  // HAProxy logs once the server has let go of the session
    if (fe_cfg_.dontlog_normal && !core::abnormal_exchange(rec_, false)) return;
    px_.count_connections(rec_, fe_, be_cfg_ ? std::optional(backend_) : std::nullopt, be_cfg_ ? server_ : std::nullopt);
    px_.log.traffic(fe_, core::Severity::Info, core::tcplog_line(rec_));
  }

  void release_server() {
    if (server_ && !released_) px_.backends.request_finished({backend_, *server_});
    released_ = true;
  }

  Proxy::Impl& px_;
  std::size_t fe_;
  const core::ProxyConfig& fe_cfg_;
  ConnPtr client_;
  std::size_t backend_ = 0;
  const core::ProxyConfig* be_cfg_ = nullptr;
  std::optional<std::size_t> server_;
  ConnPtr upstream_;
  QueueWait queue_{px_};
  std::array<Direction, 2> dirs_;
  bool finished_ = false;
  bool released_ = false;
  core::AccessRecord rec_;
  Clock::time_point started_;
};

}  // namespace

// ----------------------------------------------------------------------------- listeners

void Proxy::Impl::accept(Listener& l) {
  if (l.released) return;
  if (!below_limits(l.frontend)) {
    l.paused = true;  // session_ended() resumes it
    return;
  }
  if (l.channel) return receive(l);
  l.acceptor.async_accept([this, &l](const boost::system::error_code& ec, StreamSocket socket) {
    // A connection accepted before the listener closed is served all the same.
    if (ec) return accepting && !l.released ? accept_failed(l, ec) : void();
    serve(l, std::move(socket));
    if (accepting) accept(l);
  });
}

// The connections passed over a `sockpair@N` channel, taken while the limits allow.
void Proxy::Impl::receive(Listener& l) {
  l.channel->async_wait(asio::posix::stream_descriptor::wait_read, [this, &l](const boost::system::error_code& ec) {
    if (ec || !accepting) return;
    const bool open = take_passed_descriptors(
        l.channel->native_handle(),
        [&](int fd) {
          StreamSocket socket(io);
          sockaddr_storage bound{};
          socklen_t len = sizeof bound;
          boost::system::error_code bad;
          if (::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len) != 0) bad.assign(errno, boost::system::system_category());
          const int protocol = bound.ss_family == AF_UNIX ? 0 : IPPROTO_TCP;
          if (!bad) socket.assign(asio::generic::stream_protocol(bound.ss_family, protocol), fd, bad);
          if (bad) return static_cast<void>(::close(fd));
          serve(l, std::move(socket));
        },
        [&] { return below_limits(l.frontend); });
    if (!open) {
      boost::system::error_code ignored;
      l.channel->close(ignored);  // the sender is gone
      return;
    }
    accept(l);
  });
}

void Proxy::Impl::serve(const Listener& l, StreamSocket socket) {
  boost::system::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);  // a UNIX socket has none: ignored
  Client peer{peer_parts(socket.native_handle()), l.id};
  // haproxy names a passed connection's client after its listener, whatever the socket's family.
  if (l.channel) peer.address.unix_socket = true;
  if (config.proxies[l.frontend].mode == core::Mode::Http)
    std::make_shared<HttpSession>(*this, l.frontend, std::move(peer), std::move(socket))->start();
  else
    std::make_shared<TcpSession>(*this, l.frontend, peer, std::move(socket))->start();
}

// Out of descriptors or memory: HAProxy (sock.c, sock_accept_conn) tells the frontend's log at
// emerg and pauses the listener for 100 ms; so does lb.
void Proxy::Impl::accept_failed(Listener& l, const boost::system::error_code& ec) {
  if (ec == asio::error::operation_aborted) return;
  const auto why = resource_shortage(config.proxies[l.frontend].name, ec.value(), limits.maxsock);
  if (!why.empty()) log.traffic(l.frontend, core::Severity::Emerg, why);
  auto retry = std::make_shared<asio::steady_timer>(io, std::chrono::milliseconds(100));
  retry->async_wait([this, &l, retry](const boost::system::error_code& e) {
    if (!e && accepting) accept(l);
  });
}

Proxy::Proxy(const core::Config& config, const core::ConnectionLimits& limits, asio::io_context& io,
             core::Backends& backends, LogSink& log, core::stats::Traffic& traffic, const core::Clock& clock)
    : impl_(std::make_unique<Impl>(config, limits, io, backends, log, traffic, clock)) {}

Proxy::~Proxy() = default;

int Proxy::connections() const { return impl_->actconn; }

int Proxy::connections(std::size_t frontend) const { return impl_->feconn.at(frontend); }

void Proxy::set_local_services(LocalServices services) { impl_->local = std::move(services); }

bool Proxy::bind_all(ListenSockets* handover, int replacing, const std::function<bool()>& release_abstract) {
  bool ok = true;
  for (std::size_t pi = 0; pi < impl_->config.proxies.size(); ++pi) {
    const auto& px = impl_->config.proxies[pi];
    if (!px.has_frontend_role()) continue;
    int id = 0;
    for (const auto& b : px.binds) {
      ++id;
      boost::system::error_code ec;
      const auto unix_address = core::unix_address(b.host);
      // The parser gives address literals only.
      const auto ep = stream_endpoint(b.host.empty() ? "0.0.0.0" : b.host, b.port).value_or(StreamEndpoint());
      auto l = std::make_unique<Impl::Listener>(Impl::Listener{pi, id, StreamAcceptor(impl_->io), ep});
      l->key = b.fd >= 0      ? fmt::format("fd {}", b.fd)
               : unix_address ? fmt::format("{} {}", unix_address->abstract ? "abns" : "unix", unix_address->path)
                              : "tcp " + endpoint_text(ep);
      // protocol_bind_all(): "Binding [FILE:LINE] for proxy NAME: WHY".
      const auto bind_failed = [&](std::string_view why) {
        impl_->log.process(core::Severity::Alert,
                           fmt::format("Binding [{}:{}] for {} {}: {}", b.pos.file, b.pos.line,
                                       px.kind == core::ProxyKind::Listen ? "proxy" : "frontend", px.name, why));
        ok = false;
      };
      // An abstract name starts with a NUL, where haproxy's "[%s]" stops.
      const std::string path = unix_address && !unix_address->abstract ? unix_address->path : "";
      std::string failure;  // haproxy's words for what failed, where they are not the OS's alone
      if (b.socket_pair) {
        const int fd = ::fcntl(b.fd, F_DUPFD_CLOEXEC, 0);
        if (fd < 0) {
          bind_failed(fmt::format("cannot use socket pair {} ({})", b.fd, std::strerror(errno)));
          continue;
        }
        l->channel = std::make_unique<asio::posix::stream_descriptor>(impl_->io, fd);
        l->channel_fd = b.fd;
        impl_->listeners.push_back(std::move(l));
        continue;
      }
      if (const int fd = handover ? handover->take(l->key) : -1; fd >= 0) {
        l->acceptor.assign(ep.protocol(), fd, ec);
      } else if (b.fd >= 0) {
        // `bind fd@N`: the socket lb was started with (systemd's socket activation, a wrapper);
        // listen() again only sets the backlog of one that already listens.
        l->acceptor.assign(ep.protocol(), b.fd, ec);
        if (!ec) l->acceptor.listen(impl_->fe_maxconn[pi], ec);
      } else if (unix_address) {
        l->acceptor.open(ep.protocol(), ec);
        if (!ec) failure = bind_unix(l->acceptor.native_handle(), *unix_address, std::nullopt, release_abstract);
        if (!ec && failure.empty()) l->acceptor.listen(impl_->fe_maxconn[pi], ec);
      } else {
        l->acceptor.open(ep.protocol(), ec);
        if (!ec) l->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
        // As HAProxy on Linux: another process may listen on the same address, which is how
        // `-sf` takes over from the process it replaces.
        if (!ec) l->acceptor.set_option(asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true), ec);
        if (!ec) l->acceptor.bind(ep, ec);
        // HAProxy's listen backlog is the frontend's maxconn (listener_backlog()).
        if (!ec) l->acceptor.listen(impl_->fe_maxconn[pi], ec);
        // Taking over from `replacing` processes whose sockets joined the reuseport group first:
        // the kernel hands new connections to the socket at index `replacing`, this one. Once they
        // have left, the index is past the group's end and the kernel picks by hash again.
        if (!ec && replacing > 0) {
          sock_filter steer[] = {{BPF_RET | BPF_K, 0, 0, static_cast<std::uint32_t>(replacing)}};
          sock_fprog program{1, steer};
          ::setsockopt(l->acceptor.native_handle(), SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &program, sizeof program);
        }
      }
      if (!failure.empty()) {
        bind_failed(fmt::format("{} [{}]", failure, path));
        continue;
      }
      if (ec) {
        bind_failed(unix_address ? fmt::format("cannot bind UNIX socket ({}) [{}]", std::strerror(ec.value()), path)
                                 : fmt::format("cannot bind socket ({}) for [{}]", std::strerror(ec.value()), endpoint_text(ep)));
        continue;
      }
      // A UNIX path is named as configured: the kernel keeps the name it was bound under (PATH.PID.tmp).
      l->endpoint = unix_address ? ep : l->acceptor.local_endpoint(ec);
      if (unix_address && unix_address->abstract) l->abstract = unix_address;
      impl_->listeners.push_back(std::move(l));
    }
  }
  if (!ok) {
    impl_->log.process(core::Severity::Alert,
                       "[haproxy.main()] Some protocols failed to start their listeners! Exiting.");
    return false;
  }
  for (auto& l : impl_->listeners) impl_->accept(*l);
  return true;
}

std::vector<std::pair<std::string, int>> Proxy::listen_sockets() const {
  std::vector<std::pair<std::string, int>> out;
  for (auto& l : impl_->listeners)
    if (l->acceptor.is_open()) out.emplace_back(l->key, l->acceptor.native_handle());
  return out;
}

std::pair<long, long> Proxy::cumulated(std::size_t proxy) const {
  return {impl_->cum_fe.at(proxy), impl_->cum_be.at(proxy)};
}

std::vector<std::pair<std::string, std::string>> Proxy::listening() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& l : impl_->listeners)
    out.emplace_back(impl_->config.proxies[l->frontend].name,
                     l->channel ? fmt::format("sockpair@{}", l->channel_fd) : endpoint_text(l->endpoint));
  return out;
}

void Proxy::Impl::close_listener(Listener& l) {
  // What the kernel has queued for this socket would be reset by close(): it is served first.
  boost::system::error_code ec;
  l.acceptor.non_blocking(true, ec);
  while (!ec) {
    StreamSocket queued(io);
    l.acceptor.accept(queued, ec);
    if (!ec) serve(l, std::move(queued));
  }
  l.acceptor.close(ec);
  if (l.channel) l.channel->close(ec);
}

void Proxy::release_abstract() {
  for (auto& l : impl_->listeners) {
    if (!l->abstract || l->released || !l->acceptor.is_open()) continue;
    l->released = true;
    impl_->close_listener(*l);
  }
}

void Proxy::resume_released() {
  if (!impl_->accepting) return;
  bool refused = false;
  for (auto& l : impl_->listeners) {
    if (!l->released) continue;
    boost::system::error_code ec;
    l->acceptor.open(l->endpoint.protocol(), ec);
    if (!ec && bind_unix(l->acceptor.native_handle(), *l->abstract).empty())
      l->acceptor.listen(impl_->fe_maxconn[l->frontend], ec);
    else
      ec = asio::error::address_in_use;
    if (ec) {
      l->acceptor.close(ec);
      refused = true;
      continue;
    }
    l->released = false;
    impl_->accept(*l);
  }
  // sig_listen(): one warning for all, on stderr and in the logs.
  if (refused)
    impl_->log.process(core::Severity::Warning,
                       "Some proxies refused to resume, probably due to a conflict on a listening port. You may want "
                       "to try again after the conflicting application is stopped, otherwise a restart might be "
                       "needed to resume safe operations.");
}

void Proxy::stop_accepting() {
  impl_->accepting = false;
  for (auto& l : impl_->listeners) impl_->close_listener(*l);
  for (auto& [key, pool] : impl_->pools) pool.idle.clear();
  if (impl_->purge_timer) impl_->purge_timer->cancel();
  auto hooks = impl_->stop_hooks;  // a hook may end its session, which erases its entry
  for (auto& [id, hook] : hooks)
    if (impl_->stop_hooks.contains(id)) hook();
}

void Proxy::drain(std::optional<std::chrono::milliseconds> grace, std::function<void()> done,
                  std::function<void()> overdue) {
  if (impl_->actconn == 0) return done();
  auto shared = std::make_shared<std::function<void()>>(std::move(done));
  impl_->on_drained = [shared] {
    if (*shared) std::exchange(*shared, nullptr)();
  };
  if (!grace) return;
  if (overdue) *shared = [done = std::move(*shared), overdue = std::move(overdue), this]() mutable {
    if (impl_->actconn > 0) overdue();
    done();
  };
  impl_->grace_timer.emplace(impl_->io, *grace);
  impl_->grace_timer->async_wait([shared](const boost::system::error_code& ec) {
    if (!ec && *shared) std::exchange(*shared, nullptr)();
  });
}

}  // namespace lb::net
