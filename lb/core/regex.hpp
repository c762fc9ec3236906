#pragma once
// The project's one regex flavour: Boost.Regex with Perl syntax (close to the PCRE HAProxy is
// built with). Its matcher is non-recursive and bounded, so neither a hostile pattern nor a
// hostile subject can overflow the stack or freeze an event loop: a match too complex to decide
// counts as no match. The Boost headers stay in regex.cpp.
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace lb::core {

class Regex {
 public:
  // nullopt for an invalid pattern, with the reason in `error` when given.
  static std::optional<Regex> compile(std::string_view pattern, std::string* error = nullptr);
  // Whether the pattern matches anywhere in `subject`.
  bool search(std::string_view subject) const;
  const std::string& pattern() const { return pattern_; }

 private:
  struct Compiled;
  std::string pattern_;
  std::shared_ptr<const Compiled> compiled_;  // immutable, so copies share it
};

}  // namespace lb::core
