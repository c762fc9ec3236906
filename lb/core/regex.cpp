#include "lb/core/regex.hpp"

#include <boost/regex.hpp>

namespace lb::core {

struct Regex::Compiled {
  boost::regex re;
};

std::optional<Regex> Regex::compile(std::string_view pattern, std::string* error) {
  try {
    Regex r;
    r.pattern_ = std::string(pattern);
    r.compiled_ = std::make_shared<const Compiled>(Compiled{boost::regex(r.pattern_, boost::regex::perl)});
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
