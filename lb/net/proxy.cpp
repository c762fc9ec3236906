#include "lb/net/proxy.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <fmt/format.h>

#include <cstring>
#include <deque>
#include <map>
#include <optional>

#include "lb/core/config/values.hpp"
#include "lb/core/http/error_page.hpp"
#include "lb/core/log/access_log.hpp"
#include "lb/core/log/syslog.hpp"
#include "lb/net/log_sink.hpp"

namespace lb::net {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using core::Ms;

namespace {

// HAProxy's buffer is 16 kB with 1 kB kept for rewrites: a request or response head must fit
// in what is left.
constexpr std::size_t kMaxHead = 15 * 1024;
// Bodies are buffered whole (streaming is not built yet); bounded so no client can exhaust memory.
constexpr std::uint64_t kMaxBody = 64ull * 1024 * 1024;

long ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

std::string endpoint_text(const tcp::endpoint& e) {
  const auto a = e.address();
  return a.is_v6() ? fmt::format("[{}]:{}", a.to_string(), e.port()) : fmt::format("{}:{}", a.to_string(), e.port());
}

// A timeout that is not set waits forever, as in HAProxy.
template <class Stream>
void arm(Stream& s, const std::optional<Ms>& t) {
  if (t)
    s.expires_after(*t);
  else
    s.expires_never();
}

}  // namespace

// ----------------------------------------------------------------------------- shared state

struct Proxy::Impl {
  Impl(const core::Config& c, asio::io_context& i, core::Backends& b, LogSink& l)
      : config(c), io(i), backends(b), log(l), feconn(c.proxies.size(), 0) {}

  struct Listener {
    std::size_t frontend;
    tcp::acceptor acceptor;
    tcp::endpoint endpoint;
  };

  // Idle keep-alive connections to servers, per (backend, server), newest last.
  struct IdleKey {
    std::size_t proxy, server;
    auto operator<=>(const IdleKey&) const = default;
  };
  std::optional<beast::tcp_stream> take_idle(core::ServerKey k) {
    auto it = idle.find({k.proxy, k.server});
    if (it == idle.end() || it->second.empty()) return std::nullopt;
    beast::tcp_stream s = std::move(it->second.back());
    it->second.pop_back();
    return s;
  }
  void give_idle(core::ServerKey k, beast::tcp_stream s) {
    auto& list = idle[{k.proxy, k.server}];
    if (list.size() >= 64) list.pop_front();  // bounded, like HAProxy's pool-max-conn default in spirit
    list.push_back(std::move(s));
  }

  void accept(Listener& l);
  void session_started(std::size_t fe) {
    ++actconn;
    ++feconn[fe];
  }
  void session_ended(std::size_t fe) {
    --actconn;
    --feconn[fe];
    if (actconn == 0 && on_drained) std::exchange(on_drained, nullptr)();
  }

  const core::Config& config;
  asio::io_context& io;
  core::Backends& backends;
  LogSink& log;
  std::vector<std::unique_ptr<Listener>> listeners;
  std::map<IdleKey, std::deque<beast::tcp_stream>> idle;
  int actconn = 0;
  std::vector<int> feconn;  // [proxy]
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

// Connects a request to a server of `backend`, as HAProxy's connect/retry loop does: up to
// `retries` more attempts after a failed connect, each after min(timeout connect, 1 s), and on
// the attempts `option redispatch` allows, to a newly picked server.
class Connector : public std::enable_shared_from_this<Connector> {
 public:
  struct Outcome {
    std::optional<std::size_t> server;  // the server of the last attempt (nullopt: none available)
    std::optional<beast::tcp_stream> stream;
    bool reused = false;
    int retries = 0;
    bool redispatched = false;
    long connect_ms = -1;
    bool timed_out = false;  // the last failure was a connect timeout
  };
  using Done = std::function<void(Outcome)>;

  Connector(Proxy::Impl& px, std::size_t backend, std::size_t server, Done done)
      : px_(px), backend_(backend), proxy_(px.config.proxies[backend]), timer_(px.io), done_(std::move(done)) {
    out_.server = server;
  }

  void start() { attempt(); }

 private:
  void attempt() {
    const core::ServerKey key{backend_, *out_.server};
    if (auto s = px_.take_idle(key)) {
      out_.stream.emplace(std::move(*s));
      out_.reused = true;
      out_.connect_ms = 0;
      return finish();
    }
    const auto& sv = proxy_.servers[*out_.server];
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(sv.host, ec);
    stream_.emplace(px_.io);
    started_ = Clock::now();
    if (ec) return on_connect(asio::error::host_unreachable);
    arm(*stream_, proxy_.timeouts.connect);
    stream_->async_connect(tcp::endpoint(address, sv.port),
                           [self = shared_from_this()](const boost::system::error_code& e) { self->on_connect(e); });
  }

  void on_connect(const boost::system::error_code& ec) {
    if (!ec) {
      out_.connect_ms = ms_since(started_);
      boost::system::error_code ignored;
      stream_->socket().set_option(tcp::no_delay(true), ignored);
      out_.stream.emplace(std::move(*stream_));
      stream_.reset();
      return finish();
    }
    out_.timed_out = ec == beast::error::timeout;
    stream_.reset();
    if (out_.retries >= proxy_.retries) {
      out_.connect_ms = -1;
      return finish();
    }
    ++out_.retries;
    const bool last = out_.retries == proxy_.retries;
    const int interval = proxy_.redispatch_interval;
    const bool redispatch = proxy_.redispatch && ((interval == -1 && last) || (interval > 0 && out_.retries % interval == 0));
    if (redispatch) {
      if (auto other = px_.backends.pick(backend_); other && *other != *out_.server) {
        px_.backends.request_finished({backend_, *out_.server});
        px_.backends.request_started({backend_, *other});
        out_.server = other;
        out_.redispatched = true;
      }
    }
    // HAProxy waits min(timeout connect, 1 s) before a retry, so a restarting server gets time.
    const Ms turn_around = std::min(proxy_.timeouts.connect.value_or(Ms{1000}), Ms{1000});
    timer_.expires_after(turn_around);
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& e) {
      if (!e) self->attempt();
    });
  }

  void finish() { done_(std::move(out_)); }

  Proxy::Impl& px_;
  std::size_t backend_;
  const core::ProxyConfig& proxy_;
  asio::steady_timer timer_;
  Done done_;
  Outcome out_;
  std::optional<beast::tcp_stream> stream_;
  Clock::time_point started_;
};

// ----------------------------------------------------------------------------- HTTP session

// One client connection in mode http: read a request, pick a server, forward, answer, log,
// and again while both sides keep the connection alive. Requests on one connection are
// answered in order, so pipelined requests simply wait in the read buffer.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(Proxy::Impl& px, std::size_t fe, tcp::socket socket)
      : px_(px), fe_(fe), fe_cfg_(px.config.proxies[fe]), client_(std::move(socket)) {
    boost::system::error_code ec;
    peer_ = client_.socket().remote_endpoint(ec);
    px_.session_started(fe_);
    px_.stop_hooks[id_] = [this] {
      if (waiting_ && cbuf_.size() == 0 && served_ > 0) client_.close();
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
    request_.emplace();
    request_->header_limit(kMaxHead);
    request_->body_limit(kMaxBody);
    rec_ = core::AccessRecord{};
    rec_.client = peer_.address().to_string();
    rec_.client_port = peer_.port();
    rec_.frontend = fe_cfg_.name;
    rec_.backend = fe_cfg_.name;
    rec_.server = "<NOSRV>";
    request_started_ = Clock::now();
    // The first request waits `timeout http-request`; later ones `timeout http-keep-alive`
    // (then http-request); without either, `timeout client`.
    const auto& t = fe_cfg_.timeouts;
    std::optional<Ms> wait = t.http_request ? t.http_request : t.client;
    if (served_ > 0 && t.http_keep_alive) wait = t.http_keep_alive;
    arm(client_, wait);
    waiting_ = true;
    http::async_read_header(client_, cbuf_, *request_,
                            [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    waiting_ = false;
    if (ec) return request_failed(ec);
    rec_.date = std::chrono::system_clock::now();
    rec_.TR = ms_since(request_started_);
    rec_.request_line = request_line();
    client_wants_keepalive_ = request_->get().keep_alive();
    http::async_read(client_, cbuf_, *request_,
                     [self = shared_from_this()](beast::error_code e, std::size_t) {
                       if (e) return self->request_failed(e);
                       self->route();
                     });
  }

  std::string request_line() const {
    const auto& h = request_->get();
    return fmt::format("{} {} HTTP/{}.{}", std::string_view(h.method_string()), std::string_view(h.target()),
                       h.version() / 10, h.version() % 10);
  }

  void request_failed(beast::error_code ec) {
    const bool nothing_read = cbuf_.size() == 0 && !request_->got_some();
    if (ec == http::error::end_of_stream || ec == asio::error::connection_reset || ec == asio::error::eof) {
      if (nothing_read) return;  // the client left between requests: a normal close
      return answer_and_close(400, 'C', 'R');
    }
    if (ec == beast::error::timeout) {
      if (nothing_read && served_ > 0) return;  // keep-alive timeout: close quietly
      return answer_and_close(408, 'c', 'R');
    }
    if (ec == asio::error::operation_aborted) return;
    answer_and_close(400, 'P', 'R');  // a request HAProxy's parser refuses
  }

  // --- routing and the server side -------------------------------------------------------
  void route() {
    const auto be = px_.backends.backend_of(fe_);
    if (!be) return answer(503, 'S', 'C');
    backend_ = *be;
    be_cfg_ = &px_.config.proxies[*be];
    rec_.backend = be_cfg_->name;
    const auto server = px_.backends.pick(*be);
    if (!server) return answer(503, 'S', 'C');
    server_ = *server;
    px_.backends.request_started({backend_, *server_});
    connect_started_ = Clock::now();
    auto c = std::make_shared<Connector>(px_, backend_, *server_,
                                         [self = shared_from_this()](Connector::Outcome o) { self->on_connected(std::move(o)); });
    c->start();
  }

  void on_connected(Connector::Outcome o) {
    server_ = o.server;
    rec_.server = be_cfg_->servers[*server_].name;
    rec_.retries = o.retries;
    rec_.redispatched = o.redispatched;
    rec_.Tw = 0;
    if (!o.stream) {
      rec_.Tc = -1;
      // HAProxy answers a request it could not connect anywhere with its 503 page.
      return answer(503, 'S', 'C');
    }
    rec_.Tc = o.connect_ms;
    reused_ = o.reused;
    upstream_.emplace(std::move(*o.stream));
    forward_request();
  }

  void forward_request() {
    auto& req = request_->get();
    if (be_cfg_->forwardfor || fe_cfg_.forwardfor) req.insert("x-forwarded-for", peer_.address().to_string());
    // The server side is kept alive unless a mode says otherwise; the client's own wish is
    // honoured on the client side only.
    const bool server_keepalive = be_cfg_->http_conn_mode == core::HttpConnMode::KeepAlive &&
                                  fe_cfg_.http_conn_mode == core::HttpConnMode::KeepAlive;
    req.keep_alive(server_keepalive);
    request_sent_ = Clock::now();
    arm(*upstream_, be_cfg_->timeouts.server);
    http::async_write(*upstream_, req, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->server_failed(ec, false);
      self->read_response();
    });
  }

  void read_response() {
    response_.emplace();
    response_->header_limit(kMaxHead);
    response_->body_limit(kMaxBody);
    if (request_->get().method() == http::verb::head) response_->skip(true);
    http::async_read_header(*upstream_, ubuf_, *response_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->server_failed(ec, false);
      self->rec_.Tr = ms_since(self->request_sent_);
      http::async_read(*self->upstream_, self->ubuf_, *self->response_,
                       [self](beast::error_code e, std::size_t) {
                         if (e) return self->server_failed(e, true);
                         self->send_response();
                       });
    });
  }

  void server_failed(beast::error_code ec, bool headers_seen) {
    const bool got_nothing = !response_ || !response_->got_some();
    upstream_.reset();
    ubuf_.clear();
    if (reused_ && got_nothing && ec != beast::error::timeout) {
      // A kept-alive server connection that the server closed meanwhile: retry on a new one,
      // which HAProxy does not count as a retry.
      reused_ = false;
      auto c = std::make_shared<Connector>(px_, backend_, *server_,
                                           [self = shared_from_this()](Connector::Outcome o) { self->on_connected(std::move(o)); });
      c->start();
      return;
    }
    if (headers_seen) {
      // The answer had begun: nothing better to send than a close.
      rec_.status = static_cast<int>(response_->get().result_int());
      rec_.term = {'S', 'D'};
      return log_and_close();
    }
    if (ec == beast::error::timeout) return answer(504, 's', 'H');
    if (got_nothing && (ec == http::error::end_of_stream || ec == asio::error::connection_reset || ec == asio::error::eof))
      return answer(502, 'S', 'H');
    answer(502, 'P', 'H');  // an invalid response
  }

  void send_response() {
    auto& res = response_->get();
    const bool server_keepalive = res.keep_alive() &&
                                  be_cfg_->http_conn_mode == core::HttpConnMode::KeepAlive &&
                                  fe_cfg_.http_conn_mode == core::HttpConnMode::KeepAlive;
    if (server_keepalive)
      px_.give_idle({backend_, *server_}, std::move(*upstream_));
    upstream_.reset();
    ubuf_.clear();
    client_keepalive_ = client_wants_keepalive_ && fe_cfg_.http_conn_mode != core::HttpConnMode::Close &&
                        (be_cfg_ == nullptr || be_cfg_->http_conn_mode != core::HttpConnMode::Close) &&
                        px_.accepting;
    res.keep_alive(client_keepalive_);
    rec_.status = static_cast<int>(res.result_int());
    write_client(std::make_shared<http::response<http::string_body>>(std::move(res)));
  }

  void write_client(std::shared_ptr<http::response<http::string_body>> res) {
    arm(client_, fe_cfg_.timeouts.client);
    http::async_write(client_, *res, [self = shared_from_this(), res](beast::error_code ec, std::size_t n) {
      self->rec_.bytes = n;
      if (ec) {
        self->rec_.term = {'C', 'D'};
        self->client_keepalive_ = false;
      }
      self->finish_exchange();
    });
  }

  // --- answers lb makes itself -----------------------------------------------------------
  void answer(int status, char cause, char phase) {
    const bool head = request_ && request_->is_header_done() && request_->get().method() == http::verb::head;
    client_keepalive_ = request_ && request_->is_done() && client_wants_keepalive_ && px_.accepting &&
                        fe_cfg_.http_conn_mode != core::HttpConnMode::Close;
    send_raw(core::haproxy_error_response(status, !client_keepalive_, head), status, cause, phase);
  }

  void answer_and_close(int status, char cause, char phase) {
    client_keepalive_ = false;
    if (rec_.request_line.empty()) rec_.request_line = "<BADREQ>";
    rec_.date = std::chrono::system_clock::now();
    send_raw(core::haproxy_error_response(status, true), status, cause, phase);
  }

  void send_raw(std::string bytes, int status, char cause, char phase) {
    rec_.status = status;
    rec_.term = {cause, phase};
    auto buf = std::make_shared<std::string>(std::move(bytes));
    arm(client_, fe_cfg_.timeouts.client);
    asio::async_write(client_.socket(), asio::buffer(*buf), [self = shared_from_this(), buf](boost::system::error_code, std::size_t n) {
      self->rec_.bytes = n;
      self->finish_exchange();
    });
  }

  // --- end of one exchange ---------------------------------------------------------------
  void finish_exchange() {
    ++served_;
    rec_.Ta = ms_since(request_started_);
    log_line();
    release_server();
    if (client_keepalive_ && px_.accepting) return read_request();
    close_client();
  }

  void log_and_close() {
    rec_.Ta = ms_since(request_started_);
    log_line();
    release_server();
    close_client();
  }

  void log_line() {
    if (!fe_cfg_.httplog) return;
    rec_.actconn = px_.actconn;
    rec_.feconn = px_.feconn[fe_];
    if (be_cfg_) rec_.beconn = px_.backends.backend_sessions(backend_);
    if (be_cfg_ && server_) rec_.srvconn = px_.backends.sessions({backend_, *server_});
    px_.log.traffic(fe_, core::Severity::Info, core::httplog_line(rec_));
  }

  void release_server() {
    if (be_cfg_ && server_) px_.backends.request_finished({backend_, *server_});
    server_.reset();
    be_cfg_ = nullptr;
  }

  void close_client() {
    boost::system::error_code ec;
    client_.socket().shutdown(tcp::socket::shutdown_send, ec);
    client_.close();
  }

  Proxy::Impl& px_;
  std::uint64_t id_ = px_.next_session_id++;
  std::size_t fe_;
  const core::ProxyConfig& fe_cfg_;
  beast::tcp_stream client_;
  tcp::endpoint peer_;
  bool waiting_ = false;  // between requests, or reading one
  beast::flat_buffer cbuf_;
  std::optional<http::request_parser<http::string_body>> request_;
  std::size_t backend_ = 0;
  const core::ProxyConfig* be_cfg_ = nullptr;
  std::optional<std::size_t> server_;
  std::optional<beast::tcp_stream> upstream_;
  bool reused_ = false;
  beast::flat_buffer ubuf_;
  std::optional<http::response_parser<http::string_body>> response_;
  bool client_wants_keepalive_ = false;  // as the request asked, before lb rewrote it
  bool client_keepalive_ = false;
  int served_ = 0;
  core::AccessRecord rec_;
  Clock::time_point request_started_, connect_started_, request_sent_;
};

// ----------------------------------------------------------------------------- TCP session

// mode tcp: connect to the picked server, then copy bytes both ways until either side closes
// (each direction half-closes the other) or its timeout passes.
class TcpSession : public std::enable_shared_from_this<TcpSession> {
 public:
  TcpSession(Proxy::Impl& px, std::size_t fe, tcp::socket socket)
      : px_(px), fe_(fe), fe_cfg_(px.config.proxies[fe]), client_(std::move(socket)) {
    boost::system::error_code ec;
    peer_ = client_.socket().remote_endpoint(ec);
    px_.session_started(fe_);
    started_ = Clock::now();
    rec_.date = std::chrono::system_clock::now();
    rec_.client = peer_.address().to_string();
    rec_.client_port = peer_.port();
    rec_.frontend = rec_.backend = fe_cfg_.name;
    rec_.server = "<NOSRV>";
  }
  ~TcpSession() {
    if (server_) px_.backends.request_finished({backend_, *server_});
    px_.session_ended(fe_);
  }

  void start() {
    const auto be = px_.backends.backend_of(fe_);
    if (!be) return end('S', 'C');
    backend_ = *be;
    be_cfg_ = &px_.config.proxies[*be];
    rec_.backend = be_cfg_->name;
    const auto server = px_.backends.pick(*be);
    if (!server) return end('S', 'C');
    server_ = *server;
    px_.backends.request_started({backend_, *server_});
    auto c = std::make_shared<Connector>(px_, backend_, *server_,
                                         [self = shared_from_this()](Connector::Outcome o) { self->on_connected(std::move(o)); });
    c->start();
  }

 private:
  void on_connected(Connector::Outcome o) {
    server_ = o.server;
    rec_.server = be_cfg_->servers[*server_].name;
    rec_.retries = o.retries;
    rec_.redispatched = o.redispatched;
    rec_.Tw = 0;
    rec_.Tc = o.connect_ms;
    if (!o.stream) return end('S', 'C');
    upstream_.emplace(std::move(*o.stream));
    pump(client_, *upstream_, to_server_, 0);
    pump(*upstream_, client_, to_client_, 1);
  }

  // Copies `from` to `to`; direction 0 = client to server, 1 = server to client.
  void pump(beast::tcp_stream& from, beast::tcp_stream& to, std::array<char, 16384>& buf, int dir) {
    arm(from, dir == 0 ? fe_cfg_.timeouts.client : be_cfg_->timeouts.server);
    from.async_read_some(asio::buffer(buf), [self = shared_from_this(), &from, &to, &buf, dir](beast::error_code ec, std::size_t n) {
      if (ec) return self->half_close(to, dir, ec);
      if (dir == 1) self->rec_.bytes += n;
      arm(to, dir == 0 ? self->be_cfg_->timeouts.server : self->fe_cfg_.timeouts.client);
      asio::async_write(to, asio::buffer(buf.data(), n), [self, &from, &to, &buf, dir](beast::error_code e, std::size_t) {
        if (e) return self->half_close(from, 1 - dir, e);
        self->pump(from, to, buf, dir);
      });
    });
  }

  void half_close(beast::tcp_stream& other, int dir, beast::error_code ec) {
    if (done_[dir]) return;
    done_[dir] = true;
    if (ec == beast::error::timeout && !term_set_) {
      rec_.term = {dir == 0 ? 'c' : 's', 'D'};
      term_set_ = true;
    }
    boost::system::error_code ignored;
    other.socket().shutdown(tcp::socket::shutdown_send, ignored);
    if (ec == beast::error::timeout || (done_[0] && done_[1])) finish();
  }

  void finish() {
    if (finished_) return;
    finished_ = true;
    boost::system::error_code ignored;
    client_.socket().close(ignored);
    if (upstream_) upstream_->socket().close(ignored);
    log_line();
  }

  void end(char cause, char phase) {
    rec_.term = {cause, phase};
    finished_ = true;
    boost::system::error_code ignored;
    client_.socket().close(ignored);
    log_line();
  }

  void log_line() {
    rec_.Ta = ms_since(started_);
    if (!fe_cfg_.tcplog && !fe_cfg_.httplog) return;
    rec_.actconn = px_.actconn;
    rec_.feconn = px_.feconn[fe_];
    if (be_cfg_) rec_.beconn = px_.backends.backend_sessions(backend_);
    if (be_cfg_ && server_) rec_.srvconn = px_.backends.sessions({backend_, *server_});
    px_.log.traffic(fe_, core::Severity::Info, core::tcplog_line(rec_));
  }

  Proxy::Impl& px_;
  std::size_t fe_;
  const core::ProxyConfig& fe_cfg_;
  beast::tcp_stream client_;
  tcp::endpoint peer_;
  std::size_t backend_ = 0;
  const core::ProxyConfig* be_cfg_ = nullptr;
  std::optional<std::size_t> server_;
  std::optional<beast::tcp_stream> upstream_;
  std::array<char, 16384> to_server_{}, to_client_{};
  bool done_[2] = {false, false};
  bool term_set_ = false, finished_ = false;
  core::AccessRecord rec_;
  Clock::time_point started_;
};

}  // namespace

// ----------------------------------------------------------------------------- listeners

void Proxy::Impl::accept(Listener& l) {
  l.acceptor.async_accept([this, &l](const boost::system::error_code& ec, tcp::socket socket) {
    if (!accepting) return;
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      // EMFILE and friends: HAProxy pauses the listener and retries; lb retries after 100 ms.
      auto retry = std::make_shared<asio::steady_timer>(io, std::chrono::milliseconds(100));
      retry->async_wait([this, &l, retry](const boost::system::error_code& e) {
        if (!e && accepting) accept(l);
      });
      return;
    }
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    const auto& fe = config.proxies[l.frontend];
    if (fe.mode == core::Mode::Http)
      std::make_shared<HttpSession>(*this, l.frontend, std::move(socket))->start();
    else
      std::make_shared<TcpSession>(*this, l.frontend, std::move(socket))->start();
    accept(l);
  });
}

Proxy::Proxy(const core::Config& config, asio::io_context& io, core::Backends& backends, LogSink& log)
    : impl_(std::make_unique<Impl>(config, io, backends, log)) {}

Proxy::~Proxy() = default;

bool Proxy::bind_all() {
  bool ok = true;
  for (std::size_t pi = 0; pi < impl_->config.proxies.size(); ++pi) {
    const auto& px = impl_->config.proxies[pi];
    if (!px.has_frontend_role()) continue;
    for (const auto& b : px.binds) {
      boost::system::error_code ec;
      asio::ip::address address = asio::ip::address_v4::any();
      if (!b.host.empty()) address = asio::ip::make_address(b.host, ec);
      const tcp::endpoint ep(address, b.port);
      auto l = std::make_unique<Impl::Listener>(Impl::Listener{pi, tcp::acceptor(impl_->io), ep});
      if (!ec) l->acceptor.open(ep.protocol(), ec);
      if (!ec) l->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
      if (!ec) l->acceptor.bind(ep, ec);
      if (!ec) l->acceptor.listen(asio::socket_base::max_listen_connections, ec);
      if (ec) {
        impl_->log.process(core::Severity::Alert,
                           fmt::format("Starting {} {}: cannot bind socket ({}) [{}]",
                                       px.kind == core::ProxyKind::Listen ? "proxy" : "frontend", px.name,
                                       std::strerror(ec.value()), endpoint_text(ep)));
        ok = false;
        continue;
      }
      l->endpoint = l->acceptor.local_endpoint(ec);
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

std::vector<std::pair<std::string, std::string>> Proxy::listening() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& l : impl_->listeners)
    out.emplace_back(impl_->config.proxies[l->frontend].name, endpoint_text(l->endpoint));
  return out;
}

void Proxy::stop_accepting() {
  impl_->accepting = false;
  for (auto& l : impl_->listeners) {
    boost::system::error_code ec;
    l->acceptor.close(ec);
  }
  impl_->idle.clear();
  auto hooks = impl_->stop_hooks;  // a hook may end its session, which erases its entry
  for (auto& [id, hook] : hooks)
    if (impl_->stop_hooks.contains(id)) hook();
}

void Proxy::drain(std::chrono::milliseconds grace, std::function<void()> done) {
  if (impl_->actconn == 0) return done();
  auto shared = std::make_shared<std::function<void()>>(std::move(done));
  impl_->on_drained = [shared] {
    if (*shared) std::exchange(*shared, nullptr)();
  };
  impl_->grace_timer.emplace(impl_->io, grace);
  impl_->grace_timer->async_wait([shared](const boost::system::error_code& ec) {
    if (!ec && *shared) std::exchange(*shared, nullptr)();
  });
}

}  // namespace lb::net
