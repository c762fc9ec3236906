#include "harness/core/behaviour.hpp"

#include <fmt/format.h>

#include "mockserver/core/cli.hpp"

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
  return f->second;
}

}  // namespace lbh
