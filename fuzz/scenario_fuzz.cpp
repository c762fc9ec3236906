// Any bytes as a scenario file (YAML or JSON): the loader gives a scenario or errors that name
// their place, never a crash or a hang, and a refusal always says why.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "harness/core/scenario.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto r = lbh::parse_scenario(text, "fuzz.yaml");
  if (!r.scenario && r.errors.empty()) std::abort();  // a refusal always says why
  return 0;
}
