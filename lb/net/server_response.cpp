#include "lb/net/server_response.hpp"

namespace lb::net {

core::HttpResponseHead response_head(const boost::beast::http::response_parser<boost::beast::http::buffer_body>& p) {
  const auto& m = p.get();
  core::HttpResponseHead h{static_cast<int>(m.version()), static_cast<int>(m.result_int()), std::string(m.reason()), {},
                           p.chunked()};
  for (const auto& f : m) h.headers.push_back({std::string(f.name_string()), std::string(f.value())});
  return h;
}

}  // namespace lb::net
