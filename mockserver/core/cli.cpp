#include "mockserver/core/cli.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <stdexcept>
#include <vector>

#include "mockserver/core/spec.hpp"

namespace mock::core {

namespace json = boost::json;

namespace {

// Splits on blanks; "double quotes" group words and are removed.
CliResult<std::vector<std::string>> tokenize(std::string_view text) {
  std::vector<std::string> out;
  std::string cur;
  bool in_token = false, quoted = false;
  for (char c : text) {
    if (c == '"') {
      quoted = !quoted;
      in_token = true;
    } else if ((c == ' ' || c == '\t') && !quoted) {
      if (in_token) out.push_back(std::move(cur)), cur.clear();
      in_token = false;
    } else {
      cur += c;
      in_token = true;
    }
  }
  if (quoted) return std::string("unterminated quote");
  if (in_token) out.push_back(std::move(cur));
  return out;
}

std::pair<std::string_view, std::string_view> split_at(std::string_view s, char sep) {
  const auto at = s.find(sep);
  if (at == std::string_view::npos) return {s, {}};
  return {s.substr(0, at), s.substr(at + 1)};
}

// Numbers stay numbers so the decoder's range checks apply; anything else is a string.
json::value scalar(std::string_view v) {
  std::int64_t n = 0;
  const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec == std::errc{} && p == v.data() + v.size() && !v.empty()) return n;
  double x = 0;
  const auto [q, xec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (xec == std::errc{} && q == v.data() + v.size() && !v.empty()) return x;
  if (v == "true") return true;
  if (v == "false") return false;
  return json::string(v);
}

// "3..5" -> [3, 5]; "3.." -> [3, null]; "3" -> 3
json::value range(std::string_view v) {
  const auto dots = v.find("..");
  if (dots == std::string_view::npos) return scalar(v);
  const auto to = v.substr(dots + 2);
  return json::array{scalar(v.substr(0, dots)), to.empty() ? json::value(nullptr) : scalar(to)};
}

std::string decode_errors(const SpecErrors& e) {
  std::string out;
  for (const auto& x : e) out += (out.empty() ? "" : "; ") + x.to_string();
  return out;
}

// key=value parameters of a fault, into its JSON object.
std::optional<std::string> fault_params(json::object& f, const std::vector<std::string>& words,
                                        std::size_t from) {
  for (std::size_t i = from; i < words.size(); ++i) {
    const auto [k, v] = split_at(words[i], '=');
    if (v.empty()) return fmt::format("'{}': expected key=value", words[i]);
    f[k] = scalar(v);
  }
  return std::nullopt;
}

}  // namespace

std::vector<std::string> apply_setting_flags(Spec& spec,
                                             const std::vector<std::pair<std::string, std::string>>& flags) {
  // --journal-limit is the spec's journal_limit, and so on.
  auto field_of = [](std::string_view flag) {
    std::string f(flag.substr(2));
    std::replace(f.begin(), f.end(), '-', '_');
    return f;
  };
  json::object settings{{"listeners", json::array{}}};
  for (const auto& [flag, text] : flags) settings[field_of(flag)] = scalar(text);
  const auto decoded = decode_spec(settings);
  std::vector<std::string> errors;
  if (!decoded) {
    for (const auto& e : decoded.error()) {
      auto text = e.to_string();
      for (const auto& [flag, value] : flags)
        if (text.starts_with(field_of(flag) + ":")) text = fmt::format("{} '{}'{}", flag, value, text.substr(field_of(flag).size()));
      errors.push_back(std::move(text));
    }
    return errors;
  }
  for (const auto& [flag, text] : flags) {
    const auto f = field_of(flag);
    if (f == "journal_limit") spec.journal_limit = decoded->journal_limit;
    else if (f == "idle_timeout_ms") spec.idle_timeout = decoded->idle_timeout;
    else if (f == "max_connections") spec.max_connections = decoded->max_connections;
    else if (f == "timeline_start") spec.timeline_start = decoded->timeline_start;
  }
  return errors;
}

CliResult<std::pair<std::string, Endpoint>> parse_listen_arg(std::string_view text) {
  const auto [name, addr] = split_at(text, '=');
  if (!valid_listener_name(name) || addr.empty())
    return fmt::format("--listen '{}': expected NAME=ADDR:PORT such as s1=127.0.0.1:0", text);
  auto e = parse_endpoint(addr);
  if (!e)
    return fmt::format("--listen '{}': expected IP:PORT such as 127.0.0.1:0 or [::1]:0 (an IP address, not a name)",
                       text);
  return std::pair{std::string(name), *e};
}

CliResult<std::pair<std::string, Fault>> parse_fault_arg(std::string_view text) {
  const auto [name, rest] = split_at(text, '=');
  if (!valid_listener_name(name) || rest.empty())
    return fmt::format("--fault '{}': expected NAME=FAULT such as s1=hang", text);
  auto words = tokenize(rest);
  if (!words || words->empty()) return fmt::format("--fault '{}': expected a fault name", text);
  json::object f{{"kind", (*words)[0]}};
  if (auto e = fault_params(f, *words, 1)) return fmt::format("--fault '{}': {}", text, *e);
  auto decoded = decode_fault(f, "fault");
  if (!decoded) return fmt::format("--fault '{}': {}", text, decode_errors(decoded.error()));
  return std::pair{std::string(name), *decoded};
}

CliResult<std::pair<std::string, Rule>> parse_rule_arg(std::string_view text, std::size_t index) {
  const auto fail = [&](std::string_view why) -> std::string {
    return fmt::format("--rule '{}': {} (form: 'NAME: [key=value ...] -> status N [...] | FAULT [...]')",
                       text, why);
  };
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) return fail("missing 'NAME:'");
  const auto name = text.substr(0, colon);
  if (!valid_listener_name(name)) return fail("bad listener name");
  const auto arrow = text.find("->", colon);
  if (arrow == std::string_view::npos) return fail("missing '->'");
  auto conds = tokenize(text.substr(colon + 1, arrow - colon - 1));
  auto action = tokenize(text.substr(arrow + 2));
  if (!conds) return fail(conds.error());
  if (!action) return fail(action.error());
  if (action->empty()) return fail("missing an action after '->'");

  json::object rule, match, schedule;
  for (const auto& c : *conds) {
    const auto [k, v] = split_at(c, '=');
    if (v.empty() && c.find('=') == std::string::npos) return fail(fmt::format("'{}': expected key=value", c));
    if (k == "id") {
      rule["id"] = v;
    } else if (k == "method") {
      json::array ms;
      for (std::string_view rest = v; !rest.empty();) {
        const auto [m, tail] = split_at(rest, ',');
        ms.emplace_back(m);
        rest = tail;
      }
      match["method"] = std::move(ms);
    } else if (k == "path") {
      match["path"] = v;
    } else if (k == "path^") {
      match["path_prefix"] = v;
    } else if (k == "path~") {
      match["path_regex"] = v;
    } else if (k == "query") {
      const auto [qn, qv] = split_at(v, ':');
      auto& query = match["query"];
      if (!query.is_object()) query = json::object{};
      query.as_object()[qn] = v.find(':') == std::string_view::npos ? json::value(true) : json::value(qv);
    } else if (k == "body" || k == "body*" || k == "body~" || k == "json") {
      auto& body = match["body"];
      if (!body.is_object()) body = json::object{};
      auto& b = body.as_object();
      if (k == "body") b["equals"] = v;
      else if (k == "body*") b["contains"] = v;
      else if (k == "body~") b["regex"] = v;
      else {
        // json=/pointer:VALUE, the value as JSON when it parses as JSON, else as a string
        const auto [pointer, value] = split_at(v, ':');
        boost::system::error_code ec;
        auto parsed = json::parse(json::string_view(value.data(), value.size()), ec);
        auto& ptrs = b["json"];
        if (!ptrs.is_object()) ptrs = json::object{};
        ptrs.as_object()[pointer] = ec ? json::value(json::string(value)) : std::move(parsed);
      }
    } else if (k == "header") {
      const auto [hn, hv] = split_at(v, ':');
      auto& headers = match["headers"];
      if (!headers.is_object()) headers = json::object{};
      headers.as_object()[hn] = v.find(':') == std::string_view::npos ? json::value(true) : json::value(hv);
    } else if (k == "probability" || k == "seed") {
      schedule[k] = scalar(v);
    } else if (k == "nth" || k == "times" || k == "every" || k == "after_requests" || k == "after_ms") {
      schedule[k] = scalar(v);
    } else if (k == "after") {
      schedule["after_requests"] = scalar(v);
    } else if (k == "matches" || k == "requests" || k == "probes") {
      schedule[k] = range(v);
    } else if (k == "at_ms" || k == "at") {
      auto r = range(v);
      schedule["at_ms"] = r.is_array() ? r : json::array{r, nullptr};
    } else if (k == "flap" || k == "flap_requests") {
      // P/D[/OFFSET]: on for D out of every P (ms, or requests)
      const auto [p, rest] = split_at(v, '/');
      const auto [d, off] = split_at(rest, '/');
      const bool ms = k == "flap";
      json::object f{{ms ? "period_ms" : "period", scalar(p)}, {ms ? "down_ms" : "down", scalar(d)}};
      if (!off.empty()) f[ms ? "offset_ms" : "offset"] = scalar(off);
      schedule[k] = std::move(f);
    } else {
      return fail(fmt::format("unknown condition '{}'", k));
    }
  }
  if (!match.empty()) rule["match"] = std::move(match);
  if (!schedule.empty()) rule["schedule"] = std::move(schedule);

  const auto& words = *action;
  if (words[0] == "status") {
    if (words.size() < 2) return fail("'status' needs a code");
    json::object respond{{"status", scalar(words[1])}};
    for (std::size_t i = 2; i < words.size(); ++i) {
      const auto [k, v] = split_at(words[i], '=');
      if (k == "reason") {
        respond["reason"] = v == "none" ? json::value(nullptr) : json::value(v);
      } else if (k == "body") {
        respond["body"] = v;
      } else if (k == "delay" || k == "delay_ms") {
        respond["delay_ms"] = scalar(v);
      } else if (k == "jitter" || k == "jitter_ms") {
        respond["jitter_ms"] = scalar(v);
      } else if (k == "jitter_dist") {
        respond["jitter"] = v;
      } else if (k == "rate") {
        respond["rate"] = scalar(v);
      } else if (k == "chunk_bytes" || k == "chunked") {
        respond[k] = scalar(v);
      } else if (k == "chunk_delay" || k == "chunk_delay_ms") {
        respond["chunk_delay_ms"] = scalar(v);
      } else if (k == "header") {
        const auto [hn, hv] = split_at(v, ':');
        auto& headers = respond["headers"];
        if (!headers.is_array()) headers = json::array{};
        auto value = hv;
        while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        headers.as_array().push_back(json::array{json::string(hn), json::string(value)});
      } else {
        return fail(fmt::format("unknown response option '{}'", k));
      }
    }
    rule["respond"] = std::move(respond);
  } else if (words[0] == "proxy") {
    // proxy [delay=MS] [rate=BYTES]
    json::object p;
    for (std::size_t i = 1; i < words.size(); ++i) {
      const auto [k, v] = split_at(words[i], '=');
      if (k == "delay" || k == "delay_ms") p["delay_ms"] = scalar(v);
      else if (k == "rate") p["rate"] = scalar(v);
      else if (k == "up_rate") p["up_rate"] = scalar(v);
      else return fail(fmt::format("unknown proxy option '{}' (delay=MS, rate=BYTES, up_rate=BYTES)", k));
    }
    rule["proxy"] = p.empty() ? json::value(true) : json::value(std::move(p));
  } else {
    json::object f{{"kind", words[0]}};
    if (auto e = fault_params(f, words, 1)) return fail(*e);
    rule["fault"] = std::move(f);
  }
  auto decoded = decode_rule(rule, "rule", index);
  if (!decoded) return fmt::format("--rule '{}': {}", text, decode_errors(decoded.error()));
  return std::pair{std::string(name), std::move(*decoded)};
}

}  // namespace mock::core
