#pragma once
// How HAProxy 2.6 rewrites an HTTP/1 message it forwards (its HTX round trip), as plain data in
// and bytes out: header names lower-cased, the Connection header consumed and re-emitted only
// where HAProxy emits it, X-Forwarded-For appended, chunked bodies re-framed, and the size it
// logs as %B. lb/net parses with Beast and writes what these functions return.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lb::core {

// HAProxy's 16 kB buffer less its 1 kB reserve for rewrites: a message head must fit in it.
constexpr std::size_t kMaxHeadBytes = 15 * 1024;

struct HttpHeader {
  std::string name;
  std::string value;
};

struct HttpRequestHead {
  std::string method;
  std::string target;
  int version = 11;  // 10 or 11
  std::vector<HttpHeader> headers;
  bool chunked = false;  // the body came chunked (re-framed on the way out)
};

struct HttpResponseHead {
  int version = 11;
  int status = 200;
  std::string reason;
  std::vector<HttpHeader> headers;
  bool chunked = false;
};

struct ForwardOptions {
  std::string forwarded_for;  // client address for `option forwardfor`; empty = off
  bool server_close = false;  // http-server-close / httpclose: ask the server to close
  bool closing = false;       // the exchange ends the connection anyway (Content-Length with
                              // Transfer-Encoding): HAProxy then adds no Connection header
};

// Whether HAProxy forwards a Connection header with this value: it consumes `close` and
// `keep-alive` and passes any other token (`Upgrade, HTTP2-Settings`) on as written.
bool connection_header_forwarded(std::string_view value);

// The request head as the server receives it (ends with the blank line).
std::string forwarded_request_head(const HttpRequestHead& head, const ForwardOptions& options);

// The response head as the client receives it. `close`: lb closes the client connection after
// this response; HAProxy then says `connection: close` when the client asked for it (HTTP/1.1
// Connection: close, or HTTP/1.0); `client_http10_keepalive`: an HTTP/1.0 client asked for
// keep-alive and gets it.
std::string client_response_head(const HttpResponseHead& head, bool close, bool client_http10_keepalive);

// A chunked body re-framed as HAProxy re-frames it: each piece that arrived at once becomes one
// chunk with an upper-case hex size (an empty piece: nothing), and the message ends with the last
// chunk and the trailers.
std::string chunk(std::string_view data);
std::string last_chunk(const std::vector<HttpHeader>& trailers = {});

// What HAProxy logs as %B for a response it forwarded: the size of its internal (HTX) copy of the
// message, not the bytes on the wire: 20 + the start line's three parts + every header's name and
// value (Connection excluded) + 1 + the body (+1 when chunked, once the last chunk is through:
// a response cut short, `complete` false, counts its head and the body bytes forwarded).
std::uint64_t logged_response_size(const HttpResponseHead& head, std::uint64_t body_size, bool complete);
// The same size of a request, as HAProxy counts it in its stats' bin: 20 + method + target +
// version + every header's name and value (Connection excluded) + 1 + the body.
std::uint64_t logged_request_size(const HttpRequestHead& head, std::uint64_t body_size);

}  // namespace lb::core
