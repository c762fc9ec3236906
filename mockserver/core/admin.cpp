#include "mockserver/core/admin.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <charconv>

#include "mockserver/core/dns.hpp"
#include "mockserver/core/spec.hpp"

namespace mock::core {

namespace json = boost::json;

bool World::start_timelines(TimePoint now) {
  if (timeline_origin) return false;
  timeline_origin = now;
  for (auto& l : listeners) l->rearm(now);
  return true;
}

void World::remove(std::string_view name) {
  std::erase_if(listeners, [&](const std::shared_ptr<Listener>& l) { return l->name() == name; });
}

Listener* World::find(std::string_view name) {
  for (auto& l : listeners)
    if (l->name() == name) return l.get();
  return nullptr;
}

namespace {

AdminReply reply(int status, const json::value& v) { return {status, json::serialize(v), {}}; }

AdminReply error(int status, std::string_view field, std::string_view message) {
  json::object o{{"error", message}};
  if (!field.empty()) o["field"] = field;
  return reply(status, o);
}

AdminReply spec_error(const SpecErrors& errors) {
  json::array all;
  for (const auto& e : errors) all.push_back(json::object{{"field", e.path}, {"error", e.message}});
  const SpecError& first = errors.front();
  return reply(400, json::object{{"error", first.to_string()}, {"field", first.path}, {"errors", all}});
}

std::optional<json::value> parse_body(std::string_view body, AdminReply& err) {
  auto v = parse_json_document(body);
  if (!v) {
    const auto errors = v.error();  // a copy: error() returns by value
    const auto& e = errors.front();
    err = error(400, e.path.empty() ? "body" : e.path, e.message);
    return std::nullopt;
  }
  return std::move(*v);
}

json::value stats_json(const World& w, TimePoint now) {
  json::array ls;
  for (const auto& l : w.listeners) {
    json::array rules;
    for (const auto& r : l->rule_stats())
      rules.push_back(json::object{{"id", r.id}, {"matches", r.matches}, {"fired", r.fired}});
    ls.push_back(json::object{{"name", l->name()},
                              {"listen", to_string(l->spec().listen)},
                              {"mode", name(l->mode_at(now))},
                              {"probes", l->counters().probes},
                              {"requests", l->counters().requests},
                              {"open_connections", l->open_connections},
                              {"accept_errors", l->accept_errors},
                              {"rules", std::move(rules)}});
  }
  return json::object{{"listeners", std::move(ls)},
                      {"journal", {{"size", w.journal.size()},
                                   {"dropped", w.journal.dropped()},
                                   {"last_seq", w.journal.last_seq()},
                                   {"limit", w.journal.limit()}}}};
}

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> parts;
  while (!path.empty()) {
    const auto slash = path.find('/');
    if (slash != 0) parts.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return parts;
}

std::optional<std::string> parse_wait(std::string_view query, WaitQuery& q) {
  std::string rest;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const auto eq = pair.find('=');
    const auto key = pair.substr(0, eq);
    const auto value = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    if (key == "count" || key == "timeout_ms") {
      std::uint64_t n = 0;
      const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc{} || p != value.data() + value.size() || value.empty())
        return fmt::format("{}: expected a non-negative integer", key);
      if (key == "count") {
        q.count = static_cast<std::size_t>(std::min<std::uint64_t>(n, 1'000'000));
      } else {
        if (n > 600'000) return std::string("timeout_ms: expected at most 600000");
        q.timeout = Ms{static_cast<std::int64_t>(n)};
      }
    } else {
      rest += std::string(pair) + "&";
    }
  }
  return parse_filter(rest, q.filter);
}

// What the listener would disagree with (see listener_conflicts) with these rules or this
// fault in place of its own: the first disagreement as a 400, or nothing.
std::optional<AdminReply> conflicts_with(const Listener& l, const std::vector<Rule>* rules,
                                         const std::optional<std::optional<Fault>>& fault) {
  ListenerSpec candidate = l.spec();
  if (rules) candidate.rules = *rules;
  if (fault) candidate.fault = *fault;
  const auto c = listener_conflicts(candidate, "");
  if (c.empty()) return std::nullopt;
  return error(400, c.front().first, c.front().second);
}

AdminReply listener_routes(World& w, Listener& l, std::string_view method,
                           const std::vector<std::string_view>& parts, std::string_view body,
                           TimePoint now) {
  AdminReply err;
  if (parts.size() == 3) {
    if (method == "GET") return reply(200, listener_json(l, now));
    if (method != "PATCH") return error(405, "", "use GET or PATCH");
    const auto v = parse_body(body, err);
    if (!v) return err;
    const auto* o = v->if_object();
    if (!o) return error(400, "body", "expected an object such as {\"mode\": \"refuse\"}");
    std::optional<Mode> mode;
    std::optional<std::optional<Fault>> fault;
    std::optional<Endpoint> listen;
    std::optional<std::optional<RawReply>> greeting;
    for (const auto& kv : *o) {
      if (kv.key() == "mode") {
        const auto* s = kv.value().if_string();
        if (s) mode = mode_from_name(std::string_view(s->data(), s->size()));
        if (!mode) return error(400, "mode", "expected serve, refuse, blackhole or slow-accept");
      } else if (kv.key() == "fault") {
        if (kv.value().is_null()) {
          fault.emplace(std::nullopt);
        } else {
          auto f = decode_fault(kv.value(), "fault");
          if (!f) return spec_error(f.error());
          fault.emplace(*f);
        }
      } else if (kv.key() == "greeting") {
        if (kv.value().is_null()) {
          greeting.emplace(std::nullopt);
        } else {
          auto g = decode_raw_reply(kv.value(), "greeting");
          if (!g) return spec_error(g.error());
          greeting.emplace(std::move(*g));
        }
      } else if (kv.key() == "listen") {
        const auto* t = kv.value().if_string();
        if (t) listen = parse_endpoint(std::string_view(t->data(), t->size()));
        if (!listen)
          return error(400, "listen", "expected IP:PORT such as 127.0.0.2:8080 (an IP address, not a name)");
      } else {
        return error(400, std::string(kv.key()), "unknown field (expected mode, fault, greeting, listen)");
      }
    }
    // An explicit "serve" cannot beat a listener fault or an active listener rule (they rank
    // above it, see Listener::mode_at): say which, and change nothing.
    if (mode == Mode::Serve) {
      const std::optional<Fault>& f = fault ? *fault : l.spec().fault;
      if (f && info(f->kind).phase == Phase::Listener)
        return error(409, "fault",
                     fmt::format("listener fault '{}' keeps the listener from serving; send "
                                 "{{\"mode\": \"serve\", \"fault\": null}}",
                                 info(f->kind).name));
      if (const Rule* r = l.listener_rule_at(now))
        return error(409, "rules",
                     fmt::format("rule '{}' ({}) is active and keeps the listener from serving; "
                                 "delete it or wait for its window to end",
                                 r->id, info(r->fault->kind).name));
    }
    if (fault)
      if (auto e = conflicts_with(l, nullptr, *fault)) return *e;
    // Validated in full above; only now does anything change.
    if (mode) l.set_mode(*mode);
    if (fault) l.set_fault(*fault);
    if (greeting) l.set_greeting(std::move(*greeting));
    if (listen) l.set_bound(*listen);  // the edge moves the socket, or puts it back and says why
    return reply(200, listener_json(l, now));
  }
  const auto what = parts[3];
  if (what == "close-connections" && parts.size() == 4) {
    if (method != "POST") return error(405, "", "use POST");
    l.close_connections();
    return reply(200, listener_json(l, now));
  }
  if (what == "reset" && parts.size() == 4) {
    if (method != "POST") return error(405, "", "use POST");
    l.reset(now);
    return reply(200, listener_json(l, now));
  }
  if (what == "fault" && parts.size() == 4) {
    if (method == "GET") {
      return reply(200, json::object{{"fault", l.spec().fault ? to_json(*l.spec().fault) : json::value(nullptr)}});
    }
    if (method != "PUT") return error(405, "", "use GET or PUT");
    const auto v = parse_body(body, err);
    if (!v) return err;
    const auto* o = v->if_object();
    const auto* f = o ? o->if_contains("fault") : nullptr;
    if (!f || o->size() != 1) return error(400, "fault", "expected {\"fault\": NAME | {...} | null}");
    if (f->is_null()) {
      l.set_fault(std::nullopt);
    } else {
      auto decoded = decode_fault(*f, "fault");
      if (!decoded) return spec_error(decoded.error());
      if (auto e = conflicts_with(l, nullptr, std::optional<Fault>(*decoded))) return *e;
      l.set_fault(*decoded);
    }
    return reply(200, listener_json(l, now));
  }
  if (what != "rules") return error(404, "", "no such resource");
  if (parts.size() == 4) {
    if (method == "GET") {
      json::array rules;
      for (const auto& r : l.spec().rules) rules.push_back(to_json(r));
      return reply(200, json::object{{"rules", std::move(rules)}});
    }
    if (method == "PUT") {
      const auto v = parse_body(body, err);
      if (!v) return err;
      const json::value* rules = &*v;
      if (const auto* o = v->if_object()) {
        rules = o->if_contains("rules");
        if (!rules || o->size() != 1) return error(400, "rules", "expected [rules] or {\"rules\": [...]}");
      }
      auto decoded = decode_rules(*rules, "rules");
      if (!decoded) return spec_error(decoded.error());
      if (auto e = conflicts_with(l, &*decoded, std::nullopt)) return *e;
      l.set_rules(std::move(*decoded));
      return reply(200, listener_json(l, now));
    }
    if (method == "POST") {
      const auto v = parse_body(body, err);
      if (!v) return err;
      auto rules = l.spec().rules;
      if (rules.size() >= kMaxRules)
        return error(400, "rules", fmt::format("expected at most {} rules", kMaxRules));
      auto decoded = decode_rule(*v, "rule", rules.size());
      if (!decoded) return spec_error(decoded.error());
      {
        auto with = rules;
        with.push_back(*decoded);
        if (auto e = conflicts_with(l, &with, std::nullopt)) return *e;
      }
      for (const auto& r : rules)
        if (r.id == decoded->id) return error(409, "rule.id", fmt::format("duplicate rule id '{}'", r.id));
      rules.push_back(std::move(*decoded));
      l.set_rules(std::move(rules));
      return reply(201, listener_json(l, now));
    }
    return error(405, "", "use GET, PUT or POST");
  }
  if (parts.size() == 5) {
    if (method != "DELETE") return error(405, "", "use DELETE");
    auto rules = l.spec().rules;
    const auto id = url_decode(parts[4]);
    const auto it = std::find_if(rules.begin(), rules.end(), [&](const Rule& r) { return r.id == id; });
    if (it == rules.end()) return error(404, "id", fmt::format("no rule '{}'", id));
    rules.erase(it);
    l.set_rules(std::move(rules));
    return reply(200, listener_json(l, now));
  }
  (void)w;
  return error(404, "", "no such resource");
}

AdminReply create_listener(World& w, std::string_view body, TimePoint now) {
  AdminReply err;
  const auto v = parse_body(body, err);
  if (!v) return err;
  auto spec = decode_listener(*v, "listener");
  if (!spec) return spec_error(spec.error());
  if (w.find(spec->name)) return error(409, "listener.name", fmt::format("listener '{}' exists", spec->name));
  if (w.listeners.size() >= kMaxListeners)
    return error(400, "listener", fmt::format("expected at most {} listeners", kMaxListeners));
  w.listeners.push_back(std::make_shared<Listener>(std::move(*spec), now));
  AdminReply r = reply(201, listener_json(*w.listeners.back(), now));
  r.created = w.listeners.back()->name();
  return r;
}

}  // namespace

json::value listener_json(const Listener& l, TimePoint now) {
  json::value v = to_json(l.spec());
  v.as_object()["effective_mode"] = name(l.mode_at(now));
  if (!l.socket_error.empty()) v.as_object()["socket_error"] = l.socket_error;
  return v;
}

AdminReply socket_error_reply(std::string_view message) {
  return error(503, "mode", message);
}

AdminReply wait_reply(const World& w, const WaitQuery& q, bool timed_out) {
  const std::size_t n = w.journal.count(q.filter);
  json::object o{{"matched", n}, {"count", q.count}};
  if (timed_out) o["error"] = "timed out";
  return reply(timed_out ? 408 : 200, o);
}

AdminReply handle_admin(World& w, std::string_view method, std::string_view target,
                        std::string_view body, TimePoint now) {
  const auto q = target.find('?');
  const auto path = target.substr(0, q);
  const auto query = q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
  const auto parts = split_path(path);
  if (parts.size() < 2 || parts[0] != "v1") return error(404, "", "no such resource (see /v1/health)");
  const auto what = parts[1];

  if ((what == "health" || what == "stats") && parts.size() == 2 && method != "GET")
    return error(405, "", "use GET");
  if (what == "health" && parts.size() == 2) {
    return reply(200, json::object{{"status", "ok"},
                                   {"blackhole_method", w.blackhole_method},
                                   {"clock_origin_ns", w.clock_origin_ns},
                                   {"listeners", w.listeners.size()}});
  }
  if (what == "stats" && parts.size() == 2) return reply(200, stats_json(w, now));
  if (what == "timelines" && parts.size() == 3 && parts[2] == "start") {
    if (method != "POST") return error(405, "", "use POST");
    const bool started = w.start_timelines(now);
    return reply(200, json::object{{"started", started},
                                   {"origin_ms", w.timeline_origin->time_since_epoch().count()},
                                   {"clock_origin_ns", w.clock_origin_ns}});
  }
  if (what == "reset" && parts.size() == 2) {
    if (method != "POST") return error(405, "", "use POST");
    for (auto& l : w.listeners) l->reset(now);
    w.journal.clear();
    return reply(200, json::object{{"reset", true}});
  }
  if (what == "journal" && parts.size() == 3 && parts[2] == "count") {
    // WireMock's verify: how many kept entries match; `dropped` says how many fell off the ring.
    if (method != "GET") return error(405, "", "use GET");
    JournalFilter f;
    if (auto e = parse_filter(query, f)) return error(400, e->substr(0, e->find(':')), *e);
    return reply(200, json::object{{"count", w.journal.count(f)}, {"dropped", w.journal.dropped()}});
  }
  if (what == "journal" && parts.size() == 2) {
    if (method == "DELETE") {
      w.journal.clear();
      return reply(200, json::object{{"cleared", true}});
    }
    if (method != "GET") return error(405, "", "use GET or DELETE");
    JournalFilter f;
    if (auto e = parse_filter(query, f)) return error(400, e->substr(0, e->find(':')), *e);
    return reply(200, w.journal.list(f));
  }
  if (what == "wait" && parts.size() == 2) {
    if (w.journal.limit() == 0)
      return error(409, "journal", "the journal is off (--journal-limit 0): there is nothing to wait for");
    WaitQuery wq;
    if (auto e = parse_wait(query, wq)) return error(400, e->substr(0, e->find(':')), *e);
    if (wq.filter.listener && !w.find(*wq.filter.listener) && !(w.dns && *wq.filter.listener == "dns"))
      return error(404, "listener", fmt::format("no listener '{}'", *wq.filter.listener));
    if (w.journal.count(wq.filter) >= wq.count) return wait_reply(w, wq, false);
    return {0, {}, wq};
  }
  if (what == "dns") {
    if (!w.dns) return error(404, "dns", "no DNS responder (start mockserver with --dns IP:PORT)");
    if (parts.size() == 2) {
      if (method != "GET") return error(405, "", "use GET");
      return reply(200, to_json(*w.dns));
    }
    if (parts.size() == 3 && (parts[2] == "records" || parts[2] == "faults")) {
      if (method != "PUT") return error(405, "", "use PUT");
      AdminReply err;
      const auto v = parse_body(body, err);
      if (!v) return err;
      if (parts[2] == "records") {
        auto records = decode_dns_records(*v, "records");
        if (!records) return spec_error(records.error());
        w.dns->records = std::move(*records);
      } else {
        auto faults = decode_dns_faults(*v, "faults");
        if (!faults) return spec_error(faults.error());
        w.dns->faults = std::move(*faults);
      }
      return reply(200, to_json(*w.dns));
    }
    return error(404, "", "no such resource (GET /v1/dns, PUT /v1/dns/records, PUT /v1/dns/faults)");
  }
  if (what == "listeners") {
    if (parts.size() == 2) {
      if (method == "POST") return create_listener(w, body, now);
      if (method != "GET") return error(405, "", "use GET or POST");
      json::array ls;
      for (const auto& l : w.listeners) ls.push_back(listener_json(*l, now));
      return reply(200, json::object{{"listeners", std::move(ls)}});
    }
    const auto name = url_decode(parts[2]);
    Listener* l = w.find(name);
    if (!l) return error(404, "listener", fmt::format("no listener '{}'", name));
    if (parts.size() == 3 && method == "DELETE") {
      w.remove(name);  // the edge closes its socket and its connections
      return reply(200, json::object{{"removed", name}});
    }
    return listener_routes(w, *l, method, parts, body, now);
  }
  return error(404, "", "no such resource (see /v1/health)");
}

}  // namespace mock::core
