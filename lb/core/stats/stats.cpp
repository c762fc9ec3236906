#include "lb/core/stats/stats.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "lb/core/check/status.hpp"

namespace lb::core::stats {

const std::array<std::string_view, kFields> kFieldNames{
    "pxname", "svname", "qcur", "qmax", "scur", "smax", "slim", "stot", "bin", "bout", "dreq", "dresp",
    "ereq", "econ", "eresp", "wretr", "wredis", "status", "weight", "act", "bck", "chkfail", "chkdown",
    "lastchg", "downtime", "qlimit", "pid", "iid", "sid", "throttle", "lbtot", "tracked", "type", "rate",
    "rate_lim", "rate_max", "check_status", "check_code", "check_duration", "hrsp_1xx", "hrsp_2xx",
    "hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "hrsp_other", "hanafail", "req_rate", "req_rate_max", "req_tot",
    "cli_abrt", "srv_abrt", "comp_in", "comp_out", "comp_byp", "comp_rsp", "lastsess", "last_chk",
    "last_agt", "qtime", "ctime", "rtime", "ttime", "agent_status", "agent_code", "agent_duration",
    "check_desc", "agent_desc", "check_rise", "check_fall", "check_health", "agent_rise", "agent_fall",
    "agent_health", "addr", "cookie", "mode", "algo", "conn_rate", "conn_rate_max", "conn_tot",
    "intercepted", "dcon", "dses", "wrew", "connect", "reuse", "cache_lookups", "cache_hits", "srv_icur",
    "src_ilim", "qtime_max", "ctime_max", "rtime_max", "ttime_max", "eint", "idle_conn_cur", "safe_conn_cur",
    "used_conn_cur", "need_conn_est", "uweight", "agg_server_status", "agg_server_check_status",
    "agg_check_status", "-", "ssl_sess", "ssl_reused_sess", "ssl_failed_handshake", "h2_headers_rcvd",
    "h2_data_rcvd", "h2_settings_rcvd", "h2_rst_stream_rcvd", "h2_goaway_rcvd",
    "h2_detected_conn_protocol_errors", "h2_detected_strm_protocol_errors", "h2_rst_stream_resp",
    "h2_goaway_resp", "h2_open_connections", "h2_backend_open_streams", "h2_total_connections",
    "h2_backend_total_streams", "h1_open_connections", "h1_open_streams", "h1_total_connections",
    "h1_total_streams", "h1_bytes_in", "h1_bytes_out", "h1_spliced_bytes_in", "h1_spliced_bytes_out",
};

namespace {

std::size_t index_of(std::string_view name) {
  const auto it = std::find(kFieldNames.begin(), kFieldNames.end(), name);
  return static_cast<std::size_t>(it - kFieldNames.begin());
}

long seconds(Ms d) { return static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(d).count()); }

// HAProxy's csv_enc: a field with a comma, a quote or a line break is quoted, quotes doubled.
std::string csv_field(const std::string& v) {
  if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
  std::string out = "\"";
  for (const char c : v) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string_view mode_name(Mode m) { return m == Mode::Http ? "http" : "tcp"; }

std::string_view algo_name(Balance b) {
  switch (b) {
    case Balance::RoundRobin:
      return "roundrobin";
    case Balance::LeastConn:
      return "leastconn";
    case Balance::First:
      return "first";
  }
  return "roundrobin";
}

// What every row type carries at the end: the separator, and the ssl/h2/h1 modules' counters
// (lb counts none of them: 0). Servers have no h2/h1 fields.
void modules(Row& r, bool with_mux) {
  r.set("-", std::string("-"));
  for (const auto* n : {"ssl_sess", "ssl_reused_sess", "ssl_failed_handshake"}) r.set(n, 0);
  if (!with_mux) return;
  for (std::size_t i = index_of("h2_headers_rcvd"); i < kFields; ++i) r.fields[i] = "0";
}

void http_counters(Row& r, const ProxyConfig& px) {
  if (px.mode != Mode::Http) return;
  for (const auto* n : {"hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "hrsp_other", "req_tot"}) r.set(n, 0);
}

std::string address_text(const std::string& host, std::uint16_t port) {
  return host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port) : fmt::format("{}:{}", host, port);
}

// A backend's default fullconn: a tenth of the maxconn of the frontends that use it, at least 1.
long fullconn(const Config& c, std::size_t backend, int global_maxconn) {
  long sum = 0;
  const auto& name = c.proxies[backend].name;
  for (std::size_t i = 0; i < c.proxies.size(); ++i) {
    const auto& fe = c.proxies[i];
    if (!fe.has_frontend_role()) continue;
    const bool uses = i == backend ||
                      fe.default_backend == name ||
                      std::find(fe.use_backends.begin(), fe.use_backends.end(), name) != fe.use_backends.end();
    if (uses) sum += fe.maxconn > 0 ? fe.maxconn : global_maxconn;
  }
  return std::max(1L, (sum + 9) / 10);
}

Row frontend_row(const Source& s, std::size_t pi) {
  const auto& px = s.config.proxies[pi];
  Row r;
  r.set("pxname", px.name);
  r.set("svname", std::string("FRONTEND"));
  for (const auto* n : {"scur", "smax", "stot", "bin", "bout", "dreq", "dresp", "ereq", "rate", "rate_lim", "rate_max",
                        "comp_in", "comp_out", "comp_byp", "comp_rsp", "conn_rate", "conn_rate_max", "conn_tot",
                        "intercepted", "dcon", "dses", "wrew", "eint"})
    r.set(n, 0);
  r.set("slim", px.maxconn > 0 ? px.maxconn : s.global_maxconn);
  r.set("status", std::string("OPEN"));
  r.set("pid", 1);
  r.set("iid", s.config.proxy_id(pi));
  r.set("sid", 0);
  r.set("type", 0);
  http_counters(r, px);
  if (px.mode == Mode::Http)
    for (const auto* n : {"req_rate", "req_rate_max", "cache_lookups", "cache_hits"}) r.set(n, 0);
  r.set("mode", std::string(mode_name(px.mode)));
  modules(r, true);
  return r;
}

Row server_row(const Source& s, std::size_t pi, std::size_t si, const Filter& f) {
  const auto& px = s.config.proxies[pi];
  const auto& sv = px.servers[si];
  const ServerKey key{pi, si};
  const auto st = s.engine.status(key);
  const auto conn = s.backends.connections(key);
  Row r;
  r.set("pxname", px.name);
  r.set("svname", sv.name);
  for (const auto* n : {"qcur", "qmax", "bin", "bout", "dresp", "econ", "eresp", "wretr", "wredis", "rate", "rate_max",
                        "cli_abrt", "srv_abrt", "qtime", "ctime", "rtime", "ttime", "wrew", "connect", "reuse",
                        "srv_icur", "qtime_max", "ctime_max", "rtime_max", "ttime_max", "eint", "idle_conn_cur",
                        "safe_conn_cur"})
    r.set(n, 0);
  r.set("scur", conn.current);
  r.set("smax", conn.max);
  if (sv.settings.maxconn > 0) r.set("slim", sv.settings.maxconn);
  r.set("stot", conn.total);
  r.set("lbtot", conn.total);
  r.set("status", server_status(st));
  r.set("weight", st.uweight);
  r.set("uweight", st.uweight);
  r.set("act", sv.settings.backup ? 0 : 1);
  r.set("bck", sv.settings.backup ? 1 : 0);
  const bool enabled = st.check_configured && st.check_enabled;
  if (enabled) {
    r.set("chkfail", st.failed_checks);
    r.set("chkdown", st.down_transitions);
    const Ms down = st.downtime + (st.op == OpState::Stopped ? s.now - st.last_change : Ms{0});
    r.set("downtime", seconds(down));
  }
  r.set("lastchg", seconds(s.now - st.last_change));
  r.set("pid", 1);
  r.set("iid", s.config.proxy_id(pi));
  r.set("sid", static_cast<long long>(si + 1));
  r.set("type", 2);
  // The check's columns while it runs (enabled, not paused by maintenance).
  if (enabled && !(st.admin & admin::kAnyMaint)) {
    const auto status = st.last_check.status;
    r.set("check_status", fmt::format("{}{}", st.check_running ? "* " : "", info(status).tag));
    if (info(status).prints_code) r.set("check_code", st.last_check.code);
    if (status >= CheckStatus::Checked && st.last_check.duration.count() >= 0)
      r.set("check_duration", st.last_check.duration.count());
    r.set("check_desc", std::string(info(status).description));
    r.set("last_chk", st.last_check.info);
    r.set("check_rise", st.rise);
    r.set("check_fall", st.fall);
    r.set("check_health", st.health);
  }
  http_counters(r, px);
  r.set("lastsess", -1);
  if (f.legends) {
    const auto& host = s.backends.address(key);
    r.set("addr", address_text(host.empty() ? std::string("0.0.0.0") : host, s.backends.port(key)));
  }
  r.set("mode", std::string(mode_name(px.mode)));
  r.set("used_conn_cur", conn.current);
  r.set("need_conn_est", std::max(conn.max, st.checks_started > 0 ? 1 : 0));
  modules(r, false);
  return r;
}

Row backend_row(const Source& s, std::size_t pi, const Filter& f) {
  const auto& px = s.config.proxies[pi];
  const auto counts = s.engine.counts(pi);
  const auto bs = s.engine.backend_status(pi);
  // tot_weight: the usable active servers, else the first usable backup (all with allbackups).
  long weight = 0, uweight = 0;
  int up = 0;
  const bool actives = counts.active > 0;
  for (std::size_t si = 0; si < px.servers.size(); ++si) {
    const auto st = s.engine.status({pi, si});
    if (st.op != OpState::Stopped && !(st.admin & admin::kAnyMaint)) ++up;
    if (!st.usable() || px.servers[si].settings.backup == actives) continue;
    if (!actives && !px.allbackups && weight > 0) continue;
    weight += st.uweight;
    uweight += st.uweight;
  }
  const long sessions_total = s.backends.backend_total(pi);
  Row r;
  r.set("pxname", px.name);
  r.set("svname", std::string("BACKEND"));
  for (const auto* n : {"qmax", "smax", "bin", "bout", "dreq", "dresp", "econ", "eresp", "wretr", "wredis", "rate",
                        "rate_max", "cli_abrt", "srv_abrt", "comp_in", "comp_out", "comp_byp", "comp_rsp", "qtime",
                        "ctime", "rtime", "ttime", "wrew", "connect", "reuse", "qtime_max", "ctime_max", "rtime_max",
                        "ttime_max", "eint", "agg_server_status", "agg_server_check_status", "agg_check_status"})
    r.set(n, 0);
  r.set("qcur", s.backends.queued(pi));
  r.set("scur", s.backends.backend_sessions(pi));
  r.set("slim", fullconn(s.config, pi, s.global_maxconn));
  r.set("stot", sessions_total);
  r.set("lbtot", sessions_total);
  std::string status = weight > 0 || px.servers.empty() ? "UP" : "DOWN";
  if (f.hide_maint || f.hide_down) status += fmt::format(" ({}/{})", up, px.servers.size());
  r.set("status", status);
  r.set("weight", weight);
  r.set("uweight", uweight);
  r.set("act", counts.active);
  r.set("bck", counts.backup);
  r.set("chkdown", bs.down_transitions);
  r.set("lastchg", seconds(s.now - bs.last_change));
  if (!px.servers.empty()) r.set("downtime", seconds(bs.downtime + (bs.down ? s.now - bs.last_change : Ms{0})));
  r.set("pid", 1);
  r.set("iid", s.config.proxy_id(pi));
  r.set("sid", 0);
  r.set("type", 1);
  if (f.legends) r.set("algo", std::string(algo_name(px.balance)));
  http_counters(r, px);
  if (px.mode == Mode::Http)
    for (const auto* n : {"cache_lookups", "cache_hits"}) r.set(n, 0);
  r.set("lastsess", -1);
  r.set("mode", std::string(mode_name(px.mode)));
  modules(r, true);
  return r;
}

}  // namespace

void Row::set(std::string_view name, std::string value) { fields.at(index_of(name)) = std::move(value); }
void Row::set(std::string_view name, long long value) { fields.at(index_of(name)) = std::to_string(value); }
const std::optional<std::string>& Row::get(std::string_view name) const { return fields.at(index_of(name)); }

std::string csv_header() {
  std::string out = "# ";
  for (const auto n : kFieldNames) {
    out += n;
    out += ',';
  }
  return out + "\n";
}

std::string csv_line(const Row& row) {
  std::string out;
  for (const auto& f : row.fields) {
    if (f) out += csv_field(*f);
    out += ',';
  }
  return out + "\n";
}

// stats_fill_sv_stats_computestate and srv_hlt_st[], for lb's servers (no agent, no track).
std::string server_status(const ServerStatus& st) {
  if (st.admin & admin::kResolutionMaint) return "MAINT (resolution)";
  if (st.admin & admin::kAnyMaint) return "MAINT";
  const bool checked = st.check_configured && st.check_enabled;
  const int max = st.rise + st.fall - 1;
  const auto counts = [&] {
    return st.op != OpState::Stopped ? fmt::format("{}/{}", st.health - st.rise + 1, st.fall)
                                     : fmt::format("{}/{}", st.health, st.rise);
  };
  if (st.op == OpState::Running || st.op == OpState::Starting) {
    const bool going_down = checked && st.health < max;
    if (st.admin & admin::kAnyDrain) return going_down ? "DRAIN " + counts() : "DRAIN";
    if (going_down) return "UP " + counts();
    return checked ? "UP" : "no check";
  }
  if (st.op == OpState::Stopping) return (!checked || st.health == max) ? "NOLB" : "NOLB " + counts();
  if (checked && st.health == 0) return "DOWN";
  return checked ? "DOWN " + counts() : "DOWN";
}

std::vector<Row> rows(const Source& s, const Filter& f) {
  std::vector<Row> out;
  const bool bound = f.iid.has_value() || f.types != -1 || f.sid != -1;
  const auto wants = [&](int type) { return !bound || (f.types & (1 << type)); };
  for (std::size_t pi = 0; pi < s.config.proxies.size(); ++pi) {
    const auto& px = s.config.proxies[pi];
    if (f.iid && *f.iid != -1 && *f.iid != s.config.proxy_id(pi)) continue;
    if (px.has_frontend_role() && wants(0)) out.push_back(frontend_row(s, pi));
    if (!px.has_backend_role()) continue;
    // HAProxy stops at the first server when servers are not asked for.
    if (wants(2))
      for (std::size_t si = 0; si < px.servers.size(); ++si) {
        if (f.sid != -1 && static_cast<int>(si + 1) != f.sid) continue;
        const auto st = s.engine.status({pi, si});
        const bool maint = st.admin & admin::kAnyMaint;
        if (f.hide_maint && maint) continue;
        const bool checked = st.check_configured && st.check_enabled;
        if (f.hide_down && (maint || (st.op == OpState::Stopped && (!checked || st.health == 0)))) continue;
        out.push_back(server_row(s, pi, si, f));
      }
    if (wants(1)) out.push_back(backend_row(s, pi, f));
  }
  return out;
}

}  // namespace lb::core::stats
