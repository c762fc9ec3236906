// mockserver's DNS responder on the real binary: UDP and TCP answers, live changes through the
// API, faults, the journal, and bad input.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "lb/core/dns/message.hpp"
#include "tests/integration/mockserver_client.hpp"

namespace lb::test {
namespace {

namespace dns = lb::core::dns;

std::string query(const std::string& name, std::uint16_t type = dns::type::A) {
  dns::Message q;
  q.id = 77;
  q.questions = {{name, type, 1}};
  return dns::serialize(q);
}

// One query over UDP; nullopt when no answer came within `wait`.
std::optional<dns::Message> ask_udp(int port, const std::string& name, milliseconds wait = milliseconds(2000)) {
  Fd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const auto q = query(name);
  ::sendto(fd.get(), q.data(), q.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  pollfd p{fd.get(), POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(wait.count())) != 1) return std::nullopt;
  char buf[4096];
  const auto n = ::recv(fd.get(), buf, sizeof buf, 0);
  if (n <= 0) return std::nullopt;
  return dns::parse(std::string_view(buf, static_cast<std::size_t>(n))).message;
}

std::optional<dns::Message> ask_tcp(int port, const std::string& name) {
  auto c = connect_to(port);
  if (c.error != 0) return std::nullopt;
  const auto q = query(name);
  std::string framed;
  framed += static_cast<char>(q.size() >> 8);
  framed += static_cast<char>(q.size() & 0xFF);
  send_all(c.fd.get(), framed + q);
  const auto r = read_until(c.fd.get(), kPatience, [](std::string_view b) {
    return b.size() >= 2 &&
           b.size() >= 2 + static_cast<std::size_t>((static_cast<unsigned char>(b[0]) << 8) | static_cast<unsigned char>(b[1]));
  });
  if (r.bytes.size() < 2) return std::nullopt;
  return dns::parse(std::string_view(r.bytes).substr(2)).message;
}

TEST(MockDns, AnswersOverUdpAndTcpAndChangesLive) {
  Mock m({"--dns", "127.0.0.1:0", "--dns-record", "app2.lbh.test A 127.0.0.2"});
  const int port = m.dns_port();
  ASSERT_GT(port, 0);
  auto a = ask_udp(port, "app2.lbh.test");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->id, 77);
  ASSERT_EQ(a->answers.size(), 1u);
  EXPECT_EQ(a->answers[0].address, "127.0.0.2");
  auto t = ask_tcp(port, "app2.lbh.test");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->answers.at(0).address, "127.0.0.2");

  // The container re-created elsewhere, through the API.
  ASSERT_EQ(m.call("PUT", "/v1/dns/records", R"([{"name": "app2.lbh.test", "type": "A", "value": "127.0.0.3"}])").status, 200);
  EXPECT_EQ(ask_udp(port, "app2.lbh.test")->answers.at(0).address, "127.0.0.3");
  ASSERT_EQ(m.call("PUT", "/v1/dns/faults", R"([{"kind": "servfail", "name": "app2.lbh.test"}])").status, 200);
  EXPECT_EQ(ask_udp(port, "app2.lbh.test")->rcode, dns::rcode::ServFail);
  ASSERT_EQ(m.call("PUT", "/v1/dns/faults", R"(["no-answer"])").status, 200);
  EXPECT_FALSE(ask_udp(port, "app2.lbh.test", milliseconds(300)));
  EXPECT_EQ(m.call("GET", "/v1/dns").json.at("faults").at(0).at("kind"), "no-answer");

  const auto bad = m.call("PUT", "/v1/dns/records", R"([{"name": "x", "type": "A", "value": "nope"}])");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.json.at("field"), "records[0].value");
  // Every query is journaled: type, name, what was answered, and how it came.
  ASSERT_TRUE(m.wait_journal("listener=dns", 5));
  const auto entries = m.journal("listener=dns");
  EXPECT_EQ(entries.at(0).at("method"), "A");
  EXPECT_EQ(entries.at(0).at("path"), "app2.lbh.test");
  EXPECT_EQ(entries.at(0).at("outcome"), "NOERROR 1 answer(s)");
  EXPECT_EQ(entries.at(0).at("end"), "udp");
  EXPECT_EQ(entries.at(1).at("end"), "tcp");
  EXPECT_EQ(entries.at(4).at("outcome"), "fault:no-answer");
}

TEST(MockDns, BadDnsFlagsExit2) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--dns", "localhost:53"},
        std::vector<std::string>{"--dns", "127.0.0.1:0", "--dns-record", "app A not-an-address"},
        std::vector<std::string>{"--dns", "127.0.0.1:0", "--dns-fault", "app=melt"},
        std::vector<std::string>{"--listen", "s1=127.0.0.1:0", "--dns-record", "app A 127.0.0.2"}}) {
    auto c = Child::start(MOCKSERVER_BIN, args, {.ready_line = ""});
    EXPECT_EQ(c.wait_exit(kPatience), 2) << args.back() << ": " << c.stderr_text();
  }
  Mock plain({"--listen", "s1=127.0.0.1:0"});
  EXPECT_EQ(plain.call("GET", "/v1/dns").status, 404);
}

}  // namespace
}  // namespace lb::test
