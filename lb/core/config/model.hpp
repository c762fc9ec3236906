#pragma once
// The configuration model: what lb understood of a HAProxy-syntax file. Plain data; the
// parser builds it, config/printer writes it back as HAProxy syntax.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lb/core/time/clock.hpp"

namespace lb::core {

struct SourcePos {
  std::string file;
  int line = 0;
  bool operator==(const SourcePos&) const = default;
};

enum class Mode { Http, Tcp };
enum class Balance { RoundRobin, LeastConn, First };

// `log stdout|stderr [format raw|short|...] [facility [level]]`, or `log global`.
struct LogTarget {
  std::string target;           // "stdout", "stderr", or an address kept verbatim
  // "" when not given: HAProxy then sends rfc3164 with the log-send-hostname, else `local`
  // (rfc3164 without a host name).
  std::string format;
  std::string facility = "local0";
  std::string level;            // max level, empty = all
  std::size_t max_length = 1024;  // `len`: a line is cut to it (80..65535)
  bool operator==(const LogTarget&) const = default;
};

struct Bind {
  std::string host;  // empty = all addresses; a UNIX socket as UnixAddress writes it ("unix@PATH", "abns@NAME")
  std::uint16_t port = 0;
  int fd = -1;       // `bind fd@N`: the listening socket lb was started with (host and port are its own)
  SourcePos pos;     // where it was declared, for the alert of a bind that fails; not part of its value
  // `bind sockpair@N` (with `fd`): one end of a socket pair over which connections are passed.
  bool socket_pair = false;
  bool operator==(const Bind& o) const {
    return host == o.host && port == o.port && fd == o.fd && socket_pair == o.socket_pair;
  }
};

// How the HTTP side treats connections (option http-keep-alive, the default, http-server-close,
// httpclose).
enum class HttpConnMode { KeepAlive, ServerClose, Close };

struct Timeouts {
  std::optional<Ms> connect, client, server, check, http_request, queue, http_keep_alive;
  bool operator==(const Timeouts&) const = default;
};

// `http-check expect` / `tcp-check expect`.
enum class ExpectKind {
  Status,    // comma-separated codes and ranges: "200-399,404"
  RStatus,   // regex on the 3-digit status text
  String,    // substring of the body (http) or of the received bytes (tcp)
  RString,   // regex on the body / received bytes
  Binary,    // tcp-check: hex-encoded bytes
};
struct ExpectRule {
  ExpectKind kind = ExpectKind::Status;
  bool negate = false;
  std::string pattern;  // as written (hex text for Binary)
  bool operator==(const ExpectRule&) const = default;
};

// The request of `option httpchk` + `http-check send`.
struct HttpCheckRequest {
  std::string method = "OPTIONS";
  std::string uri = "/";
  std::string version = "HTTP/1.0";
  std::vector<std::pair<std::string, std::string>> headers;  // as written
  std::string body;
  bool operator==(const HttpCheckRequest&) const = default;
};

struct TcpCheckRule {
  enum class Kind { Connect, Send, SendBinary, Expect };
  Kind kind = Kind::Connect;
  std::optional<std::uint16_t> port;  // connect
  std::string data;                   // send: text (escapes resolved); send-binary: hex text
  ExpectRule expect;                  // expect
  bool operator==(const TcpCheckRule&) const = default;
};

enum class CheckKind {
  Connect,   // no check option: pass when the TCP handshake completes (L4OK)
  HttpChk,   // option httpchk
  TcpCheck,  // option tcp-check
};

struct CheckSpec {
  CheckKind kind = CheckKind::Connect;
  HttpCheckRequest http;
  bool http_send = false;                // the request was set by `http-check send`
  // HAProxy 2.6 quirk: a backend that inherits `option httpchk` from defaults but declares its own
  // http-check rules loses the implicit request with the inherited rules, so nothing is sent.
  bool send_request = true;
  std::vector<ExpectRule> http_expects;  // empty = implicit "status 200-399"
  bool disable_on_404 = false;
  std::vector<TcpCheckRule> tcp_rules;
  bool operator==(const CheckSpec&) const = default;
};

// `init-addr`: how a server named by a host name gets its first address, tried in order
// (HAProxy's default is last,libc, then none when the server has `resolvers`).
struct InitAddrMethod {
  enum class Kind { Last, Libc, None, Ip };
  Kind kind = Kind::Libc;
  std::string ip;  // Kind::Ip
  bool operator==(const InitAddrMethod&) const = default;
};

// Per-server settings that `default-server` can also set.
struct ServerSettings {
  bool check = false;
  Ms inter{2000};
  std::optional<Ms> fastinter, downinter;
  int rise = 2;
  int fall = 3;
  std::optional<std::uint16_t> check_port;  // `port`
  std::optional<std::string> check_addr;    // `addr`
  int weight = 1;
  bool backup = false;
  bool disabled = false;
  int maxconn = 0;  // 0 = unlimited
  // Run-time name resolution: the `resolvers` section that re-resolves the server's host name
  // (empty: resolved once, at start-up), the family it prefers (HAProxy prefers IPv6 unless told
  // `resolve-prefer ipv4`), `resolve-opts` and `resolve-net`.
  std::string resolvers;
  bool resolvers_set = false;  // `resolvers ""` names a section too (one that cannot exist)
  bool prefer_ipv4 = false;
  bool allow_dup_ip = false;
  bool ignore_weight = false;
  std::vector<std::string> resolve_net;
  std::vector<InitAddrMethod> init_addr;  // empty: the default
  bool operator==(const ServerSettings&) const = default;
};

enum class AddressFamily { Any, V4, V6 };  // an `ipv4@`/`ipv6@`-style prefix's constraint

struct ServerConfig {
  std::string name;
  std::string host;  // an IPv4/IPv6 literal, a name resolved at start-up, or a UNIX socket ("unix@PATH", "abns@NAME")
  std::uint16_t port = 0;
  ServerSettings settings;
  SourcePos pos;
  AddressFamily family = AddressFamily::Any;
  std::string host_as_written;  // as HAProxy names it in messages ("[::1]"); empty = host
  // The address the server starts with, as `init-addr` found it when the configuration was
  // judged (the host itself for a literal); nullopt: none, the server starts in maintenance
  // until its resolvers find one.
  std::optional<std::string> start_address;
  bool operator==(const ServerConfig&) const = default;
};

enum class ProxyKind { Defaults, Frontend, Backend, Listen };

// The statistics page (`stats enable|uri|refresh|realm|auth|admin|show-legends|hide-version`):
// served by lb itself for requests whose path starts with `uri`.
struct StatsPage {
  std::string uri = "/haproxy?stats";
  std::optional<Ms> refresh;
  std::string realm;  // "" = HAProxy's "HAProxy Statistics"
  struct User {
    std::string name, password;
    bool operator==(const User&) const = default;
  };
  std::vector<User> users;  // none: no authentication
  // `stats admin if|unless COND`, for the conditions lb evaluates: TRUE, FALSE, LOCALHOST.
  enum class Admin { Never, Always, FromLocalhost, NotFromLocalhost };
  Admin admin = Admin::Never;
  bool show_legends = false;
  bool hide_version = false;
  bool operator==(const StatsPage&) const = default;
};

struct ProxyConfig {
  ProxyKind kind = ProxyKind::Backend;
  std::string name;
  SourcePos pos;
  Mode mode = Mode::Tcp;  // HAProxy's default when no `mode` is given
  Balance balance = Balance::RoundRobin;
  Timeouts timeouts;
  int retries = 3;
  int maxconn = 0;  // a frontend's concurrent connections; 0: the global maxconn
  bool redispatch = false;
  int redispatch_interval = -1;  // -1 = only on the last retry
  bool allbackups = false;
  bool forwardfor = false;
  bool log_health_checks = false;
  bool httplog = false;      // option httplog: HAProxy's HTTP access line (frontends)
  bool tcplog = false;       // option tcplog
  bool dontlognull = false;  // no access line for connections that carried no data
  bool dontlog_normal = false;  // access lines only for exchanges that went wrong
  HttpConnMode http_conn_mode = HttpConnMode::KeepAlive;
  std::vector<LogTarget> logs;
  bool log_global = false;
  std::string log_tag;  // `log-tag`: the syslog tag of this proxy's lines; "": the global one
  std::vector<Bind> binds;
  std::string default_backend;
  std::vector<std::string> use_backends;
  CheckSpec check;
  ServerSettings default_server;
  std::vector<ServerConfig> servers;
  // `load-server-state-from-file`: where the servers' state saved before a reload is read from
  // at start-up (HAProxy's default: nowhere), and `server-state-file-name` for a local file
  // (empty: the backend's name).
  enum class LoadState { None, Global, Local };
  LoadState load_server_state = LoadState::None;
  std::string server_state_file_name;
  std::optional<StatsPage> stats;
  // `http-request use-service prometheus-exporter [if { path PATH }]`: "" answers every request.
  std::optional<std::string> prometheus_path;

  bool has_backend_role() const { return kind == ProxyKind::Backend || kind == ProxyKind::Listen; }
  bool has_frontend_role() const { return kind == ProxyKind::Frontend || kind == ProxyKind::Listen; }
  bool operator==(const ProxyConfig&) const = default;
};

// A `resolvers` section: the DNS servers a server's name is re-resolved through, and the timers
// of that resolution (HAProxy's defaults).
struct Nameserver {
  std::string name;
  std::string host;  // an address literal or a name resolved at start-up
  std::uint16_t port = 0;
  SourcePos pos;
  bool unix_socket = false;  // accepted as HAProxy accepts it, then refused when sockets are made
  bool operator==(const Nameserver&) const = default;
};
struct HoldTimes {
  Ms nx{30000}, other{30000}, refused{30000}, timeout{30000}, valid{10000}, obsolete{0};
  bool operator==(const HoldTimes&) const = default;
};
struct ResolversConfig {
  std::string name;
  SourcePos pos;
  std::vector<Nameserver> nameservers;
  int resolve_retries = 3;
  Ms timeout_resolve{1000};
  Ms timeout_retry{1000};
  HoldTimes hold;
  int accepted_payload_size = 512;
  bool operator==(const ResolversConfig&) const = default;
};

// What a Runtime API socket allows (HAProxy's ACCESS_LVL_*).
enum class CliLevel { User = 1, Operator = 2, Admin = 3 };

// `stats socket PATH|[ipv4@]ADDR:PORT|fd@N|sockpair@N [level L] [mode M]`: a Runtime API listener.
struct StatsSocket {
  std::string path;  // a UNIX socket; empty for TCP
  std::string host;  // TCP: an address literal
  std::uint16_t port = 0;
  CliLevel level = CliLevel::Operator;  // HAProxy's default
  std::optional<unsigned> mode;         // the UNIX socket's permissions
  int fd = -1;               // `fd@N` (a listening socket lb was started with) or `sockpair@N`
  bool socket_pair = false;  // sockpair@N: connections are passed over the socket (SCM_RIGHTS)
  SourcePos pos;
  bool operator==(const StatsSocket&) const = default;
};

struct GlobalConfig {
  std::vector<LogTarget> logs;
  std::string log_tag;  // `log-tag`; "": the program's name, as HAProxy's default
  // `log-send-hostname [NAME]`: the host name syslog headers carry; "" = the machine's name.
  std::optional<std::string> log_send_hostname;
  std::vector<StatsSocket> stats_sockets;
  Ms stats_timeout{10000};        // `stats timeout`: an idle Runtime API connection is closed after it
  std::string server_state_file;  // `server-state-file`
  std::string server_state_base;  // `server-state-base`: the directory of relative state files
  bool daemon = false;            // `daemon`, as -D (unless -d, -db or -Ws)
  bool master_worker = false;     // `master-worker`, as -W
  bool exit_on_failure = true;    // unless `master-worker no-exit-on-failure`
  // A stopping process (a reload's old worker) ends the sessions still open after this.
  std::optional<Ms> hard_stop_after;
  int spread_checks = 0;  // percent, 0..50
  int maxconn = 0;        // concurrent connections of the process; 0: from the fd limit, as HAProxy sets it
  std::optional<Ms> max_spread_checks;
  bool operator==(const GlobalConfig&) const = default;
};

struct Config {
  GlobalConfig global;
  std::vector<ProxyConfig> proxies;  // frontends, backends and listens in file order
  std::vector<ResolversConfig> resolvers;

  // HAProxy's proxy ids (`iid`, `be_id`): 1-based in file order, after the GLOBAL proxy that a
  // `stats socket` creates.
  int proxy_id(std::size_t proxy) const {
    return static_cast<int>(proxy) + 1 + (global.stats_sockets.empty() ? 0 : 1);
  }

  const ProxyConfig* find_backend(std::string_view name) const {
    for (const auto& p : proxies)
      if (p.has_backend_role() && p.name == name) return &p;
    return nullptr;
  }
  const ResolversConfig* find_resolvers(std::string_view name) const {
    for (const auto& r : resolvers)
      if (r.name == name) return &r;
    return nullptr;
  }
  bool operator==(const Config&) const = default;
};

}  // namespace lb::core
