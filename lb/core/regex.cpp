#include "lb/core/regex.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <fmt/format.h>

namespace lb::core {

namespace {

// Bounds of one search: HAProxy's library defaults allow 10^7 backtracking steps and 20 GB of
// heap, which a check reply of 16 KB must never be allowed to use.
constexpr std::uint32_t kMatchLimit = 2'000'000;
constexpr std::uint32_t kDepthLimit = 100'000;
constexpr std::uint32_t kHeapLimitKiB = 16 * 1024;

struct MatchContext {
  MatchContext() : ctx(pcre2_match_context_create(nullptr)) {
    pcre2_set_match_limit(ctx, kMatchLimit);
    pcre2_set_depth_limit(ctx, kDepthLimit);
    pcre2_set_heap_limit(ctx, kHeapLimitKiB);
  }
  ~MatchContext() { pcre2_match_context_free(ctx); }
  pcre2_match_context* ctx;
};

}  // namespace

struct Regex::Compiled {
  explicit Compiled(pcre2_code* c) : code(c) {}
  ~Compiled() { pcre2_code_free(code); }
  Compiled(const Compiled&) = delete;
  Compiled& operator=(const Compiled&) = delete;
  pcre2_code* code;
};

std::optional<Regex> Regex::compile(std::string_view pattern, std::string* error) {
  Regex r;
  r.pattern_ = std::string(pattern.substr(0, pattern.find('\0')));
  int code = 0;
  PCRE2_SIZE offset = 0;
  // HAProxy's regex_comp() for check expects: case-sensitive, no capture; `^`/`$` anchor the
  // whole subject and `.` does not match a newline (PCRE2's defaults).
  pcre2_code* compiled = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(r.pattern_.c_str()), PCRE2_ZERO_TERMINATED,
                                       PCRE2_NO_AUTO_CAPTURE, &code, &offset, nullptr);
  if (!compiled) {
    if (error) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(code, message, sizeof message);
      *error = fmt::format("{}, erroffset={}", reinterpret_cast<const char*>(message), offset);
    }
    return std::nullopt;
  }
  r.compiled_ = std::make_shared<const Compiled>(compiled);
  return r;
}

bool Regex::search(std::string_view subject) const {
  thread_local MatchContext limits;
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(compiled_->code, nullptr);
  if (!md) return false;
  const int rc = pcre2_match(compiled_->code, reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), 0, 0, md,
                             limits.ctx);
  pcre2_match_data_free(md);
  return rc >= 0;  // no match, or a limit reached: both count as no match
}

}  // namespace lb::core
