// NetProber on loopback: the Prober contract (events from the loop, nothing after the handle
// is gone, OS error texts) against a real acceptor in the same io_context.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>

#include <cstring>
#include <gtest/gtest.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "lb/net/net_prober.hpp"

namespace lb::test {
namespace {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct Recorder final : core::ProbeEvents {
  std::vector<std::string> events;
  std::function<void()> on_connect_hook;
  void on_connected() override {
    events.push_back("connected");
    if (on_connect_hook) on_connect_hook();
  }
  void on_data(std::string_view b) override { events.push_back("data:" + std::string(b)); }
  void on_peer_closed() override { events.push_back("closed"); }
  void on_error(std::string_view e) override { events.push_back("error:" + std::string(e)); }
  void on_connect_failed(int error, bool tcp) override {
    events.push_back(fmt::format("{} connect failed:{}", tcp ? "tcp" : "unix", std::strerror(error)));
  }
};

class NetProberOnLoopback : public ::testing::Test {
 protected:
  // Runs the loop until `done` holds; fails the test after two seconds instead of hanging.
  void run_until(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      io_.restart();
      io_.run_one_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(done()) << "timed out";
  }
  core::ProbeTarget target() const { return {"127.0.0.1", acceptor_.local_endpoint().port()}; }

  asio::io_context io_;
  tcp::acceptor acceptor_{io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  net::NetProber prober_{io_};
  Recorder rec_;
};

TEST_F(NetProberOnLoopback, ARefusedConnectReportsTheOsTextFromTheLoop) {
  const auto t = target();
  acceptor_.close();
  auto conn = prober_.connect(t, rec_);
  EXPECT_TRUE(rec_.events.empty());  // never from inside connect()
  run_until([&] { return !rec_.events.empty(); });
  EXPECT_EQ(rec_.events, (std::vector<std::string>{"error:Connection refused"}));
}

TEST_F(NetProberOnLoopback, SendsOnConnectAndDeliversTheReplyThenTheClose) {
  tcp::socket server(io_);
  asio::streambuf request;
  acceptor_.async_accept(server, [&](boost::system::error_code ec) {
    ASSERT_FALSE(ec);
    asio::async_read_until(server, request, "\n", [&](boost::system::error_code ec2, std::size_t) {
      ASSERT_FALSE(ec2);
      asio::write(server, asio::buffer(std::string("PONG\r\n")));
      server.shutdown(tcp::socket::shutdown_send);
    });
  });
  std::unique_ptr<core::ProbeConnection> conn;
  rec_.on_connect_hook = [&] { conn->send("PING\n"); };
  conn = prober_.connect(target(), rec_);
  run_until([&] { return rec_.events.size() >= 3; });
  EXPECT_EQ(rec_.events, (std::vector<std::string>{"connected", "data:PONG\r\n", "closed"}));
  EXPECT_EQ(std::string(asio::buffers_begin(request.data()), asio::buffers_end(request.data())), "PING\n");
}

TEST_F(NetProberOnLoopback, DestroyingTheHandleInsideAnEventStopsEventsAndResetsTheConnection) {
  tcp::socket server(io_);
  boost::system::error_code server_read;
  bool server_done = false;
  std::array<char, 16> buf{};
  acceptor_.async_accept(server, [&](boost::system::error_code ec) {
    ASSERT_FALSE(ec);
    // Would be on_data, if still alive. The prober may have reset the connection already (it
    // learns of the connect before this accept runs): then the write is the one to see it.
    boost::system::error_code wrote;
    asio::write(server, asio::buffer(std::string("hello")), wrote);
    if (wrote) {
      server_read = wrote;
      server_done = true;
      return;
    }
    server.async_read_some(asio::buffer(buf), [&](boost::system::error_code e, std::size_t) {
      server_read = e;
      server_done = true;
    });
  });
  std::unique_ptr<core::ProbeConnection> conn;
  rec_.on_connect_hook = [&] { conn.reset(); };
  conn = prober_.connect(target(), rec_);
  run_until([&] { return server_done; });
  EXPECT_EQ(rec_.events, (std::vector<std::string>{"connected"}));
  EXPECT_EQ(server_read, asio::error::connection_reset);  // SO_LINGER 0: a reset, no TIME_WAIT here
}

TEST_F(NetProberOnLoopback, ATargetThatIsNotAnAddressLiteralFailsFromTheLoop) {
  auto conn = prober_.connect({"not-an-address", 80}, rec_);
  EXPECT_TRUE(rec_.events.empty());
  run_until([&] { return !rec_.events.empty(); });
  EXPECT_EQ(rec_.events, (std::vector<std::string>{"error:Invalid argument"}));
}

TEST_F(NetProberOnLoopback, NoEventAfterTheHandleIsDestroyedWhileConnecting) {
  auto conn = prober_.connect(target(), rec_);
  conn.reset();
  tcp::socket server(io_);
  bool accepted = false;
  acceptor_.async_accept(server, [&](boost::system::error_code) { accepted = true; });
  run_until([&] { return accepted; });
  io_.restart();
  io_.run_for(std::chrono::milliseconds(20));
  EXPECT_TRUE(rec_.events.empty());
}

// UNIX sockets, by path and in the abstract namespace: connect() answers at once, so a missing
// path or an abstract name nobody binds is a failure of connect() itself, which HAProxy calls a
// socket error rather than a layer-4 one.
TEST_F(NetProberOnLoopback, AUnixPathIsConnectedAndAMissingOneFailsInConnectItself) {
  const std::string path = fmt::format("/tmp/lbh-prober-{}.sock", ::getpid());
  ::unlink(path.c_str());
  asio::local::stream_protocol::acceptor unix_acceptor(io_, asio::local::stream_protocol::endpoint(path));
  auto conn = prober_.connect({"unix@" + path, 0}, rec_);
  run_until([&] { return !rec_.events.empty(); });
  EXPECT_EQ(rec_.events, (std::vector<std::string>{"connected"}));
  conn.reset();
  unix_acceptor.close();
  ::unlink(path.c_str());
  rec_.events.clear();
  conn = prober_.connect({"unix@" + path, 0}, rec_);
  EXPECT_TRUE(rec_.events.empty());  // never from inside connect()
  run_until([&] { return !rec_.events.empty(); });
  EXPECT_EQ(rec_.events, (std::vector<std::string>{"unix connect failed:No such file or directory"}));
}

TEST_F(NetProberOnLoopback, AnAbstractNameIsReachedZeroPaddedAsHaproxyBindsIt) {
  const std::string name = fmt::format("lbh-prober-{}", ::getpid());
  auto conn = prober_.connect({"abns@" + name, 0}, rec_);
  run_until([&] { return !rec_.events.empty(); });
  EXPECT_EQ(rec_.events, (std::vector<std::string>{"unix connect failed:Connection refused"}));
  conn.reset();
  rec_.events.clear();
  // Bound as HAProxy binds abns@NAME: the name, then NULs to the end of sun_path.
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  std::copy(name.begin(), name.end(), un.sun_path + 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&un), sizeof un), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  conn = prober_.connect({"abns@" + name, 0}, rec_);
  run_until([&] { return !rec_.events.empty(); });
  EXPECT_EQ(rec_.events, (std::vector<std::string>{"connected"}));
  ::close(fd);
}

}  // namespace
}  // namespace lb::test
