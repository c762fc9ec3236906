// Differential tests: one mockserver, one configuration, played through the real haproxy 2.6
// binary and through lb, the same requests sent to each. The httplog lines (client port and
// date masked, timers within a tolerance), the answers lb and haproxy make themselves, the
// request bytes the servers received, the UP/DOWN lines and where requests went must agree.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <functional>
#include <regex>
#include <set>
#include <sstream>
#include <tuple>

#include "harness/live/cli_client.hpp"
#include "tests/integration/lb_world.hpp"

namespace lb::test {
namespace {

std::string haproxy_bin() {
  for (const char* p : {"/usr/sbin/haproxy", "/usr/bin/haproxy", "/usr/local/sbin/haproxy"})
    if (::access(p, X_OK) == 0) return p;
  return {};
}

// An httplog line cut into what must match exactly and the timers, compared with a tolerance.
struct HttpLog {
  std::string frontend, route, rest;  // route "be/srv"; rest: status bytes ... "request"
  std::vector<long> timers;
};
std::optional<HttpLog> parse_httplog(const std::string& line) {
  static const std::regex kLine(R"(^[0-9.:]+:[0-9]+ \[[^\]]+\] (\S+) (\S+) (-?[0-9]+)/(-?[0-9]+)/(-?[0-9]+)/(-?[0-9]+)/(-?[0-9]+) (.*)$)");
  std::smatch m;
  if (!std::regex_match(line, m, kLine)) return std::nullopt;
  // %ac/%fc/%bc/%sc (connections of the process, frontend, backend and server) count
  // connections that earlier exchanges and the readiness probes are still closing, in haproxy as
  // in lb, at moments neither controls on a loaded machine: only %rc (retries) is compared.
  static const std::regex kCounters(R"(^(-?[0-9]+ [0-9]+ \S+ \S+ \S+ )[0-9]+/[0-9]+/[0-9]+/[0-9]+/)");
  HttpLog h{m[1], m[2], std::regex_replace(m[8].str(), kCounters, "$1ac/fc/bc/sc/"), {}};
  for (int i = 3; i <= 7; ++i) h.timers.push_back(std::stol(m[i]));
  return h;
}

// The world both balancers see: one mockserver, a config template, the frontends' ports.
class Differential : public ::testing::Test {
 protected:
  void SetUp() override {
    if (haproxy_bin().empty()) GTEST_SKIP() << "haproxy is not installed (ci/install-deps.sh installs it)";
  }

  struct Balancer {
    Child child;
    std::map<std::string, int> ports;  // frontend -> port
    std::string socket;                // {{sock}}: its Runtime API socket
    std::filesystem::path dir;         // {{dir}}
    std::string abstract_name;         // {{abns}}
  };

  // Starts `bin` on `cfg` with {{fe:NAME}} replaced by fresh ports and {{NAME}} by mock ports.
  Balancer start(const std::string& bin, std::string cfg, const Mock& mock, const std::vector<std::string>& mock_names) {
    Balancer b;
    static const std::regex kFe(R"(\{\{fe:([a-z0-9_]+)\}\})");
    std::smatch m;
    while (std::regex_search(cfg, m, kFe)) {
      const int port = free_tcp_port();
      b.ports[m[1]] = port;
      cfg = m.prefix().str() + std::to_string(port) + m.suffix().str();
    }
    for (const auto& n : mock_names)
      cfg = std::regex_replace(cfg, std::regex("\\{\\{" + n + "\\}\\}"), std::to_string(mock.port(n)));
    b.socket = (dir_.path() / fmt::format("api{}.sock", configs_ + 1)).string();
    cfg = std::regex_replace(cfg, std::regex(R"(\{\{sock\}\})"), b.socket);
    // {{dir}}: a directory of the balancer's own; {{abns}}: an abstract socket name of its own.
    b.dir = dir_.path() / fmt::format("b{}", configs_ + 1);
    std::filesystem::create_directories(b.dir);
    b.abstract_name = fmt::format("lbh-{}-{}", ::getpid(), configs_ + 1);
    cfg = std::regex_replace(cfg, std::regex(R"(\{\{dir\}\})"), b.dir.string());
    cfg = std::regex_replace(cfg, std::regex(R"(\{\{abns\}\})"), b.abstract_name);
    const auto path = dir_.write(fmt::format("cfg{}.cfg", ++configs_), cfg);
    b.child = Child::start(bin, {"-db", "-f", path.string()}, {.ready_line = ""});
    for (const auto& [fe, port] : b.ports) EXPECT_TRUE(wait_listening(port)) << bin << " " << fe << ": " << b.child.stderr_text();
    return b;
  }

  // The next `n` log lines of `b` that start with a client address (httplog lines).
  static std::vector<std::string> httplog_lines(Balancer& b, std::size_t n) {
    std::vector<std::string> out;
    while (out.size() < n) {
      const auto line = b.child.await_line("127.0.0.1:", kPatience);
      if (!line) break;
      out.push_back(*line);
    }
    return out;
  }

  TempDir dir_;
  int configs_ = 0;
};

constexpr std::string_view kTrafficConfig = R"(global
    log stdout format raw local0
    stats socket {{sock}} level admin
defaults
    log global
    mode http
    option httplog
    option dontlognull
    timeout connect 1s
    timeout client 2s
    timeout server 300ms
    timeout http-request 300ms
frontend ok
    bind 127.0.0.1:{{fe:ok}}
    default_backend apps
frontend nosrv
    bind 127.0.0.1:{{fe:nosrv}}
    default_backend none
frontend refused
    bind 127.0.0.1:{{fe:refused}}
    default_backend gone
frontend hang
    bind 127.0.0.1:{{fe:hang}}
    default_backend hangs
frontend garbage
    bind 127.0.0.1:{{fe:garbage}}
    default_backend garbles
frontend closes
    bind 127.0.0.1:{{fe:closes}}
    default_backend closers
frontend fwd
    bind 127.0.0.1:{{fe:fwd}}
    option forwardfor
    default_backend seen
frontend moved
    bind 127.0.0.1:{{fe:moved}}
    default_backend moves
frontend quiet
    bind 127.0.0.1:{{fe:quiet}}
    option dontlog-normal
    default_backend apps
frontend quietfail
    bind 127.0.0.1:{{fe:quietfail}}
    option dontlog-normal
    default_backend none
backend apps
    server s1 127.0.0.1:{{s1}}
    server s2 127.0.0.1:{{s2}}
backend none
    server d1 127.0.0.1:{{s1}} disabled
backend gone
    retries 1
    server g1 127.0.0.1:{{refuse}}
backend hangs
    server h1 127.0.0.1:{{hang}}
backend garbles
    server x1 127.0.0.1:{{garbage}}
backend closers
    server c1 127.0.0.1:{{close}}
backend seen
    server f1 127.0.0.1:{{seen}}
backend moves
    retries 2
    option redispatch
    server m1 127.0.0.1:{{refuse}}
    server m2 127.0.0.1:{{s1}}
)";

// What a balancer did with the traffic script: the client's bytes per exchange, the log lines.
struct Played {
  std::vector<std::string> replies;
  std::vector<std::string> logs;
  std::vector<std::string> seen_by_server;
  std::vector<std::string> counters;  // "PROXY/SVNAME FIELD=VALUE ..." per `show stat` row
};

// The traffic counters of a `show stat` answer that do not depend on timing: what was counted,
// not how fast or how long.
std::vector<std::string> traffic_counters(const std::string& csv) {
  static const std::vector<std::string> kCounted{
      "stot",     "bin",      "bout",     "ereq",     "econ",     "eresp",      "wretr",   "wredis",
      "lbtot",    "hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx",   "hrsp_other", "req_tot",
      "cli_abrt", "srv_abrt", "conn_tot"};
  std::vector<std::string> out;
  std::istringstream in(csv);
  std::string line;
  std::vector<std::string> header;
  auto cells = [](const std::string& l) {
    std::vector<std::string> c;
    std::istringstream cs(l);
    for (std::string x; std::getline(cs, x, ',');) c.push_back(x);
    return c;
  };
  while (std::getline(in, line)) {
    if (line.starts_with("# ")) header = cells(line.substr(2));
    if (line.empty() || line.starts_with("#")) continue;
    const auto c = cells(line);
    std::string row = c[0] + "/" + c[1];
    for (const auto& name : kCounted) {
      const auto at = std::find(header.begin(), header.end(), name) - header.begin();
      if (static_cast<std::size_t>(at) < c.size()) row += fmt::format(" {}={}", name, c[at]);
    }
    out.push_back(row);
  }
  return out;
}

// The replies, the bytes the servers saw, the counters and the httplog lines of lb's run, against
// haproxy's: lines compared in a canonical order, their timers within a tolerance.
void expect_played_alike(Played got, Played want) {
  // haproxy logs an exchange when its stream ends, which on a loaded machine is not always in
  // the order the exchanges ended: lines are compared in a canonical order.
  for (auto* p : {&want, &got}) {
    std::stable_sort(p->logs.begin(), p->logs.end(), [](const std::string& a, const std::string& b) {
      const auto ka = parse_httplog(a), kb = parse_httplog(b);
      if (!ka || !kb) return false;
      return std::tie(ka->frontend, ka->rest, ka->route) < std::tie(kb->frontend, kb->rest, kb->route);
    });
  }

  ASSERT_EQ(got.replies.size(), want.replies.size());
  for (std::size_t i = 0; i < want.replies.size(); ++i) EXPECT_EQ(got.replies[i], want.replies[i]) << "exchange " << i;
  EXPECT_EQ(got.seen_by_server, want.seen_by_server);
  // The stats count the same traffic the same way (tests/data/haproxy26/stats_traffic).
  EXPECT_EQ(got.counters, want.counters);

  ASSERT_EQ(got.logs.size(), want.logs.size()) << "lb: " << ::testing::PrintToString(got.logs) << "\nhaproxy: " << ::testing::PrintToString(want.logs);
  for (std::size_t i = 0; i < want.logs.size(); ++i) {
    const auto g = parse_httplog(got.logs[i]), w = parse_httplog(want.logs[i]);
    ASSERT_TRUE(g && w) << got.logs[i] << "\n" << want.logs[i];
    EXPECT_EQ(g->frontend + " " + g->route + " " + g->rest, w->frontend + " " + w->route + " " + w->rest)
        << "line " << i;
    for (std::size_t t = 0; t < 5; ++t) {
      if (w->timers[t] < 0 || g->timers[t] < 0)
        EXPECT_EQ(g->timers[t], w->timers[t]) << "timer " << t << " of line " << i << ":\n" << got.logs[i] << "\n" << want.logs[i];
      else
        EXPECT_NEAR(g->timers[t], w->timers[t], 60) << "timer " << t << " of line " << i << ":\n"
                                                    << got.logs[i] << "\n" << want.logs[i];
    }
  }
}

TEST_F(Differential, HttpTrafficGivesTheSameAnswersLogLinesAndForwardedBytesAsHaproxy) {
  const std::vector<std::string> names{"s1", "s2", "refuse", "hang", "garbage", "close", "seen"};
  std::vector<std::string> args{"--fault", "refuse=refuse", "--fault", "hang=hang", "--fault", "garbage=garbage",
                                "--fault", "close=close",   "--rule",  "s1: -> status 200 body=ok",
                                "--rule",  "s2: -> status 200 body=ok"};
  for (const auto& n : names) args.insert(args.end(), {"--listen", n + "=127.0.0.1:0"});
  Mock mock(args);

  auto play = [&](const std::string& bin) {
    Played p;
    auto b = start(bin, std::string(kTrafficConfig), mock, names);
    auto send = [&](const std::string& fe, std::string_view bytes) {
      p.replies.push_back(request_once(b.ports.at(fe), bytes).bytes);
    };
    const std::string get = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    send("ok", get);
    send("ok", "HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    send("ok", "GET /a?b=\"c\" HTTP/1.0\r\n\r\n");
    {  // two requests on one connection, the second closing it
      auto c = connect_to(b.ports.at("ok"));
      send_all(c.fd.get(), "GET /1 HTTP/1.1\r\nHost: x\r\n\r\n");
      const auto first = read_response(c.fd.get());
      send_all(c.fd.get(), get);
      p.replies.push_back(first.bytes + "|" + read_to_end(c.fd.get(), kPatience).bytes);
    }
    send("nosrv", get);
    send("refused", get);
    send("hang", get);
    send("garbage", get);
    send("closes", get);
    send("ok", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n");
    send("ok", "GARBAGE\r\n\r\n");
    send("ok", "GET / HTTP/1.1\r\n");  // then silence: timeout http-request
    send("fwd", "GET /f HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 10.0.0.1\r\nConnection: close\r\n\r\n");
    send("moved", get);  // m1 refuses: redispatched to m2
    send("moved", get);  // m2
    send("quiet", get);      // dontlog-normal: a 200 leaves no line
    send("quietfail", get);  // but a 503 does
    p.logs = httplog_lines(b, 17);
    p.counters = traffic_counters(lbh::cli_call(b.socket, "show stat\n", kPatience).answer);
    EXPECT_EQ(b.child.stop(), bin == LB_BIN ? 0 : 128 + SIGTERM) << b.child.stderr_text();
    for (const auto& e : mock.journal("listener=seen")) {
      std::string headers;  // the journal keeps [name, value] pairs as the server received them
      for (const auto& h : e.at("headers").as_array())
        headers += fmt::format("{}: {}\n", std::string_view(h.as_array()[0].as_string()),
                               std::string_view(h.as_array()[1].as_string()));
      p.seen_by_server.push_back(headers);
    }
    mock.call("DELETE", "/v1/journal");
    return p;
  };

  Played want = play(haproxy_bin());
  expect_played_alike(play(LB_BIN), std::move(want));
}

constexpr std::string_view kKeptAliveConfig = R"(global
    log stdout format raw local0
    stats socket {{sock}} level admin
defaults
    log global
    mode http
    option httplog
    timeout connect 200ms
    timeout client 2s
    timeout server 1s
frontend fe
    bind 127.0.0.1:{{fe:fe}}
    default_backend apps
frontend dark
    bind 127.0.0.1:{{fe:dark}}
    default_backend dark
frontend mixed
    bind 127.0.0.1:{{fe:mixed}}
    default_backend mixed
backend apps
    retries 1
    server s1 127.0.0.1:{{s1}}
backend dark
    retries 1
    server d1 127.0.0.1:{{dark}}
backend mixed
    retries 1
    option http-server-close
    server m1 127.0.0.1:{{s1}}
    server m2 127.0.0.1:{{dark}}
)";

// A server that fails a kept-alive connection's later request: haproxy closes the client's
// connection without a word (no page, and no log line when the server closed or reset it) so
// that the client sends the request again; the first request of a connection gets the page. A
// connect timeout is sC--, retried without the turn-around, and gives no page on a later request
// (roundrobin sends a connection's second request to the server that never answers the SYN).
TEST_F(Differential, AKeptAliveRequestItsServerFailsIsClosedSilentlyAsHaproxyClosesIt) {
  const std::vector<std::string> names{"s1", "dark"};
  Mock mock({"--listen", "s1=127.0.0.1:0", "--listen", "dark=127.0.0.1:0", "--fault", "dark=blackhole", "--rule",
             "s1: path=/reset -> reset", "--rule", "s1: path=/close -> close", "--rule", "s1: path=/cut -> limit-data bytes=20",
             "--rule", "s1: -> status 200 body=ok"});
  auto play = [&](const std::string& bin) {
    Played p;
    auto b = start(bin, std::string(kKeptAliveConfig), mock, names);
    auto get = [](std::string_view path) { return fmt::format("GET {} HTTP/1.1\r\nHost: x\r\n\r\n", path); };
    auto second_after_first = [&](std::string_view path, std::string_view fe = "fe") {
      auto c = connect_to(b.ports.at(std::string(fe)));
      send_all(c.fd.get(), get("/ok"));
      const auto first = read_response(c.fd.get());
      send_all(c.fd.get(), get(path));
      p.replies.push_back(first.bytes + "|" + read_to_end(c.fd.get(), kPatience).bytes);
    };
    second_after_first("/reset");
    second_after_first("/close");
    // Part of a head, then the close: silent on a later request too; the first gets 502 SH--.
    second_after_first("/cut");
    p.replies.push_back(request_once(b.ports.at("fe"), get("/cut")).bytes);
    p.replies.push_back(request_once(b.ports.at("fe"), get("/reset")).bytes);
    p.replies.push_back(request_once(b.ports.at("dark"), get("/")).bytes);
    second_after_first("/ok", "mixed");
    p.logs = httplog_lines(b, 8);
    p.counters = traffic_counters(lbh::cli_call(b.socket, "show stat\n", kPatience).answer);
    EXPECT_EQ(b.child.stop(), bin == LB_BIN ? 0 : 128 + SIGTERM) << b.child.stderr_text();
    // A request the server reset is not sent to it again.
    for (const auto& e : mock.journal("listener=s1")) p.seen_by_server.emplace_back(e.at("path").as_string());
    mock.call("DELETE", "/v1/journal");
    return p;
  };
  Played want = play(haproxy_bin());
  EXPECT_THAT(want.replies[0], ::testing::EndsWith("ok|"));
  EXPECT_THAT(want.replies[2], ::testing::EndsWith("ok|"));
  EXPECT_THAT(want.replies[3], ::testing::StartsWith("HTTP/1.1 502 "));
  EXPECT_THAT(want.replies[5], ::testing::StartsWith("HTTP/1.1 503 "));
  EXPECT_THAT(want.replies[6], ::testing::EndsWith("ok|"));
  expect_played_alike(play(LB_BIN), std::move(want));
}

// Clients and servers that give up halfway, and a client that dribbles its head: each frontend
// goes to one mockserver listener; both binaries run here, so the comparison is live. The slow
// bodies come 10 bytes every 400 ms: haproxy sends a body it knows more of with MSG_MORE, which
// the kernel may hold up to 200 ms, so pieces closer than that could reach the client together.
constexpr std::string_view kHalfwaySpec = R"({"listeners": [
  {"name": "slow", "listen": "127.0.0.1:0", "rules": [{"respond": {"status": 200,
    "body": "0123456789abcdefghij0123456789abcdefghij0123456789", "chunk_bytes": 10, "chunk_delay_ms": 400}}]},
  {"name": "slowc", "listen": "127.0.0.1:0", "rules": [{"respond": {"status": 200, "chunked": true,
    "body": "0123456789abcdefghij0123456789abcdefghij0123456789", "chunk_bytes": 10, "chunk_delay_ms": 400}}]},
  {"name": "cut", "listen": "127.0.0.1:0", "rules": [{"raw": {"writes": [
    {"text": "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789"}], "then": "close"}}]},
  {"name": "cutc", "listen": "127.0.0.1:0", "rules": [{"raw": {"writes": [
    {"text": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n5\r\nab"}], "then": "close"}}]},
  {"name": "cutr", "listen": "127.0.0.1:0", "rules": [{"raw": {"writes": [
    {"text": "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789"}, {"pause_ms": 50}], "then": "reset"}}]}
]})";

// `timeout client` is shorter than `timeout server`, so that a stalled body shows which one
// haproxy lets strike.
constexpr std::string_view kHalfwayConfig = R"(global
    log stdout format raw local0
    stats socket {{sock}} level admin
defaults
    log global
    mode http
    option httplog
    option dontlognull
    timeout connect 1s
    timeout client 300ms
    timeout server 600ms
    timeout http-request 300ms
frontend sink
    bind 127.0.0.1:{{fe:sink}}
    default_backend b_sink
frontend slow
    bind 127.0.0.1:{{fe:slow}}
    default_backend b_slow
frontend slowc
    bind 127.0.0.1:{{fe:slowc}}
    default_backend b_slowc
frontend cut
    bind 127.0.0.1:{{fe:cut}}
    default_backend b_cut
frontend cutc
    bind 127.0.0.1:{{fe:cutc}}
    default_backend b_cutc
frontend cutr
    bind 127.0.0.1:{{fe:cutr}}
    default_backend b_cutr
backend b_sink
    server sink 127.0.0.1:{{sink}}
backend b_slow
    server slow 127.0.0.1:{{slow}}
backend b_slowc
    server slowc 127.0.0.1:{{slowc}}
backend b_cut
    server cut 127.0.0.1:{{cut}}
backend b_cutc
    server cutc 127.0.0.1:{{cutc}}
backend b_cutr
    server cutr 127.0.0.1:{{cutr}}
)";

// Closes with a reset (SO_LINGER 0) rather than a FIN.
void reset_connection(Fd& fd) {
  const linger l{1, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
  fd.reset();
}

TEST_F(Differential, ClientsAndServersThatGiveUpHalfwayGetWhatHaproxyGives) {
  const std::vector<std::string> names{"slow", "slowc", "cut", "cutc", "cutr"};
  Mock mock({"-f", dir_.write("halfway.json", std::string(kHalfwaySpec)).string()});
  // The sink is the test's own listener: it sees the bytes the balancer forwards, and answers
  // nothing (the body never completes).
  int sink_port = 0;
  const Fd sink = listen_on_loopback(sink_port);
  const std::string post_part = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789";
  const std::string get = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

  auto play = [&](const std::string& bin) {
    Played p;
    auto b = start(bin, std::regex_replace(std::string(kHalfwayConfig), std::regex(R"(\{\{sink\}\})"), std::to_string(sink_port)),
                   mock, names);
    std::vector<Fd> held;  // the sink's side of each connection, open until the balancer closes it
    // The client gives up once the sink has the head and the body's first bytes: a client gone
    // before the head is forwarded would be CL-- in haproxy.
    auto body_then = [&](const std::function<void(Fd&)>& give_up) {
      auto c = connect_to(b.ports.at("sink"));
      send_all(c.fd.get(), post_part);
      Fd server = accept_within(sink.get(), kPatience);
      EXPECT_TRUE(server) << bin << ": no connection to the sink";
      if (server) {
        const auto got = read_until(server.get(), kPatience,
                                    [](std::string_view bytes) { return bytes.ends_with("\r\n\r\n0123456789"); });
        EXPECT_EQ(got.end, End::Done) << bin << " forwarded: " << got.bytes;
        held.push_back(std::move(server));
      }
      give_up(c.fd);
    };
    // A client gone mid-body, before any response: haproxy answers nothing, logs -1 CD--.
    body_then([](Fd& fd) { fd.reset(); });
    body_then([](Fd& fd) { reset_connection(fd); });
    body_then([&](Fd& fd) {
      ::shutdown(fd.get(), SHUT_WR);
      p.replies.push_back(read_to_end(fd.get(), kPatience).bytes);
    });
    // A client that stalls mid-body: `timeout server` strikes (504 sH--), not `timeout client`.
    body_then([&](Fd& fd) { p.replies.push_back(read_to_end(fd.get(), kPatience).bytes); });
    // A client that resets after two of five pieces of a response: CD-- once the third cannot
    // go out, with the bytes forwarded.
    for (const char* fe : {"slow", "slowc"}) {
      auto c = connect_to(b.ports.at(fe));
      send_all(c.fd.get(), get);
      const auto got = read_until(c.fd.get(), kPatience,
                                  [](std::string_view bytes) { return bytes.find("abcdefghij") != std::string_view::npos; });
      p.replies.push_back(got.bytes);
      reset_connection(c.fd);
    }
    // A server that closes or resets mid-body: the client gets what came, the line says SD--.
    for (const char* fe : {"cut", "cutc", "cutr"}) p.replies.push_back(request_once(b.ports.at(fe), get).bytes);
    {  // Slowloris: a header line every 50 ms does not hold off `timeout http-request` (408 cR--).
      auto c = connect_to(b.ports.at("sink"));
      send_all(c.fd.get(), "GET / HTTP/1.1\r\nHost: x\r\n");
      std::string got;
      for (int i = 0; i < 40; ++i) {
        const auto r = read_until(c.fd.get(), milliseconds(50), [](std::string_view) { return false; });
        got += r.bytes;
        if (r.end != End::Timeout || !send_all(c.fd.get(), "X-Slow: 1\r\n")) break;
      }
      p.replies.push_back(got + read_to_end(c.fd.get(), kPatience).bytes);
    }
    p.logs = httplog_lines(b, 10);
    p.counters = traffic_counters(lbh::cli_call(b.socket, "show stat\n", kPatience).answer);
    EXPECT_EQ(b.child.stop(), bin == LB_BIN ? 0 : 128 + SIGTERM) << b.child.stderr_text();
    return p;
  };

  Played want = play(haproxy_bin());
  expect_played_alike(play(LB_BIN), std::move(want));
}

constexpr std::string_view kNoSocketConfig = R"(global
    log stdout format raw local0
    maxconn 100
defaults
    log global
    mode http
    option httplog
    option dontlognull
    timeout connect 1s
    timeout client 2s
    timeout server 2s
frontend fe
    bind 127.0.0.1:{{fe:fe}}
    default_backend apps
backend apps
    server s1 127.0.0.1:{{s1}}
)";

// Whether `pid` has accepted the connection from local port `client_port` to `port`, and holds
// no other connection to `port` (the readiness probes' are closed): read from /proc/net/tcp and
// the process's descriptors, the kernel's own account.
bool holds_only_connection(pid_t pid, int port, int client_port) {
  std::set<std::string> held;
  for (const auto& e : std::filesystem::directory_iterator(fmt::format("/proc/{}/fd", pid))) {
    std::error_code ec;
    held.insert(std::filesystem::read_symlink(e.path(), ec).string());
  }
  bool ours = false, others = false;
  for (const auto& s : kernel_tcp_sockets(false)) {
    if (s.local_port != port || s.listening || s.inode == "0") continue;
    const bool accepted = held.contains("socket:[" + s.inode + "]");
    if (s.remote_port == client_port)
      ours = accepted;
    else if (accepted)
      others = true;
  }
  return ours && !others;
}

int local_port(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

// The lowest descriptor number `pid` has free: with its limit there, the next socket fails.
int lowest_free_fd(pid_t pid) {
  std::set<int> used;
  for (const auto& e : std::filesystem::directory_iterator(fmt::format("/proc/{}/fd", pid)))
    used.insert(std::stoi(e.path().filename().string()));
  int fd = 0;
  while (used.contains(fd)) ++fd;
  return fd;
}

void set_open_files_limit(pid_t pid, int soft) {
  Child::start("/usr/bin/prlimit", {fmt::format("--pid={}", pid), fmt::format("--nofile={}:{}", soft, 4096)},
               {.ready_line = ""})
      .wait_exit(10s);
}

// A connection accepted, then no descriptor left for the server's socket: haproxy says "Cannot get a
// server socket." on stderr and logs the FD limit at emerg, on each of its 1 + 3 attempts, which
// follow each other at once; the client gets the 503 page on its kept-alive connection; once
// descriptors are back, the next request is served.
TEST_F(Differential, NoDescriptorForTheServersSocketIsHaproxys503AfterItsRetriesAtOnce) {
  Mock mock({"--listen", "s1=127.0.0.1:0", "--rule", "s1: -> status 200 body=ok"});
  struct Seen {
    std::string reply, after;
    std::vector<std::string> logs, emerg;
    long no_socket_lines = 0;
  };
  auto play = [&](const std::string& bin) {
    Seen seen;
    auto b = start(bin, std::string(kNoSocketConfig), mock, {"s1"});
    const pid_t pid = b.child.pid();
    auto c = connect_to(b.ports.at("fe"));
    const auto deadline = Clock::now() + kPatience;
    while (!holds_only_connection(pid, b.ports.at("fe"), local_port(c.fd.get())) && Clock::now() < deadline)
      std::this_thread::sleep_for(milliseconds(5));  // the accept happens in another process
    set_open_files_limit(pid, lowest_free_fd(pid));
    // The client idles before its request: haproxy's %TR, %Ta and date start at its first byte.
    std::this_thread::sleep_for(milliseconds(200));
    send_all(c.fd.get(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    seen.reply = read_response(c.fd.get()).bytes;
    set_open_files_limit(pid, 4096);
    send_all(c.fd.get(), "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    seen.after = read_to_end(c.fd.get(), kPatience).bytes;
    seen.logs = httplog_lines(b, 2);
    b.child.stop();
    for (const auto& l : b.child.stdout_lines())
      if (l.find("reached process FD limit") != std::string::npos) seen.emerg.push_back(l);
    for (const auto& l : b.child.stderr_lines()) seen.no_socket_lines += l.text == "Cannot get a server socket.";
    return seen;
  };
  const Seen want = play(haproxy_bin());
  const Seen got = play(LB_BIN);
  EXPECT_EQ(got.reply, want.reply);
  EXPECT_THAT(want.reply, ::testing::StartsWith("HTTP/1.1 503 "));
  EXPECT_EQ(got.after, want.after);
  EXPECT_EQ(got.emerg, want.emerg);
  EXPECT_EQ(want.emerg.size(), 4u);
  EXPECT_EQ(got.no_socket_lines, want.no_socket_lines);
  EXPECT_EQ(want.no_socket_lines, 4);
  ASSERT_EQ(got.logs.size(), 2u);
  ASSERT_EQ(want.logs.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    const auto g = parse_httplog(got.logs[i]), w = parse_httplog(want.logs[i]);
    ASSERT_TRUE(g && w) << got.logs[i] << "\n" << want.logs[i];
    EXPECT_EQ(g->route + " " + g->rest, w->route + " " + w->rest) << "line " << i;
    for (std::size_t t = 0; t < 5; ++t)  // no turn-around between the attempts: all within ms
      EXPECT_NEAR(g->timers[t], w->timers[t], 60) << got.logs[i] << "\n" << want.logs[i];
  }
}

constexpr std::string_view kChecksConfig = R"(global
    log stdout format raw local0
defaults
    log global
    mode http
    option httplog
    timeout connect 1s
    timeout client 2s
    timeout server 2s
frontend fe
    bind 127.0.0.1:{{fe:fe}}
    default_backend apps
frontend lonely
    bind 127.0.0.1:{{fe:lonely}}
    default_backend alone
backend apps
    option httpchk GET /health
    default-server inter 200ms rise 2 fall 2
    server s1 127.0.0.1:{{s1}} check
    server s2 127.0.0.1:{{s2}} check
    server s3 127.0.0.1:{{s3}} check weight 2
    server s4 127.0.0.1:{{s4}} check
    server b1 127.0.0.1:{{b1}} check backup
backend alone
    server a1 127.0.0.1:{{s2}} check inter 200ms
)";

std::string without_duration(const std::string& line) {
  static const std::regex kDuration("check duration: [0-9]+ms");
  return std::regex_replace(line, kDuration, "check duration: Nms");
}

// The server names of the next `n` httplog lines, in order.
std::vector<std::string> routed(std::vector<std::string> lines) {
  std::vector<std::string> out;
  for (const auto& l : lines)
    if (const auto h = parse_httplog(l)) out.push_back(h->route);
  return out;
}

TEST_F(Differential, HealthChecksGiveTheSameStateLinesInTheSameOrderAndRequestsTheSameServers) {
  const std::vector<std::string> names{"s1", "s2", "s3", "s4", "b1"};
  std::vector<std::string> args{"--rule", "s1: path=/health -> status 500", "--fault", "s2=refuse", "--fault",
                                "s4=blackhole"};
  for (const auto& n : names) args.insert(args.end(), {"--listen", n + "=127.0.0.1:0"});
  Mock mock(args);

  // Both balancers run at once against the same backends, so they see the same faults at the
  // same moments.
  auto hx = start(haproxy_bin(), std::string(kChecksConfig), mock, names);
  auto lb = start(LB_BIN, std::string(kChecksConfig), mock, names);
  auto next_state_line = [](Balancer& b) -> std::string {
    for (;;) {
      const auto line = b.child.await_line("", kPatience);
      if (!line) return "(none)";
      if (!line->starts_with("127.0.0.1:")) return without_duration(*line);
    }
  };
  // s1 (500), s2 (refused), s4 (no SYN-ACK, at its connect deadline) go DOWN; `alone` loses a1.
  std::vector<std::string> want, got;
  for (int i = 0; i < 5; ++i) {
    want.push_back(next_state_line(hx));
    got.push_back(next_state_line(lb));
  }
  EXPECT_EQ(got, want);
  using ::testing::Contains;
  using ::testing::HasSubstr;
  EXPECT_THAT(want, Contains(HasSubstr("Server apps/s1 is DOWN, reason: Layer7 wrong status, code: 500")));
  EXPECT_THAT(want, Contains(HasSubstr("Server apps/s2 is DOWN, reason: Layer4 connection problem")));
  EXPECT_THAT(want, Contains(HasSubstr("Server apps/s4 is DOWN, reason: Layer4 timeout")));
  EXPECT_THAT(want, Contains("backend alone has no server available!"));

  // Traffic goes to the servers left, in the same order. Each answer names its server: haproxy
  // logs a request as its stream ends, which on another thread may come after the next one's.
  auto send_all_requests = [](Balancer& b) {
    std::vector<std::string> servers;
    for (int i = 0; i < 9; ++i)
      servers.push_back(served_by(request_once(b.ports.at("fe"), "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")));
    auto logged = routed(httplog_lines(b, 9));
    std::sort(logged.begin(), logged.end());
    auto answered = servers;
    for (auto& s : answered) s = "apps/" + s;
    std::sort(answered.begin(), answered.end());
    EXPECT_EQ(logged, answered) << "the log names other servers than the answers";
    return servers;
  };
  EXPECT_EQ(send_all_requests(lb), send_all_requests(hx));
  EXPECT_EQ(request_once(lb.ports.at("lonely"), "GET / HTTP/1.1\r\nHost: x\r\n\r\n").bytes,
            request_once(hx.ports.at("lonely"), "GET / HTTP/1.1\r\nHost: x\r\n\r\n").bytes);
  httplog_lines(lb, 1);
  httplog_lines(hx, 1);

  // s1 is fixed: both bring it back after `rise` checks.
  ASSERT_EQ(mock.call("PUT", "/v1/listeners/s1/rules", "[]").status, 200);
  const auto up = next_state_line(hx);
  EXPECT_THAT(up, HasSubstr("Server apps/s1 is UP, reason: Layer7 check passed, code: 200"));
  EXPECT_EQ(next_state_line(lb), up);
  EXPECT_EQ(send_all_requests(lb), send_all_requests(hx));
}


constexpr std::string_view kUnixConfig = R"(global
    log stdout format raw local0
    stats socket {{sock}} level admin
defaults
    log global
    mode http
    option httplog
    option dontlognull
    timeout connect 1s
    timeout client 2s
    timeout server 2s
frontend viapath
    bind 127.0.0.1:{{fe:viapath}}
    default_backend path
frontend viaabns
    bind 127.0.0.1:{{fe:viaabns}}
    default_backend abstract
frontend nowhere
    bind 127.0.0.1:{{fe:nowhere}}
    default_backend missing
listen inner
    bind unix@{{dir}}/inner.sock
    bind abns@{{abns}}
    server app 127.0.0.1:{{app}}
backend path
    server p1 unix@{{dir}}/inner.sock check inter 200ms
backend abstract
    server a1 abns@{{abns}} check inter 200ms
backend missing
    server m1 unix@{{dir}}/missing.sock
backend checked
    server c1 unix@{{dir}}/missing.sock check inter 200ms
    server c2 abns@{{abns}}-gone check inter 200ms
)";

// An httplog line with what varies between runs masked: the client's port (a UNIX client's
// listener number stays), the date, the connection counters, and timers down to whether they
// were set (-1) or not.
std::string masked_httplog(const std::string& line) {
  static const std::regex kLine(
      R"(^(unix:[0-9]+|[0-9.]+):?([0-9]*) \[[^\]]+\] (\S+ \S+) ([-0-9/]+) (\S+ \S+ \S+ \S+ \S+) [0-9]+/[0-9]+/[0-9]+/[0-9]+/([0-9]+) (.*)$)");
  std::smatch m;
  if (!std::regex_match(line, m, kLine)) return "unparsed: " + line;
  const auto timers = std::regex_replace(m[4].str(), std::regex("[0-9]+"), "N");
  return fmt::format("{} [date] {} {} {} ac/fc/bc/sc/{} {}", m[1].str(), m[3].str(), timers, m[5].str(), m[6].str(), m[7].str());
}

// A request over a UNIX stream socket, to the end of the answer (the server closes).
std::string request_over_unix(const std::string& path, std::string_view request) {
  Fd fd = connect_unix(path);
  if (!fd) return "(no connection)";
  send_all(fd.get(), request);
  return read_to_end(fd.get(), kPatience).bytes;
}

// UNIX stream sockets, by path and in the abstract namespace, as listeners and as servers: the
// answers, the httplog lines (a UNIX client is "unix:N", N the listener's number), the checks'
// DOWN lines for a missing path and an unbound name (socket errors, as connect() fails at once),
// the 503 for a server whose path is missing (retried without turn-around), and what the
// Runtime API shows and refuses for such servers, all as haproxy gives them.
TEST_F(Differential, UnixAndAbstractSocketsListenAndServeAsHaproxys) {
  Mock mock({"--listen", "app=127.0.0.1:0"});
  auto hx = start(haproxy_bin(), std::string(kUnixConfig), mock, {"app"});
  auto lb = start(LB_BIN, std::string(kUnixConfig), mock, {"app"});
  struct Seen {
    std::vector<std::string> states, logs, answers, cli;
  };
  auto play = [&](Balancer& b) {
    Seen seen;
    auto next_line = [&] { return b.child.await_line("", kPatience).value_or("(none)"); };
    for (int i = 0; i < 3; ++i) seen.states.push_back(without_duration(next_line()));
    std::sort(seen.states.begin(), seen.states.end());
    const std::string get = "GET /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    seen.answers.push_back(served_by(request_once(b.ports.at("viapath"), get)));
    seen.answers.push_back(served_by(request_once(b.ports.at("viaabns"), get)));
    const auto failed = request_once(b.ports.at("nowhere"), get);
    seen.answers.push_back(fmt::format("{} {}", status_of(failed.bytes), body_of(failed.bytes).size()));
    seen.answers.push_back(served_by(Received{request_over_unix((b.dir / "inner.sock").string(), get)}));
    // Two lines per proxied request (inner's, then the frontend's), one each for the others.
    for (int i = 0; i < 6; ++i) {
      const auto line = next_line();
      seen.logs.push_back(masked_httplog(line));
      // A connect() that fails at once is retried without the 1 s turn-around: 3 retries in no time.
      static const std::regex kTotal(R"( nowhere missing/m1 [-0-9]+/[-0-9]+/[-0-9]+/[-0-9]+/([0-9]+) )");
      if (std::smatch m; std::regex_search(line, m, kTotal)) seen.answers.push_back(std::stol(m[1]) < 1000 ? "Tt < 1s" : line);
    }
    std::sort(seen.logs.begin(), seen.logs.end());
    const auto stat = cli_ask(b.socket, "show stat\n");
    std::istringstream rows(stat);
    for (std::string row; std::getline(rows, row);) {
      std::vector<std::string> f;
      std::stringstream fields(row);
      for (std::string x; std::getline(fields, x, ',');) f.push_back(x);
      if (f.size() > 73 && (f[1] == "p1" || f[1] == "a1" || f[1] == "m1" || f[1] == "c1" || f[1] == "c2"))
        seen.cli.push_back(fmt::format("{}/{} {} addr={}", f[0], f[1], f[17], f[73]));
    }
    std::istringstream state(cli_ask(b.socket, "show servers state\n"));
    for (std::string row; std::getline(state, row);) {
      if (row.empty() || row[0] == '#' || row.find(' ') == std::string::npos) continue;
      // The seconds since the last change (field 10) tell the two runs' timing apart.
      seen.cli.push_back(std::regex_replace(row, std::regex("^((\\S+ ){9})\\S+"), "$1T"));
    }
    std::istringstream conns(cli_ask(b.socket, "show servers conn path\n"));
    for (std::string row; std::getline(conns, row);)
      if (row.starts_with("path/")) seen.cli.push_back(row.substr(0, row.find(" - ")));
    seen.cli.push_back(cli_ask(b.socket, "set server path/p1 addr 127.0.0.1\n"));
    seen.cli.push_back(cli_ask(b.socket, "set server missing/m1 addr 127.0.0.1 port 80\n"));
    return seen;
  };
  const auto want = play(hx);
  const auto got = play(lb);
  using ::testing::Contains;
  using ::testing::HasSubstr;
  EXPECT_THAT(want.states, Contains(HasSubstr("Server checked/c1 is DOWN, reason: Socket error, info: \"General socket "
                                              "error (No such file or directory)\", check duration: Nms.")));
  EXPECT_THAT(want.states, Contains(HasSubstr("Server checked/c2 is DOWN, reason: Socket error, info: \"General socket "
                                              "error (Connection refused)\"")));
  EXPECT_EQ(got.states, want.states);
  EXPECT_EQ(want.answers, (std::vector<std::string>{"app", "app", "503 107", "app", "Tt < 1s"}));
  EXPECT_EQ(got.answers, want.answers);
  EXPECT_THAT(want.logs, Contains(HasSubstr("unix:1 [date] inner inner/app")));
  EXPECT_THAT(want.logs, Contains(HasSubstr("unix:2 [date] inner inner/app")));
  EXPECT_THAT(want.logs, Contains(HasSubstr("nowhere missing/m1 N/N/-N/-N/N 503 217 - - SC-- ac/fc/bc/sc/3")));
  EXPECT_EQ(got.logs, want.logs);
  EXPECT_THAT(want.cli, Contains("path/p1 UP addr=unix"));
  EXPECT_EQ(got.cli, want.cli);
}

// Whether nothing listens on 127.0.0.1:`port` now (a bind says so).
bool port_free(int port) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return ::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
}

// The LISTEN sockets on `ports`, as the kernel's tables name them ("tcp6 0...01:PORT").
std::set<std::string> listening_sockets(const std::set<int>& ports) {
  std::set<std::string> out;
  for (const auto& s : kernel_tcp_sockets())
    if (s.listening && ports.contains(s.local_port)) out.insert(fmt::format("{} {}:{}", s.table, s.local_address, s.local_port));
  return out;
}

// One `bind` line with a port range, a comma list, an empty host and `*`, and an `ipv6@` one:
// both balancers listen on the same sockets, and each one serves.
TEST_F(Differential, PortRangesAndAddressListsListenWhereHaproxyListens) {
  int base = 0;
  for (int tries = 0; tries < 50 && base == 0; ++tries) {
    const int p = free_tcp_port();
    if (p + 2 < 65536 && port_free(p + 1) && port_free(p + 2)) base = p;
  }
  ASSERT_NE(base, 0) << "no three free ports in a row";
  std::set<int> ports{base, base + 1, base + 2};
  std::vector<int> more;  // four more, all different
  while (more.size() < 4)
    if (const int p = free_tcp_port(); ports.insert(p).second) more.push_back(p);
  const int listed = more[0], any = more[1], star = more[2], v6 = more[3];
  Mock mock({"--listen", "s1=127.0.0.1:0", "--rule", "s1: -> status 200 body=ok"});
  const std::string cfg = fmt::format(R"(defaults
    mode http
    timeout connect 1s
    timeout client 2s
    timeout server 1s
frontend fe
    bind 127.0.0.1:{}-{},127.0.0.1:{},:{}
    bind *:{}
    bind ipv6@::1:{}
    default_backend apps
backend apps
    server s1 127.0.0.1:{{{{s1}}}}
)",
                                      base, base + 2, listed, any, star, v6);
  std::map<std::string, std::set<std::string>> heard;
  for (const std::string& bin : {haproxy_bin(), std::string(LB_BIN)}) {
    auto b = start(bin, cfg, mock, {"s1"});
    for (const int port : ports) EXPECT_TRUE(wait_listening(port)) << bin << " " << port;
    auto& got = heard[bin];
    got = listening_sockets(ports);
    for (const int port : {base, base + 1, base + 2, listed, any, star})
      got.insert(fmt::format("{}: {}", port, body_of(request_once(port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").bytes)));
    auto c = connect_to(v6, kPatience, "::1");
    send_all(c.fd.get(), "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    got.insert(fmt::format("[::1]:{}: {}", v6, body_of(read_to_end(c.fd.get(), kPatience).bytes)));
    b.child.stop();
  }
  EXPECT_EQ(heard[haproxy_bin()].size(), 2 * ports.size());
  EXPECT_EQ(heard[LB_BIN], heard[haproxy_bin()]);
}

// A UNIX server whose backlog is full: connect() fails at once with EAGAIN, which haproxy takes
// for a shortage of local resources (uxst_connect_server): "Connect() failed for backend B: ..."
// on stderr and in the backend's log, the check's "Out of local source ports on the system"
// (with the errno its log writer leaves when that line is the first it writes to stdout), and
// traffic retried at once, without the turn-around.
TEST_F(Differential, AUnixServerWithAFullBacklogIsALocalResourceShortageAsInHaproxy) {
  const auto path = (dir_.path() / "full.sock").string();
  const Fd server(listen_on_unix_path(path, 0));  // a backlog of 0 holds one connection, never accepted
  ASSERT_TRUE(server);
  const Fd queued = connect_unix(path);
  ASSERT_TRUE(queued) << std::strerror(errno);
  Fd refused(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  ASSERT_EQ(::connect(refused.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), -1);
  ASSERT_EQ(errno, EAGAIN);

  Mock mock({"--listen", "unused=127.0.0.1:0"});
  const std::string cfg = fmt::format(R"(global
    log stdout format raw local0
defaults
    log global
    mode http
    option httplog
    timeout connect 1s
    timeout client 2s
    timeout server 1s
frontend fe
    bind 127.0.0.1:{{{{fe:fe}}}}
    default_backend checked
frontend direct
    bind 127.0.0.1:{{{{fe:direct}}}}
    default_backend direct
backend checked
    server s1 unix@{0} check inter 1s
    server s2 unix@{0} check inter 1s
backend direct
    server d1 unix@{0}
)",
                                      path);
  struct Seen {
    std::vector<std::string> checks;   // up to "no server available"
    std::vector<std::string> traffic;  // the request's lines (later checks' left out)
    std::optional<HttpLog> logged;
    std::string stderr_lines;          // the bare stderr lines of the request's attempts
  };
  auto play = [&](const std::string& bin) {
    Seen seen;
    auto b = start(bin, cfg, mock, {});
    EXPECT_TRUE(b.child.await_line("backend checked has no server available!", kPatience)) << b.child.stderr_text();
    const auto before = b.child.stdout_lines().size();
    const auto reply = request_once(b.ports.at("direct"), "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_THAT(reply.bytes, ::testing::StartsWith("HTTP/1.1 503 ")) << bin;
    EXPECT_TRUE(b.child.await_line(" direct direct/d1 ", kPatience)) << bin;
    const auto lines = b.child.stdout_lines();
    for (std::size_t i = 0; i < before; ++i) seen.checks.push_back(without_duration(lines[i]));
    for (auto i = before; i < lines.size(); ++i) {
      if (lines[i].starts_with("Connect() failed for backend checked")) continue;
      if (auto h = parse_httplog(lines[i])) seen.logged = h;
      else seen.traffic.push_back(lines[i]);
    }
    b.child.stop();
    std::istringstream err(b.child.stderr_text());
    for (std::string line; std::getline(err, line);)
      if (line.starts_with("Connect() failed for backend direct")) seen.stderr_lines += line + "\n";
    return seen;
  };
  const Seen want = play(haproxy_bin());
  const Seen got = play(LB_BIN);
  const std::string backlog = "can't connect to destination unix socket, check backlog size on the server.";
  EXPECT_EQ(want.checks,
            (std::vector<std::string>{
                "Connect() failed for backend checked: " + backlog,
                "Server checked/s1 is DOWN, reason: Socket error, info: \"Out of local source ports on the system "
                "(Inappropriate ioctl for device)\", check duration: Nms. 1 active and 0 backup servers left. 0 "
                "sessions active, 0 requeued, 0 remaining in queue.",
                "Connect() failed for backend checked: " + backlog,
                "Server checked/s2 is DOWN, reason: Socket error, info: \"Out of local source ports on the system\", "
                "check duration: Nms. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining "
                "in queue.",
                "backend checked has no server available!"}));
  EXPECT_EQ(got.checks, want.checks);
  EXPECT_EQ(want.traffic, std::vector<std::string>(4, "Connect() failed for backend direct: " + backlog));
  EXPECT_EQ(got.traffic, want.traffic);
  ASSERT_TRUE(want.logged && got.logged);
  EXPECT_EQ(want.logged->route + " " + want.logged->rest, "direct/d1 503 217 - - SC-- ac/fc/bc/sc/3 0/0 \"GET / HTTP/1.1\"");
  EXPECT_EQ(got.logged->route + " " + got.logged->rest, want.logged->route + " " + want.logged->rest);
  // Tc -1, and no turn-around between the attempts (each would wait 1 s): Tt a few ms at most.
  EXPECT_EQ(std::vector<long>(got.logged->timers.begin(), got.logged->timers.begin() + 4),
            std::vector<long>(want.logged->timers.begin(), want.logged->timers.begin() + 4));
  EXPECT_LT(got.logged->timers[4], 500);
  EXPECT_LT(want.logged->timers[4], 500);
  EXPECT_EQ(got.stderr_lines, want.stderr_lines);
  EXPECT_EQ(want.stderr_lines.size(), 4 * ("Connect() failed for backend direct: " + backlog + "\n").size());
}

// A syslog server's end: a UDP socket on loopback.
class UdpSink {
 public:
  UdpSink() : fd_(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      ADD_FAILURE() << "cannot bind a UDP socket";
    port_ = ntohs(a.sin_port);
  }
  ~UdpSink() { ::close(fd_); }
  UdpSink(const UdpSink&) = delete;
  UdpSink& operator=(const UdpSink&) = delete;
  int port() const { return port_; }
  // The next datagram, or nullopt when none comes within `wait`.
  std::optional<std::string> next(milliseconds wait = kPatience) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(wait.count())) != 1) return std::nullopt;
    char buf[70000];
    const auto n = ::recv(fd_, buf, sizeof buf, 0);
    return n >= 0 ? std::optional(std::string(buf, static_cast<std::size_t>(n))) : std::nullopt;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// Three syslog servers, as a site sends to them: a short `len`, RFC 5424 kept to notice and
// worse, RFC 3164; a global tag and a backend's own.
constexpr std::string_view kSyslogConfig = R"(global
    log 127.0.0.1:{{udp0}} len 100 local0
    log 127.0.0.1:{{udp1}} format rfc5424 local1 notice
    log 127.0.0.1:{{udp2}} format rfc3164 local2
    log-tag edge
{{hostname}}
defaults
    log global
    mode http
    timeout connect 1s
    timeout client 2s
    timeout server 2s
frontend fe
    bind 127.0.0.1:{{fe:fe}}
    default_backend be
backend be
    log-tag be-tag
    server s1 127.0.0.1:{{s1}} check inter 100ms fall 1
)";

// A datagram with what differs from run to run masked, its length kept: the timestamp, the
// process's pid, the ports.
std::string masked_datagram(std::string d, pid_t pid) {
  static const std::regex kBsdStamp(R"(^(<[0-9]+>)[A-Z][a-z]{2} [ 1-3][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} )");
  static const std::regex kIsoStamp(
      R"(^(<[0-9]+>1 )[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}[+-][0-9]{2}:[0-9]{2} )");
  d = std::regex_replace(d, kBsdStamp, "$1MMM DD hh:mm:ss ", std::regex_constants::format_first_only);
  d = std::regex_replace(d, kIsoStamp, "$1YYYY-MM-DDThh:mm:ss.uuuuuu+zz:zz ", std::regex_constants::format_first_only);
  static const std::regex kPort(R"(127\.0\.0\.1:[0-9]+)");
  std::string out;
  auto last = d.cbegin();
  for (std::sregex_iterator it(d.begin(), d.end(), kPort), end; it != end; ++it) {
    out.append(last, (*it)[0].first);
    out += "127.0.0.1:" + std::string(static_cast<std::size_t>(it->length()) - 10, 'N');
    last = (*it)[0].second;
  }
  out.append(last, d.cend());
  const auto p = std::to_string(pid);
  // A check's duration is the machine's, not the balancer's: 0ms on one run is 1ms on the next.
  return without_duration(std::regex_replace(out, std::regex("\\b" + p + "\\b"), std::string(p.size(), 'P')));
}

std::string next_or_none(UdpSink& sink) { return sink.next().value_or("(none)"); }

TEST_F(Differential, SyslogDatagramsAreHaproxysByteForByte) {
  Mock mock({"--listen", "s1=127.0.0.1:0", "--fault", "s1=refuse"});
  for (const std::string hostname : {"", "    log-send-hostname edge1", "    log-send-hostname"}) {
    SCOPED_TRACE(hostname.empty() ? "no log-send-hostname" : hostname);
    std::map<std::string, std::array<std::vector<std::string>, 3>> heard;  // binary -> per sink
    std::map<std::string, pid_t> pids;
    for (const auto& bin : {haproxy_bin(), std::string(LB_BIN)}) {
      std::array<UdpSink, 3> sinks;
      std::string cfg(kSyslogConfig);
      for (int i = 0; i < 3; ++i)
        cfg = std::regex_replace(cfg, std::regex(fmt::format("\\{{\\{{udp{}\\}}\\}}", i)), std::to_string(sinks[i].port()));
      cfg = std::regex_replace(cfg, std::regex(R"(\{\{hostname\}\})"), hostname);
      auto b = start(bin, cfg, mock, {"s1"});
      pids[bin] = b.child.pid();
      auto& got = heard[bin];
      // s1 goes DOWN, the backend has no server left: each sink hears both.
      for (int i = 0; i < 3; ++i)
        for (int n = 0; n < 2; ++n) got[i].push_back(next_or_none(sinks[i]));
      // A frontend with no log format tells of each request it starts, at info: not to sink 1.
      EXPECT_THAT(request_once(b.ports.at("fe"), "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").bytes,
                  ::testing::StartsWith("HTTP/1.1 503 "));
      got[0].push_back(next_or_none(sinks[0]));
      got[2].push_back(next_or_none(sinks[2]));
      // Sink 2 heard its line after sink 1 would have: loopback datagrams arrive as sent.
      EXPECT_EQ(sinks[1].next(milliseconds(0)), std::nullopt) << bin;
      b.child.stop();
    }
    const auto& want = heard[haproxy_bin()];
    const auto& got = heard[LB_BIN];
    const bool same_pid_width = std::to_string(pids[haproxy_bin()]).size() == std::to_string(pids[LB_BIN]).size();
    for (int i = 0; i < 3; ++i) {
      ASSERT_EQ(got[i].size(), want[i].size()) << "sink " << i;
      for (std::size_t n = 0; n < want[i].size(); ++n) {
        const auto w = masked_datagram(want[i][n], pids[haproxy_bin()]);
        const auto g = masked_datagram(got[i][n], pids[LB_BIN]);
        if (same_pid_width) {
          EXPECT_EQ(g, w) << "sink " << i << " datagram " << n;
        } else {  // a line cut at `len` loses as many more bytes as the pid is longer
          const auto common = std::min(g.size(), w.size()) - 1;
          EXPECT_EQ(g.substr(0, common), w.substr(0, common)) << "sink " << i << " datagram " << n;
        }
      }
    }
    EXPECT_EQ(want[0][0].size(), 101u) << "len 100 cuts the DOWN line, then its newline: " << want[0][0];
    EXPECT_THAT(want[1][0], ::testing::HasSubstr(" be-tag "));
    EXPECT_THAT(want[2][2], ::testing::HasSubstr(" edge["));
    EXPECT_THAT(want[2][2], ::testing::HasSubstr("]: Connect from 127.0.0.1:"));
  }
}

}  // namespace
}  // namespace lb::test
