// Bodies go through lb as they arrive, in both directions, as HAProxy forwards them: a server
// sees the first part of a request body while the client still holds the rest, a client sees
// the first part of a response while the server still holds the rest, and a body far larger
// than any buffer passes without lb's memory growing with it. Each backend is a scripted raw
// socket, so every step waits on what the other side has seen, never on a sleep.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <fmt/format.h>

#include <functional>
#include <future>
#include <thread>

#include "tests/integration/lb_world.hpp"

namespace lb::test {
namespace {

// Accepts one connection and runs `script` on it in a thread of its own.
class ScriptedBackend {
 public:
  using Script = std::function<void(int fd)>;
  explicit ScriptedBackend(Script script) : listener_(listen_on_loopback(port_)) {
    thread_ = std::thread([this, script = std::move(script)] {
      pollfd p{listener_.get(), POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(kPatience.count())) <= 0) return;
      Fd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (conn) script(conn.get());
    });
  }
  ~ScriptedBackend() { thread_.join(); }
  int port() const { return port_; }

 private:
  int port_ = 0;  // before listener_, which sets it
  Fd listener_;
  std::thread thread_;
};

bool has(std::string_view bytes, std::string_view what) { return bytes.find(what) != std::string_view::npos; }

std::string lb_config(int fe, int server) {
  return fmt::format(R"(global
    log stdout format raw local0
defaults
    log global
    mode http
    option httplog
    timeout connect 1s
    timeout client 2s
    timeout server 2s
frontend fe
    bind 127.0.0.1:{}
    default_backend apps
backend apps
    server s1 127.0.0.1:{}
)",
                     fe, server);
}

struct LbInFront {
  explicit LbInFront(int server_port) : fe(free_tcp_port()) {
    const auto cfg = dir.write("lb.cfg", lb_config(fe, server_port));
    lb = Child::start(LB_BIN, {"-db", "--announce", "-f", cfg.string()});
    EXPECT_TRUE(lb.await_line("ready", kPatience));
  }
  int fe;
  TempDir dir;
  Child lb;
};

TEST(LbStreaming, TheServerGetsTheFirstPartOfABodyWhileTheClientStillHoldsTheRest) {
  std::promise<void> first_part_seen;
  auto seen = first_part_seen.get_future();
  std::string at_server;
  ScriptedBackend backend([&](int fd) {
    auto got = read_until(fd, kPatience, [](std::string_view b) { return has(b, "\r\n\r\nfirst"); });
    at_server = got.bytes;
    if (got.end != End::Done) return;
    first_part_seen.set_value();
    got = read_until(fd, kPatience, [](std::string_view b) { return has(b, "second"); });
    at_server += got.bytes;
    send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  });
  LbInFront front(backend.port());
  auto c = connect_to(front.fe);
  ASSERT_EQ(c.error, 0);
  send_all(c.fd.get(), "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nfirst");
  ASSERT_EQ(seen.wait_for(kPatience), std::future_status::ready) << "the server saw only: " << at_server;
  send_all(c.fd.get(), "second");
  const auto got = read_response(c.fd.get());
  EXPECT_THAT(got.bytes, ::testing::StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(at_server, ::testing::EndsWith("\r\n\r\nfirstsecond"));
  EXPECT_TRUE(front.lb.await_line("POST /upload HTTP/1.1", kPatience));
}

TEST(LbStreaming, AChunkedBodyIsReChunkedPieceByPieceAsItArrives) {
  std::promise<void> first_chunk_seen;
  auto seen = first_chunk_seen.get_future();
  std::string at_server;
  ScriptedBackend backend([&](int fd) {
    auto got = read_until(fd, kPatience, [](std::string_view b) { return has(b, "\r\n\r\n3\r\nabc\r\n"); });
    at_server = got.bytes;
    if (got.end != End::Done) return;
    first_chunk_seen.set_value();
    got = read_until(fd, kPatience, [](std::string_view b) { return b.ends_with("\r\n\r\n"); });
    at_server += got.bytes;
    send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  });
  LbInFront front(backend.port());
  auto c = connect_to(front.fe);
  ASSERT_EQ(c.error, 0);
  send_all(c.fd.get(), "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n");
  ASSERT_EQ(seen.wait_for(kPatience), std::future_status::ready) << "the server saw only: " << at_server;
  send_all(c.fd.get(), "0003;ext=1\r\ndef\r\n0\r\nX-T: 1\r\n\r\n");
  EXPECT_THAT(read_response(c.fd.get()).bytes, ::testing::StartsWith("HTTP/1.1 200 OK\r\n"));
  // Each piece is its own chunk, the extension and the leading zeros gone, the trailer kept.
  EXPECT_THAT(at_server, ::testing::EndsWith("\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\nx-t: 1\r\n\r\n"));
}

// The server sends the head and part of the body, then waits until the client has that part.
void client_sees_first_part_first(const std::string& head, const std::string& first, const std::string& rest,
                                  const std::string& expect_first, const std::string& expect_end) {
  std::promise<void> client_has_first;
  auto has_first = client_has_first.get_future();
  bool sent_rest = false;
  ScriptedBackend backend([&](int fd) {
    read_until(fd, kPatience, [](std::string_view b) { return has(b, "\r\n\r\n"); });
    send_all(fd, head + first);
    if (has_first.wait_for(kPatience) != std::future_status::ready) return;
    send_all(fd, rest);
    sent_rest = true;
  });
  LbInFront front(backend.port());
  auto c = connect_to(front.fe);
  ASSERT_EQ(c.error, 0);
  send_all(c.fd.get(), "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
  auto got = read_until(c.fd.get(), kPatience, [&](std::string_view b) { return has(b, expect_first); });
  ASSERT_EQ(got.end, End::Done) << "the client saw only: " << got.bytes;
  client_has_first.set_value();
  const auto more =
      read_until(c.fd.get(), kPatience, [&](std::string_view b) { return (got.bytes + std::string(b)).ends_with(expect_end); });
  EXPECT_EQ(more.end, End::Done) << got.bytes + more.bytes;
  EXPECT_TRUE(sent_rest || more.end == End::Done);
  EXPECT_TRUE(front.lb.await_line("GET /stream HTTP/1.1", kPatience));
}

TEST(LbStreaming, TheClientGetsTheFirstPartOfAResponseWhileTheServerStillHoldsTheRest) {
  client_sees_first_part_first("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", "hello", "world",
                               "content-length: 10\r\n\r\nhello", "helloworld");
}

TEST(LbStreaming, AChunkedResponseIsRelayedChunkByChunk) {
  client_sees_first_part_first("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "5\r\nhello\r\n",
                               "5\r\nworld\r\n0\r\n\r\n", "\r\n\r\n5\r\nhello\r\n", "5\r\nworld\r\n0\r\n\r\n");
}

TEST(LbStreaming, TheHeadReachesTheClientBeforeAnyBodyByte) {
  client_sees_first_part_first("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", "", "hello",
                               "content-length: 5\r\n\r\n", "\r\n\r\nhello");
}

// As haproxy 2.6 does (captured): the early answer goes out as the server sent it, with no
// `connection: close` even when the server said so; the rest of the body is waited for until
// `timeout client`, then the connection closes and the line says cD-- with the server's status.
TEST(LbStreaming, AServerThatAnswersBeforeTheBodyEndsIsPassedOnAndTheBodyAwaitedUntilTimeoutClient) {
  ScriptedBackend backend([&](int fd) {
    read_until(fd, kPatience, [](std::string_view b) { return has(b, "\r\n\r\n"); });
    send_all(fd, "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  });
  LbInFront front(backend.port());
  auto c = connect_to(front.fe);
  ASSERT_EQ(c.error, 0);
  send_all(c.fd.get(), "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\nsome");
  const auto got = read_to_end(c.fd.get(), kPatience);
  EXPECT_EQ(got.bytes, "HTTP/1.1 413 Payload Too Large\r\ncontent-length: 0\r\n\r\n");
  EXPECT_EQ(got.end, End::Eof);
  const auto line = front.lb.await_line("POST / HTTP/1.1", kPatience);
  ASSERT_TRUE(line);
  EXPECT_THAT(*line, ::testing::HasSubstr(" 413 64 - - cD-- "));
}

TEST(LbStreaming, AnInterim100ContinueIsPassedOnAndTheFinalResponseFollows) {
  ScriptedBackend backend([&](int fd) {
    read_until(fd, kPatience, [](std::string_view b) { return has(b, "\r\n\r\n"); });
    send_all(fd, "HTTP/1.1 100 Continue\r\n\r\n");
    read_until(fd, kPatience, [](std::string_view b) { return b.ends_with("body"); });
    send_all(fd, "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok");
  });
  LbInFront front(backend.port());
  auto c = connect_to(front.fe);
  ASSERT_EQ(c.error, 0);
  send_all(c.fd.get(), "PUT /f HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
  const auto interim = read_until(c.fd.get(), kPatience, [](std::string_view b) { return has(b, "\r\n\r\n"); });
  EXPECT_EQ(interim.bytes, "HTTP/1.1 100 Continue\r\n\r\n");
  send_all(c.fd.get(), "body");
  const auto final = read_until(c.fd.get(), kPatience, [](std::string_view b) { return b.ends_with("ok"); });
  EXPECT_THAT(final.bytes, ::testing::StartsWith("HTTP/1.1 201 Created\r\n"));
  const auto line = front.lb.await_line("PUT /f HTTP/1.1", kPatience);
  ASSERT_TRUE(line);
  EXPECT_THAT(*line, ::testing::HasSubstr(" 201 "));
}

// 64 MiB up and 64 MiB down on one exchange: lb's peak memory grows by far less than either.
TEST(LbStreaming, BodiesFarLargerThanAnyBufferPassWithoutLbHoldingThem) {
  constexpr std::size_t kBody = 64u << 20;
  std::size_t received_at_server = 0;
  ScriptedBackend backend([&](int fd) {
    auto got = read_until(fd, kPatience, [](std::string_view b) { return has(b, "\r\n\r\n"); });
    received_at_server = got.bytes.size() - (got.bytes.find("\r\n\r\n") + 4);
    char buf[65536];
    while (received_at_server < kBody) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(kPatience.count())) <= 0) return;
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return;
      received_at_server += static_cast<std::size_t>(n);
    }
    send_all(fd, fmt::format("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", kBody));
    const std::string block(1 << 20, 'd');
    for (std::size_t sent = 0; sent < kBody; sent += block.size())
      if (!send_all(fd, block)) return;
  });
  LbInFront front(backend.port());
  const long rss_before = proc_number(front.lb.pid(), "status", "VmHWM:");
  auto c = connect_to(front.fe);
  ASSERT_EQ(c.error, 0);
  std::thread uploader([&] {
    send_all(c.fd.get(), fmt::format("POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n", kBody));
    const std::string block(1 << 20, 'u');
    for (std::size_t sent = 0; sent < kBody; sent += block.size())
      if (!send_all(c.fd.get(), block)) return;
  });
  std::size_t downloaded = 0;
  std::string head;
  char buf[65536];
  while (true) {
    pollfd p{c.fd.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(kPatience.count())) <= 0) break;
    const ssize_t n = ::recv(c.fd.get(), buf, sizeof buf, 0);
    if (n <= 0) break;
    if (head.size() < 4096 && !has(head, "\r\n\r\n")) {
      head.append(buf, static_cast<std::size_t>(n));
      if (const auto end = head.find("\r\n\r\n"); end != std::string::npos) downloaded = head.size() - (end + 4);
      continue;
    }
    downloaded += static_cast<std::size_t>(n);
    if (downloaded >= kBody) break;
  }
  uploader.join();
  EXPECT_EQ(received_at_server, kBody);
  EXPECT_THAT(head, ::testing::StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_EQ(downloaded, kBody);
  const long rss_after = proc_number(front.lb.pid(), "status", "VmHWM:");
  ASSERT_GT(rss_before, 0);
  EXPECT_LT(rss_after - rss_before, 16 * 1024) << "peak RSS " << rss_before << " kB -> " << rss_after << " kB";
}

}  // namespace
}  // namespace lb::test
