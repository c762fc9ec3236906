#include "harness/core/behaviour.hpp"

#include <fmt/format.h>

#include "harness/core/scenario.hpp"
#include "mockserver/core/cli.hpp"
#include "mockserver/core/dns.hpp"

namespace lbh {

std::vector<mock::core::Rule> parse_rules(const std::string& backend, const std::vector<std::string>& texts,
                                          std::vector<std::string>& errors) {
  std::vector<mock::core::Rule> out;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    auto r = mock::core::parse_rule_arg(backend + ": " + texts[i], i + 1);
    if (!r) {
      errors.push_back(fmt::format("backend {}: rule '{}': {}", backend, texts[i], r.error()));
      continue;
    }
    // A scenario's backend is a plain listener: what it could not be started with is refused
    // here too (a proxy without upstream, a TLS fault without TLS).
    mock::core::ListenerSpec alone{.name = backend, .rules = {r->second}};
    if (const auto c = mock::core::listener_conflicts(alone, ""); !c.empty()) {
      errors.push_back(fmt::format("backend {}: rule '{}': {}", backend, texts[i], c.front().second));
      continue;
    }
    out.push_back(std::move(r->second));
  }
  return out;
}

std::optional<mock::core::Fault> parse_fault(const std::string& backend, const std::string& text,
                                             std::vector<std::string>& errors) {
  if (text == "none") return std::nullopt;
  auto f = mock::core::parse_fault_arg(backend + "=" + text);
  if (!f) {
    errors.push_back(fmt::format("backend {}: fault '{}': {}", backend, text, f.error()));
    return std::nullopt;
  }
  mock::core::ListenerSpec alone{.name = backend, .fault = f->second};
  if (const auto c = mock::core::listener_conflicts(alone, ""); !c.empty()) {
    errors.push_back(fmt::format("backend {}: fault '{}': {}", backend, text, c.front().second));
    return std::nullopt;
  }
  return f->second;
}

mock::core::DnsSpec parse_dns_table(const std::vector<std::string>& records, const std::vector<std::string>& faults,
                                    const std::map<std::string, int>& ports, std::vector<std::string>& errors) {
  mock::core::DnsSpec d;
  for (const auto& text : records) {
    const auto r = render_config(text, ports);
    if (auto rec = mock::core::parse_dns_record_arg(r)) d.records.push_back(*rec);
    else errors.push_back(fmt::format("dns record '{}': {}", r, rec.error()));
  }
  for (const auto& text : faults) {
    const auto f = render_config(text, ports);
    if (auto fault = mock::core::parse_dns_fault_arg(f)) d.faults.push_back(*fault);
    else errors.push_back(fmt::format("dns fault '{}': {}", f, fault.error()));
  }
  return d;
}

}  // namespace lbh
