#include "mockserver/core/spec.hpp"

#include "mockserver/core/dns.hpp"
#include "lb/core/text.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <set>
#include <stdexcept>

namespace mock::core {

namespace json = boost::json;

void throw_exception_from_error(const SpecErrors& e, const boost::source_location&) {
  throw std::invalid_argument(e.empty() ? "invalid spec" : e.front().to_string());
}

namespace {

std::string field(std::string_view path, std::string_view name) {
  return path.empty() ? std::string(name) : fmt::format("{}.{}", path, name);
}
// Most DNS records (or faults) one list holds.
constexpr std::size_t kMaxDnsRecords = 10000;

std::string item(std::string_view path, std::size_t i) { return fmt::format("{}[{}]", path, i); }

// Collects errors while walking one document; every accessor reports and returns nullopt on a
// wrong shape so decoding continues and finds the next error too.
class Decoder {
 public:
  SpecErrors errors;

  void fail(std::string path, std::string message) {
    if (errors.size() < 100) errors.push_back({std::move(path), std::move(message)});
  }

  const json::object* object(const json::value& v, const std::string& path) {
    if (const auto* o = v.if_object()) return o;
    fail(path, "expected an object");
    return nullptr;
  }

  void known(const json::object& o, const std::string& path,
             std::initializer_list<std::string_view> keys) {
    for (const auto& kv : o) {
      const std::string_view k = kv.key();
      if (std::find(keys.begin(), keys.end(), k) == keys.end())
        fail(field(path, k), "unknown field");
    }
  }

  std::optional<std::int64_t> integer(const json::value& v, const std::string& path,
                                      std::int64_t lo, std::int64_t hi) {
    std::optional<std::int64_t> n;
    if (v.is_int64()) n = v.get_int64();
    if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
      n = static_cast<std::int64_t>(v.get_uint64());
    if (!n || *n < lo || *n > hi) {
      fail(path, hi == INT64_MAX ? fmt::format("expected an integer >= {}", lo)
                                 : fmt::format("expected an integer {}..{}", lo, hi));
      return std::nullopt;
    }
    return n;
  }

  std::optional<Ms> millis(const json::value& v, const std::string& path) {
    constexpr std::int64_t kDay = 24LL * 3600 * 1000;
    const auto n = integer(v, path, 0, 365 * kDay);
    return n ? std::optional<Ms>(Ms{*n}) : std::nullopt;
  }

  std::optional<std::string> string(const json::value& v, const std::string& path) {
    if (const auto* s = v.if_string()) return std::string(*s);
    fail(path, "expected a string");
    return std::nullopt;
  }

  // [start, end] in ms on the timeline, end null or absent for open-ended.
  void window(const json::value& v, const std::string& path, std::optional<Ms>& from, std::optional<Ms>& until) {
    const auto* a = v.if_array();
    if (!a || a->empty() || a->size() > 2) {
      fail(path, "expected [start, end] in ms (end may be null)");
      return;
    }
    from = millis((*a)[0], item(path, 0));
    if (a->size() == 2 && !(*a)[1].is_null()) until = millis((*a)[1], item(path, 1));
    if (from && until && *until <= *from) fail(path, "end must be after start");
  }

  // A string field that must be there.
  std::optional<std::string> required_string(const json::object& o, std::string_view key, const std::string& path) {
    const auto* v = o.if_contains(key);
    if (!v) {
      fail(field(path, key), "missing");
      return std::nullopt;
    }
    return string(*v, field(path, key));
  }

  std::optional<bool> boolean(const json::value& v, const std::string& path) {
    if (const auto* b = v.if_bool()) return *b;
    fail(path, "expected true or false");
    return std::nullopt;
  }

  // [from, to] with to null or absent for open-ended; a bare integer n means [n, n].
  std::optional<Range> range(const json::value& v, const std::string& path) {
    if (v.is_number()) {
      const auto n = integer(v, path, 1, INT64_MAX);
      if (!n) return std::nullopt;
      return Range{static_cast<std::uint64_t>(*n), static_cast<std::uint64_t>(*n)};
    }
    const auto* a = v.if_array();
    if (!a || a->empty() || a->size() > 2) {
      fail(path, "expected [from, to] (to may be null)");
      return std::nullopt;
    }
    const auto from = integer((*a)[0], item(path, 0), 1, INT64_MAX);
    Range r{from ? static_cast<std::uint64_t>(*from) : 1, std::nullopt};
    if (a->size() == 2 && !(*a)[1].is_null()) {
      const auto to = integer((*a)[1], item(path, 1), 1, INT64_MAX);
      if (to) r.to = static_cast<std::uint64_t>(*to);
      if (to && from && *to < *from) fail(path, "to is before from");
    }
    if (!from) return std::nullopt;
    return r;
  }

  std::optional<Fault> fault(const json::value& v, const std::string& path) {
    const json::object* o = nullptr;
    std::string kind_path = path;
    std::optional<std::string> kind_name;
    if (v.is_string()) {
      kind_name = std::string(v.get_string());
    } else if ((o = v.if_object())) {
      kind_path = field(path, "kind");
      if (const auto* k = o->if_contains("kind")) {
        kind_name = string(*k, kind_path);
        if (!kind_name) return std::nullopt;
      } else {
        fail(kind_path, "missing");
        return std::nullopt;
      }
    } else {
      fail(path, "expected a fault name or {\"kind\": ...}");
      return std::nullopt;
    }
    const auto kind = fault_from_name(*kind_name);
    if (!kind) {
      std::string names;
      for (const auto& f : fault_table()) names += (names.empty() ? "" : ", ") + std::string(f.name);
      fail(kind_path, fmt::format("unknown fault '{}' (known: {})", *kind_name, names));
      return std::nullopt;
    }
    Fault f = make_fault(*kind);
    if (!o) return f;
    known(*o, path, {"kind", "bytes", "every_ms", "ms", "seed", "then", "split_ms"});
    if (const auto* b = o->if_contains("bytes")) {
      if (const auto n = integer(*b, field(path, "bytes"), 0, 1024 * 1024)) f.bytes = *n;
    }
    for (const char* key : {"every_ms", "ms", "split_ms"}) {
      if (const auto* e = o->if_contains(key)) {
        if (const auto ms = millis(*e, field(path, key))) f.every = *ms;
      }
    }
    if (const auto* s = o->if_contains("seed")) {
      if (const auto n = integer(*s, field(path, "seed"), 0, UINT32_MAX)) f.seed = static_cast<std::uint32_t>(*n);
    }
    if (const auto* t = o->if_contains("then")) {
      const auto then = string(*t, field(path, "then"));
      if (then == "hold") f.then = Ending::Hold;
      else if (then == "close") f.then = Ending::Close;
      else if (then) fail(field(path, "then"), "expected \"hold\" or \"close\"");
    }
    if (f.kind == FaultKind::Drip && f.bytes == 0) fail(field(path, "bytes"), "must be at least 1");
    return f;
  }

  Match match(const json::value& v, const std::string& path) {
    Match m;
    const auto* o = object(v, path);
    if (!o) return m;
    known(*o, path, {"method", "path", "path_prefix", "path_regex", "headers", "query", "body"});
    if (const auto* mv = o->if_contains("method")) {
      const auto mpath = field(path, "method");
      if (mv->is_string()) {
        m.methods.emplace_back(mv->get_string());
      } else if (const auto* a = mv->if_array()) {
        for (std::size_t i = 0; i < a->size(); ++i)
          if (auto s = string((*a)[i], item(mpath, i))) m.methods.push_back(std::move(*s));
      } else {
        fail(mpath, "expected a method or a list of methods");
      }
      for (const auto& meth : m.methods)
        if (meth.empty()) fail(mpath, "empty method");
    }
    int path_kinds = 0;
    for (auto [key, kind] : {std::pair{"path", PathMatch::Kind::Exact},
                             std::pair{"path_prefix", PathMatch::Kind::Prefix},
                             std::pair{"path_regex", PathMatch::Kind::Regex}}) {
      const auto* pv = o->if_contains(key);
      if (!pv) continue;
      ++path_kinds;
      const auto text = string(*pv, field(path, key));
      if (!text) continue;
      m.path = {kind, *text, std::nullopt};
      if (kind == PathMatch::Kind::Regex) {
        std::string why;
        if (text->size() > kMaxRegexPattern) {
          fail(field(path, key), fmt::format("expected at most {} characters", kMaxRegexPattern));
        } else if (!(m.path.re = lb::core::Regex::compile(*text, &why))) {
          fail(field(path, key), fmt::format("invalid regular expression: {}", why));
        }
      }
    }
    if (path_kinds > 1) fail(path, "give only one of path, path_prefix, path_regex");
    if (const auto* hv = o->if_contains("headers")) {
      const auto hpath = field(path, "headers");
      if (const auto* ho = object(*hv, hpath)) {
        for (const auto& kv : *ho) {
          const auto kpath = field(hpath, kv.key());
          HeaderMatch h{std::string(kv.key()), std::nullopt};
          if (kv.value().is_string()) {
            h.value = std::string(kv.value().get_string());
          } else if (!(kv.value().is_bool() && kv.value().get_bool())) {
            fail(kpath, "expected a value to equal, or true for presence");
          }
          m.headers.push_back(std::move(h));
        }
      }
    }
    if (const auto* qv = o->if_contains("query")) {
      const auto qpath = field(path, "query");
      if (const auto* qo = object(*qv, qpath)) {
        for (const auto& kv : *qo) {
          QueryMatch q{std::string(kv.key()), std::nullopt};
          if (kv.value().is_string()) q.value = std::string(kv.value().get_string());
          else if (!(kv.value().is_bool() && kv.value().get_bool()))
            fail(field(qpath, kv.key()), "expected a value to equal, or true for presence");
          m.query.push_back(std::move(q));
        }
      }
    }
    if (const auto* bv = o->if_contains("body")) m.body = body_match(*bv, field(path, "body"));
    return m;
  }

  BodyMatch body_match(const json::value& v, const std::string& path) {
    BodyMatch b;
    const auto* o = object(v, path);
    if (!o) return b;
    known(*o, path, {"equals", "contains", "regex", "json"});
    if (const auto* x = o->if_contains("equals")) b.equals = string(*x, field(path, "equals"));
    if (const auto* x = o->if_contains("contains")) b.contains = string(*x, field(path, "contains"));
    if (const auto* x = o->if_contains("regex")) {
      const auto rpath = field(path, "regex");
      if ((b.regex = string(*x, rpath))) {
        std::string why;
        if (b.regex->size() > kMaxRegexPattern)
          fail(rpath, fmt::format("expected at most {} characters", kMaxRegexPattern));
        else if (!(b.re = lb::core::Regex::compile(*b.regex, &why)))
          fail(rpath, fmt::format("invalid regular expression: {}", why));
      }
    }
    if (const auto* x = o->if_contains("json")) {
      const auto jpath = field(path, "json");
      if (const auto* jo = object(*x, jpath)) {
        for (const auto& kv : *jo) {
          const std::string pointer(kv.key());
          if (!pointer.empty() && pointer.front() != '/')
            fail(field(jpath, pointer), "expected a JSON pointer such as /user/id");
          b.json.emplace_back(pointer, json::serialize(kv.value()));
        }
      }
    }
    if (b.empty()) fail(path, "expected at least one of equals, contains, regex, json");
    return b;
  }

  Schedule schedule(const json::value& v, const std::string& path) {
    Schedule s;
    const auto* o = object(v, path);
    if (!o) return s;
    known(*o, path, {"nth", "matches", "requests", "probes", "after_requests", "times", "every",
                     "at_ms", "after_ms", "flap", "flap_requests", "probability", "seed"});
    if (const auto* p = o->if_contains("probability")) {
      const double x = p->is_number() ? p->to_number<double>() : -1;
      if (x < 0 || x > 1) fail(field(path, "probability"), "expected a number 0..1");
      else s.probability = x;
    }
    if (const auto* sd = o->if_contains("seed")) {
      if (const auto n = integer(*sd, field(path, "seed"), 0, INT64_MAX)) s.seed = static_cast<std::uint64_t>(*n);
    }
    auto count = [&](const char* key, std::int64_t lo) -> std::optional<std::uint64_t> {
      const auto* x = o->if_contains(key);
      if (!x) return std::nullopt;
      const auto n = integer(*x, field(path, key), lo, INT64_MAX);
      return n ? std::optional<std::uint64_t>(*n) : std::nullopt;
    };
    if (const auto n = count("nth", 1)) s.matches = Range{*n, *n};
    if (const auto* x = o->if_contains("matches")) {
      if (s.matches) fail(field(path, "matches"), "give nth or matches, not both");
      s.matches = range(*x, field(path, "matches"));
    }
    if (const auto* x = o->if_contains("requests")) s.requests = range(*x, field(path, "requests"));
    if (const auto* x = o->if_contains("probes")) s.probes = range(*x, field(path, "probes"));
    if (const auto n = count("after_requests", 0)) {
      if (s.requests) fail(field(path, "after_requests"), "give requests or after_requests, not both");
      s.requests = Range{*n + 1, std::nullopt};
    }
    s.times = count("times", 1);
    s.every = count("every", 1);
    if (const auto* x = o->if_contains("at_ms")) window(*x, field(path, "at_ms"), s.from, s.until);
    if (const auto* x = o->if_contains("after_ms")) {
      if (s.from) fail(field(path, "after_ms"), "give at_ms or after_ms, not both");
      s.from = millis(*x, field(path, "after_ms"));
    }
    if (const auto* x = o->if_contains("flap")) s.flap = time_flap(*x, field(path, "flap"));
    if (const auto* x = o->if_contains("flap_requests"))
      s.flap_requests = count_flap(*x, field(path, "flap_requests"));
    return s;
  }

  std::optional<TimeFlap> time_flap(const json::value& v, const std::string& path) {
    const auto* o = object(v, path);
    if (!o) return std::nullopt;
    known(*o, path, {"period_ms", "down_ms", "duty", "offset_ms"});
    TimeFlap f;
    const auto* p = o->if_contains("period_ms");
    if (!p) {
      fail(field(path, "period_ms"), "missing");
      return std::nullopt;
    }
    const auto period = integer(*p, field(path, "period_ms"), 1, 365LL * 24 * 3600 * 1000);
    if (!period) return std::nullopt;
    f.period = Ms{*period};
    const auto* d = o->if_contains("down_ms");
    const auto* duty = o->if_contains("duty");
    if ((d == nullptr) == (duty == nullptr)) {
      fail(path, "give exactly one of down_ms, duty");
      return std::nullopt;
    }
    if (d) {
      const auto down = integer(*d, field(path, "down_ms"), 0, *period);
      if (!down) return std::nullopt;
      f.down = Ms{*down};
    } else {
      const double x = duty->is_number() ? duty->to_number<double>() : -1;
      if (!(x >= 0.0 && x <= 1.0)) {
        fail(field(path, "duty"), "expected a number 0..1");
        return std::nullopt;
      }
      f.down = Ms{static_cast<std::int64_t>(std::llround(x * static_cast<double>(*period)))};
    }
    if (const auto* off = o->if_contains("offset_ms")) {
      if (const auto ms = millis(*off, field(path, "offset_ms"))) f.offset = *ms;
    }
    return f;
  }

  std::optional<CountFlap> count_flap(const json::value& v, const std::string& path) {
    const auto* o = object(v, path);
    if (!o) return std::nullopt;
    known(*o, path, {"period", "down", "offset"});
    CountFlap f;
    const auto* p = o->if_contains("period");
    const auto* d = o->if_contains("down");
    if (!p || !d) {
      fail(field(path, p ? "down" : "period"), "missing");
      return std::nullopt;
    }
    const auto period = integer(*p, field(path, "period"), 1, INT64_MAX);
    if (!period) return std::nullopt;
    const auto down = integer(*d, field(path, "down"), 0, *period);
    if (!down) return std::nullopt;
    f.period = *period;
    f.down = *down;
    if (const auto* off = o->if_contains("offset")) {
      if (const auto n = integer(*off, field(path, "offset"), 0, INT64_MAX)) f.offset = *n;
    }
    return f;
  }

  Response response(const json::value& v, const std::string& path) {
    Response r;
    const auto* o = object(v, path);
    if (!o) return r;
    known(*o, path, {"status", "reason", "headers", "body", "delay_ms", "jitter_ms", "jitter", "rate",
                     "chunk_bytes", "chunk_delay_ms", "chunked"});
    if (const auto* j = o->if_contains("jitter_ms")) r.jitter = millis(*j, field(path, "jitter_ms")).value_or(Ms{0});
    if (const auto* j = o->if_contains("jitter")) {
      const auto dist = string(*j, field(path, "jitter"));
      if (dist == "normal") r.jitter_normal = true;
      else if (dist && dist != "uniform") fail(field(path, "jitter"), "expected \"uniform\" or \"normal\"");
    }
    if (const auto* rt = o->if_contains("rate")) {
      if (const auto n = integer(*rt, field(path, "rate"), 1, 1'000'000'000)) r.rate = static_cast<std::size_t>(*n);
    }
    if (const auto* s = o->if_contains("status")) {
      if (const auto n = integer(*s, field(path, "status"), 100, 999)) r.status = static_cast<int>(*n);
    }
    if (const auto* rv = o->if_contains("reason")) {
      if (rv->is_null()) {
        r.omit_reason = true;
      } else if (auto s = string(*rv, field(path, "reason"))) {
        if (s->find_first_of("\r\n") != std::string::npos)
          fail(field(path, "reason"), "must not contain CR or LF");
        r.reason = std::move(*s);
      }
    }
    if (const auto* hv = o->if_contains("headers")) headers(*hv, field(path, "headers"), r);
    if (const auto* b = o->if_contains("body")) {
      r.body = string(*b, field(path, "body"));
      if (r.body && r.body->size() > kMaxBody) {
        fail(field(path, "body"), fmt::format("expected at most {} bytes", kMaxBody));
        r.body.reset();
      }
    }
    if (const auto* d = o->if_contains("delay_ms")) r.delay = millis(*d, field(path, "delay_ms")).value_or(Ms{0});
    if (const auto* c = o->if_contains("chunk_bytes")) {
      if (const auto n = integer(*c, field(path, "chunk_bytes"), 0, 16 * 1024 * 1024)) r.chunk_bytes = *n;
    }
    if (const auto* d = o->if_contains("chunk_delay_ms"))
      r.chunk_delay = millis(*d, field(path, "chunk_delay_ms")).value_or(Ms{0});
    if (const auto* c = o->if_contains("chunked")) r.chunked = boolean(*c, field(path, "chunked")).value_or(false);
    return r;
  }

  // {"writes": [{"pause_ms": MS, "text": "..." | "hex": "..."}, ...], "then": "close"|"hold"|"reset"|"serve"}
  RawReply raw(const json::value& v, const std::string& path) {
    RawReply r;
    const auto* o = object(v, path);
    if (!o) return r;
    known(*o, path, {"writes", "then"});
    if (const auto* t = o->if_contains("then")) {
      const auto then = string(*t, field(path, "then"));
      if (const auto e = then ? raw_end_from_name(*then) : std::nullopt) r.then = *e;
      else if (then) fail(field(path, "then"), "expected \"close\", \"hold\", \"reset\" or \"serve\"");
    }
    const auto* w = o->if_contains("writes");
    if (!w) {
      fail(field(path, "writes"), "missing");
      return r;
    }
    const auto* a = w->if_array();
    if (!a) {
      fail(field(path, "writes"), "expected a list of {\"pause_ms\": MS, \"text\" or \"hex\": BYTES}");
      return r;
    }
    if (a->size() > kMaxRawWrites) {
      fail(field(path, "writes"), fmt::format("expected at most {} writes", kMaxRawWrites));
      return r;
    }
    std::size_t total = 0;
    for (std::size_t i = 0; i < a->size(); ++i) {
      const auto at = item(field(path, "writes"), i);
      const auto* wo = object((*a)[i], at);
      if (!wo) continue;
      known(*wo, at, {"pause_ms", "text", "hex"});
      RawWrite write;
      if (const auto* d = wo->if_contains("pause_ms")) write.pause = millis(*d, field(at, "pause_ms")).value_or(Ms{0});
      const auto* text = wo->if_contains("text");
      const auto* hex = wo->if_contains("hex");
      if (text && hex) fail(at, "give one of text and hex");
      if (text) {
        if (auto t = string(*text, field(at, "text"))) write.bytes = std::move(*t);
      } else if (hex) {
        if (auto h = string(*hex, field(at, "hex"))) {
          if (auto bytes = lb::core::decode_hex(*h)) write.bytes = std::move(*bytes);
          else fail(field(at, "hex"), "expected pairs of hexadecimal digits");
        }
      }
      total += write.bytes.size();
      r.writes.push_back(std::move(write));
    }
    if (total > kMaxBody) fail(field(path, "writes"), fmt::format("expected at most {} bytes in all", kMaxBody));
    return r;
  }

  void headers(const json::value& v, const std::string& path, Response& r) {
    auto add = [&](std::string name, const json::value& value, const std::string& at) {
      auto text = string(value, at);
      if (!text) return;
      if (name.empty() || name.find_first_of(":\r\n ") != std::string::npos)
        fail(at, "invalid header name");
      else if (text->find_first_of("\r\n") != std::string::npos)
        fail(at, "header value must not contain CR or LF");
      r.headers.emplace_back(std::move(name), std::move(*text));
    };
    if (const auto* o = v.if_object()) {
      for (const auto& kv : *o) add(std::string(kv.key()), kv.value(), field(path, kv.key()));
    } else if (const auto* a = v.if_array()) {
      for (std::size_t i = 0; i < a->size(); ++i) {
        const auto* pair = (*a)[i].if_array();
        if (!pair || pair->size() != 2 || !(*pair)[0].is_string()) {
          fail(item(path, i), "expected [name, value]");
          continue;
        }
        add(std::string((*pair)[0].get_string()), (*pair)[1], item(path, i));
      }
    } else {
      fail(path, "expected an object or a list of [name, value]");
    }
  }

  Rule rule(const json::value& v, const std::string& path, std::size_t index) {
    Rule r;
    r.id = fmt::format("rule-{}", index + 1);
    const auto* o = object(v, path);
    if (!o) return r;
    known(*o, path, {"id", "match", "schedule", "respond", "fault", "proxy", "raw"});
    if (const auto* id = o->if_contains("id")) {
      if (auto s = string(*id, field(path, "id"))) {
        if (s->empty() || s->size() > 128) fail(field(path, "id"), "expected 1..128 characters");
        r.id = std::move(*s);
      }
    }
    if (const auto* m = o->if_contains("match")) r.match = match(*m, field(path, "match"));
    if (const auto* s = o->if_contains("schedule")) r.schedule = schedule(*s, field(path, "schedule"));
    if (const auto* re = o->if_contains("respond")) r.respond = response(*re, field(path, "respond"));
    if (const auto* f = o->if_contains("fault")) {
      if (!f->is_null()) r.fault = fault(*f, field(path, "fault"));
    }
    if (const auto* p = o->if_contains("proxy")) {
      const auto ppath = field(path, "proxy");
      if (p->is_bool() && p->get_bool()) {
        r.proxy = ProxyAction{};
      } else if (const auto* po = p->if_object()) {
        known(*po, ppath, {"delay_ms", "rate", "up_rate"});
        ProxyAction a;
        if (const auto* d = po->if_contains("delay_ms")) a.delay = millis(*d, field(ppath, "delay_ms")).value_or(Ms{0});
        if (const auto* rt = po->if_contains("rate")) {
          if (const auto n = integer(*rt, field(ppath, "rate"), 1, 1'000'000'000)) a.rate = static_cast<std::size_t>(*n);
        }
        if (const auto* rt = po->if_contains("up_rate")) {
          if (const auto n = integer(*rt, field(ppath, "up_rate"), 1, 1'000'000'000))
            a.up_rate = static_cast<std::size_t>(*n);
        }
        r.proxy = a;
      } else if (!p->is_bool()) {
        fail(ppath, "expected true or {\"delay_ms\": MS, \"rate\": BYTES}");
      }
      if (r.proxy && (r.fault || o->contains("respond")))
        fail(path, "give one of respond, fault and proxy");
    }
    if (const auto* rv = o->if_contains("raw")) {
      r.raw = raw(*rv, field(path, "raw"));
      if (r.fault || r.proxy || o->contains("respond")) fail(path, "give one of respond, fault, proxy and raw");
    }
    if (r.fault && o->contains("respond") && info(r.fault->kind).phase != Phase::Request)
      fail(path, "a connection or listener fault cannot have a respond");
    else if (r.fault && o->contains("respond") && !shapes_response(r.fault->kind))
      fail(field(path, "respond"),
           fmt::format("'{}' sends no response of the rule's, so respond would be ignored: remove it, or use a "
                       "fault that bends the response (drip, bad-length, delay, http09, oversized-headers, "
                       "reset-mid-response, interim-1xx, bad-status-line)",
                       info(r.fault->kind).name));
    if (r.fault && info(r.fault->kind).phase != Phase::Request) {
      // Nothing has been read when these act, so there is nothing to match on.
      if (!r.match.empty())
        fail(field(path, "match"), fmt::format("'{}' acts before a request is read; remove match",
                                               info(r.fault->kind).name));
      if (info(r.fault->kind).phase == Phase::Listener && !r.schedule.ends_unseen_ok())
        fail(field(path, "schedule"),
             fmt::format("'{}' acts on the listening socket, where the connections it turns away are never "
                         "seen, so no count can end it: give an open count (after=N, probes=N..), a time "
                         "schedule (at_ms, after_ms, flap), or count with a connection fault "
                         "(reset-on-accept, close-before-request)",
                         info(r.fault->kind).name));
    }
    return r;
  }

  std::vector<Rule> rules(const json::value& v, const std::string& path) {
    std::vector<Rule> out;
    const auto* a = v.if_array();
    if (!a) {
      fail(path, "expected a list of rules");
      return out;
    }
    if (a->size() > kMaxRules) {
      fail(path, fmt::format("expected at most {} rules", kMaxRules));
      return out;
    }
    std::set<std::string> ids;
    for (std::size_t i = 0; i < a->size(); ++i) {
      out.push_back(rule((*a)[i], item(path, i), i));
      if (!ids.insert(out.back().id).second)
        fail(field(item(path, i), "id"), fmt::format("duplicate rule id '{}'", out.back().id));
    }
    return out;
  }

  std::optional<Endpoint> endpoint(const json::value& v, const std::string& path) {
    const auto s = string(v, path);
    if (!s) return std::nullopt;
    auto e = parse_endpoint(*s);
    if (!e) fail(path, "expected IP:PORT such as 127.0.0.1:0 or [::1]:8080 (an IP address, not a name)");
    return e;
  }

  ListenerSpec listener(const json::value& v, const std::string& path) {
    ListenerSpec l;
    const auto* o = object(v, path);
    if (!o) return l;
    known(*o, path, {"name", "listen", "upstream", "tls", "mode", "fault", "greeting", "rules"});
    if (const auto* n = o->if_contains("name")) {
      if (auto s = string(*n, field(path, "name"))) {
        if (!valid_listener_name(*s))
          fail(field(path, "name"), "expected 1..64 of [A-Za-z0-9_.-]");
        l.name = std::move(*s);
      }
    } else {
      fail(field(path, "name"), "missing");
    }
    if (const auto* e = o->if_contains("listen")) {
      if (auto ep = endpoint(*e, field(path, "listen"))) l.listen = *ep;
    }
    if (const auto* m = o->if_contains("mode")) {
      if (auto s = string(*m, field(path, "mode"))) {
        if (auto mode = mode_from_name(*s)) l.mode = *mode;
        else fail(field(path, "mode"), "expected serve, refuse, blackhole or slow-accept");
      }
    }
    if (const auto* f = o->if_contains("fault")) {
      if (!f->is_null()) l.fault = fault(*f, field(path, "fault"));
    }
    if (const auto* g = o->if_contains("greeting")) {
      if (!g->is_null()) l.greeting = raw(*g, field(path, "greeting"));
    }
    if (const auto* r = o->if_contains("rules")) l.rules = rules(*r, field(path, "rules"));
    if (const auto* u = o->if_contains("upstream")) l.upstream = endpoint(*u, field(path, "upstream"));
    if (const auto* t = o->if_contains("tls")) l.tls = tls(*t, field(path, "tls"));
    for (const auto& [where, why] : listener_conflicts(l, path)) fail(where, why);
    return l;
  }

  DnsRecord dns_record(const json::value& v, const std::string& path) {
    DnsRecord r;
    const auto* o = object(v, path);
    if (!o) return r;
    known(*o, path, {"name", "type", "value", "ttl", "at_ms"});
    if (auto n = required_string(*o, "name", path)) {
      r.name = *n;
      if (auto e = dns_name_problem(r.name)) fail(field(path, "name"), *e);
    }
    if (auto t = required_string(*o, "type", path)) {
      const auto type = lb::core::dns::type_from_name(*t);
      namespace dt = lb::core::dns::type;
      if (!type || (*type != dt::A && *type != dt::AAAA && *type != dt::CNAME && *type != dt::SRV))
        fail(field(path, "type"), "expected A, AAAA, CNAME or SRV");
      else
        r.type = *type;
    }
    if (auto val = required_string(*o, "value", path)) {
      r.value = *val;
      if (auto e = dns_value_problem(r)) fail(field(path, "value"), *e);
    }
    if (const auto* t = o->if_contains("ttl")) {
      if (const auto n = integer(*t, field(path, "ttl"), 0, 0x7FFFFFFF)) r.ttl = static_cast<std::uint32_t>(*n);
    }
    if (const auto* w = o->if_contains("at_ms")) window(*w, field(path, "at_ms"), r.from, r.until);
    return r;
  }

  DnsFault dns_fault(const json::value& v, const std::string& path) {
    DnsFault f;
    auto kind = [&](const std::string& name, const std::string& at) {
      if (auto k = dns_fault_from_name(name)) f.kind = *k;
      else fail(at, fmt::format("unknown DNS fault '{}' (known: nxdomain, servfail, refused, no-answer, truncated, "
                                "ttl-0, wrong-id, garbage)", name));
    };
    if (v.is_string()) {
      kind(std::string(v.get_string()), path);
      return f;
    }
    const auto* o = object(v, path);
    if (!o) return f;
    known(*o, path, {"kind", "name", "at_ms"});
    if (auto k = required_string(*o, "kind", path)) kind(*k, field(path, "kind"));
    if (const auto* n = o->if_contains("name")) {
      if ((f.name = string(*n, field(path, "name"))))
        if (auto e = dns_name_problem(*f.name)) fail(field(path, "name"), *e);
    }
    if (const auto* w = o->if_contains("at_ms")) window(*w, field(path, "at_ms"), f.from, f.until);
    return f;
  }

  template <class T, class One>
  std::vector<T> dns_list(const json::value& v, const std::string& path, One one) {
    std::vector<T> out;
    const auto* a = v.if_array();
    if (!a) {
      fail(path, "expected a list");
    } else if (a->size() > kMaxDnsRecords) {
      fail(path, fmt::format("expected at most {}", kMaxDnsRecords));
    } else {
      for (std::size_t i = 0; i < a->size(); ++i) out.push_back((this->*one)((*a)[i], item(path, i)));
    }
    return out;
  }

  DnsSpec dns(const json::value& v, const std::string& path) {
    DnsSpec d;
    const auto* o = object(v, path);
    if (!o) return d;
    known(*o, path, {"listen", "records", "faults"});
    if (auto l = required_string(*o, "listen", path)) {
      if (auto e = parse_endpoint(*l)) d.listen = *e;
      else fail(field(path, "listen"), "expected IP:PORT such as 127.0.0.1:0 (an IP address, not a name)");
    }
    if (const auto* r = o->if_contains("records")) d.records = dns_list<DnsRecord>(*r, field(path, "records"), &Decoder::dns_record);
    if (const auto* f = o->if_contains("faults")) d.faults = dns_list<DnsFault>(*f, field(path, "faults"), &Decoder::dns_fault);
    return d;
  }

  // "self-signed", or {"cert": FILE, "key": FILE}
  std::optional<TlsSpec> tls(const json::value& v, const std::string& path) {
    if (v.is_string() && v.get_string() == "self-signed") return TlsSpec{};
    const auto* o = v.if_object();
    if (!o) {
      fail(path, "expected \"self-signed\" or {\"cert\": FILE, \"key\": FILE}");
      return std::nullopt;
    }
    known(*o, path, {"cert", "key"});
    TlsSpec t;
    for (auto [key, out] : {std::pair{"cert", &t.cert_file}, std::pair{"key", &t.key_file}}) {
      if (const auto* x = o->if_contains(key)) {
        if (auto s = string(*x, field(path, key)); s && !s->empty()) *out = std::move(*s);
        else if (s) fail(field(path, key), "expected a file name");
      } else {
        fail(field(path, key), "missing");
      }
    }
    return t;
  }

  Spec spec(const json::value& v) {
    Spec s;
    const auto* o = object(v, "");
    if (!o) return s;
    known(*o, "", {"listeners", "admin", "journal_limit", "idle_timeout_ms", "max_connections",
                   "timeline_start", "log", "dns"});
    if (const auto* ls = o->if_contains("listeners")) {
      if (const auto* a = ls->if_array()) {
        std::set<std::string> names;
        for (std::size_t i = 0; i < a->size(); ++i) {
          s.listeners.push_back(listener((*a)[i], item("listeners", i)));
          const auto& name = s.listeners.back().name;
          if (!name.empty() && !names.insert(name).second)
            fail(field(item("listeners", i), "name"), fmt::format("duplicate listener '{}'", name));
        }
      } else {
        fail("listeners", "expected a list of listeners");
      }
    }
    if (const auto* a = o->if_contains("admin")) s.admin = endpoint(*a, "admin");
    if (const auto* j = o->if_contains("journal_limit")) {
      if (const auto n = integer(*j, "journal_limit", 0, 10'000'000)) s.journal_limit = *n;
    }
    if (const auto* t = o->if_contains("idle_timeout_ms")) {
      if (const auto ms = millis(*t, "idle_timeout_ms")) s.idle_timeout = *ms;
    }
    if (const auto* c = o->if_contains("max_connections")) {
      if (const auto n = integer(*c, "max_connections", 1, 1'000'000)) s.max_connections = *n;
    }
    if (const auto* dv = o->if_contains("dns")) s.dns = dns(*dv, "dns");
    if (const auto* lg = o->if_contains("log")) {
      if (lg->is_bool()) s.log_requests = lg->as_bool();
      else fail("log", "expected true or false");
    }
    if (const auto* t = o->if_contains("timeline_start")) {
      if (const auto text = string(*t, "timeline_start")) {
        if (const auto start = timeline_start_from_name(*text)) s.timeline_start = *start;
        else fail("timeline_start", "expected start or first-connection");
      }
    }
    return s;
  }
};

template <class T>
SpecResult<T> finish(Decoder& d, T value) {
  if (!d.errors.empty()) return std::move(d.errors);
  return value;
}

json::value range_json(const Range& r) {
  return json::array{r.from, r.to ? json::value(*r.to) : json::value(nullptr)};
}

}  // namespace

namespace {

// Walks a document boost::json has already accepted, looking for a key given twice in one
// object; returns (where, key). Depth is bounded by the parse.
class DuplicateKeys {
 public:
  explicit DuplicateKeys(std::string_view text) : s_(text) {}
  std::optional<std::pair<std::string, std::string>> find() { return value(""); }

 private:
  void ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }
  // The string at i_, decoded (escapes included), i_ after its closing quote.
  std::string string() {
    const std::size_t start = i_++;
    while (i_ < s_.size() && s_[i_] != '"') i_ += s_[i_] == '\\' ? 2 : 1;
    ++i_;
    boost::system::error_code ec;
    const auto v = json::parse(json::string_view(s_.data() + start, i_ - start), ec);
    return !ec && v.is_string() ? std::string(v.as_string()) : std::string(s_.substr(start, i_ - start));
  }
  std::optional<std::pair<std::string, std::string>> value(const std::string& path) {
    ws();
    if (i_ >= s_.size()) return std::nullopt;
    if (s_[i_] == '{') {
      ++i_;
      std::set<std::string> keys;
      while (true) {
        ws();
        if (i_ >= s_.size() || s_[i_] == '}') break;
        if (s_[i_] == ',') {
          ++i_;
          continue;
        }
        const auto key = string();
        if (!keys.insert(key).second) return std::pair{path, key};
        ws();
        ++i_;  // ':'
        if (auto d = value(path.empty() ? key : path + "." + key)) return d;
      }
      ++i_;
      return std::nullopt;
    }
    if (s_[i_] == '[') {
      ++i_;
      for (std::size_t n = 0;; ++n) {
        ws();
        if (i_ >= s_.size() || s_[i_] == ']') break;
        if (s_[i_] == ',') {
          ++i_;
          --n;
          continue;
        }
        if (auto d = value(fmt::format("{}[{}]", path, n))) return d;
      }
      ++i_;
      return std::nullopt;
    }
    if (s_[i_] == '"') {
      string();
      return std::nullopt;
    }
    while (i_ < s_.size() && s_[i_] != ',' && s_[i_] != ']' && s_[i_] != '}') ++i_;  // number, true, ...
    return std::nullopt;
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

}  // namespace

SpecResult<json::value> parse_json_document(std::string_view text) {
  boost::system::error_code ec;
  json::parse_options opts;
  opts.max_depth = 64;
  json::value v = json::parse(json::string_view(text.data(), text.size()), ec, {}, opts);
  if (ec) return SpecErrors{{"", fmt::format("invalid JSON: {}", ec.message())}};
  if (const auto dup = DuplicateKeys(text).find())
    return SpecErrors{{dup->first, fmt::format("'{}' is given twice", dup->second)}};
  return v;
}

SpecResult<Spec> decode_spec_text(std::string_view text) {
  auto v = parse_json_document(text);
  if (!v) return v.error();
  return decode_spec(*v);
}

SpecResult<Spec> decode_spec(const json::value& v) {
  Decoder d;
  Spec s = d.spec(v);
  return finish(d, std::move(s));
}

SpecResult<std::vector<Rule>> decode_rules(const json::value& v, std::string_view path) {
  Decoder d;
  auto r = d.rules(v, std::string(path));
  return finish(d, std::move(r));
}

SpecResult<Rule> decode_rule(const json::value& v, std::string_view path, std::size_t index) {
  Decoder d;
  auto r = d.rule(v, std::string(path), index);
  return finish(d, std::move(r));
}

SpecResult<Fault> decode_fault(const json::value& v, std::string_view path) {
  Decoder d;
  auto f = d.fault(v, std::string(path));
  if (!f) return std::move(d.errors);
  return finish(d, *f);
}

SpecResult<RawReply> decode_raw_reply(const json::value& v, std::string_view path) {
  Decoder d;
  auto r = d.raw(v, std::string(path));
  return finish(d, std::move(r));
}

SpecResult<DnsSpec> decode_dns(const json::value& v, std::string_view path) {
  Decoder d;
  auto dns = d.dns(v, std::string(path));
  return finish(d, std::move(dns));
}

SpecResult<std::vector<DnsRecord>> decode_dns_records(const json::value& v, std::string_view path) {
  Decoder d;
  auto records = d.dns_list<DnsRecord>(v, std::string(path), &Decoder::dns_record);
  return finish(d, std::move(records));
}

SpecResult<std::vector<DnsFault>> decode_dns_faults(const json::value& v, std::string_view path) {
  Decoder d;
  auto faults = d.dns_list<DnsFault>(v, std::string(path), &Decoder::dns_fault);
  return finish(d, std::move(faults));
}

SpecResult<ListenerSpec> decode_listener(const json::value& v, std::string_view path) {
  Decoder d;
  auto l = d.listener(v, std::string(path));
  return finish(d, std::move(l));
}

json::value to_json(const Fault& f) {
  json::object o{{"kind", info(f.kind).name}};
  const Fault d = make_fault(f.kind);
  if (f.bytes != d.bytes) o["bytes"] = f.bytes;
  if (f.every != d.every) o["every_ms"] = f.every.count();
  if (f.seed != d.seed) o["seed"] = f.seed;
  if (f.then != d.then) o["then"] = f.then == Ending::Hold ? "hold" : "close";
  return o;
}

json::value to_json(const RawReply& r) {
  json::array writes;
  for (const auto& w : r.writes) {
    json::object j;
    if (w.pause.count()) j["pause_ms"] = w.pause.count();
    const bool ascii = std::all_of(w.bytes.begin(), w.bytes.end(), [](char c) { return (c & 0x80) == 0; });
    if (ascii) {
      j["text"] = w.bytes;
    } else {
      std::string hex;
      for (const unsigned char c : w.bytes) hex += fmt::format("{:02x}", c);
      j["hex"] = std::move(hex);
    }
    writes.push_back(std::move(j));
  }
  return json::object{{"writes", std::move(writes)}, {"then", name(r.then)}};
}

json::value to_json(const Rule& r) {
  json::object o{{"id", r.id}};
  if (!r.match.empty()) {
    json::object m;
    if (!r.match.methods.empty()) {
      json::array a;
      for (const auto& x : r.match.methods) a.emplace_back(x);
      m["method"] = std::move(a);
    }
    switch (r.match.path.kind) {
      case PathMatch::Kind::Any: break;
      case PathMatch::Kind::Exact: m["path"] = r.match.path.text; break;
      case PathMatch::Kind::Prefix: m["path_prefix"] = r.match.path.text; break;
      case PathMatch::Kind::Regex: m["path_regex"] = r.match.path.text; break;
    }
    if (!r.match.headers.empty()) {
      json::object h;
      for (const auto& x : r.match.headers)
        h[x.name] = x.value ? json::value(*x.value) : json::value(true);
      m["headers"] = std::move(h);
    }
    if (!r.match.query.empty()) {
      json::object q;
      for (const auto& x : r.match.query) q[x.name] = x.value ? json::value(*x.value) : json::value(true);
      m["query"] = std::move(q);
    }
    if (const auto& b = r.match.body; !b.empty()) {
      json::object j;
      if (b.equals) j["equals"] = *b.equals;
      if (b.contains) j["contains"] = *b.contains;
      if (b.regex) j["regex"] = *b.regex;
      if (!b.json.empty()) {
        json::object ptrs;
        for (const auto& [pointer, value] : b.json) ptrs[pointer] = json::parse(value);
        j["json"] = std::move(ptrs);
      }
      m["body"] = std::move(j);
    }
    o["match"] = std::move(m);
  }
  const Schedule& s = r.schedule;
  if (s != Schedule{}) {
    json::object j;
    if (s.matches) j["matches"] = range_json(*s.matches);
    if (s.requests) j["requests"] = range_json(*s.requests);
    if (s.probes) j["probes"] = range_json(*s.probes);
    if (s.times) j["times"] = *s.times;
    if (s.every) j["every"] = *s.every;
    if (s.from || s.until)
      j["at_ms"] = json::array{s.from.value_or(Ms{0}).count(),
                               s.until ? json::value(s.until->count()) : json::value(nullptr)};
    if (s.flap)
      j["flap"] = {{"period_ms", s.flap->period.count()}, {"down_ms", s.flap->down.count()},
                   {"offset_ms", s.flap->offset.count()}};
    if (s.flap_requests)
      j["flap_requests"] = {{"period", s.flap_requests->period}, {"down", s.flap_requests->down},
                            {"offset", s.flap_requests->offset}};
    if (s.probability) j["probability"] = *s.probability;
    if (s.seed != 1) j["seed"] = s.seed;
    o["schedule"] = std::move(j);
  }
  if (r.fault) o["fault"] = to_json(*r.fault);
  if (r.proxy) {
    json::object p;
    if (r.proxy->delay.count()) p["delay_ms"] = r.proxy->delay.count();
    if (r.proxy->rate) p["rate"] = r.proxy->rate;
    if (r.proxy->up_rate) p["up_rate"] = r.proxy->up_rate;
    o["proxy"] = p.empty() ? json::value(true) : json::value(std::move(p));
  }
  if (r.raw) {
    o["raw"] = to_json(*r.raw);
    return o;
  }
  // A fault that bends the response keeps the response it bends.
  if ((!r.fault && !r.proxy) || (r.fault && shapes_response(r.fault->kind) && r.respond != Response{})) {
    const Response& re = r.respond;
    json::object j{{"status", re.status}};
    if (re.omit_reason) j["reason"] = nullptr;
    else if (re.reason) j["reason"] = *re.reason;
    if (!re.headers.empty()) {
      json::array h;
      for (const auto& [k, v] : re.headers) h.push_back(json::array{k, v});
      j["headers"] = std::move(h);
    }
    if (re.body) j["body"] = *re.body;
    if (re.delay.count()) j["delay_ms"] = re.delay.count();
    if (re.jitter.count()) j["jitter_ms"] = re.jitter.count();
    if (re.jitter_normal) j["jitter"] = "normal";
    if (re.rate) j["rate"] = re.rate;
    if (re.chunk_bytes) j["chunk_bytes"] = re.chunk_bytes;
    if (re.chunk_delay.count()) j["chunk_delay_ms"] = re.chunk_delay.count();
    if (re.chunked) j["chunked"] = true;
    o["respond"] = std::move(j);
  }
  return o;
}

json::value to_json(const ListenerSpec& l) {
  json::array rules;
  for (const auto& r : l.rules) rules.push_back(to_json(r));
  json::object o{{"name", l.name},
                 {"listen", to_string(l.listen)},
                 {"mode", name(l.mode)},
                 {"fault", l.fault ? to_json(*l.fault) : json::value(nullptr)},
                 {"rules", std::move(rules)}};
  if (l.upstream) o["upstream"] = to_string(*l.upstream);
  if (l.greeting) o["greeting"] = to_json(*l.greeting);
  if (l.tls)
    o["tls"] = l.tls->self_signed() ? json::value("self-signed")
                                    : json::value(json::object{{"cert", l.tls->cert_file}, {"key", l.tls->key_file}});
  return o;
}

json::value to_json(const Spec& s) {
  json::array ls;
  for (const auto& l : s.listeners) ls.push_back(to_json(l));
  json::object o{{"listeners", std::move(ls)},
                 {"journal_limit", s.journal_limit},
                 {"idle_timeout_ms", s.idle_timeout.count()},
                 {"max_connections", s.max_connections},
                 {"timeline_start", name(s.timeline_start)},
                 {"log", s.log_requests}};
  if (s.admin) o["admin"] = to_string(*s.admin);
  if (s.dns) o["dns"] = to_json(*s.dns);
  return o;
}

}  // namespace mock::core
