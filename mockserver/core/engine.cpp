#include "mockserver/core/engine.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>

#include "mockserver/core/journal.hpp"  // url_decode

namespace mock::core {

namespace {

int shape_of(bool keep_alive, bool http10) { return !keep_alive ? 1 : http10 ? 2 : 0; }

PreparedResponse prepare(const Response& r, std::string_view listener) {
  PreparedResponse p;
  for (int head = 0; head < 2; ++head) {
    for (int shape = 0; shape < 3; ++shape) {
      const RequestFacts facts{head ? "HEAD" : "GET", "/", shape != 1, shape == 2};
      const WritePlan plan = plan_response(r, listener, facts);
      p.bytes[head][shape] = plan.steps.empty() ? std::string() : plan.steps.front().bytes;
      p.closes[shape] = !plan.keep_alive;
    }
  }
  return p;
}

Phase phase_of(const std::optional<Fault>& f) { return f ? info(f->kind).phase : Phase::Request; }

// The delay of the n-th match: delay ± jitter, uniform or normal (Box-Muller on two seeded
// draws), never below zero.
Ms jittered(const Response& r, std::uint64_t seed, std::uint64_t n) {
  const double u1 = seeded_unit(seed, 2 * n), u2 = seeded_unit(seed, 2 * n + 1);
  const double spread = r.jitter_normal ? std::sqrt(-2.0 * std::log(1.0 - u1)) * std::cos(2.0 * M_PI * u2)
                                        : 2.0 * u1 - 1.0;
  const double ms = static_cast<double>(r.delay.count()) + spread * static_cast<double>(r.jitter.count());
  return Ms{std::max<std::int64_t>(0, std::llround(ms))};
}

bool query_has(std::string_view query, const QueryMatch& q) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const auto eq = pair.find('=');
    if (url_decode(pair.substr(0, eq)) != q.name) continue;
    if (!q.value) return true;
    if (url_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1)) == *q.value) return true;
  }
  return false;
}

bool body_matches(const BodyMatch& m, std::string_view body) {
  if (m.equals && body != *m.equals) return false;
  if (m.contains && body.find(*m.contains) == std::string_view::npos) return false;
  if (m.regex && (!m.re || !m.re->search(body))) return false;
  if (m.json.empty()) return true;
  boost::system::error_code ec;
  const auto doc = boost::json::parse(boost::json::string_view(body.data(), body.size()), ec);
  if (ec) return false;
  for (const auto& [pointer, expected] : m.json) {
    const auto* found = doc.find_pointer(pointer, ec);
    if (!found) return false;
    const auto want = boost::json::parse(expected, ec);
    if (ec || *found != want) return false;
  }
  return true;
}

}  // namespace

bool matches(const Match& m, const Request& req) {
  if (!m.methods.empty() &&
      std::find(m.methods.begin(), m.methods.end(), req.method) == m.methods.end())
    return false;
  const auto path = req.path();
  switch (m.path.kind) {
    case PathMatch::Kind::Any: break;
    case PathMatch::Kind::Exact:
      if (path != m.path.text) return false;
      break;
    case PathMatch::Kind::Prefix:
      if (!path.starts_with(m.path.text)) return false;
      break;
    case PathMatch::Kind::Regex:
      // lb::core::Regex is non-recursive and bounded: any path length is safe, and a match too
      // complex to decide counts as no match instead of freezing the loop.
      if (!m.path.re || !m.path.re->search(path)) return false;
      break;
  }
  for (const auto& h : m.headers) {
    const Header* found = req.find(h.name);
    if (!found) return false;
    if (h.value && found->value != *h.value) return false;
  }
  for (const auto& q : m.query)
    if (!query_has(req.query(), q)) return false;
  if (!m.body.empty() && !body_matches(m.body, req.body)) return false;
  return true;
}

Listener::Listener(ListenerSpec spec, TimePoint armed) : spec_(std::move(spec)), armed_(armed) {
  compile();
}

void Listener::compile() {
  std::vector<Compiled> rules;
  rules.reserve(spec_.rules.size());
  for (const auto& r : spec_.rules) {
    Compiled c{r, {}, std::nullopt};
    if (!r.fault && !r.raw && is_static(r.respond)) c.prepared = prepare(r.respond, spec_.name);
    rules.push_back(std::move(c));
  }
  rules_ = std::move(rules);
  default_ = prepare(Response{}, spec_.name);
}

std::vector<RuleStats> Listener::rule_stats() const {
  std::vector<RuleStats> out;
  for (const auto& c : rules_) out.push_back({c.rule.id, c.counters.matches, c.counters.fired});
  return out;
}

void Listener::set_rules(std::vector<Rule> rules) {
  spec_.rules = std::move(rules);
  compile();
  ++config_generation_;
}

void Listener::set_fault(std::optional<Fault> fault) {
  spec_.fault = std::move(fault);
  ++config_generation_;
}

bool Listener::still_holds(bool by_listener, std::string_view rule, std::optional<FaultKind> kind) const {
  if (!kind) return rule == "greeting" && spec_.greeting && spec_.greeting->then == RawEnd::Hold;
  if (by_listener) return spec_.fault && spec_.fault->kind == *kind;
  const auto it = std::find_if(rules_.begin(), rules_.end(),
                               [&](const Compiled& c) { return c.rule.id == rule; });
  return it != rules_.end() && it->rule.fault && it->rule.fault->kind == *kind;
}

void Listener::reset(TimePoint now) {
  counters_ = {};
  for (auto& c : rules_) c.counters = {};
  armed_ = now;
  ++generation_;
}

Mode Listener::mode_at(TimePoint now) const {
  if (spec_.mode != Mode::Serve) return spec_.mode;
  if (phase_of(spec_.fault) == Phase::Listener) return mode_of(spec_.fault->kind);
  const Rule* r = listener_rule_at(now);
  return r ? mode_of(r->fault->kind) : Mode::Serve;
}

const Rule* Listener::listener_rule_at(TimePoint now) const {
  // Judged for the next connection and request: "after 3 requests" refuses the 4th.
  const ListenerCounters next{counters_.probes + 1, counters_.requests + 1};
  for (const auto& c : rules_) {
    if (phase_of(c.rule.fault) != Phase::Listener) continue;
    if (active(c.rule.schedule, next, c.counters, elapsed(now))) return &c.rule;
  }
  return nullptr;
}

bool Listener::has_listener_rules() const {
  return std::any_of(rules_.begin(), rules_.end(),
                     [](const Compiled& c) { return phase_of(c.rule.fault) == Phase::Listener; });
}

std::optional<TimePoint> Listener::next_mode_change(TimePoint now) const {
  if (spec_.mode != Mode::Serve || phase_of(spec_.fault) == Phase::Listener) return std::nullopt;
  std::optional<Ms> best;
  for (const auto& c : rules_) {
    if (phase_of(c.rule.fault) != Phase::Listener) continue;
    if (const auto t = next_change(c.rule.schedule, elapsed(now)); t && (!best || *t < *best))
      best = t;
  }
  if (!best) return std::nullopt;
  return armed_ + *best;
}

AcceptDecision Listener::on_accept(TimePoint now) {
  ++counters_.probes;
  if (phase_of(spec_.fault) == Phase::Connection) return {"listener", spec_.fault};
  // A connection fault ends its connection before any request: its request counts are
  // connections, or a window such as requests=3..5 would never move past its start.
  const ListenerCounters by_connection{counters_.probes, counters_.probes};
  for (auto& c : rules_) {
    if (phase_of(c.rule.fault) != Phase::Connection) continue;
    ++c.counters.matches;
    if (!active(c.rule.schedule, by_connection, c.counters, elapsed(now))) continue;
    ++c.counters.fired;
    return {c.rule.id, c.rule.fault};
  }
  if (spec_.greeting) return {"greeting", std::nullopt, plan_raw(*spec_.greeting)};
  return {};
}

void Listener::on_request(const Request& req, TimePoint now, Decision& d) {
  ++counters_.requests;
  const RequestFacts facts{req.method, req.path(), req.keep_alive, req.minor == 0};
  const int head = req.head() ? 1 : 0;
  const int shape = shape_of(req.keep_alive, req.minor == 0);
  d.fault.reset();
  d.proxy.reset();
  d.prepared = {};
  d.plan.steps.clear();

  if (phase_of(spec_.fault) == Phase::Request && spec_.fault) {
    d.rule = "listener";
    d.fault = spec_.fault->kind;
    d.status = 0;
    d.plan = plan_fault(*spec_.fault, spec_.name, facts, Response{});
    return;
  }
  for (auto& c : rules_) {
    if (phase_of(c.rule.fault) != Phase::Request) continue;
    if (!matches(c.rule.match, req)) continue;
    ++c.counters.matches;
    if (!active(c.rule.schedule, counters_, c.counters, elapsed(now))) continue;
    ++c.counters.fired;
    d.rule = c.rule.id;
    if (c.rule.proxy) {
      d.proxy = c.rule.proxy;
      d.status = 0;
    } else if (c.rule.raw) {
      d.status = 0;
      d.plan = plan_raw(*c.rule.raw);
    } else if (c.rule.fault) {
      d.fault = c.rule.fault->kind;
      d.status = 0;
      d.plan = plan_fault(*c.rule.fault, spec_.name, facts, c.rule.respond);
    } else if (c.prepared) {
      d.status = c.rule.respond.status;
      d.prepared = c.prepared->bytes[head][shape];
      d.prepared_closes = c.prepared->closes[shape];
    } else if (c.rule.respond.jitter.count() > 0) {
      d.status = c.rule.respond.status;
      Response r = c.rule.respond;
      r.delay = jittered(r, c.rule.schedule.seed, c.counters.matches);
      d.plan = plan_response(r, spec_.name, facts);
    } else {
      d.status = c.rule.respond.status;
      d.plan = plan_response(c.rule.respond, spec_.name, facts);
    }
    return;
  }
  d.rule = {};
  if (spec_.upstream) {  // what no rule answers, the real server does
    d.proxy = ProxyAction{};
    d.status = 0;
    return;
  }
  d.status = 200;
  d.prepared = default_.bytes[head][shape];
  d.prepared_closes = default_.closes[shape];
}

}  // namespace mock::core
