#include "lb/core/stats/stats.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "lb/core/check/status.hpp"
#include "lb/core/config/values.hpp"

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

void http_counters(Row& r, const ProxyConfig& px, const Counters* c) {
  if (px.mode != Mode::Http) return;
  static constexpr std::array<std::string_view, 6> kClasses{"hrsp_1xx", "hrsp_2xx", "hrsp_3xx",
                                                            "hrsp_4xx", "hrsp_5xx", "hrsp_other"};
  for (std::size_t i = 0; i < kClasses.size(); ++i) r.set(kClasses[i], c ? c->responses[i] : 0);
  r.set("req_tot", c ? c->requests : 0);
}

// The counters every row type shares, from what traffic did (zero without a Traffic).
void traffic_counters(Row& r, const Source& s, const Counters* c) {
  if (!c) return;
  r.set("bin", static_cast<long long>(c->bytes_in));
  r.set("bout", static_cast<long long>(c->bytes_out));
  r.set("rate", c->session_rate.read(s.now));
  r.set("rate_max", c->session_rate.max());
  const auto& sv = *r.get("svname");
  if (sv == "FRONTEND") return;
  r.set("econ", c->connect_errors);
  r.set("eresp", c->response_errors);
  r.set("wretr", c->retries);
  r.set("wredis", c->redispatches);
  r.set("cli_abrt", c->client_aborts);
  r.set("srv_abrt", c->server_aborts);
  r.set("lastsess", c->last_session ? seconds(s.now - *c->last_session) : -1);
}

std::string address_text(const std::string& host, std::uint16_t port) {
  // stats.c prints the family of a UNIX socket, and nothing for a socket pair.
  if (const auto u = unix_address(host)) return u->socket_pair >= 0 ? "" : "unix";
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
  const Counters* c = s.traffic ? &s.traffic->proxy(pi) : nullptr;
  http_counters(r, px, c);
  if (px.mode == Mode::Http)
    for (const auto* n : {"req_rate", "req_rate_max", "cache_lookups", "cache_hits"}) r.set(n, 0);
  r.set("mode", std::string(mode_name(px.mode)));
  traffic_counters(r, s, c);
  if (c) {
    r.set("scur", c->current);
    r.set("smax", c->max_current);
    r.set("stot", c->sessions);
    r.set("ereq", c->request_errors);
    r.set("conn_tot", c->connections);
    r.set("conn_rate", c->connection_rate.read(s.now));
    r.set("conn_rate_max", c->connection_rate.max());
    if (px.mode == Mode::Http) {
      r.set("req_rate", c->request_rate.read(s.now));
      r.set("req_rate_max", c->request_rate.max());
    }
  }
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
  const Counters* c = s.traffic ? &s.traffic->server(key) : nullptr;
  http_counters(r, px, c);
  r.set("lastsess", -1);
  traffic_counters(r, s, c);
  if (c) r.set("stot", c->sessions);  // connection attempts, retries included
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
  const Counters* c = s.traffic ? &s.traffic->proxy(pi) : nullptr;
  http_counters(r, px, c);
  if (px.mode == Mode::Http)
    for (const auto* n : {"cache_lookups", "cache_hits"}) r.set(n, 0);
  r.set("lastsess", -1);
  traffic_counters(r, s, c);
  if (c) r.set("stot", c->sessions);
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

namespace {

// Tags and types per row type and field, as haproxy 2.6.12's `show stat typed` printed them
// (tests/data/haproxy26/runtime_api/*typed*, stats/r06_typed.http).
struct TypedField {
  char row;
  int pos;
  std::string_view tags, type;
};
constexpr TypedField kTyped[] = {
    {'F', 0, "KNS", "str"},  // pxname
    {'F', 1, "KNS", "str"},  // svname
    {'F', 4, "MGP", "u32"},  // scur
    {'F', 5, "MMP", "u32"},  // smax
    {'F', 6, "CLP", "u32"},  // slim
    {'F', 7, "MCP", "u64"},  // stot
    {'F', 8, "MCP", "u64"},  // bin
    {'F', 9, "MCP", "u64"},  // bout
    {'F', 10, "MCP", "u64"},  // dreq
    {'F', 11, "MCP", "u64"},  // dresp
    {'F', 12, "MCP", "u64"},  // ereq
    {'F', 17, "SGP", "str"},  // status
    {'F', 26, "KGP", "u32"},  // pid
    {'F', 27, "KGS", "u32"},  // iid
    {'F', 28, "KGS", "u32"},  // sid
    {'F', 32, "CGS", "u32"},  // type
    {'F', 33, "MRP", "u32"},  // rate
    {'F', 34, "CLP", "u32"},  // rate_lim
    {'F', 35, "MMP", "u32"},  // rate_max
    {'F', 39, "MCP", "u64"},  // hrsp_1xx
    {'F', 40, "MCP", "u64"},  // hrsp_2xx
    {'F', 41, "MCP", "u64"},  // hrsp_3xx
    {'F', 42, "MCP", "u64"},  // hrsp_4xx
    {'F', 43, "MCP", "u64"},  // hrsp_5xx
    {'F', 44, "MCP", "u64"},  // hrsp_other
    {'F', 46, "MRP", "u32"},  // req_rate
    {'F', 47, "MMP", "u32"},  // req_rate_max
    {'F', 48, "MCP", "u64"},  // req_tot
    {'F', 51, "MCP", "u64"},  // comp_in
    {'F', 52, "MCP", "u64"},  // comp_out
    {'F', 53, "MCP", "u64"},  // comp_byp
    {'F', 54, "MCP", "u64"},  // comp_rsp
    {'F', 75, "CGS", "str"},  // mode
    {'F', 77, "MRP", "u32"},  // conn_rate
    {'F', 78, "MMP", "u32"},  // conn_rate_max
    {'F', 79, "MCP", "u64"},  // conn_tot
    {'F', 80, "MCP", "u64"},  // intercepted
    {'F', 81, "MCP", "u64"},  // dcon
    {'F', 82, "MCP", "u64"},  // dses
    {'F', 83, "MCP", "u64"},  // wrew
    {'F', 86, "MCP", "u64"},  // cache_lookups
    {'F', 87, "MCP", "u64"},  // cache_hits
    {'F', 94, "MCP", "u64"},  // eint
    {'F', 103, "MCP", "u64"},  // ssl_sess
    {'F', 104, "MCP", "u64"},  // ssl_reused_sess
    {'F', 105, "MCP", "u64"},  // ssl_failed_handshake
    {'F', 106, "MCP", "u64"},  // h2_headers_rcvd
    {'F', 107, "MCP", "u64"},  // h2_data_rcvd
    {'F', 108, "MCP", "u64"},  // h2_settings_rcvd
    {'F', 109, "MCP", "u64"},  // h2_rst_stream_rcvd
    {'F', 110, "MCP", "u64"},  // h2_goaway_rcvd
    {'F', 111, "MCP", "u64"},  // h2_detected_conn_protocol_errors
    {'F', 112, "MCP", "u64"},  // h2_detected_strm_protocol_errors
    {'F', 113, "MCP", "u64"},  // h2_rst_stream_resp
    {'F', 114, "MCP", "u64"},  // h2_goaway_resp
    {'F', 115, "MGP", "u64"},  // h2_open_connections
    {'F', 116, "MGP", "u64"},  // h2_backend_open_streams
    {'F', 117, "MCP", "u64"},  // h2_total_connections
    {'F', 118, "MCP", "u64"},  // h2_backend_total_streams
    {'F', 119, "MGP", "u64"},  // h1_open_connections
    {'F', 120, "MGP", "u64"},  // h1_open_streams
    {'F', 121, "MCP", "u64"},  // h1_total_connections
    {'F', 122, "MCP", "u64"},  // h1_total_streams
    {'F', 123, "MCP", "u64"},  // h1_bytes_in
    {'F', 124, "MCP", "u64"},  // h1_bytes_out
    {'F', 125, "MCP", "u64"},  // h1_spliced_bytes_in
    {'F', 126, "MCP", "u64"},  // h1_spliced_bytes_out
    {'B', 0, "KNS", "str"},  // pxname
    {'B', 1, "KNS", "str"},  // svname
    {'B', 2, "MGP", "u32"},  // qcur
    {'B', 3, "MMP", "u32"},  // qmax
    {'B', 4, "MGP", "u32"},  // scur
    {'B', 5, "MMP", "u32"},  // smax
    {'B', 6, "CLP", "u32"},  // slim
    {'B', 7, "MCP", "u64"},  // stot
    {'B', 8, "MCP", "u64"},  // bin
    {'B', 9, "MCP", "u64"},  // bout
    {'B', 10, "MCP", "u64"},  // dreq
    {'B', 11, "MCP", "u64"},  // dresp
    {'B', 13, "MCP", "u64"},  // econ
    {'B', 14, "MCP", "u64"},  // eresp
    {'B', 15, "MCP", "u64"},  // wretr
    {'B', 16, "MCP", "u64"},  // wredis
    {'B', 17, "SGP", "str"},  // status
    {'B', 18, "MaP", "u32"},  // weight
    {'B', 19, "MGP", "u32"},  // act
    {'B', 20, "MGP", "u32"},  // bck
    {'B', 22, "MCP", "u64"},  // chkdown
    {'B', 23, "MAP", "u32"},  // lastchg
    {'B', 24, "MCP", "u32"},  // downtime
    {'B', 26, "KGP", "u32"},  // pid
    {'B', 27, "KGS", "u32"},  // iid
    {'B', 28, "KGS", "u32"},  // sid
    {'B', 30, "MCP", "u64"},  // lbtot
    {'B', 32, "CGS", "u32"},  // type
    {'B', 33, "MGP", "u32"},  // rate
    {'B', 35, "MGP", "u32"},  // rate_max
    {'B', 39, "MCP", "u64"},  // hrsp_1xx
    {'B', 40, "MCP", "u64"},  // hrsp_2xx
    {'B', 41, "MCP", "u64"},  // hrsp_3xx
    {'B', 42, "MCP", "u64"},  // hrsp_4xx
    {'B', 43, "MCP", "u64"},  // hrsp_5xx
    {'B', 44, "MCP", "u64"},  // hrsp_other
    {'B', 48, "MCP", "u64"},  // req_tot
    {'B', 49, "MCP", "u64"},  // cli_abrt
    {'B', 50, "MCP", "u64"},  // srv_abrt
    {'B', 51, "MCP", "u64"},  // comp_in
    {'B', 52, "MCP", "u64"},  // comp_out
    {'B', 53, "MCP", "u64"},  // comp_byp
    {'B', 54, "MCP", "u64"},  // comp_rsp
    {'B', 55, "MAP", "s32"},  // lastsess
    {'B', 58, "MaP", "u32"},  // qtime
    {'B', 59, "MaP", "u32"},  // ctime
    {'B', 60, "MaP", "u32"},  // rtime
    {'B', 61, "MaP", "u32"},  // ttime
    {'B', 75, "CGS", "str"},  // mode
    {'B', 76, "CGS", "str"},  // algo
    {'B', 83, "MCP", "u64"},  // wrew
    {'B', 84, "MCP", "u64"},  // connect
    {'B', 85, "MCP", "u64"},  // reuse
    {'B', 86, "MCP", "u64"},  // cache_lookups
    {'B', 87, "MCP", "u64"},  // cache_hits
    {'B', 90, "MMP", "u32"},  // qtime_max
    {'B', 91, "MMP", "u32"},  // ctime_max
    {'B', 92, "MMP", "u32"},  // rtime_max
    {'B', 93, "MMP", "u32"},  // ttime_max
    {'B', 94, "MCP", "u64"},  // eint
    {'B', 99, "MaP", "u32"},  // uweight
    {'B', 100, "MGP", "u32"},  // agg_server_status
    {'B', 101, "MGP", "u32"},  // agg_server_check_status
    {'B', 102, "MGP", "u32"},  // agg_check_status
    {'B', 103, "MCP", "u64"},  // ssl_sess
    {'B', 104, "MCP", "u64"},  // ssl_reused_sess
    {'B', 105, "MCP", "u64"},  // ssl_failed_handshake
    {'B', 106, "MCP", "u64"},  // h2_headers_rcvd
    {'B', 107, "MCP", "u64"},  // h2_data_rcvd
    {'B', 108, "MCP", "u64"},  // h2_settings_rcvd
    {'B', 109, "MCP", "u64"},  // h2_rst_stream_rcvd
    {'B', 110, "MCP", "u64"},  // h2_goaway_rcvd
    {'B', 111, "MCP", "u64"},  // h2_detected_conn_protocol_errors
    {'B', 112, "MCP", "u64"},  // h2_detected_strm_protocol_errors
    {'B', 113, "MCP", "u64"},  // h2_rst_stream_resp
    {'B', 114, "MCP", "u64"},  // h2_goaway_resp
    {'B', 115, "MGP", "u64"},  // h2_open_connections
    {'B', 116, "MGP", "u64"},  // h2_backend_open_streams
    {'B', 117, "MCP", "u64"},  // h2_total_connections
    {'B', 118, "MCP", "u64"},  // h2_backend_total_streams
    {'B', 119, "MGP", "u64"},  // h1_open_connections
    {'B', 120, "MGP", "u64"},  // h1_open_streams
    {'B', 121, "MCP", "u64"},  // h1_total_connections
    {'B', 122, "MCP", "u64"},  // h1_total_streams
    {'B', 123, "MCP", "u64"},  // h1_bytes_in
    {'B', 124, "MCP", "u64"},  // h1_bytes_out
    {'B', 125, "MCP", "u64"},  // h1_spliced_bytes_in
    {'B', 126, "MCP", "u64"},  // h1_spliced_bytes_out
    {'S', 0, "KNS", "str"},  // pxname
    {'S', 1, "KNS", "str"},  // svname
    {'S', 2, "MGP", "u32"},  // qcur
    {'S', 3, "MMP", "u32"},  // qmax
    {'S', 4, "MGP", "u32"},  // scur
    {'S', 5, "MMP", "u32"},  // smax
    {'S', 7, "MCP", "u64"},  // stot
    {'S', 8, "MCP", "u64"},  // bin
    {'S', 9, "MCP", "u64"},  // bout
    {'S', 11, "MCP", "u64"},  // dresp
    {'S', 13, "MCP", "u64"},  // econ
    {'S', 14, "MCP", "u64"},  // eresp
    {'S', 15, "MCP", "u64"},  // wretr
    {'S', 16, "MCP", "u64"},  // wredis
    {'S', 17, "SGP", "str"},  // status
    {'S', 18, "MaP", "u32"},  // weight
    {'S', 19, "SGP", "u32"},  // act
    {'S', 20, "SGP", "u32"},  // bck
    {'S', 21, "MCP", "u64"},  // chkfail
    {'S', 22, "MCP", "u64"},  // chkdown
    {'S', 23, "MAP", "u32"},  // lastchg
    {'S', 24, "MCP", "u32"},  // downtime
    {'S', 26, "KGP", "u32"},  // pid
    {'S', 27, "KGS", "u32"},  // iid
    {'S', 28, "KGS", "u32"},  // sid
    {'S', 30, "MCP", "u64"},  // lbtot
    {'S', 32, "CGS", "u32"},  // type
    {'S', 33, "MRP", "u32"},  // rate
    {'S', 35, "MMP", "u32"},  // rate_max
    {'S', 36, "MOP", "str"},  // check_status
    {'S', 37, "MOP", "u32"},  // check_code
    {'S', 38, "MDP", "u64"},  // check_duration
    {'S', 39, "MCP", "u64"},  // hrsp_1xx
    {'S', 40, "MCP", "u64"},  // hrsp_2xx
    {'S', 41, "MCP", "u64"},  // hrsp_3xx
    {'S', 42, "MCP", "u64"},  // hrsp_4xx
    {'S', 43, "MCP", "u64"},  // hrsp_5xx
    {'S', 44, "MCP", "u64"},  // hrsp_other
    {'S', 48, "MCP", "u64"},  // req_tot
    {'S', 49, "MCP", "u64"},  // cli_abrt
    {'S', 50, "MCP", "u64"},  // srv_abrt
    {'S', 55, "MAP", "s32"},  // lastsess
    {'S', 56, "MOP", "str"},  // last_chk
    {'S', 58, "MaP", "u32"},  // qtime
    {'S', 59, "MaP", "u32"},  // ctime
    {'S', 60, "MaP", "u32"},  // rtime
    {'S', 61, "MaP", "u32"},  // ttime
    {'S', 65, "MOP", "str"},  // check_desc
    {'S', 67, "CGS", "u32"},  // check_rise
    {'S', 68, "CGS", "u32"},  // check_fall
    {'S', 69, "CGS", "u32"},  // check_health
    {'S', 73, "CGS", "str"},  // addr
    {'S', 75, "CGS", "str"},  // mode
    {'S', 83, "MCP", "u64"},  // wrew
    {'S', 84, "MCP", "u64"},  // connect
    {'S', 85, "MCP", "u64"},  // reuse
    {'S', 88, "MGP", "u32"},  // srv_icur
    {'S', 90, "MMP", "u32"},  // qtime_max
    {'S', 91, "MMP", "u32"},  // ctime_max
    {'S', 92, "MMP", "u32"},  // rtime_max
    {'S', 93, "MMP", "u32"},  // ttime_max
    {'S', 94, "MCP", "u64"},  // eint
    {'S', 95, "MGP", "u32"},  // idle_conn_cur
    {'S', 96, "MGP", "u32"},  // safe_conn_cur
    {'S', 97, "MGP", "u32"},  // used_conn_cur
    {'S', 98, "MGP", "u32"},  // need_conn_est
    {'S', 99, "MaP", "u32"},  // uweight
    {'S', 103, "MCP", "u64"},  // ssl_sess
    {'S', 104, "MCP", "u64"},  // ssl_reused_sess
    {'S', 105, "MCP", "u64"},  // ssl_failed_handshake
};

// The row's letter (F, B, S, L) from its `type` field.
char row_letter(const Row& r) {
  const auto& t = r.get("type");
  if (!t || t->empty()) return 'F';
  return "FBSL"[std::clamp((*t)[0] - '0', 0, 3)];
}

// The field's tags for this row type; a field captured only on another row type takes its tags.
std::pair<std::string_view, std::string_view> typed_tags(char row, int pos) {
  const TypedField* other = nullptr;
  for (const auto& f : kTyped) {
    if (f.pos != pos) continue;
    if (f.row == row) return {f.tags, f.type};
    if (!other) other = &f;
  }
  return other ? std::pair{other->tags, other->type} : std::pair{std::string_view("MGP"), std::string_view("u64")};
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\', out += c;
    else if (static_cast<unsigned char>(c) < 0x20) out += fmt::format("\\u{:04x}", static_cast<unsigned char>(c));
    else out += c;
  }
  return out + "\"";
}

constexpr std::size_t kSeparator = 103;

template <class Each>
void each_typed_field(const Row& r, Each each) {
  const char row = row_letter(r);
  const std::string iid = r.get("iid").value_or("0");
  const std::string sid = row == 'S' ? r.get("sid").value_or("0") : "0";
  for (std::size_t i = 0; i < kFields; ++i) {
    // The CSV's "-" separates HAProxy's own fields from its modules'; the typed forms number the
    // modules' fields on from it, without it.
    if (!r.fields[i] || kFieldNames[i] == "-") continue;
    const int pos = static_cast<int>(i) - (i > kSeparator ? 1 : 0);
    const auto [tags, type] = typed_tags(row, pos);
    each(row, iid, sid, pos, kFieldNames[i], tags, type, *r.fields[i]);
  }
}

}  // namespace

std::string typed_stats(const std::vector<Row>& rows) {
  std::string out;
  for (const auto& r : rows)
    each_typed_field(r, [&](char row, const std::string& iid, const std::string& sid, int pos, std::string_view name,
                            std::string_view tags, std::string_view type, const std::string& value) {
      out += fmt::format("{}.{}.{}.{}.{}.1:{}:{}:{}\n", row, iid, sid, pos, name, tags, type, value);
    });
  return out;
}

std::string json_stats(const std::vector<Row>& rows) {
  std::string out = "[";
  for (std::size_t ri = 0; ri < rows.size(); ++ri) {
    out += ri ? ",[" : "[";
    bool first = true;
    each_typed_field(rows[ri], [&](char row, const std::string& iid, const std::string& sid, int pos,
                                   std::string_view name, std::string_view tags, std::string_view type,
                                   const std::string& value) {
      const auto names = tag_names(tags);
      const std::string_view obj = row == 'F' ? "Frontend" : row == 'B' ? "Backend" : row == 'S' ? "Server" : "Listener";
      out += fmt::format(
          "{}{{\"objType\":\"{}\",\"proxyId\":{},\"id\":{},\"field\":{{\"pos\":{},\"name\":\"{}\"}},\"processNum\":1,"
          "\"tags\":{{\"origin\":\"{}\",\"nature\":\"{}\",\"scope\":\"{}\"}},\"value\":{{\"type\":\"{}\",\"value\":{}}}}}",
          first ? "" : ",", obj, iid, sid, pos, name, names.origin, names.nature,
          names.scope, type, type == "str" ? json_string(value) : value);
      first = false;
    });
    out += "]";
  }
  return out + "]\n";
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
