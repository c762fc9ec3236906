#include "lb/core/http/message.hpp"

#include <fmt/format.h>

#include "lb/core/text.hpp"

namespace lb::core {
namespace {

// Headers HAProxy consumes while parsing and never forwards as they came.
bool hop_by_hop(std::string_view name) { return iequals(name, "connection"); }

std::string version_text(int v) { return fmt::format("HTTP/{}.{}", v / 10, v % 10); }

void append_headers(std::string& out, const std::vector<HttpHeader>& headers) {
  for (const auto& h : headers) {
    if (hop_by_hop(h.name)) continue;
    out += ascii_lower(h.name);
    out += ": ";
    out += h.value;
    out += "\r\n";
  }
}

}  // namespace

std::string forwarded_request_head(const HttpRequestHead& head, const ForwardOptions& options) {
  std::string out = fmt::format("{} {} {}\r\n", head.method, head.target, version_text(head.version));
  append_headers(out, head.headers);
  // HTTP/1.1 is persistent by default; a 1.0 request has to ask the server to keep it open.
  if (options.server_close)
    out += "connection: close\r\n";
  else if (head.version < 11)
    out += "connection: keep-alive\r\n";
  if (!options.forwarded_for.empty()) out += "x-forwarded-for: " + options.forwarded_for + "\r\n";
  out += "\r\n";
  return out;
}

std::string client_response_head(const HttpResponseHead& head, bool close, bool client_http10_keepalive) {
  std::string out = fmt::format("{} {}{}{}\r\n", version_text(head.version), head.status, head.reason.empty() ? "" : " ",
                                head.reason);
  append_headers(out, head.headers);
  if (close)
    out += "connection: close\r\n";
  else if (client_http10_keepalive)
    out += "connection: keep-alive\r\n";
  out += "\r\n";
  return out;
}

std::string chunked_body(std::string_view body) {
  if (body.empty()) return "0\r\n\r\n";
  return fmt::format("{:X}\r\n{}\r\n0\r\n\r\n", body.size(), body);
}

std::uint64_t logged_response_size(const HttpResponseHead& head, std::uint64_t body_size) {
  std::uint64_t n = 20 + version_text(head.version).size() + 3 + head.reason.size();
  for (const auto& h : head.headers)
    if (!hop_by_hop(h.name)) n += h.name.size() + h.value.size();
  return n + 1 + body_size + (head.chunked ? 1 : 0);
}

}  // namespace lb::core
