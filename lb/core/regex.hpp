#pragma once
// The project's one regex flavour: PCRE2, the library HAProxy 2.6 is built with, compiled with the
// flags HAProxy uses, so patterns mean the same and invalid ones fail with the same message and
// offset. Every search is bounded (match, depth and heap limits), so neither a hostile pattern nor
// a hostile subject can freeze an event loop: a match too complex to decide counts as no match.
// The PCRE2 header stays in regex.cpp.
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace lb::core {

class Regex {
 public:
  // nullopt for an invalid pattern, with HAProxy's reason in `error` when given:
  // "missing closing parenthesis, erroffset=1". Like HAProxy, the pattern ends at a NUL.
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
