// Config parser fuzz target: any bytes must give diagnostics, never a crash or a hang; a file
// that parses cleanly must print to a file that parses back to the same model.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "lb/core/config/parser.hpp"
#include "lb/core/config/printer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto first = lb::core::parse_config(text, "fuzz.cfg");
  for (const auto& d : first.diagnostics) (void)lb::core::format_diagnostic(d);
  if (first.ok()) {
    auto again = lb::core::parse_config(lb::core::print_config(first.config), "printed.cfg");
    if (!again.ok()) std::abort();
    auto model = first.config;
    // Positions differ in the printed file; everything else must survive.
    for (auto* c : {&model, &again.config}) {
      for (auto& p : c->proxies) {
        p.pos = {};
        p.default_server = {};  // a parse-time input: servers are printed in full
        for (auto& s : p.servers) s.pos = {};
      }
      for (auto& r : c->resolvers) {
        r.pos = {};
        for (auto& n : r.nameservers) n.pos = {};
      }
      for (auto& s : c->global.stats_sockets) s.pos = {};
    }
    if (!(model == again.config)) std::abort();
  }
  return 0;
}
