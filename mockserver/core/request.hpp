#pragma once
// An HTTP/1.0 and 1.1 request parser over a caller-owned buffer. Views point into that buffer;
// nothing is copied or allocated per request once the header table has grown to its size.
#include <cstddef>
#include <string_view>
#include <vector>

#include "lb/core/text.hpp"

namespace mock::core {

struct Header {
  std::string_view name;
  std::string_view value;
};

struct Request {
  std::string_view method;
  std::string_view target;
  int minor = 1;  // HTTP/1.<minor>
  std::vector<Header> headers;
  std::string_view body;  // the body; a chunked one decoded (into the parser's own buffer)
  bool keep_alive = true;
  bool head() const { return method == "HEAD"; }
  std::string_view path() const { return target.substr(0, target.find('?')); }
  std::string_view query() const {
    const auto q = target.find('?');
    return q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
  }
  // The first header called `name` (case-insensitive), or nullptr.
  const Header* find(std::string_view name) const;
};

using lb::core::iequals;  // the project's one case-insensitive compare (lb/core/text.hpp)

// TooLarge: the head is over its limits (431); BodyTooLarge: the head is read (request() has
// its method and target) but the body it announces is over the limit (413).
enum class ParseStatus { Incomplete, Done, Bad, TooLarge, BodyTooLarge };

struct ParseResult {
  ParseStatus status = ParseStatus::Incomplete;
  std::size_t consumed = 0;  // bytes of `buf` the request occupies (Done only)
};

class RequestParser {
 public:
  static constexpr std::size_t kMaxHead = 64 * 1024;
  static constexpr std::size_t kMaxBody = 1024 * 1024;
  static constexpr std::size_t kMaxHeaders = 128;

  explicit RequestParser(std::size_t max_body = kMaxBody) : max_body_(max_body) {}
  std::size_t max_body() const { return max_body_; }

  // Parses the request at the start of `buf`. Incomplete asks for more bytes with the same
  // prefix; the views in request() stay valid while `buf` does.
  ParseResult parse(std::string_view buf);
  const Request& request() const { return req_; }

 private:
  ParseResult parse_chunked(std::string_view buf, std::size_t at);
  std::size_t max_body_;
  std::string chunked_body_;  // a chunked request's body, joined
  Request req_;
};

}  // namespace mock::core
