// Client bytes into lb's HTTP/1 request parser (lb/core/http/request_parser), the first parser
// that sees a stranger's bytes. Byte 0 picks where the input is cut in two: the head's verdict
// must not depend on how much had arrived (a prefix that parses must parse the same way whole),
// the body decoder must not depend on the split, and nothing may crash, hang or read out of range.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "lb/core/http/request_parser.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::string_view all(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::size_t cut = all.empty() ? 0 : data[0] % (all.size() + 1);

  using State = lb::core::RequestParse::State;
  const auto whole = lb::core::parse_request_head(all);
  const auto part = lb::core::parse_request_head(all.substr(0, cut));
  // A decision reached on a prefix is final: more bytes cannot change it.
  if (part.state == State::Done && (whole.state != State::Done || whole.consumed != part.consumed)) std::abort();
  if (part.state == State::Error && whole.state != State::Error) std::abort();
  if (whole.state != State::Done) return 0;

  const auto body = all.substr(whole.consumed);
  lb::core::ChunkedDecoder one, two;
  std::string out_one, out_two;
  one.feed(body, out_one);
  const auto split = body.empty() ? 0 : data[0] % (body.size() + 1);
  const auto used = two.feed(body.substr(0, split), out_two);
  if (used == split && !two.failed() && !two.done()) two.feed(body.substr(split), out_two);
  if (one.done() != two.done() || one.failed() != two.failed()) std::abort();
  if (one.done() && out_one != out_two) std::abort();
  return 0;
}
