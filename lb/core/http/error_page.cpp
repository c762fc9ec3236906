#include "lb/core/http/error_page.hpp"

#include <fmt/format.h>

#include <array>
#include <string_view>

#include "lb/core/http/message.hpp"

namespace lb::core {
namespace {

struct Page {
  int status;
  std::string_view reason;  // as HAProxy writes it on the status line and in the <h1>
  std::string_view text;
};

constexpr std::array kPages{
    Page{400, "Bad request", "Your browser sent an invalid request."},
    Page{403, "Forbidden", "Request forbidden by administrative rules."},
    Page{408, "Request Time-out", "Your browser didn't send a complete request in time."},
    Page{422, "Unprocessable Content", "The server cannot process the contained instructions."},
    Page{500, "Internal Server Error", "An internal server error occurred."},
    Page{502, "Bad Gateway", "The server returned an invalid or incomplete response."},
    Page{503, "Service Unavailable", "No server is available to handle this request."},
    Page{504, "Gateway Time-out", "The server didn't respond in time."},
};

const Page& page_of(int status) {
  for (const auto& p : kPages)
    if (p.status == status) return p;
  return kPages[3];
}

std::string body_of(const Page& p) {
  return fmt::format("<html><body><h1>{} {}</h1>\n{}\n</body></html>\n", p.status, p.reason, p.text);
}

// 400, 408 and 422 are sent by HAProxy's H1 multiplexer before any stream exists: its own header
// casing and order, the connection always closed (422 without saying so), and nothing counted in
// the log's %B.
bool from_the_multiplexer(int status) { return status == 400 || status == 408 || status == 422; }

// The other pages go through a stream as an ordinary response would.
HttpResponseHead stream_head(const Page& p, std::size_t body_size) {
  return {11, p.status, std::string(p.reason),
          {{"content-length", std::to_string(body_size)}, {"cache-control", "no-cache"}, {"content-type", "text/html"}}};
}

}  // namespace

std::string haproxy_error_response(int status, bool close, bool head) {
  const Page& page = page_of(status);
  const std::string body = body_of(page);
  if (from_the_multiplexer(page.status))
    return fmt::format(
        "HTTP/1.1 {} {}\r\nContent-length: {}\r\nCache-Control: no-cache\r\n{}Content-Type: text/html\r\n\r\n{}",
        page.status, page.reason, body.size(), page.status == 422 ? "" : "Connection: close\r\n", head ? "" : body);
  return client_response_head(stream_head(page, body.size()), close, false) + (head ? "" : body);
}

std::uint64_t logged_error_size(int status) {
  const Page& page = page_of(status);
  if (from_the_multiplexer(page.status)) return 0;
  const std::string body = body_of(page);
  return logged_response_size(stream_head(page, body.size()), body.size(), true);
}

}  // namespace lb::core
