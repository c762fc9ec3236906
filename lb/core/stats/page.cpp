#include "lb/core/stats/page.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>

#include "lb/core/stats/info.hpp"
#include "lb/core/text.hpp"

namespace lb::core::stats {
namespace {

// --- HTTP framing as HAProxy's stats applet and H1 mux write it ----------------------------

struct Reply {
  int status = 200;
  std::string reason = "OK";
  std::vector<std::pair<std::string, std::string>> headers;  // before transfer-encoding
  std::string body;
  bool chunked = true;  // false: content-length given among the headers
};

PageAnswer framed(const Reply& r, const PageRequest& req) {
  const bool head = req.method == "HEAD";
  const bool close = !req.keep_alive || req.http10;
  std::string out = fmt::format("HTTP/1.1 {} {}\r\n", r.status, r.reason);
  for (const auto& [k, v] : r.headers) out += fmt::format("{}: {}\r\n", k, v);
  // HTTP/1.0 clients get `connection: close` before the chunked framing the mux adds.
  if (r.chunked && !head) {
    if (req.http10) out += "connection: close\r\ntransfer-encoding: chunked\r\n";
    else out += close ? "transfer-encoding: chunked\r\nconnection: close\r\n" : "transfer-encoding: chunked\r\n";
  } else if (close) {
    out += "connection: close\r\n";
  }
  out += "\r\n";
  if (!head) {
    if (r.chunked) {
      if (!r.body.empty()) out += fmt::format("{:x}\r\n{}\r\n", r.body.size(), r.body);
      out += "0\r\n\r\n";
    } else {
      out += r.body;
    }
  }
  return {r.status, std::move(out), close};
}

// --- options in the URI ---------------------------------------------------------------------

struct Options {
  bool csv = false, json = false, typed = false, schema = false;
  bool hide_down = false, hide_maint = false, norefresh = false;
  std::string status_code;  // ;st=XXXX
  std::string scope;
};

Options read_options(std::string_view uri_rest) {
  Options o;
  const auto has = [&](std::string_view s) { return uri_rest.find(s) != std::string_view::npos; };
  o.hide_down = has(";up");
  o.hide_maint = has(";no-maint");
  o.norefresh = has(";norefresh");
  o.csv = has(";csv");
  o.typed = has(";typed");
  o.json = has(";json");
  o.schema = has(";json-schema");
  if (const auto st = uri_rest.find(";st="); st != std::string_view::npos) o.status_code = std::string(uri_rest.substr(st + 4, 4));
  if (const auto sc = uri_rest.find("scope="); sc != std::string_view::npos) {
    auto v = uri_rest.substr(sc + 6);
    v = v.substr(0, std::min(v.find_first_of(";& "), std::size_t{20}));
    const bool identifier = std::all_of(v.begin(), v.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == ':';
    });
    if (identifier) o.scope = std::string(v);
  }
  return o;
}

bool in_scope(const std::string& name, const std::string& scope) {
  return scope.empty() || ascii_lower(name).find(ascii_lower(scope)) != std::string::npos;
}

std::string url_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') out += ' ';
    else if (s[i] == '%' && i + 2 < s.size() && hex_digit(s[i + 1]) >= 0 && hex_digit(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// --- authentication and admin rights -------------------------------------------------------

bool authorized(const StatsPage& page, const PageRequest& req) {
  if (page.users.empty()) return true;
  if (!req.authorization) return false;
  std::string_view v = *req.authorization;
  if (!iequals(v.substr(0, 6), "Basic ")) return false;
  const auto decoded = decode_base64(v.substr(6));
  if (!decoded) return false;
  const auto colon = decoded->find(':');
  if (colon == std::string::npos) return false;
  const auto user = decoded->substr(0, colon), pass = decoded->substr(colon + 1);
  return std::any_of(page.users.begin(), page.users.end(),
                     [&](const StatsPage::User& u) { return u.name == user && u.password == pass; });
}

bool admin_allowed(const StatsPage& page, const PageRequest& req) {
  using A = StatsPage::Admin;
  switch (page.admin) {
    case A::Never:
      return false;
    case A::Always:
      return true;
    case A::FromLocalhost:
      return req.from_localhost;
    case A::NotFromLocalhost:
      return !req.from_localhost;
  }
  return false;
}

Reply unauthorized(const StatsPage& page) {
  Reply r;
  r.status = 401;
  r.reason = "Unauthorized";
  r.body = "<html><body><h1>401 Unauthorized</h1>\nYou need a valid user and password to access this content.\n"
           "</body></html>\n";
  r.headers = {{"content-length", std::to_string(r.body.size())},
               {"cache-control", "no-cache"},
               {"content-type", "text/html"},
               {"www-authenticate", fmt::format("Basic realm=\"{}\"", page.realm.empty() ? "HAProxy Statistics" : page.realm)}};
  r.chunked = false;
  return r;
}

// The admin form's POST (stats.c stats_process_http_post): parameters read from the last one,
// `b` the backend (a name or #id), `action`, and every `s` a server of it.
std::string apply_post(const ProxyConfig&, std::string_view body, const Source& source, CheckEngine& engine) {
  std::vector<std::pair<std::string, std::string>> params;
  std::size_t at = 0;
  while (at <= body.size()) {
    const auto amp = body.find('&', at);
    const auto part = body.substr(at, amp == std::string_view::npos ? std::string_view::npos : amp - at);
    const auto eq = part.find('=');
    if (eq != std::string_view::npos) params.emplace_back(url_decode(part.substr(0, eq)), url_decode(part.substr(eq + 1)));
    if (amp == std::string_view::npos) break;
    at = amp + 1;
  }
  std::optional<std::string> backend, action;
  std::vector<std::string> servers;
  for (auto it = params.rbegin(); it != params.rend(); ++it) {
    if (it->first == "b" && !backend) backend = it->second;
    else if (it->first == "action" && !action) action = it->second;
    else if (it->first == "s") servers.push_back(it->second);
  }
  if (servers.empty()) return "NONE";
  std::optional<std::size_t> px;
  if (backend)
    for (std::size_t i = 0; i < source.config.proxies.size() && !px; ++i) {
      const auto& p = source.config.proxies[i];
      if (!p.has_backend_role()) continue;
      if (p.name == *backend || *backend == fmt::format("#{}", source.config.proxy_id(i))) px = i;
    }
  static const std::array kActions{"ready", "drain", "maint", "dhlth", "ehlth", "hrunn", "hnolb", "hdown"};
  if (!px || !action || std::find(kActions.begin(), kActions.end(), *action) == kActions.end()) return "ERRP";
  int altered = 0;
  const auto& list = source.config.proxies[*px].servers;
  for (const auto& name : servers) {
    const auto it = std::find_if(list.begin(), list.end(), [&](const ServerConfig& s) { return s.name == name; });
    if (it == list.end()) continue;
    const ServerKey key{*px, static_cast<std::size_t>(it - list.begin())};
    const std::string_view a = *action;
    if (a == "ready") {
      engine.clear_admin(key, admin::kForcedDrain);
      engine.clear_admin(key, admin::kForcedMaint);
    } else if (a == "drain") {
      engine.set_admin(key, admin::kForcedDrain);
      engine.clear_admin(key, admin::kForcedMaint);
    } else if (a == "maint") {
      engine.set_admin(key, admin::kForcedMaint);
      engine.clear_admin(key, admin::kForcedDrain);
    } else if (a == "dhlth" || a == "ehlth") {
      if (!engine.set_check_enabled(key, a == "ehlth")) continue;
    } else {
      const OpState to = a == "hrunn" ? OpState::Running : a == "hnolb" ? OpState::Stopping : OpState::Stopped;
      engine.force_state(key, to, "changed from Web interface");
    }
    ++altered;
  }
  if (altered == 0) return "ERRP";
  return altered == static_cast<int>(servers.size()) ? "DONE" : "PART";
}

// The JSON schema of the typed statistics (`;json-schema`), as haproxy 2.6.12 sends it
// (stats_dump_json_schema; tests/data/haproxy26/stats/r07_json_schema.http).
constexpr std::string_view kJsonSchema = R"json({"$schema":"http://json-schema.org/draft-04/schema#","oneOf":[{"title":"Info","type":"array","items":{"title":"InfoItem","type":"object","properties":{"field":{"$ref":"#/definitions/field"},"processNum":{"$ref":"#/definitions/processNum"},"tags":{"$ref":"#/definitions/tags"},"value":{"$ref":"#/definitions/typedValue"}},"required":["field","processNum","tags","value"]}},{"title":"Stat","type":"array","items":{"title":"InfoItem","type":"object","properties":{"objType":{"enum":["Frontend","Backend","Listener","Server","Unknown"]},"proxyId":{"type":"integer","minimum":0},"id":{"type":"integer","minimum":0},"field":{"$ref":"#/definitions/field"},"processNum":{"$ref":"#/definitions/processNum"},"tags":{"$ref":"#/definitions/tags"},"typedValue":{"$ref":"#/definitions/typedValue"}},"required":["objType","proxyId","id","field","processNum","tags","value"]}},{"title":"Error","type":"object","properties":{"errorStr":{"type":"string"}},"required":["errorStr"]}],"definitions":{"field":{"type":"object","pos":{"type":"integer","minimum":0},"name":{"type":"string"},"required":["pos","name"]},"processNum":{"type":"integer","minimum":1},"tags":{"type":"object","origin":{"type":"string","enum":["Metric","Status","Key","Config","Product","Unknown"]},"nature":{"type":"string","enum":["Gauge","Limit","Min","Max","Rate","Counter","Duration","Age","Time","Name","Output","Avg", "Unknown"]},"scope":{"type":"string","enum":["Cluster","Process","Service","System","Unknown"]},"required":["origin","nature","scope"]},"typedValue":{"type":"object","oneOf":[{"$ref":"#/definitions/typedValue/definitions/s32Value"},{"$ref":"#/definitions/typedValue/definitions/s64Value"},{"$ref":"#/definitions/typedValue/definitions/u32Value"},{"$ref":"#/definitions/typedValue/definitions/u64Value"},{"$ref":"#/definitions/typedValue/definitions/strValue"}],"definitions":{"s32Value":{"properties":{"type":{"type":"string","enum":["s32"]},"value":{"type":"integer","minimum":-2147483648,"maximum":2147483647}},"required":["type","value"]},"s64Value":{"properties":{"type":{"type":"string","enum":["s64"]},"value":{"type":"integer","minimum":-9007199254740991,"maximum":9007199254740991}},"required":["type","value"]},"u32Value":{"properties":{"type":{"type":"string","enum":["u32"]},"value":{"type":"integer","minimum":0,"maximum":4294967295}},"required":["type","value"]},"u64Value":{"properties":{"type":{"type":"string","enum":["u64"]},"value":{"type":"integer","minimum":0,"maximum":9007199254740991}},"required":["type","value"]},"strValue":{"properties":{"type":{"type":"string","enum":["str"]},"value":{"type":"string"}},"required":["type","value"]},"unknownValue":{"properties":{"type":{"type":"integer","minimum":0},"value":{"type":"string","enum":["unknown"]}},"required":["type","value"]}}}}}
)json";

// --- the HTML page ------------------------------------------------------------------------

std::string html_escape(std::string_view s) {
  std::string out;
  for (const char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string human_time(long s) {
  if (s < 0) return "?";
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{}s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{}h{}m", s / 3600, s / 60 % 60);
  return fmt::format("{}d{}h", s / 86400, s / 3600 % 24);
}

// The row class of a server (stats.c stats_dump_fields_html): maintain, or active_/backup_ + state.
std::string row_class(const ServerStatus& st, const std::string& status, bool backup) {
  if (status.starts_with("MAINT")) return "maintain";
  std::string style = "up";
  const bool checked = st.check_configured && st.check_enabled;
  if (status == "DOWN") style = "down";
  else if (status.starts_with("DOWN ")) style = "going_up";
  else if (status == "DRAIN") style = "draining";
  else if (status.starts_with("NOLB ")) style = "going_down";
  else if (status == "NOLB") style = "nolb";
  else if (status == "no check") style = "no_check";
  else if (!checked || st.health == st.rise + st.fall - 1) style = st.uweight != 0 ? "up" : "draining";
  else style = "going_down";
  return (backup ? "backup_" : "active_") + style;
}

constexpr std::string_view kCss = R"(body { font-family: arial, helvetica, sans-serif; font-size: 12px; font-weight: normal; color: black; background: white;}
th,td { font-size: 10px;}
h1 { font-size: x-large; margin-bottom: 0.5em;}
h2 { font-family: helvetica, arial; font-size: x-large; font-weight: bold; font-style: italic; color: #6020a0; margin-top: 0em; margin-bottom: 0em;}
table.tbl { border-collapse: collapse; border-style: none;}
table.tbl td, table.tbl th { text-align: right; border-style: solid; border-width: 1px 1px 1px 1px; padding: 0px 3px 0px 3px; border-color: gray; white-space: nowrap;}
table.tbl th { border-width: 1px; border-style: solid solid solid solid; border-color: gray;}
table.tbl th.pxname { background: #b00040; color: #ffff40; font-weight: bold; border-style: solid solid none solid; padding: 2px 3px; white-space: nowrap;}
table.tbl th.empty { border-style: none; empty-cells: hide; background: white;}
td.ac { text-align: center;}
.titre { background: #20D0D0; color: #000000; font-weight: bold; text-align: center;}
.frontend { background: #e8e8d0;}
.backend { background: #e8e8d0;}
.active_down { background: #ff9090;}
.active_going_up { background: #ffd020;}
.active_going_down { background: #ffffa0;}
.active_up { background: #c0ffc0;}
.active_nolb { background: #20a0ff;}
.active_draining { background: #20a0FF;}
.active_no_check { background: #e0e0e0;}
.backup_down { background: #ff9090;}
.backup_going_up { background: #ff80ff;}
.backup_going_down { background: #c060ff;}
.backup_up { background: #b0d0ff;}
.backup_nolb { background: #90b0e0;}
.backup_draining { background: #cc9900;}
.backup_no_check { background: #e0e0e0;}
.maintain { background: #c07820;}
@media (prefers-color-scheme: dark) {
 body { color: #e8e6e3; background: #131516;}
 .active_down { background: #760000;} .active_going_up { background: #b99200;} .active_going_down { background: #6c6c00;}
 .active_up { background: #165900;} .active_nolb, .active_draining { background: #006ab9;} .active_no_check { background: #2a2d2f;}
 .backup_down { background: #760000;} .backup_going_up { background: #7f007f;} .backup_going_down { background: #580092;}
 .backup_up { background: #2e3234;} .backup_nolb { background: #1e3c6a;} .backup_draining { background: #a37a00;}
 .maintain { background: #9a601a;}
}
)";

std::string status_box(std::string_view code, const std::string& uri) {
  std::string cls = "active_down", text = "Unexpected result.";
  if (code == "DONE") cls = "active_up", text = "Action processed successfully.";
  else if (code == "NONE") cls = "active_going_down", text = "Nothing has changed.";
  else if (code == "PART") cls = "active_going_down",
       text = "Action partially processed.<br>Some server names are probably unknown or ambiguous (duplicated names in the backend).";
  else if (code == "ERRP") text = "Action not processed because of invalid parameters.";
  else if (code == "DENY") text = "<b>Action denied.</b>";
  return fmt::format("<p><div class={}><a class=lfsb href=\"{}\" title=\"Remove this message\">[X]</a> {}</div>\n", cls,
                     uri, text);
}

std::string html_page(const ProxyConfig& fe, const Options& o, const Source& s, bool admin, const std::vector<Row>& rows) {
  const auto& page = *fe.stats;
  std::string out =
      "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01 Transitional//EN\"\n\"http://www.w3.org/TR/html4/loose.dtd\">\n"
      "<html><head><title>Statistics Report for HAProxy</title>\n<link rel=\"icon\" href=\"data:,\">\n"
      "<meta http-equiv=\"content-type\" content=\"text/html; charset=iso-8859-1\">\n<style type=\"text/css\"><!--\n";
  out += kCss;
  out += "--></style></head>\n<body>";
  out += page.hide_version ? "<h1>lb</h1>\n" : "<h1>lb (HAProxy 2.6 configuration, Runtime API and statistics)</h1>\n";
  out += "<h2>Statistics Report</h2>\n<hr width=\"100%\" class=\"hr\">\n";
  out += fmt::format("<p>Display option: <a href=\"{0}{1}\">{2}</a> - <a href=\"{0};csv;norefresh\">CSV export</a></p>\n",
                     page.uri, o.hide_down ? "" : ";up", o.hide_down ? "Show all servers" : "Hide 'DOWN' servers");
  if (!o.status_code.empty()) out += status_box(o.status_code, page.uri);
  std::size_t at = 0;
  for (std::size_t pi = 0; pi < s.config.proxies.size(); ++pi) {
    const auto& px = s.config.proxies[pi];
    const bool form = admin && px.has_backend_role() && !px.servers.empty();
    if (form) out += "<form method=\"post\">";
    out += fmt::format("<table class=\"tbl\" width=\"100%\"><tr class=\"titre\"><th class=\"pxname\" width=\"10%\">"
                       "<a name=\"{0}\"></a><a class=px href=\"#{0}\">{0}</a></th><th class=\"empty\" width=\"90%\"></th></tr>"
                       "</table>\n",
                       html_escape(px.name));
    out += "<table class=\"tbl\" width=\"100%\">\n<tr class=\"titre\">";
    if (admin) out += "<th rowspan=2></th>";
    out += "<th rowspan=2></th><th colspan=3>Sessions</th><th colspan=2>Requests</th><th colspan=9>Server</th></tr>\n"
           "<tr class=\"titre\"><th>Cur</th><th>Max</th><th>Total</th><th>LbTot</th><th>5xx</th><th>Status</th>"
           "<th>LastChk</th><th>Wght</th><th>Act</th><th>Bck</th><th>Chk</th><th>Dwn</th><th>Dwntme</th><th>Thrtle</th></tr>\n";
    for (; at < rows.size() && *rows[at].get("pxname") == px.name; ++at) {
      const Row& r = rows[at];
      const auto& sv = *r.get("svname");
      const auto v = [&](std::string_view n) { return html_escape(r.get(n).value_or("")); };
      std::string cls = sv == "FRONTEND" ? "frontend" : sv == "BACKEND" ? "backend" : "";
      if (cls.empty()) {
        const auto& cfg = *std::find_if(px.servers.begin(), px.servers.end(), [&](const ServerConfig& c) { return c.name == sv; });
        const ServerKey key{pi, static_cast<std::size_t>(&cfg - px.servers.data())};
        cls = row_class(s.engine.status(key), *r.get("status"), cfg.settings.backup);
      }
      out += fmt::format("<tr class=\"{}\">", cls);
      if (admin) {
        if (cls != "frontend" && cls != "backend")
          out += fmt::format("<td><input class='{}-checkbox' type=\"checkbox\" name=\"s\" value=\"{}\"></td>",
                             html_escape(px.name), html_escape(sv));
        else
          out += "<td></td>";
      }
      std::string last_check;
      if (r.get("check_status"))
        last_check = fmt::format("<u> {}{}{}<div class=tips>{}{}</div></u>", v("check_status"),
                                 r.get("check_code") ? "/" + v("check_code") : std::string(),
                                 r.get("check_duration") ? " in " + v("check_duration") + "ms" : std::string(),
                                 v("check_desc"), v("last_chk").empty() ? std::string() : ": " + v("last_chk"));
      const long lastchg = r.get("lastchg") ? std::stol(*r.get("lastchg")) : -1;
      out += fmt::format("<td class=ac>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
                         "<td class=ac>{}{}</td><td class=ac>{}</td><td class=ac>{}</td><td class=ac>{}</td>"
                         "<td class=ac>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=ac>-</td></tr>\n",
                         html_escape(sv), v("scur"), v("smax"), v("stot"), v("lbtot"), v("hrsp_5xx"),
                         lastchg >= 0 ? human_time(lastchg) + " " : std::string(),
                         r.get("status").value_or("") == "no check" ? "<i>no check</i>" : v("status"), last_check,
                         r.get("weight") ? v("weight") + "/" + v("uweight") : std::string(),
                         r.get("act") ? (v("act") == "0" ? "-" : sv == "BACKEND" ? v("act") : "Y") : std::string(),
                         r.get("bck") ? (v("bck") == "0" ? "-" : sv == "BACKEND" ? v("bck") : "Y") : std::string(),
                         v("chkfail"), v("chkdown"),
                         r.get("downtime") ? human_time(std::stol(*r.get("downtime"))) : std::string());
    }
    out += "</table>\n";
    if (form)
      out += fmt::format(
          "Choose the action to perform on the checked servers : <select name=action><option value=\"\"></option>"
          "<option value=\"ready\">Set state to READY</option><option value=\"drain\">Set state to DRAIN</option>"
          "<option value=\"maint\">Set state to MAINT</option><option value=\"dhlth\">Health: disable checks</option>"
          "<option value=\"ehlth\">Health: enable checks</option><option value=\"hrunn\">Health: force UP</option>"
          "<option value=\"hnolb\">Health: force NOLB</option><option value=\"hdown\">Health: force DOWN</option>"
          "</select><input type=\"hidden\" name=\"b\" value=\"#{}\">&nbsp;<input type=\"submit\" value=\"Apply\"></form>",
          s.config.proxy_id(pi));
    out += "<p>\n";
  }
  out += "</body></html>\n";
  return out;
}

// --- Prometheus ---------------------------------------------------------------------------

enum class Scope { Frontend, Backend, Server };
enum class Kind { Field, Milliseconds, Status, CheckStatus, HttpResponses, AggServerStatus, AggCheckStatus };
struct Metric {
  Scope scope;
  std::string_view name, help, type;
  Kind kind;
  std::string_view field;
};

// HAProxy 2.6.12's frontend, backend and server metrics, in the order it prints them, with its
// HELP texts (addons/promex/service-prometheus.c, as captured in tests/data/haproxy26/stats).
constexpr Metric kMetrics[] = {
    {Scope::Frontend, "current_sessions", "Number of current sessions on the frontend, backend or server", "gauge", Kind::Field, "scur"},
    {Scope::Frontend, "max_sessions", "Highest value of current sessions encountered since process started", "gauge", Kind::Field, "smax"},
    {Scope::Frontend, "limit_sessions", "Frontend/listener/server's maxconn, backend's fullconn", "gauge", Kind::Field, "slim"},
    {Scope::Frontend, "sessions_total", "Total number of sessions since process started", "counter", Kind::Field, "stot"},
    {Scope::Frontend, "bytes_in_total", "Total number of request bytes since process started", "counter", Kind::Field, "bin"},
    {Scope::Frontend, "bytes_out_total", "Total number of response bytes since process started", "counter", Kind::Field, "bout"},
    {Scope::Frontend, "requests_denied_total", "Total number of denied requests since process started", "counter", Kind::Field, "dreq"},
    {Scope::Frontend, "responses_denied_total", "Total number of denied responses since process started", "counter", Kind::Field, "dresp"},
    {Scope::Frontend, "request_errors_total", "Total number of invalid requests since process started", "counter", Kind::Field, "ereq"},
    {Scope::Frontend, "status", "Current status of the service, per state label value.", "gauge", Kind::Status, ""},
    {Scope::Frontend, "limit_session_rate", "Limit on the number of sessions accepted in a second (frontend only, 'rate-limit sessions' setting)", "gauge", Kind::Field, "rate_lim"},
    {Scope::Frontend, "max_session_rate", "Highest value of sessions per second observed since the worker process started", "gauge", Kind::Field, "rate_max"},
    {Scope::Frontend, "http_responses_total", "Total number of HTTP responses with status 100-199 returned by this object since the worker process started", "counter", Kind::HttpResponses, ""},
    {Scope::Frontend, "http_requests_rate_max", "Highest value of http requests observed since the worker process started", "gauge", Kind::Field, "req_rate_max"},
    {Scope::Frontend, "http_requests_total", "Total number of HTTP requests processed by this object since the worker process started", "counter", Kind::Field, "req_tot"},
    {Scope::Frontend, "http_comp_bytes_in_total", "Total number of bytes submitted to the HTTP compressor for this object since the worker process started", "counter", Kind::Field, "comp_in"},
    {Scope::Frontend, "http_comp_bytes_out_total", "Total number of bytes emitted by the HTTP compressor for this object since the worker process started", "counter", Kind::Field, "comp_out"},
    {Scope::Frontend, "http_comp_bytes_bypassed_total", "Total number of bytes that bypassed HTTP compression for this object since the worker process started (CPU/memory/bandwidth limitation)", "counter", Kind::Field, "comp_byp"},
    {Scope::Frontend, "http_comp_responses_total", "Total number of HTTP responses that were compressed for this object since the worker process started", "counter", Kind::Field, "comp_rsp"},
    {Scope::Frontend, "connections_rate_max", "Highest value of connections per second observed since the worker process started", "gauge", Kind::Field, "conn_rate_max"},
    {Scope::Frontend, "connections_total", "Total number of new connections accepted on this frontend since the worker process started", "counter", Kind::Field, "conn_tot"},
    {Scope::Frontend, "intercepted_requests_total", "Total number of HTTP requests intercepted on the frontend (redirects/stats/services) since the worker process started", "counter", Kind::Field, "intercepted"},
    {Scope::Frontend, "denied_connections_total", "Total number of incoming connections blocked on a listener/frontend by a tcp-request connection rule since the worker process started", "counter", Kind::Field, "dcon"},
    {Scope::Frontend, "denied_sessions_total", "Total number of incoming sessions blocked on a listener/frontend by a tcp-request connection rule since the worker process started", "counter", Kind::Field, "dses"},
    {Scope::Frontend, "failed_header_rewriting_total", "Total number of failed HTTP header rewrites since the worker process started", "counter", Kind::Field, "wrew"},
    {Scope::Frontend, "http_cache_lookups_total", "Total number of HTTP requests looked up in the cache on this frontend/backend since the worker process started", "counter", Kind::Field, "cache_lookups"},
    {Scope::Frontend, "http_cache_hits_total", "Total number of HTTP requests not found in the cache on this frontend/backend since the worker process started", "counter", Kind::Field, "cache_hits"},
    {Scope::Frontend, "internal_errors_total", "Total number of internal errors since process started", "counter", Kind::Field, "eint"},
    {Scope::Backend, "current_queue", "Number of current queued connections", "gauge", Kind::Field, "qcur"},
    {Scope::Backend, "max_queue", "Highest value of queued connections encountered since process started", "gauge", Kind::Field, "qmax"},
    {Scope::Backend, "current_sessions", "Number of current sessions on the frontend, backend or server", "gauge", Kind::Field, "scur"},
    {Scope::Backend, "max_sessions", "Highest value of current sessions encountered since process started", "gauge", Kind::Field, "smax"},
    {Scope::Backend, "limit_sessions", "Frontend/listener/server's maxconn, backend's fullconn", "gauge", Kind::Field, "slim"},
    {Scope::Backend, "sessions_total", "Total number of sessions since process started", "counter", Kind::Field, "stot"},
    {Scope::Backend, "bytes_in_total", "Total number of request bytes since process started", "counter", Kind::Field, "bin"},
    {Scope::Backend, "bytes_out_total", "Total number of response bytes since process started", "counter", Kind::Field, "bout"},
    {Scope::Backend, "requests_denied_total", "Total number of denied requests since process started", "counter", Kind::Field, "dreq"},
    {Scope::Backend, "responses_denied_total", "Total number of denied responses since process started", "counter", Kind::Field, "dresp"},
    {Scope::Backend, "connection_errors_total", "Total number of failed connections to server since the worker process started", "counter", Kind::Field, "econ"},
    {Scope::Backend, "response_errors_total", "Total number of invalid responses since the worker process started", "counter", Kind::Field, "eresp"},
    {Scope::Backend, "retry_warnings_total", "Total number of server connection retries since the worker process started", "counter", Kind::Field, "wretr"},
    {Scope::Backend, "redispatch_warnings_total", "Total number of server redispatches due to connection failures since the worker process started", "counter", Kind::Field, "wredis"},
    {Scope::Backend, "status", "Current status of the service, per state label value.", "gauge", Kind::Status, ""},
    {Scope::Backend, "weight", "Server's effective weight, or sum of active servers' effective weights for a backend", "gauge", Kind::Field, "weight"},
    {Scope::Backend, "active_servers", "Total number of active UP servers with a non-zero weight", "gauge", Kind::Field, "act"},
    {Scope::Backend, "backup_servers", "Total number of backup UP servers with a non-zero weight", "gauge", Kind::Field, "bck"},
    {Scope::Backend, "check_up_down_total", "Total number of failed checks causing UP to DOWN server transitions, per server/backend, since the worker process started", "counter", Kind::Field, "chkdown"},
    {Scope::Backend, "check_last_change_seconds", "How long ago the last server state changed, in seconds", "gauge", Kind::Field, "lastchg"},
    {Scope::Backend, "downtime_seconds_total", "Total time spent in DOWN state, for server or backend", "counter", Kind::Field, "downtime"},
    {Scope::Backend, "loadbalanced_total", "Total number of requests routed by load balancing since the worker process started (ignores queue pop and stickiness)", "counter", Kind::Field, "lbtot"},
    {Scope::Backend, "max_session_rate", "Highest value of sessions per second observed since the worker process started", "gauge", Kind::Field, "rate_max"},
    {Scope::Backend, "http_responses_total", "Total number of HTTP responses with status 100-199 returned by this object since the worker process started", "counter", Kind::HttpResponses, ""},
    {Scope::Backend, "http_requests_total", "Total number of HTTP requests processed by this object since the worker process started", "counter", Kind::Field, "req_tot"},
    {Scope::Backend, "client_aborts_total", "Total number of requests or connections aborted by the client since the worker process started", "counter", Kind::Field, "cli_abrt"},
    {Scope::Backend, "server_aborts_total", "Total number of requests or connections aborted by the server since the worker process started", "counter", Kind::Field, "srv_abrt"},
    {Scope::Backend, "http_comp_bytes_in_total", "Total number of bytes submitted to the HTTP compressor for this object since the worker process started", "counter", Kind::Field, "comp_in"},
    {Scope::Backend, "http_comp_bytes_out_total", "Total number of bytes emitted by the HTTP compressor for this object since the worker process started", "counter", Kind::Field, "comp_out"},
    {Scope::Backend, "http_comp_bytes_bypassed_total", "Total number of bytes that bypassed HTTP compression for this object since the worker process started (CPU/memory/bandwidth limitation)", "counter", Kind::Field, "comp_byp"},
    {Scope::Backend, "http_comp_responses_total", "Total number of HTTP responses that were compressed for this object since the worker process started", "counter", Kind::Field, "comp_rsp"},
    {Scope::Backend, "last_session_seconds", "How long ago some traffic was seen on this object on this worker process, in seconds", "gauge", Kind::Field, "lastsess"},
    {Scope::Backend, "queue_time_average_seconds", "Avg. queue time for last 1024 successful connections.", "gauge", Kind::Milliseconds, "qtime"},
    {Scope::Backend, "connect_time_average_seconds", "Avg. connect time for last 1024 successful connections.", "gauge", Kind::Milliseconds, "ctime"},
    {Scope::Backend, "response_time_average_seconds", "Avg. response time for last 1024 successful connections.", "gauge", Kind::Milliseconds, "rtime"},
    {Scope::Backend, "total_time_average_seconds", "Avg. total time for last 1024 successful connections.", "gauge", Kind::Milliseconds, "ttime"},
    {Scope::Backend, "failed_header_rewriting_total", "Total number of failed HTTP header rewrites since the worker process started", "counter", Kind::Field, "wrew"},
    {Scope::Backend, "connection_attempts_total", "Total number of outgoing connection attempts on this backend/server since the worker process started", "counter", Kind::Field, "connect"},
    {Scope::Backend, "connection_reuses_total", "Total number of reused connection on this backend/server since the worker process started", "counter", Kind::Field, "reuse"},
    {Scope::Backend, "http_cache_lookups_total", "Total number of HTTP requests looked up in the cache on this frontend/backend since the worker process started", "counter", Kind::Field, "cache_lookups"},
    {Scope::Backend, "http_cache_hits_total", "Total number of HTTP requests not found in the cache on this frontend/backend since the worker process started", "counter", Kind::Field, "cache_hits"},
    {Scope::Backend, "max_queue_time_seconds", "Maximum observed time spent in the queue", "gauge", Kind::Milliseconds, "qtime_max"},
    {Scope::Backend, "max_connect_time_seconds", "Maximum observed time spent waiting for a connection to complete", "gauge", Kind::Milliseconds, "ctime_max"},
    {Scope::Backend, "max_response_time_seconds", "Maximum observed time spent waiting for a server response", "gauge", Kind::Milliseconds, "rtime_max"},
    {Scope::Backend, "max_total_time_seconds", "Maximum observed total request+response time (request+queue+connect+response+processing)", "gauge", Kind::Milliseconds, "ttime_max"},
    {Scope::Backend, "internal_errors_total", "Total number of internal errors since process started", "counter", Kind::Field, "eint"},
    {Scope::Backend, "uweight", "Server's user weight, or sum of active servers' user weights for a backend", "gauge", Kind::Field, "uweight"},
    {Scope::Backend, "agg_server_status", "Backend's aggregated gauge of servers' status", "gauge", Kind::AggServerStatus, ""},
    {Scope::Backend, "agg_server_check_status", "Backend's aggregated gauge of servers' state check status", "gauge", Kind::AggServerStatus, ""},
    {Scope::Backend, "agg_check_status", "Backend's aggregated gauge of servers' state check status", "gauge", Kind::AggCheckStatus, ""},
    {Scope::Server, "current_queue", "Number of current queued connections", "gauge", Kind::Field, "qcur"},
    {Scope::Server, "max_queue", "Highest value of queued connections encountered since process started", "gauge", Kind::Field, "qmax"},
    {Scope::Server, "current_sessions", "Number of current sessions on the frontend, backend or server", "gauge", Kind::Field, "scur"},
    {Scope::Server, "max_sessions", "Highest value of current sessions encountered since process started", "gauge", Kind::Field, "smax"},
    {Scope::Server, "limit_sessions", "Frontend/listener/server's maxconn, backend's fullconn", "gauge", Kind::Field, "slim"},
    {Scope::Server, "sessions_total", "Total number of sessions since process started", "counter", Kind::Field, "stot"},
    {Scope::Server, "bytes_in_total", "Total number of request bytes since process started", "counter", Kind::Field, "bin"},
    {Scope::Server, "bytes_out_total", "Total number of response bytes since process started", "counter", Kind::Field, "bout"},
    {Scope::Server, "responses_denied_total", "Total number of denied responses since process started", "counter", Kind::Field, "dresp"},
    {Scope::Server, "connection_errors_total", "Total number of failed connections to server since the worker process started", "counter", Kind::Field, "econ"},
    {Scope::Server, "response_errors_total", "Total number of invalid responses since the worker process started", "counter", Kind::Field, "eresp"},
    {Scope::Server, "retry_warnings_total", "Total number of server connection retries since the worker process started", "counter", Kind::Field, "wretr"},
    {Scope::Server, "redispatch_warnings_total", "Total number of server redispatches due to connection failures since the worker process started", "counter", Kind::Field, "wredis"},
    {Scope::Server, "status", "Current status of the service, per state label value.", "gauge", Kind::Status, ""},
    {Scope::Server, "weight", "Server's effective weight, or sum of active servers' effective weights for a backend", "gauge", Kind::Field, "weight"},
    {Scope::Server, "check_failures_total", "Total number of failed individual health checks per server/backend, since the worker process started", "counter", Kind::Field, "chkfail"},
    {Scope::Server, "check_up_down_total", "Total number of failed checks causing UP to DOWN server transitions, per server/backend, since the worker process started", "counter", Kind::Field, "chkdown"},
    {Scope::Server, "check_last_change_seconds", "How long ago the last server state changed, in seconds", "gauge", Kind::Field, "lastchg"},
    {Scope::Server, "downtime_seconds_total", "Total time spent in DOWN state, for server or backend", "counter", Kind::Field, "downtime"},
    {Scope::Server, "queue_limit", "Limit on the number of connections in queue, for servers only (maxqueue argument)", "gauge", Kind::Field, "qlimit"},
    {Scope::Server, "current_throttle", "Throttling ratio applied to a server's maxconn and weight during the slowstart period (0 to 100%)", "gauge", Kind::Field, "throttle"},
    {Scope::Server, "loadbalanced_total", "Total number of requests routed by load balancing since the worker process started (ignores queue pop and stickiness)", "counter", Kind::Field, "lbtot"},
    {Scope::Server, "max_session_rate", "Highest value of sessions per second observed since the worker process started", "gauge", Kind::Field, "rate_max"},
    {Scope::Server, "check_status", "Status of last health check, per state label value.", "gauge", Kind::CheckStatus, ""},
    {Scope::Server, "check_code", "layer5-7 code, if available of the last health check.", "gauge", Kind::Field, "check_code"},
    {Scope::Server, "check_duration_seconds", "Total duration of the latest server health check, in seconds.", "gauge", Kind::Milliseconds, "check_duration"},
    {Scope::Server, "http_responses_total", "Total number of HTTP responses with status 100-199 returned by this object since the worker process started", "counter", Kind::HttpResponses, ""},
    {Scope::Server, "client_aborts_total", "Total number of requests or connections aborted by the client since the worker process started", "counter", Kind::Field, "cli_abrt"},
    {Scope::Server, "server_aborts_total", "Total number of requests or connections aborted by the server since the worker process started", "counter", Kind::Field, "srv_abrt"},
    {Scope::Server, "last_session_seconds", "How long ago some traffic was seen on this object on this worker process, in seconds", "gauge", Kind::Field, "lastsess"},
    {Scope::Server, "queue_time_average_seconds", "Avg. queue time for last 1024 successful connections.", "gauge", Kind::Milliseconds, "qtime"},
    {Scope::Server, "connect_time_average_seconds", "Avg. connect time for last 1024 successful connections.", "gauge", Kind::Milliseconds, "ctime"},
    {Scope::Server, "response_time_average_seconds", "Avg. response time for last 1024 successful connections.", "gauge", Kind::Milliseconds, "rtime"},
    {Scope::Server, "total_time_average_seconds", "Avg. total time for last 1024 successful connections.", "gauge", Kind::Milliseconds, "ttime"},
    {Scope::Server, "failed_header_rewriting_total", "Total number of failed HTTP header rewrites since the worker process started", "counter", Kind::Field, "wrew"},
    {Scope::Server, "connection_attempts_total", "Total number of outgoing connection attempts on this backend/server since the worker process started", "counter", Kind::Field, "connect"},
    {Scope::Server, "connection_reuses_total", "Total number of reused connection on this backend/server since the worker process started", "counter", Kind::Field, "reuse"},
    {Scope::Server, "idle_connections_current", "Current number of idle connections available for reuse on this server", "gauge", Kind::Field, "srv_icur"},
    {Scope::Server, "idle_connections_limit", "Limit on the number of available idle connections on this server (server 'pool_max_conn' directive)", "gauge", Kind::Field, "src_ilim"},
    {Scope::Server, "max_queue_time_seconds", "Maximum observed time spent in the queue", "gauge", Kind::Milliseconds, "qtime_max"},
    {Scope::Server, "max_connect_time_seconds", "Maximum observed time spent waiting for a connection to complete", "gauge", Kind::Milliseconds, "ctime_max"},
    {Scope::Server, "max_response_time_seconds", "Maximum observed time spent waiting for a server response", "gauge", Kind::Milliseconds, "rtime_max"},
    {Scope::Server, "max_total_time_seconds", "Maximum observed total request+response time (request+queue+connect+response+processing)", "gauge", Kind::Milliseconds, "ttime_max"},
    {Scope::Server, "internal_errors_total", "Total number of internal errors since process started", "counter", Kind::Field, "eint"},
    {Scope::Server, "unsafe_idle_connections_current", "Current number of unsafe idle connections", "gauge", Kind::Field, "idle_conn_cur"},
    {Scope::Server, "safe_idle_connections_current", "Current number of safe idle connections", "gauge", Kind::Field, "safe_conn_cur"},
    {Scope::Server, "used_connections_current", "Current number of connections in use", "gauge", Kind::Field, "used_conn_cur"},
    {Scope::Server, "need_connections_current", "Estimated needed number of connections", "gauge", Kind::Field, "need_conn_est"},
    {Scope::Server, "uweight", "Server's user weight, or sum of active servers' user weights for a backend", "gauge", Kind::Field, "uweight"},
};

constexpr std::array<std::string_view, 16> kCheckStates{"HANA", "SOCKERR", "L4OK", "L4TOUT", "L4CON", "L6OK", "L6TOUT", "L6RSP",
                                                       "L7TOUT", "L7RSP", "L7OK", "L7OKC", "L7STS", "PROCERR", "PROCTOUT", "PROCOK"};
constexpr std::array<std::string_view, 5> kServerStates{"DOWN", "UP", "MAINT", "DRAIN", "NOLB"};

// promex_srv_status: any maintenance is MAINT; running is UP (DRAIN with the drain flag);
// stopping is NOLB; else DOWN.
std::string_view promex_state(const ServerStatus& st) {
  if (st.admin & admin::kAnyMaint) return "MAINT";
  if (st.op == OpState::Running || st.op == OpState::Starting) return (st.admin & admin::kAnyDrain) ? "DRAIN" : "UP";
  if (st.op == OpState::Stopping) return "NOLB";
  return "DOWN";
}

std::string value_of(const Row& r, const Metric& m) {
  const auto& v = r.get(m.field);
  if (!v || v->empty()) return "NaN";
  if (m.kind == Kind::Milliseconds) return fmt::format("{:f}", std::stod(*v) / 1000.0);
  return *v;
}

}  // namespace

std::optional<std::string> decode_base64(std::string_view text) {
  const auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  std::string out;
  int bits = 0, acc = 0;
  for (const char c : text) {
    const int v = val(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

Service local_service(const ProxyConfig& fe, std::string_view method, std::string_view target) {
  const auto path = target.substr(0, target.find('?'));
  if (fe.prometheus_path && (fe.prometheus_path->empty() || path == *fe.prometheus_path)) return Service::Prometheus;
  if (fe.stats && (method == "GET" || method == "HEAD" || method == "POST") && target.starts_with(fe.stats->uri))
    return Service::Stats;
  return Service::None;
}

PageAnswer stats_page(const ProxyConfig& fe, const PageRequest& req, const Source& source, CheckEngine& engine) {
  const StatsPage& page = *fe.stats;
  if (!authorized(page, req)) return framed(unauthorized(page), req);
  const auto rest = req.target.substr(std::min(page.uri.size(), req.target.size()));
  const Options o = read_options(rest);
  const bool admin = admin_allowed(page, req);
  if (req.method == "POST") {
    const std::string code = admin ? apply_post(fe, req.body, source, engine) : "DENY";
    Reply r;
    r.status = 303;
    r.reason = "See Other";
    r.chunked = false;
    r.headers = {{"cache-control", "no-cache"},
                 {"content-type", "text/plain"},
                 {"content-length", "0"},
                 {"location", fmt::format("{};st={}{}{}{}", page.uri, code, o.hide_down ? ";up" : "",
                                          o.norefresh ? ";norefresh" : "", o.scope.empty() ? "" : "?scope=" + o.scope)}};
    return framed(r, req);
  }
  Filter filter;
  filter.hide_down = o.hide_down;
  filter.hide_maint = o.hide_maint;
  filter.legends = page.show_legends;
  std::vector<Row> rows;
  for (auto& r : stats::rows(source, filter))
    if (in_scope(*r.get("pxname"), o.scope)) rows.push_back(std::move(r));
  Reply r;
  r.headers = {{"cache-control", "no-cache"}};
  r.headers.emplace_back("content-type", o.json || o.schema ? "application/json" : o.csv || o.typed ? "text/plain" : "text/html");
  if (page.refresh && !o.norefresh)
    r.headers.emplace_back("refresh", std::to_string(std::chrono::duration_cast<std::chrono::seconds>(*page.refresh).count()));
  if (o.schema) {
    r.body = std::string(kJsonSchema);
  } else if (o.json) {
    r.body = json_stats(rows);
  } else if (o.typed) {
    r.body = typed_stats(rows);
  } else if (o.csv) {
    r.body = csv_header();
    for (const auto& row : rows) r.body += csv_line(row);
  } else {
    r.body = html_page(fe, o, source, admin, rows);
  }
  return framed(r, req);
}

namespace {

// The process metrics (promex's "global" scope): each is a `show info` field (addons/promex,
// promex_global_metrics; names, HELP and TYPE as captured from haproxy 2.6.12).
struct ProcessMetric {
  std::string_view name, help, type, info_field;
};
constexpr ProcessMetric kProcessMetrics[] = {
    {"nbthread", "Number of started threads (global.nbthread)", "gauge", "Nbthread"},
    {"nbproc", "Number of started worker processes (historical, always 1)", "gauge", "Nbproc"},
    {"relative_process_id", "Relative worker process number (1)", "gauge", "Process_num"},
    {"uptime_seconds", "How long ago this worker process was started (seconds)", "gauge", "Uptime_sec"},
    {"pool_failures_total", "Number of failed pool allocations since this worker was started", "counter", "PoolFailed"},
    {"max_fds", "Hard limit on the number of per-process file descriptors", "gauge", "Ulimit-n"},
    {"max_sockets", "Hard limit on the number of per-process sockets", "gauge", "Maxsock"},
    {"max_connections", "Hard limit on the number of per-process connections (configured or imposed by Ulimit-n)", "gauge", "Maxconn"},
    {"hard_max_connections", "Hard limit on the number of per-process connections (imposed by Memmax_MB or Ulimit-n)", "gauge", "Hard_maxconn"},
    {"current_connections", "Current number of connections on this worker process", "gauge", "CurrConns"},
    {"connections_total", "Total number of connections on this worker process since started", "counter", "CumConns"},
    {"requests_total", "Total number of requests on this worker process since started", "counter", "CumReq"},
    {"max_ssl_connections", "Hard limit on the number of per-process SSL endpoints (front+back), 0=unlimited", "gauge", "MaxSslConns"},
    {"current_ssl_connections", "Current number of SSL endpoints on this worker process (front+back)", "gauge", "CurrSslConns"},
    {"ssl_connections_total", "Total number of SSL endpoints on this worker process since started (front+back)", "counter", "CumSslConns"},
    {"max_pipes", "Hard limit on the number of pipes for splicing, 0=unlimited", "gauge", "Maxpipes"},
    {"pipes_used_total", "Current number of pipes in use in this worker process", "counter", "PipesUsed"},
    {"pipes_free_total", "Current number of allocated and available pipes in this worker process", "counter", "PipesFree"},
    {"current_connection_rate", "Number of front connections created on this worker process over the last second", "gauge", "ConnRate"},
    {"limit_connection_rate", "Hard limit for ConnRate (global.maxconnrate)", "gauge", "ConnRateLimit"},
    {"max_connection_rate", "Highest ConnRate reached on this worker process since started (in connections per second)", "gauge", "MaxConnRate"},
    {"current_session_rate", "Number of sessions created on this worker process over the last second", "gauge", "SessRate"},
    {"limit_session_rate", "Hard limit for SessRate (global.maxsessrate)", "gauge", "SessRateLimit"},
    {"max_session_rate", "Highest SessRate reached on this worker process since started (in sessions per second)", "gauge", "MaxSessRate"},
    {"current_ssl_rate", "Number of SSL connections created on this worker process over the last second", "gauge", "SslRate"},
    {"limit_ssl_rate", "Hard limit for SslRate (global.maxsslrate)", "gauge", "SslRateLimit"},
    {"max_ssl_rate", "Highest SslRate reached on this worker process since started (in connections per second)", "gauge", "MaxSslRate"},
    {"current_frontend_ssl_key_rate", "Number of SSL keys created on frontends in this worker process over the last second", "gauge", "SslFrontendKeyRate"},
    {"max_frontend_ssl_key_rate", "Highest SslFrontendKeyRate reached on this worker process since started (in SSL keys per second)", "gauge", "SslFrontendMaxKeyRate"},
    {"frontend_ssl_reuse", "Percent of frontend SSL connections which did not require a new key", "gauge", "SslFrontendSessionReuse_pct"},
    {"current_backend_ssl_key_rate", "Number of SSL keys created on backends in this worker process over the last second", "gauge", "SslBackendKeyRate"},
    {"max_backend_ssl_key_rate", "Highest SslBackendKeyRate reached on this worker process since started (in SSL keys per second)", "gauge", "SslBackendMaxKeyRate"},
    {"ssl_cache_lookups_total", "Total number of SSL session ID lookups in the SSL session cache on this worker since started", "counter", "SslCacheLookups"},
    {"ssl_cache_misses_total", "Total number of SSL session ID lookups that didn't find a session in the SSL session cache on this worker since started", "counter", "SslCacheMisses"},
    {"http_comp_bytes_in_total", "Number of bytes submitted to the HTTP compressor in this worker process over the last second", "counter", "CompressBpsIn"},
    {"http_comp_bytes_out_total", "Number of bytes emitted by the HTTP compressor in this worker process over the last second", "counter", "CompressBpsOut"},
    {"limit_http_comp", "Limit of CompressBpsOut beyond which HTTP compression is automatically disabled", "gauge", "CompressBpsRateLim"},
    {"current_zlib_memory", "Amount of memory currently used by HTTP compression on the current worker process (in bytes)", "gauge", "ZlibMemUsage"},
    {"max_zlib_memory", "Limit on the amount of memory used by HTTP compression above which it is automatically disabled (in bytes, see global.maxzlibmem)", "gauge", "MaxZlibMemUsage"},
    {"current_tasks", "Total number of tasks in the current worker process (active + sleeping)", "gauge", "Tasks"},
    {"current_run_queue", "Total number of active tasks+tasklets in the current worker process", "gauge", "Run_queue"},
    {"idle_time_percent", "Percentage of last second spent waiting in the current worker thread", "gauge", "Idle_pct"},
    {"stopping", "1 if the worker process is currently stopping, otherwise zero", "gauge", "Stopping"},
    {"jobs", "Current number of active jobs on the current worker process (frontend connections, master connections, listeners)", "gauge", "Jobs"},
    {"unstoppable_jobs", "Current number of unstoppable jobs on the current worker process (master connections)", "gauge", "Unstoppable Jobs"},
    {"listeners", "Current number of active listeners on the current worker process", "gauge", "Listeners"},
    {"active_peers", "Current number of verified active peers connections on the current worker process", "gauge", "ActivePeers"},
    {"connected_peers", "Current number of peers having passed the connection step on the current worker process", "gauge", "ConnectedPeers"},
    {"dropped_logs_total", "Total number of dropped logs for current worker process since started", "counter", "DroppedLogs"},
    {"busy_polling_enabled", "1 if busy-polling is currently in use on the worker process, otherwise zero (config.busy-polling)", "gauge", "BusyPolling"},
    {"failed_resolutions", "Total number of failed DNS resolutions in current worker process since started", "counter", "FailedResolutions"},
    {"bytes_out_total", "Total number of bytes emitted by current worker process since started", "counter", "TotalBytesOut"},
    {"spliced_bytes_out_total", "Total number of bytes emitted by current worker process through a kernel pipe since started", "counter", "TotalSplicdedBytesOut"},
    {"bytes_out_rate", "Number of bytes emitted by current worker process over the last second", "gauge", "BytesOutRate"},
    {"recv_logs_total", "Total number of log messages received by log-forwarding listeners on this worker process since started", "counter", "CumRecvLogs"},
    {"build_info", "Build info", "gauge", "Build info"},
    {"max_memory_bytes", "Worker process's hard limit on memory usage in byes (-m on command line)", "gauge", "Memmax_bytes"},
    {"pool_allocated_bytes", "Amount of memory allocated in pools (in bytes)", "gauge", "PoolAlloc_bytes"},
    {"pool_used_bytes", "Amount of pool memory currently used (in bytes)", "gauge", "PoolUsed_bytes"},
    {"start_time_seconds", "Start time in seconds", "gauge", "Start_time_sec"},
};

std::string process_metrics(const ProcessInfo& p) {
  std::string out;
  for (const auto& m : kProcessMetrics) {
    const std::string full = fmt::format("haproxy_process_{}", m.name);
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", full, m.help, full, m.type);
    if (m.name == "build_info")
      out += fmt::format("{}{{version=\"{}\"}} 1\n", full, info_value(p, "Version"));
    else if (m.info_field == "ZlibMemUsage" || m.info_field == "MaxZlibMemUsage")
      out += fmt::format("{} NaN\n", full);  // a build without zlib, as Debian's
    else
      out += fmt::format("{} {}\n", full, info_value(p, m.info_field));
  }
  return out;
}

}  // namespace

PageAnswer prometheus(const PageRequest& req, const Source& source) {
  // `scope=` may repeat; the first one replaces "everything"; an empty one keeps nothing.
  std::optional<std::vector<std::string>> scopes;
  bool no_maint = false;
  if (const auto q = req.target.find('?'); q != std::string_view::npos) {
    std::string_view query = req.target.substr(q + 1);
    while (!query.empty()) {
      const auto amp = query.find('&');
      const auto part = query.substr(0, amp);
      if (part.starts_with("scope=")) {
        const auto v = part.substr(6);
        if (!scopes) scopes.emplace();
        if (!v.empty()) {
          static const std::array kKnown{"global", "frontend", "listener", "backend", "server", "sticktable", "*"};
          if (std::find(kKnown.begin(), kKnown.end(), v) == kKnown.end()) {
            Reply bad;
            bad.status = 400;
            bad.reason = "Bad request";
            bad.chunked = false;
            bad.body = "<html><body><h1>400 Bad request</h1>\nYour browser sent an invalid request.\n</body></html>\n";
            bad.headers = {{"content-length", std::to_string(bad.body.size())},
                           {"cache-control", "no-cache"},
                           {"content-type", "text/html"}};
            return framed(bad, req);
          }
          scopes->emplace_back(v);
        } else {
          scopes->clear();
        }
      } else if (part == "no-maint") {
        no_maint = true;
      }
      if (amp == std::string_view::npos) break;
      query.remove_prefix(amp + 1);
    }
  }
  const auto wanted = [&](std::string_view scope) {
    return !scopes || std::find_if(scopes->begin(), scopes->end(), [&](const std::string& s) { return s == scope || s == "*"; }) != scopes->end();
  };
  Filter filter;
  filter.legends = false;
  const auto rows = stats::rows(source, filter);
  std::string body;
  if (wanted("global") && source.process) body += process_metrics(*source.process);
  for (const auto& m : kMetrics) {
    const std::string_view scope = m.scope == Scope::Frontend ? "frontend" : m.scope == Scope::Backend ? "backend" : "server";
    if (!wanted(scope)) continue;
    const std::string full = fmt::format("haproxy_{}_{}", scope, m.name);
    std::string samples;
    const auto sample = [&](std::string labels, std::string_view value) {
      samples += fmt::format("{}{{{}}} {}\n", full, labels, value);
    };
    // http_responses_total: one class after the other, over every proxy.
    const int passes = m.kind == Kind::HttpResponses ? 6 : 1;
    for (int pass = 0; pass < passes; ++pass) {
      static const std::array<std::string_view, 6> kCodes{"1xx", "2xx", "3xx", "4xx", "5xx", "other"};
      for (const auto& r : rows) {
        const auto& sv = *r.get("svname");
        const std::string px = *r.get("pxname");
        const bool fe = sv == "FRONTEND", be = sv == "BACKEND";
        if ((m.scope == Scope::Frontend) != fe || (m.scope == Scope::Backend) != be) continue;
        std::size_t pi = 0;
        while (source.config.proxies[pi].name != px) ++pi;
        const auto& pcfg = source.config.proxies[pi];
        std::string labels = fmt::format("proxy=\"{}\"", px);
        std::optional<ServerStatus> st;
        if (m.scope == Scope::Server) {
          labels += fmt::format(",server=\"{}\"", sv);
          const auto it = std::find_if(pcfg.servers.begin(), pcfg.servers.end(), [&](const ServerConfig& c) { return c.name == sv; });
          st = source.engine.status({pi, static_cast<std::size_t>(it - pcfg.servers.begin())});
          if (no_maint && (st->admin & admin::kAnyMaint)) continue;
        }
        switch (m.kind) {
          case Kind::Field:
          case Kind::Milliseconds:
            if (m.field == "check_code" || m.field == "check_duration") {
              if (!st->check_configured || !st->check_enabled) break;
              if (m.field == "check_code" && (st->admin & admin::kAnyMaint)) break;
              if (m.field == "check_code") {
                sample(labels, r.get("check_code").value_or("0"));
                break;
              }
              if (st->last_check.status < CheckStatus::Checked || st->last_check.duration.count() < 0) break;
              sample(labels, fmt::format("{:f}", static_cast<double>(st->last_check.duration.count()) / 1000.0));
              break;
            }
            sample(labels, value_of(r, m));
            break;
          case Kind::HttpResponses: {
            const std::string_view names[] = {"hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "hrsp_other"};
            const auto& v = r.get(names[pass]);
            sample(labels + fmt::format(",code=\"{}\"", kCodes[static_cast<std::size_t>(pass)]), v ? *v : "NaN");
            break;
          }
          case Kind::Status: {
            if (m.scope == Scope::Server) {
              const auto now = promex_state(*st);
              for (const auto state : kServerStates) sample(labels + fmt::format(",state=\"{}\"", state), state == now ? "1" : "0");
            } else {
              const bool up = !r.get("status")->starts_with("DOWN");
              sample(labels + ",state=\"DOWN\"", up ? "0" : "1");
              sample(labels + ",state=\"UP\"", up ? "1" : "0");
            }
            break;
          }
          case Kind::CheckStatus: {
            if (!st->check_configured || !st->check_enabled || (st->admin & admin::kAnyMaint)) break;
            const std::string_view tag = info(st->last_check.status).tag;
            for (const auto state : kCheckStates) sample(labels + fmt::format(",state=\"{}\"", state), state == tag ? "1" : "0");
            break;
          }
          case Kind::AggServerStatus:
          case Kind::AggCheckStatus: {
            if (pcfg.servers.empty()) break;
            std::map<std::string_view, int> count;
            for (std::size_t si = 0; si < pcfg.servers.size(); ++si) {
              const auto s2 = source.engine.status({pi, si});
              if (m.kind == Kind::AggServerStatus) ++count[promex_state(s2)];
              else if (s2.check_configured && s2.check_enabled) ++count[info(s2.last_check.status).tag];
            }
            if (m.kind == Kind::AggServerStatus)
              for (const auto state : kServerStates) sample(labels + fmt::format(",state=\"{}\"", state), std::to_string(count[state]));
            else
              for (const auto state : kCheckStates) sample(labels + fmt::format(",state=\"{}\"", state), std::to_string(count[state]));
            break;
          }
        }
      }
    }
    if (samples.empty()) continue;
    body += fmt::format("# HELP {} {}\n# TYPE {} {}\n", full, m.help, full, m.type);
    body += samples;
  }
  Reply r;
  r.headers = {{"cache-control", "no-cache"}, {"content-type", "text/plain; version=0.0.4"}};
  r.body = std::move(body);
  return framed(r, req);
}

}  // namespace lb::core::stats
