#pragma once
// A scenario backend's behaviour, from its mockserver CLI forms ("method=OPTIONS -> status 500",
// "hang") to mockserver's own model, for the simulated backends and for the control API alike.
// Each text that does not parse adds an error naming the backend and the text.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "mockserver/core/model.hpp"

namespace lbh {

// The rules that parse (the others only add errors).
std::vector<mock::core::Rule> parse_rules(const std::string& backend, const std::vector<std::string>& texts,
                                          std::vector<std::string>& errors);
// The fault; nullopt for "none", and for a text that does not parse (with an error).
std::optional<mock::core::Fault> parse_fault(const std::string& backend, const std::string& text,
                                             std::vector<std::string>& errors);

// A DNS table's records and faults (`--dns-record` / `--dns-fault` texts), their {{NAME}}
// placeholders rendered with `ports` first.
mock::core::DnsSpec parse_dns_table(const std::vector<std::string>& records, const std::vector<std::string>& faults,
                                    const std::map<std::string, int>& ports, std::vector<std::string>& errors);

}  // namespace lbh
