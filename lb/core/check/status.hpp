#pragma once
// HAProxy 2.6's check statuses (include/haproxy/check-t.h order) and the result of one check.
#include <fmt/format.h>

#include <optional>
#include <string>
#include <string_view>

#include "lb/core/time/clock.hpp"

namespace lb::core {

enum class CheckStatus {
  Unknown,
  Initializing,
  Started,
  Checked,
  HealthAnalyze,
  SocketError,
  L4Ok,
  L4Timeout,
  L4ConnectionProblem,
  L6Ok,
  L6Timeout,
  L6InvalidResponse,
  L7Timeout,
  L7InvalidResponse,
  L7Ok,
  L7OkConditional,
  L7WrongStatus,
  ProcError,
  ProcTimeout,
  ProcOk,
};

enum class CheckVerdict { None, Neutral, Failed, Passed, ConditionallyPassed };

struct CheckStatusInfo {
  CheckStatus status;
  std::string_view tag;          // short name used in stats and scenario files: "L7STS"
  std::string_view description;  // text printed after "reason: "
  CheckVerdict verdict;
  bool prints_code;  // the "data" statuses print ", code: N"
};

const CheckStatusInfo& info(CheckStatus s);
// HAProxy's numbering of check statuses (HCHK_STATUS_*), as `show servers state` and the state
// file write them.
int check_status_number(CheckStatus status);
// Looks a status up by its short tag ("L4CON") or enum-like name; nullopt when unknown.
std::optional<CheckStatus> status_from_tag(std::string_view tag);

// What one finished check decided.
struct CheckResult {
  CheckStatus status = CheckStatus::Unknown;
  int code = 0;        // HTTP status for L7OK/L7OKC/L7STS
  std::string info;    // reason phrase, OS error text, tcp-check step text; may be empty
  Ms duration{-1};     // start of check to result; negative = unknown

  CheckVerdict verdict() const { return core::info(status).verdict; }
  bool operator==(const CheckResult&) const = default;
};

// HAProxy stores at most this many bytes of info (HCHK_DESC_LEN - 1).
inline constexpr std::size_t kMaxCheckInfo = 127;

// ", reason: Layer7 wrong status, code: 500, info: \"X\", check duration: 1ms" — the part
// HAProxy appends to UP/DOWN and health-check lines.
std::string format_reason(const CheckResult& r);

// HAProxy's chunk_asciiencode: every non-printable, non-ASCII, '<', '>' or '"' byte becomes
// "<XX>".
std::string ascii_encode(std::string_view text);

}  // namespace lb::core

template <>
struct fmt::formatter<lb::core::CheckStatus> : fmt::formatter<std::string_view> {
  auto format(lb::core::CheckStatus s, format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(lb::core::info(s).tag, ctx);
  }
};
