// The real `lb` serving the stats page and the Prometheus exporter on loopback: the CSV, Basic
// authentication, the admin form's POST and its log line, the metrics, and the HTML page as a
// browser shows it (headless Chromium: a screenshot, and the DOM's rows and colours) where
// chromium is installed. The byte-level match with haproxy's answers is stats_page_vs_haproxy_test's.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <thread>

#include "tests/integration/lb_world.hpp"

namespace lb::test {
namespace {

using ::testing::HasSubstr;

std::string stats_config(int stats_port) {
  return fmt::format(R"(global
    log stdout format raw local0
defaults
    mode http
    log global
    option httplog
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:{{{{fe}}}}
    default_backend apps
backend apps
    option httpchk GET /health
    server s1 127.0.0.1:{{{{s1}}}} check inter 100ms
    server s2 127.0.0.1:{{{{s2}}}} check inter 100ms backup
listen stats
    bind 127.0.0.1:{}
    stats enable
    stats uri /stats
    stats refresh 5s
    stats auth admin:secret
    stats admin if TRUE
    http-request use-service prometheus-exporter if {{ path /metrics }}
)",
                     stats_port);
}

// "Basic " + base64("admin:secret")
constexpr std::string_view kAuth = "Authorization: Basic YWRtaW46c2VjcmV0\r\n";

std::string dechunked(const std::string& body) {
  std::string out, rest = body;
  while (true) {
    const auto crlf = rest.find("\r\n");
    if (crlf == std::string::npos) break;
    const auto n = std::stoul(rest.substr(0, crlf), nullptr, 16);
    if (n == 0) break;
    out += rest.substr(crlf + 2, n);
    rest = rest.substr(crlf + 2 + n + 2);
  }
  return out;
}

class LbStatsPage : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = free_tcp_port();
    w_.start_lb(stats_config(port_));  // returns once lb says "ready"
  }
  Received get(std::string_view target, std::string_view headers = kAuth) { return http(port_, "GET", target, headers); }
  LbWorld w_{{"s1", "s2"}, {}};
  int port_ = 0;
};

TEST_F(LbStatsPage, CsvAuthenticationAndTheAdminForm) {
  const auto denied = get("/stats;csv", "");
  EXPECT_EQ(status_of(denied.bytes), 401);
  EXPECT_THAT(denied.bytes, HasSubstr("www-authenticate: Basic realm=\"HAProxy Statistics\"\r\n"));

  const auto csv = get("/stats;csv");
  ASSERT_EQ(status_of(csv.bytes), 200) << csv.bytes;
  EXPECT_THAT(csv.bytes, HasSubstr("content-type: text/plain\r\nrefresh: 5\r\n"));
  const auto rows = dechunked(body_of(csv.bytes));
  EXPECT_TRUE(rows.starts_with("# pxname,svname,qcur,")) << rows;
  EXPECT_THAT(rows, HasSubstr("\napps,s1,"));
  EXPECT_THAT(rows, HasSubstr("\napps,BACKEND,"));

  const std::string form = "s=s1&action=maint&b=apps";
  const auto post = http(port_, "POST", "/stats",
                         fmt::format("{}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{}",
                                     kAuth, form.size(), form));
  EXPECT_EQ(status_of(post.bytes), 303) << post.bytes;
  EXPECT_THAT(post.bytes, HasSubstr("location: /stats;st=DONE\r\n"));
  EXPECT_TRUE(w_.await("Server apps/s1 is going DOWN for maintenance.")) << w_.lb().stderr_text();
  EXPECT_THAT(dechunked(body_of(get("/stats;csv").bytes)), HasSubstr("\napps,s1,0,0,0,0,,0,0,0,,0,,0,0,0,0,MAINT,"));
  EXPECT_TRUE(w_.await("stats stats/<STATS> "));
}

TEST_F(LbStatsPage, PrometheusSaysTheStateOfEveryServer) {
  const auto r = get("/metrics", "");
  ASSERT_EQ(status_of(r.bytes), 200) << r.bytes;
  EXPECT_THAT(r.bytes, HasSubstr("content-type: text/plain; version=0.0.4\r\n"));
  const auto text = dechunked(body_of(r.bytes));
  EXPECT_THAT(text, HasSubstr("# TYPE haproxy_server_status gauge\n"));
  EXPECT_THAT(text, HasSubstr("haproxy_server_status{proxy=\"apps\",server=\"s2\",state=\"UP\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("haproxy_backend_active_servers{proxy=\"apps\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("haproxy_backend_backup_servers{proxy=\"apps\"} 1\n"));
}

TEST_F(LbStatsPage, TheHtmlPageRendersInABrowser) {
  if (std::system("command -v chromium >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "chromium is not installed (LBH_WITH_BROWSER=1 ci/install-deps.sh installs it)";
  // s2's first check passes (UP, fully: backup_up), s1 goes into maintenance.
  ASSERT_TRUE(w_.mock().wait_journal("listener=s2&path_prefix=/health"));
  // Its answer reaches lb's loop a moment later: polled, bounded.
  const auto deadline = std::chrono::steady_clock::now() + kPatience;
  while (dechunked(body_of(get("/stats;csv").bytes)).find("\napps,s2,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP,") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  ASSERT_EQ(status_of(http(port_, "POST", "/stats",
                           fmt::format("{}Content-Length: 24\r\n\r\ns=s1&action=maint&b=apps", kAuth))
                          .bytes),
            303);
  const auto page = get("/stats");
  ASSERT_EQ(status_of(page.bytes), 200);
  TempDir dir;
  const auto html = dir.write("stats.html", dechunked(body_of(page.bytes)));
  const auto shot = dir.path() / "stats.png";
  const std::vector<std::string> common{"--headless", "--no-sandbox", "--disable-gpu", "--window-size=1200,700",
                                        "--user-data-dir=" + (dir.path() / "profile").string()};
  auto args = common;
  args.push_back("--screenshot=" + shot.string());
  args.push_back("file://" + html.string());
  EXPECT_EQ(Child::start("/usr/bin/chromium", args, {.ready_line = ""}).wait_exit(60s), 0);
  const auto png = read_file(shot);
  ASSERT_GT(png.size(), 8000u) << "an empty or blank screenshot";
  EXPECT_EQ(png.substr(1, 3), "PNG");
  args = common;
  args.push_back("--dump-dom");
  args.push_back("file://" + html.string());
  auto dump = Child::start("/usr/bin/chromium", args, {.ready_line = ""});
  ASSERT_EQ(dump.wait_exit(60s), 0);
  std::string dom;
  for (const auto& l : dump.stdout_lines()) dom += l + "\n";
  EXPECT_THAT(dom, HasSubstr("<tr class=\"maintain\"><td><input class=\"apps-checkbox\""));  // s1, in MAINT
  EXPECT_THAT(dom, HasSubstr("<tr class=\"backup_up\">"));                                  // s2
  EXPECT_THAT(dom, HasSubstr("<select name=\"action\">"));                                  // the admin form
  EXPECT_THAT(dom, HasSubstr("MAINT"));
}

}  // namespace
}  // namespace lb::test
