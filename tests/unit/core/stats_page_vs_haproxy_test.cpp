// lb's stats page and Prometheus exporter against haproxy 2.6.12's own responses
// (tests/data/haproxy26/stats, captured by capture_scripts/stats_page.py), on the same
// configuration in the same server states: the same status lines and headers, the same CSV rows
// and metric lines with their labels. Values that count traffic or seconds are masked: the
// capture sent requests through haproxy and lb's simulated world sends none.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fmt/format.h>

#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "lb/core/api/runtime_api.hpp"
#include "lb/core/config/parser.hpp"
#include "lb/core/sim/sim_prober.hpp"
#include "lb/core/stats/page.hpp"
#include "tests/support/temp_file.hpp"

namespace lb::core::stats {
namespace {

struct Http {
  std::string head;  // status line and headers
  std::string body;  // dechunked
};

Http split_http(const std::string& raw) {
  Http h;
  const auto end = raw.find("\r\n\r\n");
  h.head = raw.substr(0, end + 2);
  std::string rest = raw.substr(end + 4);
  if (h.head.find("transfer-encoding: chunked") == std::string::npos) {
    h.body = rest;
    return h;
  }
  while (true) {
    const auto crlf = rest.find("\r\n");
    const auto n = std::stoul(rest.substr(0, crlf), nullptr, 16);
    if (n == 0) break;
    h.body += rest.substr(crlf + 2, n);
    rest = rest.substr(crlf + 2 + n + 2);
  }
  return h;
}

Http captured(const std::string& name) {
  return split_http(test::read_file(test::source_path("tests/data/haproxy26/stats/" + name + ".http")));
}

// Columns that count traffic or time, or the capture's history (chkdown: its earlier maintenances).
const std::set<std::string> kTrafficColumns{
    "chkdown", "scur", "smax", "stot", "bin", "bout", "ereq", "econ", "lastchg", "downtime", "lbtot", "rate", "rate_max",
    "check_duration", "hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "hrsp_other", "req_rate",
    "req_rate_max", "req_tot", "lastsess", "qtime", "ctime", "rtime", "ttime", "conn_rate", "conn_rate_max",
    "conn_tot", "intercepted", "connect", "qtime_max", "ctime_max", "rtime_max", "ttime_max", "need_conn_est",
    "h1_open_connections", "h1_open_streams", "h1_total_connections", "h1_total_streams", "h1_bytes_in", "h1_bytes_out"};

std::string mask_csv(const std::string& body) {
  std::istringstream in(body);
  std::string line, out;
  while (std::getline(in, line)) {
    if (!line.starts_with("#")) {
      std::vector<std::string> f;
      std::string cell;
      std::istringstream cells(line);
      while (std::getline(cells, cell, ',')) f.push_back(cell);
      for (std::size_t i = 0; i < f.size() && i < kFieldNames.size(); ++i)
        if (kTrafficColumns.contains(std::string(kFieldNames[i])) && !f[i].empty()) f[i] = "*";
      line.clear();
      for (const auto& c : f) line += c + ",";
    }
    out += line + "\n";
  }
  return out;
}

// The typed statistics as "ROW.IID.SID.POS.NAME:TAGS:TYPE:VALUE" lines (the JSON form turned into
// the same), traffic values masked, the stats proxies' rows left out (they count their own
// requests in haproxy).
std::vector<std::string> typed_fields(const std::string& body) {
  std::vector<std::string> lines;
  if (body.starts_with("[")) {
    const auto parsed = boost::json::parse(body);
    for (const auto& row : parsed.as_array())
      for (const auto& f : row.as_array()) {
        const auto& o = f.as_object();
        const auto& tags = o.at("tags").as_object();
        const auto& v = o.at("value").as_object();
        const std::string type(v.at("type").as_string());
        lines.push_back(fmt::format("{}.{}.{}.{}.{}:{}/{}/{}:{}:{}", std::string(o.at("objType").as_string()).substr(0, 1),
                                    o.at("proxyId").to_number<long>(), o.at("id").to_number<long>(),
                                    o.at("field").at("pos").to_number<long>(), std::string(o.at("field").at("name").as_string()),
                                    std::string(tags.at("origin").as_string()), std::string(tags.at("nature").as_string()),
                                    std::string(tags.at("scope").as_string()), type,
                                    type == "str" ? std::string(v.at("value").as_string()) : boost::json::serialize(v.at("value"))));
      }
  } else {
    std::istringstream in(body);
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) lines.push_back(line);
  }
  static const std::regex kLine(R"(^([FBS])\.([0-9]+)\.([0-9]+)\.([0-9]+)\.([^.:]+)(\.1)?:([^:]*):([^:]*):(.*)$)");
  std::map<std::string, std::string> proxy_of_iid;
  for (const auto& l : lines) {
    std::smatch m;
    if (std::regex_match(l, m, kLine) && m[5] == "pxname") proxy_of_iid[m[2]] = m[9];
  }
  std::vector<std::string> out;
  for (const auto& l : lines) {
    std::smatch m;
    if (!std::regex_match(l, m, kLine)) {
      out.push_back("unreadable: " + l);
      continue;
    }
    if (proxy_of_iid[m[2]].starts_with("stats")) continue;
    const std::string value = kTrafficColumns.contains(m[5]) ? "*" : std::string(m[9]);
    out.push_back(fmt::format("{}.{}.{}.{}.{}:{}:{}:{}", std::string(m[1]), std::string(m[2]), std::string(m[3]),
                              std::string(m[4]), std::string(m[5]), std::string(m[7]), std::string(m[8]), value));
  }
  return out;
}

// Metric lines of the frontend, backend and server scopes; values masked unless they say state.
std::string mask_metrics(const std::string& body) {
  static const std::regex kExact(
      "haproxy_(server_status|server_check_status|server_check_code|server_weight|server_uweight|backend_status|"
      "backend_weight|backend_uweight|backend_active_servers|backend_backup_servers|backend_agg_.*|frontend_status|"
      "frontend_limit_sessions|backend_limit_sessions|server_limit_sessions|server_check_failures_total|"
      "server_queue_limit|server_current_throttle|server_idle_connections_limit)\\{.*");
  std::istringstream in(body);
  std::string line, out;
  while (std::getline(in, line)) {
    if (line.find("haproxy_listener_") != std::string::npos || line.find("_stats") != std::string::npos) continue;
    if (line.starts_with("haproxy_process_build_info{")) line = "haproxy_process_build_info{*} 1";  // the version
    if (!line.starts_with("#") && !std::regex_match(line, kExact)) line = line.substr(0, line.rfind(' ')) + " *";
    out += line + "\n";
  }
  return out;
}

// The stats proxies count their own requests in haproxy: their rows are left out.
std::string without_stats_proxies(const std::string& csv) {
  std::istringstream in(csv);
  std::string line, out;
  while (std::getline(in, line))
    if (!line.starts_with("stats")) out += line + "\n";
  return out;
}

class StatsWorld {
 public:
  StatsWorld() {
    auto parsed = parse_config(test::read_file(test::source_path("tests/data/haproxy26/stats/haproxy.cfg")), "haproxy.cfg");
    for (const auto& d : parsed.diagnostics)
      if (d.level == Diagnostic::Level::Alert) ADD_FAILURE() << format_diagnostic(d);
    config_ = parsed.config;
    for (const int port : {43101, 43103, 43104, 43105})
      prober_.set({"127.0.0.1", static_cast<std::uint16_t>(port)}, SimBehavior::http(200, "OK"));
    backends_ = std::make_unique<Backends>(config_);
    engine_ = std::make_unique<CheckEngine>(config_, sched_, prober_, [this](const HealthEvent& e) { backends_->follow(e, *engine_); });
    api_ = std::make_unique<RuntimeApi>(config_, *engine_, *backends_, sched_, 9983);
    engine_->start();
    sched_.advance(Ms{2000});
  }
  // The commands, then time for the checks that follow them (the capture waited for them too).
  void api(const std::string& commands) {
    cli::Connection c(cli::Level::Admin, api_->handler());
    c.feed(commands);
    sched_.advance(Ms{1000});
  }
  Http get(std::string_view target, std::string_view port_frontend = "stats", std::string_view method = "GET",
           std::string_view body = "", std::optional<std::string_view> auth = std::nullopt) {
    const ProxyConfig* fe = nullptr;
    for (const auto& p : config_.proxies)
      if (p.name == port_frontend) fe = &p;
    const Source source{config_, *engine_, *backends_, sched_.now(), 9983, &process_};
    PageRequest req{method, target, auth, body, false, false, true};
    const auto service = local_service(*fe, method, target);
    EXPECT_NE(service, Service::None) << target;
    const auto answer = service == Service::Prometheus ? prometheus(req, source) : stats_page(*fe, req, source, *engine_);
    return split_http(answer.bytes);
  }

 private:
  SimScheduler sched_;
  ProcessInfo process_{.pid = 4242, .uptime_s = 12, .start_time_s = 1796160840, .ulimit_n = 20000, .maxsock = 20000,
                       .maxconn = 9983, .current_connections = 1, .listeners = 4};
  SimProber prober_{sched_};
  Config config_;
  std::unique_ptr<Backends> backends_;
  std::unique_ptr<CheckEngine> engine_;
  std::unique_ptr<RuntimeApi> api_;
};

TEST(StatsPageVsHaproxy, CsvHeadersAndRowsAsHaproxySendsThem) {
  StatsWorld w;
  const std::pair<const char*, const char*> cases[] = {{"r01_csv", "/stats;csv"},
                                                       {"r11_csv_up", "/stats;csv;up"},
                                                       {"r12_csv_no_maint", "/stats;csv;no-maint"},
                                                       {"r13_csv_scope_app", "/stats;csv?scope=app"},
                                                       {"r02_csv_norefresh", "/stats;csv;norefresh"}};
  for (const auto& [name, target] : cases) {
    const auto want = captured(name);
    const auto got = w.get(target);
    EXPECT_EQ(got.head, want.head) << name;
    EXPECT_EQ(without_stats_proxies(mask_csv(got.body)), without_stats_proxies(mask_csv(want.body))) << name;
  }
}

TEST(StatsPageVsHaproxy, TypedJsonAndTheJsonSchema) {
  StatsWorld w;
  for (const auto& [name, target] : {std::pair{"r06_typed", "/stats;typed"}, std::pair{"r05_json", "/stats;json"}}) {
    const auto want = captured(name);
    const auto got = w.get(target);
    EXPECT_EQ(got.head, want.head) << name;
    EXPECT_EQ(typed_fields(got.body), typed_fields(want.body)) << name;
  }
  const auto schema = captured("r07_json_schema");
  EXPECT_EQ(w.get("/stats;json-schema").head, schema.head);
  EXPECT_EQ(w.get("/stats;json-schema").body, schema.body);
  EXPECT_NO_THROW(boost::json::parse(w.get("/stats;json").body));
}

TEST(StatsPageVsHaproxy, CsvInMaintenanceDrainAndWeightZero) {
  StatsWorld w;
  w.api("set server apps/s1 state maint\nset server apps/s3 state drain\nset server apps/s4 weight 0\n");
  for (const auto& [name, target] : {std::pair{"b02_csv", "/stats;csv"}, std::pair{"b04_csv_up", "/stats;csv;up"},
                                     std::pair{"b05_csv_no_maint", "/stats;csv;no-maint"}}) {
    const auto want = captured(name);
    EXPECT_EQ(without_stats_proxies(mask_csv(w.get(target).body)), without_stats_proxies(mask_csv(want.body))) << name;
  }
  w.api("set server apps/s1 state ready\nset server apps/s3 state ready\nset server apps/s3 weight 0\n"
        "set server apps/s4 weight 1\nset server apps/s4 state drain\nset server apps/s5 health stopping\n");
  EXPECT_EQ(without_stats_proxies(mask_csv(w.get("/stats;csv").body)), without_stats_proxies(mask_csv(captured("c02_csv").body)));
}

TEST(StatsPageVsHaproxy, AuthenticationAndTheAdminForm) {
  StatsWorld w;
  const auto none = w.get("/stats", "stats_admin");
  const auto want = captured("a01_auth_none");
  EXPECT_EQ(none.head, want.head);
  EXPECT_EQ(none.body, want.body);
  EXPECT_EQ(w.get("/stats", "stats_admin", "GET", "", "Basic YWRtaW46d3Jvbmc=").head, captured("a02_auth_wrong").head);
  const auto ok = w.get("/stats;csv", "stats_admin", "GET", "", "Basic YWRtaW46c2VjcmV0");
  EXPECT_EQ(ok.head, captured("a04_auth_csv").head);
  // POST the form: 303 to ;st=DONE, and the server is in maintenance.
  const auto post = w.get("/stats", "stats_admin", "POST", "s=s1&action=maint&b=%233", "Basic YWRtaW46c2VjcmV0");
  EXPECT_EQ(post.head, captured("a06_post_maint_s1").head);
  EXPECT_EQ(without_stats_proxies(mask_csv(w.get("/stats;csv").body)), without_stats_proxies(mask_csv(captured("a08_csv_s1_maint").body)));
  EXPECT_EQ(w.get("/stats", "stats_admin", "POST", "s=nosuch&action=maint&b=apps", "Basic YWRtaW46c2VjcmV0").head,
            captured("a12_post_unknown_server").head);
  EXPECT_EQ(w.get("/stats", "stats_admin", "POST", "s=s1&s=nosuch&action=ready&b=apps", "Basic YWRtaW46c2VjcmV0").head,
            captured("a16_post_partial").head);
  // No admin rights on `listen stats`.
  EXPECT_EQ(w.get("/stats", "stats", "POST", "s=s1&action=maint&b=%233").head, captured("r16_post_no_admin").head);
}

TEST(StatsPageVsHaproxy, PrometheusMetricsNamesLabelsAndStates) {
  StatsWorld w;
  const auto want = captured("p01_metrics");
  const auto got = w.get("/metrics");
  EXPECT_EQ(got.head, want.head);
  EXPECT_EQ(mask_metrics(got.body), mask_metrics(want.body));
  w.api("set server apps/s1 state maint\nset server apps/s3 state drain\nset server apps/s4 weight 0\n");
  EXPECT_EQ(mask_metrics(w.get("/metrics").body), mask_metrics(captured("b08_metrics").body));
  EXPECT_EQ(mask_metrics(w.get("/metrics?no-maint").body), mask_metrics(captured("b09_metrics_no_maint").body));
  EXPECT_EQ(w.get("/metrics?scope=foo").head, captured("p08_metrics_scope_bogus").head);
  EXPECT_EQ(w.get("/metrics?scope=").body, captured("p06_metrics_scope_empty").body);
  // The process metrics: `show info`'s fields under promex's names, HELP and TYPE, in its order.
  EXPECT_EQ(mask_metrics(w.get("/metrics?scope=global").body), mask_metrics(captured("p05_metrics_scope_global").body));
  EXPECT_THAT(w.get("/metrics?scope=global").body,
              ::testing::AllOf(::testing::HasSubstr("\nhaproxy_process_max_connections 9983\n"),
                               ::testing::HasSubstr("\nhaproxy_process_uptime_seconds 12\n"),
                               ::testing::HasSubstr("\nhaproxy_process_current_zlib_memory NaN\n"),
                               ::testing::HasSubstr("\nhaproxy_process_start_time_seconds 1796160840\n")));
}

// Prometheus' text format: HELP and TYPE once before a metric's samples, samples as
// name{label="v",...} value, a value a float or NaN, one trailing newline.
TEST(StatsPrometheus, TheExpositionFollowsPrometheusTextFormatRules) {
  StatsWorld w;
  const auto body = w.get("/metrics").body;
  ASSERT_FALSE(body.empty());
  EXPECT_EQ(body.back(), '\n');
  // Labels are optional (the process metrics have none).
  static const std::regex kSample(
      R"re([a-z_:][a-z0-9_:]*(\{([a-z_]+="[^"]*",)*[a-z_]+="[^"]*"\})? (-?[0-9]+(\.[0-9]+)?|NaN))re");
  std::istringstream in(body);
  std::string line, current;
  std::set<std::string> done;
  while (std::getline(in, line)) {
    if (line.starts_with("# HELP ")) {
      current = line.substr(7, line.find(' ', 7) - 7);
      EXPECT_FALSE(done.contains(current)) << "two HELP lines for " << current;
      done.insert(current);
      continue;
    }
    if (line.starts_with("# TYPE ")) {
      EXPECT_EQ(line.substr(7, current.size()), current);
      const auto type = line.substr(8 + current.size());
      EXPECT_TRUE(type == "gauge" || type == "counter") << line;
      continue;
    }
    EXPECT_TRUE(std::regex_match(line, kSample)) << line;
    EXPECT_TRUE(line.substr(0, current.size() + 1) == current + "{" || line.substr(0, current.size() + 1) == current + " ")
        << line;
  }
  EXPECT_GT(done.size(), 100u);
}

}  // namespace
}  // namespace lb::core::stats
