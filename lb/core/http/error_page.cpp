#include "lb/core/http/error_page.hpp"

#include <fmt/format.h>

#include <array>
#include <string_view>

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
    Page{500, "Internal Server Error", "An internal server error occurred."},
    Page{502, "Bad Gateway", "The server returned an invalid or incomplete response."},
    Page{503, "Service Unavailable", "No server is available to handle this request."},
    Page{504, "Gateway Time-out", "The server didn't respond in time."},
};

}  // namespace

std::string haproxy_error_response(int status, bool close, bool head) {
  const Page* page = &kPages[3];
  for (const auto& p : kPages)
    if (p.status == status) page = &p;
  const std::string body =
      fmt::format("<html><body><h1>{} {}</h1>\n{}\n</body></html>\n", page->status, page->reason, page->text);
  return fmt::format(
      "HTTP/1.1 {} {}\r\ncontent-length: {}\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n{}\r\n{}",
      page->status, page->reason, body.size(), close ? "connection: close\r\n" : "", head ? "" : body);
}

}  // namespace lb::core
