#include "lb/core/regex.hpp"

// Bounds the work of one search (Boost's default allows 10^8 states: seconds on a 16 KB check
// reply). This is the only translation unit that instantiates Boost.Regex, so the limit is uniform.
#define BOOST_REGEX_MAX_STATE_COUNT 2000000
#include <boost/regex.hpp>

namespace lb::core {

namespace {
// PCRE's defaults, as HAProxy compiles its patterns: `^`/`$` anchor the whole subject, not each
// line, and `.` does not match a newline.
constexpr auto kSyntax = boost::regex::perl | boost::regex::no_mod_m | boost::regex::no_mod_s;
}  // namespace

struct Regex::Compiled {
  boost::regex re;
};

std::optional<Regex> Regex::compile(std::string_view pattern, std::string* error) {
  try {
    Regex r;
    r.pattern_ = std::string(pattern);
    r.compiled_ = std::make_shared<const Compiled>(Compiled{boost::regex(r.pattern_, kSyntax)});
    return r;
  } catch (const std::exception& e) {  // boost::regex_error, or std::bad_alloc on a huge pattern
    if (error) *error = e.what();
    return std::nullopt;
  }
}

bool Regex::search(std::string_view subject) const {
  try {
    return boost::regex_search(subject.begin(), subject.end(), compiled_->re);
  } catch (const std::runtime_error&) {  // the matcher gave up: too complex to decide
    return false;
  }
}

}  // namespace lb::core
