// What Toxiproxy and WireMock users reach for, on the real binary: listeners created and
// removed live, a request log with wall-clock times, matching on query and body, and counting
// what the journal holds.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fmt/format.h>

#include <ctime>

#include "tests/integration/mockserver_client.hpp"
#include "tests/support/ports.hpp"
#include "tests/support/temp_file.hpp"

namespace lb::test {
namespace {

TEST(MockFeatures, ListenersAreCreatedAndRemovedLive) {
  Mock m({"--listen", "s1=127.0.0.1:0"});
  const auto created =
      m.call("POST", "/v1/listeners", R"({"name": "s9", "listen": "127.0.0.1:0", "rules": [{"respond": {"status": 503}}]})");
  ASSERT_EQ(created.status, 201) << created.raw;
  const auto listen = std::string(created.json.at("listen").as_string());
  const int port = std::stoi(listen.substr(listen.rfind(':') + 1));
  ASSERT_GT(port, 0);  // the port it was given, not the 0 asked for
  EXPECT_EQ(status_of(http(port, "GET", "/").bytes), 503);
  EXPECT_EQ(m.call("GET", "/v1/listeners").json.at("listeners").as_array().size(), 2u);

  EXPECT_EQ(m.call("POST", "/v1/listeners", R"({"name": "s9", "listen": "127.0.0.1:0"})").status, 409);
  const auto bad = m.call("POST", "/v1/listeners", R"({"name": "s8", "listen": "127.0.0.1:0", "mode": "sideways"})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.json.at("field"), "listener.mode");
  const auto taken = m.call("POST", "/v1/listeners", fmt::format(R"({{"name": "s7", "listen": "127.0.0.1:{}"}})", port));
  EXPECT_EQ(taken.status, 503) << taken.raw;
  EXPECT_EQ(m.call("GET", "/v1/listeners/s7").status, 404);  // not kept

  // Removing it closes what it holds and gives the port back.
  ASSERT_EQ(m.call("PUT", "/v1/listeners/s9/fault", R"({"fault": "hang"})").status, 200);
  auto held = connect_to(port);
  send_all(held.fd.get(), "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(m.wait_journal("listener=s9&outcome=fault:hang"));
  const auto removed = m.call("DELETE", "/v1/listeners/s9");
  EXPECT_EQ(removed.status, 200);
  EXPECT_EQ(read_to_end(held.fd.get(), kPatience).end, End::Eof);
  EXPECT_EQ(connect_to(port).error, ECONNREFUSED);
  EXPECT_EQ(m.call("DELETE", "/v1/listeners/s9").status, 404);
  EXPECT_EQ(m.journal("listener=s9").size(), 2u);  // its history stays
  EXPECT_EQ(status_of(http(m.port("s1"), "GET", "/").bytes), 200);
}

TEST(MockFeatures, TheLogAndTheJournalCarryWallClockTime) {
  Mock m({"--listen", "s1=127.0.0.1:0", "--log", "--rule", "s1: path=/x -> status 404"});
  const auto before = std::time(nullptr);
  EXPECT_EQ(status_of(http(m.port(), "GET", "/x?y=1").bytes), 404);
  const auto line = m.child().await_line("\"GET /x?y=1\"", kPatience);
  ASSERT_TRUE(line) << m.child().stderr_text();
  EXPECT_NE(line->find(" s1 127.0.0.1:"), std::string::npos) << *line;
  EXPECT_NE(line->find("\"GET /x?y=1\" 404 rule=rule-1"), std::string::npos) << *line;
  ASSERT_TRUE(m.wait_journal("listener=s1"));
  const std::string time(m.journal().at(0).at("time").as_string());
  EXPECT_TRUE(line->starts_with(time)) << *line << " / " << time;
  std::tm tm{};
  ASSERT_NE(::strptime(time.c_str(), "%Y-%m-%dT%H:%M:%S", &tm), nullptr) << time;
  EXPECT_EQ(time.size(), 24u);  // 2026-12-01T16:50:01.123Z
  EXPECT_LE(std::abs(static_cast<long>(::timegm(&tm) - before)), 5);
}

TEST(MockFeatures, RulesMatchOnQueryAndBody) {
  Mock m({"--listen", "s1=127.0.0.1:0", "--rule", "s1: query=debug:1 -> status 418", "--rule",
          "s1: json=/user/role:\"admin\" -> status 403", "--rule", "s1: body*=needle -> status 422", "--rule",
          "s1: body~=^[0-9]+$ -> status 409"});
  auto post = [&](std::string_view target, std::string_view body, bool chunked = false) {
    const std::string framing = chunked ? fmt::format("Transfer-Encoding: chunked\r\n\r\n{:x}\r\n{}\r\n0\r\n\r\n", body.size(), body)
                                        : fmt::format("Content-Length: {}\r\n\r\n{}", body.size(), body);
    return status_of(request_once(m.port(), fmt::format("POST {} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n{}", target, framing)).bytes);
  };
  EXPECT_EQ(status_of(http(m.port(), "GET", "/?a=2&debug=1").bytes), 418);
  EXPECT_EQ(status_of(http(m.port(), "GET", "/?debug=10").bytes), 200);
  EXPECT_EQ(status_of(http(m.port(), "GET", "/?d%65bug=1").bytes), 418);  // names are URL-decoded
  EXPECT_EQ(post("/", R"({"user": {"role": "admin"}})"), 403);
  EXPECT_EQ(post("/", R"({"user": {"role": "guest"}})"), 200);
  EXPECT_EQ(post("/", "hay needle hay"), 422);
  EXPECT_EQ(post("/", "hay needle hay", true), 422);  // a chunked body is matched decoded
  EXPECT_EQ(post("/", "12345"), 409);
  EXPECT_EQ(post("/", "not json {"), 200);
  // The journal keeps the bodies, and counts what matches.
  ASSERT_TRUE(m.wait_journal("listener=s1", 9));
  EXPECT_EQ(m.call("GET", "/v1/journal/count?body_contains=needle").json.at("count"), 2);
  EXPECT_EQ(m.call("GET", "/v1/journal/count?method=POST&path_prefix=/").json.at("count"), 6);
  EXPECT_EQ(m.call("GET", "/v1/journal/count?header=host:t").json.at("count"), 9);
  EXPECT_EQ(m.call("GET", "/v1/journal/count?header=Host:other").json.at("count"), 0);
  EXPECT_EQ(m.call("GET", "/v1/journal/count?colour=red").status, 400);
  EXPECT_EQ(m.journal("body_contains=12345").at(0).at("body"), "12345");
  const auto bad = m.call("PUT", "/v1/listeners/s1/rules", R"([{"match": {"body": {"json": {"user": 1}}}}])");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.raw.find("expected a JSON pointer such as /user/id"), std::string::npos) << bad.raw;
}

// Toxiproxy's toxics as faults and response options, on the wire.
TEST(MockFeatures, ToxiproxysSlowCloseLimitDataTimeoutAndBandwidth) {
  Mock m({"--listen", "s1=127.0.0.1:0", "--rule", "s1: path=/slow-close -> slow-close ms=300", "--rule",
          "s1: path=/limit -> limit-data bytes=12", "--rule", "s1: path=/timeout -> timeout ms=200", "--rule",
          "s1: path=/rate -> status 200 rate=4000 body=\"" + std::string(1000, 'x') + "\""});
  auto timed = [&](std::string_view path) {
    const auto start = Clock::now();
    auto r = http(m.port(), "GET", path);
    return std::pair{r, std::chrono::duration_cast<milliseconds>(Clock::now() - start).count()};
  };
  const auto [slow, slow_ms] = timed("/slow-close");
  EXPECT_EQ(body_of(slow.bytes), "hello from s1");
  EXPECT_GE(slow_ms, 300);  // the whole answer, then the FIN 300 ms later
  const auto [limit, limit_ms] = timed("/limit");
  EXPECT_EQ(limit.bytes, "HTTP/1.1 200");
  EXPECT_EQ(limit.end, End::Eof);
  const auto [silent, silent_ms] = timed("/timeout");
  EXPECT_EQ(silent.bytes, "");
  EXPECT_EQ(silent.end, End::Eof);
  EXPECT_GE(silent_ms, 200);
  const auto [rated, rated_ms] = timed("/rate");
  EXPECT_EQ(body_of(rated.bytes).size(), 1000u);
  EXPECT_GE(rated_ms, 200);  // about 1080 bytes at 4000 bytes a second
  (void)limit_ms;
}

TEST(MockFeatures, AProbabilisticRuleFiresAsItsSeedSays) {
  // The same seed gives the same answers in another process.
  auto run = [] {
    Mock m({"--listen", "s1=127.0.0.1:0", "--rule", "s1: probability=0.5 seed=42 -> status 503"});
    std::string out;
    for (int i = 0; i < 40; ++i) out += status_of(http(m.port(), "GET", "/").bytes) == 503 ? '1' : '0';
    return out;
  };
  const auto first = run();
  EXPECT_EQ(first, run());
  EXPECT_NE(first.find('1'), std::string::npos);
  EXPECT_NE(first.find('0'), std::string::npos);
}

}  // namespace
}  // namespace lb::test

namespace lb::test {
namespace {

// Pass-through, the Toxiproxy model: a real server (here another mockserver) behind a listener;
// rules act first, the rest is relayed with faults on the way.
TEST(MockFeatures, AListenerPassesThroughToARealUpstream) {
  Mock app({"--listen", "app=127.0.0.1:0", "--rule", "app: path=/slow -> status 200 body=\"slow\""});
  const auto upstream = fmt::format("front=127.0.0.1:{}", app.port("app"));
  Mock m({"--listen", "front=127.0.0.1:0", "--upstream", upstream, "--rule", "front: path=/health -> status 503",
          "--rule", "front: path=/slow -> proxy delay=300", "--rule", "front: path=/rate -> proxy rate=2000"});
  EXPECT_EQ(body_of(http(m.port("front"), "GET", "/").bytes), "hello from app");
  EXPECT_EQ(status_of(http(m.port("front"), "GET", "/health").bytes), 503);  // answered here
  const auto start = Clock::now();
  EXPECT_EQ(body_of(http(m.port("front"), "GET", "/slow").bytes), "slow");
  EXPECT_GE(Clock::now() - start, milliseconds(300));
  // A request body makes it through too, and the upstream's journal has it.
  const auto posted = request_once(m.port("front"),
                                   "POST /data HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello");
  EXPECT_EQ(status_of(posted.bytes), 200);
  ASSERT_TRUE(app.wait_journal("listener=app&path=/data"));
  EXPECT_EQ(app.journal("path=/data").at(0).at("body"), "hello");
  EXPECT_EQ(app.journal("path=/health").size(), 0u);
  ASSERT_TRUE(m.wait_journal("listener=front&outcome=proxied", 3));
  // The other direction: a 2000-byte upload at 4000 bytes a second takes half a second.
  ASSERT_EQ(m.call("POST", "/v1/listeners/front/rules", R"({"id": "up", "match": {"path": "/upload"}, "proxy": {"up_rate": 4000}})").status, 201);
  const auto upload_start = Clock::now();
  const auto uploaded = request_once(m.port("front"), "POST /upload HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: 2000\r\n\r\n" +
                                                          std::string(2000, 'u'));
  EXPECT_EQ(status_of(uploaded.bytes), 200);
  EXPECT_GE(Clock::now() - upload_start, milliseconds(400));
  ASSERT_TRUE(app.wait_journal("path=/upload"));
  EXPECT_EQ(app.journal("path=/upload").at(0).at("body").as_string().size(), 2000u);

  // The upstream gone: the client is reset, as it would be by a dead server, and told why.
  app.child().stop();
  auto c = connect_to(m.port("front"));
  ASSERT_EQ(c.error, 0);
  send_all(c.fd.get(), "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(read_to_end(c.fd.get(), kPatience).end, End::Reset);
  ASSERT_TRUE(m.wait_journal("outcome=upstream-error:%20Connection%20refused"));
}

TEST(MockFeatures, AProxyRuleNeedsAnUpstream) {
  Child bad = Child::start(MOCKSERVER_BIN, {"--listen", "s1=127.0.0.1:0", "--rule", "s1: -> proxy"}, {.ready_line = ""});
  EXPECT_EQ(bad.wait_exit(kPatience), 2);
  EXPECT_NE(bad.stderr_text().find("has no upstream to proxy to"), std::string::npos) << bad.stderr_text();
  Mock m({"--listen", "s1=127.0.0.1:0"});
  const auto r = m.call("PUT", "/v1/listeners/s1/rules", R"([{"proxy": true}])");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.json.at("field"), "rules[0].proxy");
}

}  // namespace
}  // namespace lb::test

namespace lb::test {
namespace {

// Real haproxy checks an app through the pass-through listener: what the app answers decides,
// until a fault on the way (rules act before the relay) does.
TEST(MockFeatures, HaproxyChecksAnAppThroughThePassThrough) {
  Mock app({"--listen", "app=127.0.0.1:0"});
  Mock m({"--listen", "front=127.0.0.1:0", "--upstream", fmt::format("front=127.0.0.1:{}", app.port("app"))});
  TempDir dir;
  const auto cfg = dir.write("h.cfg", haproxy_checking(m.port("front"), "check inter 100ms rise 1 fall 1", "300ms"));
  auto haproxy = Child::start("/usr/sbin/haproxy", {"-db", "-f", cfg.string()}, {.ready_line = ""});
  ASSERT_TRUE(app.wait_journal("listener=app&path=/health", 2)) << haproxy.stderr_text();
  ASSERT_EQ(app.call("PUT", "/v1/listeners/app/rules", R"([{"match": {"path": "/health"}, "respond": {"status": 500}}])").status, 200);
  const auto down = haproxy.await_line("Server be/s1 is DOWN", kPatience);
  ASSERT_TRUE(down) << haproxy.stderr_text();
  EXPECT_NE(down->find("Layer7 wrong status, code: 500"), std::string::npos) << *down;
  ASSERT_EQ(app.call("PUT", "/v1/listeners/app/rules", "[]").status, 200);
  ASSERT_TRUE(haproxy.await_line("Server be/s1 is UP", kPatience));
  // A fault on the way: the relay times out before the app is asked.
  ASSERT_EQ(m.call("PUT", "/v1/listeners/front/rules", R"([{"fault": "timeout"}])").status, 200);
  const auto timeout = haproxy.await_line("Server be/s1 is DOWN", kPatience);
  ASSERT_TRUE(timeout);
  EXPECT_NE(timeout->find("Layer7 timeout"), std::string::npos) << *timeout;
  haproxy.stop();
}

}  // namespace
}  // namespace lb::test

namespace lb::test {
namespace {

// The relay's ends, as a review found them: a client that half-closes during the relay's delay
// still gets its answer; an upstream's RST reaches the client as an RST.
TEST(MockFeatures, TheRelayDeliversAHalfClosedRequestAndPassesAnRstOn) {
  Mock app({"--listen", "app=127.0.0.1:0", "--rule", "app: path=/reset -> reset"});
  Mock m({"--listen", "front=127.0.0.1:0", "--upstream", fmt::format("front=127.0.0.1:{}", app.port("app")),
          "--rule", "front: path=/late -> proxy delay=200"});
  auto c = connect_to(m.port("front"));
  send_all(c.fd.get(), "GET /late HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  ::shutdown(c.fd.get(), SHUT_WR);
  const auto late = read_to_end(c.fd.get(), kPatience);
  EXPECT_EQ(body_of(late.bytes), "hello from app");
  auto r = connect_to(m.port("front"));
  send_all(r.fd.get(), "GET /reset HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(read_to_end(r.fd.get(), kPatience).end, End::Reset);
}

TEST(MockFeatures, ASpecFileCanDeclareTlsAndPassThrough) {
  TempDir dir;
  const auto spec = dir.write("s.json", R"({"listeners": [{"name": "s1", "listen": "127.0.0.1:0", "tls": "self-signed",
      "upstream": "127.0.0.1:9", "rules": [{"match": {"path": "/x"}, "proxy": true}]}]})");
  auto c = Child::start(MOCKSERVER_BIN, {"--check", "-f", spec.string()}, {.ready_line = ""});
  EXPECT_EQ(c.wait_exit(kPatience), 0) << c.stderr_text();
}

// A server-first protocol (SMTP, POP3, MySQL): the banner goes out on connect, before the client
// says anything, then the connection reads requests or ends as the greeting says.
TEST(MockFeatures, AGreetingIsSentOnConnectBeforeAnyRequest) {
  Mock m({"--listen", "s1=127.0.0.1:0"});
  ASSERT_EQ(m.call("PATCH", "/v1/listeners/s1",
                   R"({"greeting": {"writes": [{"text": "220 mail"}, {"pause_ms": 20, "text": " ready\r\n"}], "then": "serve"}})")
                .status,
            200);
  auto c = connect_to(m.port());
  ASSERT_TRUE(c.fd);
  const auto banner = read_until(c.fd.get(), kPatience, [](std::string_view b) { return b.ends_with("\r\n"); });
  EXPECT_EQ(banner.bytes, "220 mail ready\r\n");
  ASSERT_TRUE(send_all(c.fd.get(), "GET /after HTTP/1.1\r\nHost: t\r\n\r\n"));
  const auto answer = read_response(c.fd.get());
  EXPECT_EQ(status_of(answer.bytes), 200) << answer.bytes;
  ASSERT_TRUE(m.wait_journal("path=/after"));
  const auto entries = m.journal();
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].at("outcome"), "greeting");
  EXPECT_EQ(entries[0].at("end"), "keep-alive");
  EXPECT_EQ(entries[1].at("path"), "/after");

  // What the client sends before the banner is out waits for it, and is then served.
  auto early = connect_to(m.port());
  ASSERT_TRUE(send_all(early.fd.get(), "GET /early HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
  const auto both = read_to_end(early.fd.get(), kPatience);
  EXPECT_TRUE(both.bytes.starts_with("220 mail ready\r\nHTTP/1.1 200 OK\r\n")) << both.bytes;

  // A banner that then holds the connection: nothing more comes, and the connection stays open.
  ASSERT_EQ(m.call("PATCH", "/v1/listeners/s1", R"({"greeting": {"writes": [{"hex": "4a000000"}], "then": "hold"}})").status, 200);
  auto held = connect_to(m.port());
  const auto quiet = read_exactly_then_silence(held.fd.get(), std::string("J\0\0\0", 4), milliseconds(150));
  EXPECT_EQ(quiet.bytes, std::string("J\0\0\0", 4));
  EXPECT_EQ(quiet.end, End::Timeout);

  ASSERT_EQ(m.call("PATCH", "/v1/listeners/s1", R"({"greeting": {"writes": [{"text": "421 busy\r\n"}, {"pause_ms": 30}], "then": "reset"}})").status, 200);
  auto reset = connect_to(m.port());
  const auto gone = read_to_end(reset.fd.get(), kPatience);
  EXPECT_EQ(gone.bytes, "421 busy\r\n");
  EXPECT_EQ(gone.end, End::Reset);

  ASSERT_EQ(m.call("PATCH", "/v1/listeners/s1", R"({"greeting": null})").status, 200);
  EXPECT_EQ(status_of(http(m.port(), "GET", "/").bytes), 200);
  const auto bad = m.call("PATCH", "/v1/listeners/s1", R"({"greeting": {"writes": [], "then": "later"}})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.json.at("field"), "greeting.then") << bad.raw;
}

}  // namespace
}  // namespace lb::test
