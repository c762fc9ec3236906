#include "harness/core/verdict.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "harness/core/stats_csv.hpp"

namespace lbh {
namespace {

bool in_window(Ms at, Ms from, const std::optional<Ms>& until) { return at >= from && (!until || at <= *until); }

std::string window_text(Ms from, const std::optional<Ms>& until) {
  return until ? fmt::format("within [{}, {}]", seconds(from), seconds(*until)) : fmt::format("after {}", seconds(from));
}

bool fits(const ExpectTransition& x, const Event& e) {
  if (e.kind != x.to || e.who() != x.server) return false;
  if (x.reason && e.reason.find(*x.reason) == std::string::npos) return false;
  if (x.code && e.code != x.code) return false;
  if (x.info && e.info.find(*x.info) == std::string::npos) return false;
  if (x.duration_min && (!e.duration_ms || *e.duration_ms < x.duration_min->count() ||
                         *e.duration_ms > x.duration_max->count()))
    return false;
  return true;
}

std::string expected_text(const ExpectTransition& x) {
  std::string s = fmt::format("{} {}", x.server, name(x.to));
  if (x.reason) s += fmt::format(", reason: {}", *x.reason);
  if (x.code) s += fmt::format(", code: {}", *x.code);
  if (x.info) s += fmt::format(", info: \"{}\"", *x.info);
  if (x.duration_min)
    s += x.duration_min == x.duration_max
             ? fmt::format(", check duration: {}ms", x.duration_min->count())
             : fmt::format(", check duration: {}ms to {}ms", x.duration_min->count(), x.duration_max->count());
  return s;
}

std::string seen_of(const Trace& t, const std::string& who) {
  std::string out;
  for (const auto& e : t.events)
    if (e.who() == who) out += fmt::format("\n      at {}: {}", seconds(e.at), e.line);
  return out.empty() ? " (it logged nothing)" : out;
}

}  // namespace

std::string seconds(Ms t) {
  if (t.count() < 0) return "-" + seconds(-t);
  const auto ms = t.count();
  if (ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
  std::string s = fmt::format("{}.{:03}", ms / 1000, ms % 1000);
  while (s.back() == '0') s.pop_back();
  return s + "s";
}

std::vector<Failure> judge(const Scenario& sc, const Trace& t) {
  std::vector<Failure> out;
  for (const auto& e : t.errors) out.push_back({0, e});
  if (!t.errors.empty()) return out;
  std::vector<bool> used(t.events.size(), false);
  for (const auto& x : sc.expect) {
    if (const auto* tr = std::get_if<ExpectTransition>(&x.what)) {
      bool found = false;
      for (std::size_t i = 0; i < t.events.size() && !found; ++i)
        if (!used[i] && fits(*tr, t.events[i]) && in_window(t.events[i].at, tr->from, tr->until)) used[i] = found = true;
      if (!found)
        out.push_back({x.line, fmt::format("expected {} {}; {} logged:{}", expected_text(*tr),
                                           window_text(tr->from, tr->until), tr->server, seen_of(t, tr->server))});
    } else if (const auto* ns = std::get_if<ExpectNoServer>(&x.what)) {
      bool found = false;
      for (std::size_t i = 0; i < t.events.size() && !found; ++i) {
        const auto& e = t.events[i];
        if (!used[i] && e.kind == Event::Kind::NoServer && e.proxy == ns->backend && in_window(e.at, ns->from, ns->until))
          used[i] = found = true;
      }
      if (!found)
        out.push_back({x.line, fmt::format("expected \"backend {} has no server available!\" {}; it logged:{}",
                                           ns->backend, window_text(ns->from, ns->until), seen_of(t, ns->backend))});
    } else if (const auto* r = std::get_if<ExpectRouting>(&x.what)) {
      const auto it = t.routing.find(r->step_at);
      const std::vector<std::string> got = it == t.routing.end() ? std::vector<std::string>{} : it->second;
      if (r->share.empty()) {
        if (got != r->to)
          out.push_back({x.line, fmt::format("requests at {} went to [{}], expected [{}]", seconds(r->step_at),
                                             fmt::join(got, ", "), fmt::join(r->to, ", "))});
        continue;
      }
      for (const auto& [server, want] : r->share) {
        const auto n = std::count(got.begin(), got.end(), server);
        const double share = got.empty() ? 0.0 : static_cast<double>(n) / static_cast<double>(got.size());
        if (share < want - r->tolerance - 1e-9 || share > want + r->tolerance + 1e-9)
          out.push_back({x.line, fmt::format("requests at {}: {} took {:.3f} of {}, expected {:.3f} ± {:.3f}",
                                             seconds(r->step_at), server, share, got.size(), want, r->tolerance)});
      }
    } else if (const auto* rc = std::get_if<ExpectReceived>(&x.what)) {
      const auto it = t.checks.find(rc->backend);
      int n = 0;
      if (it != t.checks.end())
        for (const auto& seen : it->second) n += seen.starts_with(rc->request);
      if (n < rc->at_least || (rc->at_most && n > *rc->at_most))
        out.push_back({x.line, fmt::format("{} received {} request(s) \"{}...\", expected {}", rc->backend, n,
                                           rc->request, rc->at_most ? fmt::format("{} to {}", rc->at_least, *rc->at_most)
                                                                    : fmt::format("at least {}", rc->at_least))});
    }
  }
  for (const auto& x : sc.expect) {
    const auto* st = std::get_if<ExpectStat>(&x.what);
    if (!st) continue;
    const auto asked = std::find_if(t.api.begin(), t.api.end(), [&](const ApiExchange& a) { return a.at == st->step_at; });
    const auto csv = asked == t.api.end() ? std::nullopt : find_stats_csv(asked->answer);
    const auto value = csv ? csv->value(st->proxy, st->row, st->field) : std::nullopt;
    if (!value)
      out.push_back({x.line, fmt::format("stats at {}: {}/{} {}: {}", seconds(st->step_at), st->proxy, st->row, st->field,
                                         asked == t.api.end() ? "no api step ran then"
                                         : !csv               ? "its answer has no `show stat` CSV"
                                                              : "no such row or column in its CSV")});
    else if (*value != st->equals)
      out.push_back({x.line, fmt::format("stats at {}: {}/{} {} is '{}', expected '{}'", seconds(st->step_at), st->proxy,
                                         st->row, st->field, *value, st->equals)});
  }
  for (const auto& x : sc.expect) {
    const auto* m = std::get_if<ExpectMetric>(&x.what);
    if (!m) continue;
    const auto page = std::find_if(t.pages.begin(), t.pages.end(), [&](const PageFetch& p) { return p.at == m->step_at; });
    std::optional<std::string> value;
    if (page != t.pages.end()) {
      const std::string prefix = m->metric + " ";
      for (std::size_t at = 0; at < page->body.size() && !value;) {
        const auto nl = page->body.find('\n', at);
        const auto line = std::string_view(page->body).substr(at, nl == std::string::npos ? std::string::npos : nl - at);
        if (line.starts_with(prefix)) value = std::string(line.substr(prefix.size()));
        at = nl == std::string::npos ? page->body.size() : nl + 1;
      }
    }
    if (!value)
      out.push_back({x.line, fmt::format("metrics at {}: no sample {} ({})", seconds(m->step_at), m->metric,
                                         page == t.pages.end() ? "no get step ran then"
                                                               : fmt::format("the page answered {}", page->status))});
    else if (*value != m->equals)
      out.push_back({x.line, fmt::format("metrics at {}: {} is {}, expected {}", seconds(m->step_at), m->metric, *value,
                                         m->equals)});
  }
  if (!sc.other_transitions_allowed)
    for (std::size_t i = 0; i < t.events.size(); ++i)
      if (!used[i]) out.push_back({0, fmt::format("unexpected at {}: {}", seconds(t.events[i].at), t.events[i].line)});
  return out;
}

}  // namespace lbh
