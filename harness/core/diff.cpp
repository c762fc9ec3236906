#include "harness/core/diff.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "harness/core/stats_csv.hpp"
#include "harness/core/verdict.hpp"

namespace lbh {
namespace {

bool same_event(const Event& a, const Event& b) {
  return a.kind == b.kind && a.who() == b.who() && a.reason == b.reason && a.code == b.code && a.info == b.info;
}

std::string brief(const Event& e) {
  std::string s = fmt::format("{} {} {}", seconds(e.at), e.who(), name(e.kind));
  if (!e.reason.empty()) s += ", " + e.reason;
  if (e.code) s += fmt::format(", code {}", *e.code);
  if (!e.info.empty()) s += fmt::format(", \"{}\"", e.info);
  return s;
}

}  // namespace

std::vector<Difference> diff_traces(const Trace& l, const Trace& r, Ms tolerance, const std::string& ln,
                                    const std::string& rn, const std::set<Ms>& unordered) {
  std::vector<Difference> out;
  std::vector<bool> lu(l.events.size()), ru(r.events.size());
  // First the same events within the tolerance, then the same events further apart.
  for (const bool timed : {true, false})
    for (std::size_t i = 0; i < l.events.size(); ++i) {
      if (lu[i]) continue;
      for (std::size_t j = 0; j < r.events.size(); ++j) {
        if (ru[j] || !same_event(l.events[i], r.events[j])) continue;
        const auto gap = l.events[i].at - r.events[j].at;
        if (timed && (gap > tolerance || -gap > tolerance)) continue;
        lu[i] = ru[j] = true;
        if (!timed) out.push_back({"timing", brief(l.events[i]), brief(r.events[j])});
        break;
      }
    }
  for (std::size_t i = 0; i < l.events.size(); ++i)
    if (!lu[i]) out.push_back({"only in " + ln, brief(l.events[i]), ""});
  for (std::size_t j = 0; j < r.events.size(); ++j)
    if (!ru[j]) out.push_back({"only in " + rn, "", brief(r.events[j])});
  auto keys = l.routing;
  for (const auto& [at, v] : r.routing) keys.emplace(at, v);
  for (const auto& entry : keys) {
    const auto at = entry.first;  // not a structured binding: clang 14 cannot capture one
    const auto a = l.routing.find(at), b = r.routing.find(at);
    auto text = [&](const auto& it, const auto& end) {
      if (it == end) return std::string();
      auto v = it->second;
      if (unordered.contains(at)) std::sort(v.begin(), v.end());
      return fmt::format("{}", fmt::join(v, ", "));
    };
    const std::string x = text(a, l.routing.end());
    const std::string y = text(b, r.routing.end());
    if (x != y) out.push_back({"routing at " + seconds(at), x, y});
  }
  // The Runtime API's answers, step by step (escaped so that an empty line shows); of a stats
  // CSV, the columns of state.
  for (std::size_t i = 0; i < std::max(l.api.size(), r.api.size()); ++i) {
    const auto answer = [](const std::vector<ApiExchange>& v, std::size_t k) {
      return k < v.size() ? fmt::format("{:?}", state_columns_only(v[k].answer)) : std::string();
    };
    const auto at = i < l.api.size() ? l.api[i].at : r.api[i].at;
    if (answer(l.api, i) != answer(r.api, i)) out.push_back({"api answer at " + seconds(at), answer(l.api, i), answer(r.api, i)});
  }
  return out;
}

}  // namespace lbh
