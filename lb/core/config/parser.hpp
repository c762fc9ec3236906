#pragma once
// Reads the HAProxy 2.6 configuration subset lb supports (docs/config.md) into a Config, and
// judges a file as `haproxy -c` does: every error is collected with its file:line, keywords
// HAProxy knows but lb does not implement are named as such, and values HAProxy reads loosely
// (`weight abc`) are accepted with a warning.
#include <string>
#include <string_view>
#include <vector>

#include "lb/core/config/model.hpp"

namespace lb::core {

struct Diagnostic {
  enum class Level { Alert, Warning };
  Level level = Level::Alert;
  SourcePos pos;  // line 0: not tied to a line (a cross-reference found after parsing)
  std::string message;
  bool operator==(const Diagnostic&) const = default;
};

struct ParseResult {
  Config config;
  std::vector<Diagnostic> diagnostics;
  bool ok() const {
    for (const auto& d : diagnostics)
      if (d.level == Diagnostic::Level::Alert) return false;
    return true;
  }
};

ParseResult parse_config(std::string_view text, std::string_view file_name);

// HAProxy's wording: "parsing [site.cfg:12] : unknown keyword 'chek' in 'backend' section" or,
// for a whole-config finding, "config : Proxy 'fe': unable to find ...".
std::string format_diagnostic(const Diagnostic& d);

}  // namespace lb::core
