// TLS listeners and their faults on the real binary, against curl and real haproxy: the ground
// for SSL health checks (check-ssl, check ssl verify).
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "tests/integration/mockserver_client.hpp"
#include "tests/support/ports.hpp"
#include "tests/support/temp_file.hpp"

namespace lb::test {
namespace {

struct Curl {
  int exit = -1;
  std::string out, err;
  long ms = 0;
};

Curl curl(std::vector<std::string> args) {
  args.insert(args.begin(), {"-s", "-S", "--max-time", "5"});
  const auto start = Clock::now();
  auto c = Child::start("/usr/bin/curl", args, {.ready_line = ""});
  Curl r;
  r.exit = c.wait_exit(kPatience).value_or(-1);
  r.ms = std::chrono::duration_cast<milliseconds>(Clock::now() - start).count();
  for (const auto& l : c.stdout_lines()) r.out += l;
  r.err = c.stderr_text();
  return r;
}

// A certificate for localhost, made by the openssl command as a user would.
struct CertFiles {
  TempDir dir;
  std::string cert = (dir.path() / "cert.pem").string(), key = (dir.path() / "key.pem").string();
  CertFiles() {
    auto c = Child::start("/usr/bin/openssl",
                          {"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                           key, "-out", cert, "-days", "1", "-subj", "/CN=localhost", "-addext",
                           "subjectAltName=DNS:localhost"},
                          {.ready_line = ""});
    EXPECT_EQ(c.wait_exit(kPatience), 0) << c.stderr_text();
  }
};

TEST(MockTls, ASelfSignedListenerServesHttpsAndJournalsPlainHttpAsATlsError) {
  Mock m({"--listen", "s1=127.0.0.1:0", "--tls", "s1=self-signed"});
  const auto ok = curl({"-k", fmt::format("https://127.0.0.1:{}/x", m.port())});
  EXPECT_EQ(ok.exit, 0) << ok.err;
  EXPECT_EQ(ok.out, "hello from s1");
  EXPECT_NE(curl({fmt::format("http://127.0.0.1:{}/x", m.port())}).exit, 0);
  ASSERT_TRUE(m.wait_journal("listener=s1", 2));
  EXPECT_EQ(m.journal().at(1).at("outcome"), "tls-error: http request (SSL routines)");
}

TEST(MockTls, CertificateFilesVerifyAndTheFaultsBreakTheHandshakeAsTold) {
  CertFiles pem;
  Mock m({"--listen", "s1=127.0.0.1:0", "--tls", "s1=" + pem.cert + "," + pem.key});
  const auto url = fmt::format("https://localhost:{}/", m.port());
  const auto resolve = fmt::format("localhost:{}:127.0.0.1", m.port());
  auto verified = [&](std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--cacert", pem.cert, "--resolve", resolve};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(url);
    return curl(args);
  };
  EXPECT_EQ(verified().exit, 0) << verified().err;

  ASSERT_EQ(m.call("PUT", "/v1/listeners/s1/fault", R"({"fault": "tls-wrong-cert"})").status, 200);
  const auto wrong = verified();
  EXPECT_EQ(wrong.exit, 60) << wrong.err;  // the peer's certificate cannot be verified
  EXPECT_EQ(curl({"-k", url, "--resolve", resolve}).exit, 0);

  ASSERT_EQ(m.call("PUT", "/v1/listeners/s1/fault", R"({"fault": "tls13-only"})").status, 200);
  EXPECT_EQ(verified({"--tls-max", "1.2"}).exit, 35);
  EXPECT_EQ(verified({"--tlsv1.3"}).exit, 0);

  ASSERT_EQ(m.call("PUT", "/v1/listeners/s1/fault", R"({"fault": "tls-handshake-failure"})").status, 200);
  const auto failed = verified();
  EXPECT_EQ(failed.exit, 35);
  EXPECT_NE(failed.err.find("handshake failure"), std::string::npos) << failed.err;

  ASSERT_EQ(m.call("PUT", "/v1/listeners/s1/fault", R"({"fault": {"kind": "tls-slow-handshake", "ms": 300}})").status, 200);
  const auto slow = verified();
  EXPECT_EQ(slow.exit, 0) << slow.err;
  EXPECT_GE(slow.ms, 300);
}

TEST(MockTls, BadTlsInputExits2AsCheckSaysItWould) {
  TempDir dir;
  const auto junk = dir.write("junk.pem", "not a certificate\n");
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--listen", "s1=127.0.0.1:0", "--tls", "s1=/nonexistent.pem,/nonexistent.key"},
        std::vector<std::string>{"--listen", "s1=127.0.0.1:0", "--tls", "s1=" + junk.string() + "," + junk.string()},
        std::vector<std::string>{"--listen", "s1=127.0.0.1:0", "--tls", "s1=only-one.pem"},
        std::vector<std::string>{"--listen", "s1=127.0.0.1:0", "--fault", "s1=tls-wrong-cert"}}) {
    for (const bool check : {true, false}) {
      auto a = args;
      if (check) a.insert(a.begin(), "--check");
      auto c = Child::start(MOCKSERVER_BIN, a, {.ready_line = ""});
      EXPECT_EQ(c.wait_exit(kPatience), 2) << args.back() << (check ? " --check" : "") << ": " << c.stderr_text();
    }
  }
  Mock plain({"--listen", "s1=127.0.0.1:0"});
  const auto r = plain.call("PUT", "/v1/listeners/s1/fault", R"({"fault": "tls13-only"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.raw.find("needs a TLS listener"), std::string::npos) << r.raw;
}

// haproxy's SSL health check against a TLS listener: UP, then DOWN when the handshake fails.
TEST(MockTls, HaproxysSslCheckSeesTheHandshakeFail) {
  Mock m({"--listen", "s1=127.0.0.1:0", "--tls", "s1=self-signed"});
  TempDir dir;
  const auto cfg =
      dir.write("h.cfg", haproxy_checking(m.port(), "check check-ssl verify none inter 100ms rise 1 fall 1", "1s"));
  auto haproxy = Child::start("/usr/sbin/haproxy", {"-db", "-f", cfg.string()}, {.ready_line = ""});
  ASSERT_TRUE(m.wait_journal("listener=s1&path=/health", 2)) << haproxy.stderr_text();
  ASSERT_EQ(m.call("PUT", "/v1/listeners/s1/fault", R"({"fault": "tls-handshake-failure"})").status, 200);
  const auto down = haproxy.await_line("Server be/s1 is DOWN", kPatience);
  ASSERT_TRUE(down) << haproxy.stderr_text();
  EXPECT_NE(down->find("reason: Layer6 invalid response, info: \"SSL handshake failure\""), std::string::npos) << *down;
  haproxy.stop();
}

}  // namespace
}  // namespace lb::test
