// Any bytes as a DNS message: no crash, no hang, and whatever parses writes back to a message
// that parses to the same thing (the responder and the resolvers rely on both directions).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "lb/core/dns/message.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view wire(reinterpret_cast<const char*>(data), size);
  const auto parsed = lb::core::dns::parse(wire);
  if (!parsed.message) return 0;
  const auto again = lb::core::dns::parse(lb::core::dns::serialize(*parsed.message));
  if (!again.message || !(*again.message == *parsed.message)) std::abort();
  return 0;
}
