#include "lb/core/http/message.hpp"

#include <fmt/format.h>

#include "lb/core/text.hpp"

namespace lb::core {
namespace {

bool hop_by_hop(const HttpHeader& h) { return iequals(h.name, "connection") && !connection_header_forwarded(h.value); }

std::string version_text(int v) { return fmt::format("HTTP/{}.{}", v / 10, v % 10); }

void append_headers(std::string& out, const std::vector<HttpHeader>& headers) {
  for (const auto& h : headers) {
    if (hop_by_hop(h)) continue;
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
  else if (head.version < 11 && !options.closing)
    out += "connection: keep-alive\r\n";
  if (!options.forwarded_for.empty()) out += "x-forwarded-for: " + options.forwarded_for + "\r\n";
  out += "\r\n";
  return out;
}

std::string client_response_head(const HttpResponseHead& head, bool close, bool client_http10_keepalive) {
  // Three digits always: a server's "018" goes out as haproxy forwards it, not as "18".
  std::string out = fmt::format("{} {:03}{}{}\r\n", version_text(head.version), head.status, head.reason.empty() ? "" : " ",
                                head.reason);
  append_headers(out, head.headers);
  if (close)
    out += "connection: close\r\n";
  else if (client_http10_keepalive)
    out += "connection: keep-alive\r\n";
  out += "\r\n";
  return out;
}

std::string chunk(std::string_view data) {
  return data.empty() ? std::string() : fmt::format("{:X}\r\n{}\r\n", data.size(), data);
}

std::string last_chunk(const std::vector<HttpHeader>& trailers) {
  std::string out = "0\r\n";
  append_headers(out, trailers);
  out += "\r\n";
  return out;
}

bool connection_header_forwarded(std::string_view value) {
  std::size_t start = 0;
  while (start <= value.size()) {
    const auto comma = value.find(',', start);
    auto token = value.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) token.remove_prefix(1);
    while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
    if (!token.empty() && !iequals(token, "close") && !iequals(token, "keep-alive")) return true;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return false;
}

std::uint64_t logged_response_size(const HttpResponseHead& head, std::uint64_t body_size, bool complete) {
  std::uint64_t n = 20 + version_text(head.version).size() + 3 + head.reason.size();
  for (const auto& h : head.headers)
    if (!hop_by_hop(h)) n += h.name.size() + h.value.size();
  return n + 1 + body_size + (head.chunked && complete ? 1 : 0);
}

std::uint64_t logged_request_size(const HttpRequestHead& head, std::uint64_t body_size) {
  std::uint64_t n = 20 + head.method.size() + head.target.size() + version_text(head.version).size();
  for (const auto& h : head.headers)
    if (!hop_by_hop(h)) n += h.name.size() + h.value.size();
  return n + 1 + body_size + (head.chunked ? 1 : 0);
}

}  // namespace lb::core
