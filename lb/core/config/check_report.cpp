#include "lb/core/config/check_report.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace lb::core {

CheckReport check_report(const ParseResult& result, std::string_view path,
                         const std::vector<std::string>& startup_warnings) {
  CheckReport out;
  bool warnings = false, reading_errors = false;
  for (const auto& d : result.diagnostics) {
    const bool is_alert = d.level == Diagnostic::Level::Alert;
    warnings |= d.level == Diagnostic::Level::Warning;
    reading_errors |= is_alert && d.while_reading;
    out.stderr_lines.push_back({d.level == Diagnostic::Level::Warning ? "WARNING" : "ALERT", format_diagnostic(d)});
  }
  out.exit_code = 2;
  if (!result.ok()) {
    // HAProxy names the file only when the errors were found while reading its lines.
    if (reading_errors) {
      // With several files, the one where reading stopped.
      std::string_view file = path;
      for (const auto& d : result.diagnostics)
        if (d.level == Diagnostic::Level::Alert && d.while_reading && !d.pos.file.empty()) file = d.pos.file;
      out.stderr_lines.push_back({"ALERT", fmt::format("config : Error(s) found in configuration file : {}", file)});
    }
    if (!result.stopped_early) out.stderr_lines.push_back({"ALERT", "config : Fatal errors found in configuration."});
    return out;
  }
  for (const auto& w : startup_warnings) out.stderr_lines.push_back({"WARNING", fmt::format("config : {}", w)});
  warnings |= !startup_warnings.empty();
  if (warnings) out.stdout_text += "Warnings were found.\n";
  const auto& proxies = result.config.proxies;
  // A stats socket is a listener too (of haproxy's CLI proxy): a file of backends and a socket runs.
  const bool has_listener = !result.config.global.stats_sockets.empty() ||
                            std::any_of(proxies.begin(), proxies.end(),
                                        [](const ProxyConfig& p) { return p.has_frontend_role() && !p.binds.empty(); });
  if (!has_listener) {
    out.stdout_text += "Configuration file has no error but will not start (no listener) => exit(2).\n";
    return out;
  }
  out.stdout_text += "Configuration file is valid\n";
  out.exit_code = 0;
  return out;
}

bool lb_own_warning(std::string_view text) {
  return text.find("as HAProxy does") != std::string_view::npos || text.find("in lb") != std::string_view::npos;
}

}  // namespace lb::core
