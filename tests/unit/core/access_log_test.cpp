// httplog/tcplog lines as haproxy 2.6.12 printed them (tests/data/haproxy26/httplog.tsv).
#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <map>
#include <sstream>

#include "lb/core/log/access_log.hpp"
#include "tests/support/temp_file.hpp"

namespace lb::core {
namespace {

std::map<std::string, std::vector<std::string>> captured() {
  std::map<std::string, std::vector<std::string>> out;
  std::istringstream in(test::read_file(test::source_path("tests/data/haproxy26/httplog.tsv")));
  std::string row;
  std::getline(in, row);
  while (std::getline(in, row))
    if (const auto tab = row.find('\t'); tab != std::string::npos) out[row.substr(0, tab)].push_back(row.substr(tab + 1));
  return out;
}

// 01/Dec/2026:HH:MM:SS.mmm in UTC.
std::chrono::system_clock::time_point at(int h, int m, int s, int ms) {
  std::tm tm{};
  tm.tm_year = 2026 - 1900;
  tm.tm_mon = 11;
  tm.tm_mday = 1;
  tm.tm_hour = h;
  tm.tm_min = m;
  tm.tm_sec = s;
  return std::chrono::system_clock::from_time_t(::timegm(&tm)) + std::chrono::milliseconds(ms);
}

class AccessLog : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("TZ", "UTC", 1);
    ::tzset();
  }
  static AccessRecord base(std::uint16_t port, std::chrono::system_clock::time_point date) {
    AccessRecord r;
    r.client = "127.0.0.1";
    r.client_port = port;
    r.date = date;
    r.frontend = "fe";
    r.backend = "apps";
    r.server = "s1";
    r.actconn = r.feconn = 1;
    r.request_line = "GET / HTTP/1.1";
    return r;
  }
  const std::map<std::string, std::vector<std::string>> lines_ = captured();
};

TEST_F(AccessLog, ANormalExchange) {
  auto r = base(57474, at(9, 42, 33, 206));
  r.TR = r.Tw = r.Tc = r.Tr = r.Ta = 0;
  r.status = 200;
  r.bytes = 52;
  EXPECT_EQ(httplog_line(r), lines_.at("ok_get").at(0));
}

TEST_F(AccessLog, NoServerAvailable) {
  auto r = base(57492, at(9, 42, 34, 908));
  r.server = "<NOSRV>";
  r.TR = 0;
  r.Ta = 0;
  r.status = 503;
  r.bytes = 217;
  r.term = {'S', 'C'};
  EXPECT_EQ(httplog_line(r), lines_.at("no_server_disabled").at(0));
}

TEST_F(AccessLog, RetriesShowAPlusWhenRedispatched) {
  auto r = base(51338, at(9, 42, 40, 928));
  r.server = "s2";
  r.TR = r.Tw = r.Ta = 0;
  r.status = 503;
  r.bytes = 217;
  r.term = {'S', 'C'};
  r.retries = 3;
  r.redispatched = true;
  EXPECT_EQ(httplog_line(r), lines_.at("connect_refused_redispatch").at(0));
}

TEST_F(AccessLog, ABadRequestIsLoggedOnTheFrontendWithBadreq) {
  auto r = base(51358, at(9, 42, 44, 704));
  r.backend = "fe";
  r.server = "<NOSRV>";
  r.Ta = 0;
  r.status = 400;
  r.term = {'P', 'R'};
  r.request_line = "<BADREQ>";
  EXPECT_EQ(httplog_line(r), lines_.at("bad_request_dup_cl").at(0));
}

TEST_F(AccessLog, TheRequestLineEscapesQuotes) {
  auto r = base(47414, at(9, 43, 2, 894));
  r.TR = r.Tw = r.Tc = r.Tr = r.Ta = 0;
  r.status = 200;
  r.bytes = 52;
  r.request_line = "GET /a?b=\"c\"&d=%20 HTTP/1.1";
  EXPECT_EQ(httplog_line(r), lines_.at("request_line_escaping").at(0));
}

// haproxy's strm_log under `option dontlog-normal`: what still gets a line.
TEST_F(AccessLog, DontlogNormalKeepsOnlyTheExchangesThatWentWrong) {
  auto r = base(1, at(0, 0, 0, 0));
  r.status = 200;
  EXPECT_FALSE(abnormal_exchange(r, true));
  r.term = {'L', 'R'};  // answered by the proxy itself (a stats page, a redirect)
  EXPECT_FALSE(abnormal_exchange(r, true));
  for (const char cause : {'C', 'c', 'S', 's', 'P', 'R', 'I', 'D', 'K', 'U'}) {
    r.term = {cause, 'D'};
    EXPECT_TRUE(abnormal_exchange(r, true)) << cause;
  }
  r.term = {};
  r.retries = 1;  // a retry that then succeeded
  EXPECT_TRUE(abnormal_exchange(r, true));
  r.retries = 0;
  r.redispatched = true;
  EXPECT_TRUE(abnormal_exchange(r, true));
  r.redispatched = false;
  r.status = 503;
  EXPECT_TRUE(abnormal_exchange(r, true));
  EXPECT_FALSE(abnormal_exchange(r, false));  // a status only counts in mode http
  r.status = 404;
  EXPECT_FALSE(abnormal_exchange(r, true));
}

TEST_F(AccessLog, ATcpSession) {
  auto r = base(47430, at(9, 43, 3, 604));
  r.Tw = 1;
  r.Tc = 0;
  r.Ta = 51;
  r.bytes = 6;
  EXPECT_EQ(tcplog_line(r), lines_.at("tcp_forward").at(0));
}

// Lines haproxy 2.6 sent for frontends with `log global` and no log format.
TEST_F(AccessLog, AFrontendWithoutALogFormatTellsOfEachStreamItStarts) {
  EXPECT_EQ(connect_line("127.0.0.1", 53042, "127.0.0.1", 58171, "fh", true),
            "Connect from 127.0.0.1:53042 to 127.0.0.1:58171 (fh/HTTP)");
  EXPECT_EQ(connect_line("::1", 33296, "::1", 58171, "fh", true), "Connect from ::1:33296 to ::1:58171 (fh/HTTP)");
  EXPECT_EQ(connect_line("127.0.0.1", 46962, "127.0.0.1", 45061, "ft", false),
            "Connect from 127.0.0.1:46962 to 127.0.0.1:45061 (ft/TCP)");
}

}  // namespace
}  // namespace lb::core
