#include "lb/core/check/status.hpp"

#include <array>

namespace lb::core {
namespace {

using V = CheckVerdict;
using S = CheckStatus;

// One row per status, in enum order; everything that prints or classifies a status reads it.
constexpr std::array<CheckStatusInfo, 20> kStatuses{{
    {S::Unknown, "UNK", "Unknown", V::None, false},
    {S::Initializing, "INI", "Initializing", V::None, false},
    {S::Started, "START", "Started", V::None, false},
    {S::Checked, "CHECKED", "No status change", V::Neutral, false},
    {S::HealthAnalyze, "HANA", "Health analyze", V::Failed, false},
    {S::SocketError, "SOCKERR", "Socket error", V::Failed, false},
    {S::L4Ok, "L4OK", "Layer4 check passed", V::Passed, false},
    {S::L4Timeout, "L4TOUT", "Layer4 timeout", V::Failed, false},
    {S::L4ConnectionProblem, "L4CON", "Layer4 connection problem", V::Failed, false},
    {S::L6Ok, "L6OK", "Layer6 check passed", V::Passed, false},
    {S::L6Timeout, "L6TOUT", "Layer6 timeout", V::Failed, false},
    {S::L6InvalidResponse, "L6RSP", "Layer6 invalid response", V::Failed, false},
    {S::L7Timeout, "L7TOUT", "Layer7 timeout", V::Failed, false},
    {S::L7InvalidResponse, "L7RSP", "Layer7 invalid response", V::Failed, false},
    {S::L7Ok, "L7OK", "Layer7 check passed", V::Passed, true},
    {S::L7OkConditional, "L7OKC", "Layer7 check conditionally passed", V::ConditionallyPassed, true},
    {S::L7WrongStatus, "L7STS", "Layer7 wrong status", V::Failed, true},
    {S::ProcError, "PROCERR", "External check error", V::Failed, true},
    {S::ProcTimeout, "PROCTOUT", "External check timeout", V::Failed, true},
    {S::ProcOk, "PROCOK", "External check passed", V::Passed, true},
}};

}  // namespace

const CheckStatusInfo& info(CheckStatus s) { return kStatuses[static_cast<std::size_t>(s)]; }

std::optional<CheckStatus> status_from_tag(std::string_view tag) {
  for (const auto& row : kStatuses)
    if (row.tag == tag) return row.status;
  return std::nullopt;
}

std::string ascii_encode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b >= 0x7f || c == '<' || c == '>' || c == '"')
      out += fmt::format("<{:02X}>", b);
    else
      out += c;
  }
  return out;
}

std::string format_reason(const CheckResult& r) {
  std::string out = fmt::format(", reason: {}", info(r.status).description);
  if (info(r.status).prints_code) out += fmt::format(", code: {}", r.code);
  if (!r.info.empty()) out += fmt::format(", info: \"{}\"", ascii_encode(r.info.substr(0, kMaxCheckInfo)));
  if (r.duration.count() >= 0) out += fmt::format(", check duration: {}ms", r.duration.count());
  return out;
}

int check_status_number(CheckStatus status) {
  // HCHK_STATUS_L57DATA (14) sits between L7RSP and L7OK, with no status of its own.
  const int n = static_cast<int>(status);
  return status >= CheckStatus::L7Ok ? n + 1 : n;
}

}  // namespace lb::core
