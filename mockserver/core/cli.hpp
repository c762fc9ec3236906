#pragma once
// The compact command-line forms, decoded through the same JSON decoder as spec files so both
// accept and reject exactly the same things:
//   --listen s1=127.0.0.1:0
//   --fault  s1=hang            --fault 's1=drip bytes=2 every_ms=100'
//   --rule   's1: method=OPTIONS -> status 500'
//   --rule   's1: path^=/api nth=3 -> status 503 body="busy" delay=100'
//   --rule   's1: flap=20000/5000 -> refuse'
#include <boost/system/result.hpp>

#include <string>
#include <string_view>
#include <utility>

#include "mockserver/core/model.hpp"

namespace mock::core {

// The error is the whole message, ready to print. (Use operator* / ->, not value(): a
// std::string error has no throw_exception_from_error to find.)
template <class T>
using CliResult = boost::system::result<T, std::string>;

CliResult<std::pair<std::string, Endpoint>> parse_listen_arg(std::string_view text);
CliResult<std::pair<std::string, Fault>> parse_fault_arg(std::string_view text);
// `index` numbers default rule ids (rule-1, rule-2, ...) per listener.
CliResult<std::pair<std::string, Rule>> parse_rule_arg(std::string_view text, std::size_t index = 0);

// The settings flags (--journal-limit, --idle-timeout-ms, --max-connections, --timeline-start),
// given as (flag, text), applied to `spec` through the spec file's decoder, so that a value one
// rejects the other rejects too. Returns the errors, each naming its flag.
std::vector<std::string> apply_setting_flags(Spec& spec,
                                             const std::vector<std::pair<std::string, std::string>>& flags);

}  // namespace mock::core
