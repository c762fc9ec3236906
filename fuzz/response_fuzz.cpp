// Server bytes into the proxy's response side: Beast's parser as the proxy sets it up
// (lb/net/proxy.cpp), the head it reads (lb/net/server_response), and the head lb writes to its
// client from it (core::client_response_head). Byte 0 picks HEAD or not and the connection's
// fate; the rest arrives in two pieces cut where byte 1 says. Whatever the server sent, a head
// that parsed must come out as a head a client parses, with the same status: lb never turns a
// server's bytes into a malformed answer. Nor may anything crash or hang.
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/empty_body.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "lb/core/http/message.hpp"
#include "lb/net/server_response.hpp"

namespace http = boost::beast::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const bool head_request = data[0] & 1, close = data[0] & 2, http10_keepalive = data[0] & 4;
  std::string_view bytes(reinterpret_cast<const char*>(data + 2), size - 2);
  const std::size_t cut = bytes.empty() ? 0 : data[1] % (bytes.size() + 1);

  http::response_parser<http::buffer_body> p;
  p.header_limit(lb::core::kMaxHeadBytes);
  p.body_limit(boost::none);
  if (head_request) p.skip(true);
  p.eager(false);
  boost::beast::error_code ec;
  for (const auto piece : {bytes.substr(0, cut), bytes.substr(cut)}) {
    std::string_view rest = piece;
    while (!rest.empty() && !p.is_header_done()) {
      const auto used = p.put(boost::asio::buffer(rest.data(), rest.size()), ec);
      rest.remove_prefix(used);
      if (ec == http::error::need_more) { ec = {}; break; }
      if (ec || used == 0) break;
    }
    if (ec || p.is_header_done()) break;
  }
  if (ec || !p.is_header_done()) return 0;

  const auto head = lb::net::response_head(p);
  const std::string out = lb::core::client_response_head(head, close, http10_keepalive);
  http::response_parser<http::empty_body> again;
  again.header_limit(1 << 20);
  again.skip(true);
  const auto used = again.put(boost::asio::buffer(out.data(), out.size()), ec);
  if (ec || !again.is_header_done() || used != out.size()) std::abort();
  if (again.get().result_int() != static_cast<unsigned>(head.status)) std::abort();
  return 0;
}
