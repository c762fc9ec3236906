#pragma once
// The server's response head as the proxy reads it: Beast's parser's message as a
// core::HttpResponseHead. A header of its own so that only the proxy and its fuzz target
// (fuzz/response_fuzz.cpp) see Beast's parser.
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>

#include "lb/core/http/message.hpp"

namespace lb::net {

core::HttpResponseHead response_head(const boost::beast::http::response_parser<boost::beast::http::buffer_body>& p);

}  // namespace lb::net
