#include "mockserver/core/model.hpp"

#include "lb/core/config/values.hpp"

#include <arpa/inet.h>

#include <fmt/format.h>

#include <array>
#include <charconv>

namespace mock::core {

namespace {

using enum FaultKind;
constexpr std::array kFaults{
    FaultInfo{Refuse, "refuse", Phase::Listener, "no listener: connects get RST (ECONNREFUSED)"},
    FaultInfo{Blackhole, "blackhole", Phase::Listener, "SYNs dropped: connects time out"},
    FaultInfo{SlowAccept, "slow-accept", Phase::Listener,
              "handshake completes, connection never accepted"},
    FaultInfo{ResetOnAccept, "reset-on-accept", Phase::Connection, "RST right after accept"},
    FaultInfo{CloseBeforeRequest, "close-before-request", Phase::Connection,
              "FIN right after accept"},
    FaultInfo{HangNoRead, "hang-no-read", Phase::Connection, "accepted, never read, never answered"},
    FaultInfo{Hang, "hang", Phase::Request, "request read, never answered, kept open"},
    FaultInfo{Reset, "reset", Phase::Request, "request read, then RST"},
    FaultInfo{Close, "close", Phase::Request, "request read, then FIN without a byte"},
    FaultInfo{Garbage, "garbage", Phase::Request, "random non-HTTP bytes, then FIN"},
    FaultInfo{Partial, "partial", Phase::Request, "status line and some headers, then stall"},
    FaultInfo{Drip, "drip", Phase::Request, "a correct response, N bytes every M ms"},
    FaultInfo{BadLength, "bad-length", Phase::Request,
              "Content-Length larger than the body, then FIN"},
    FaultInfo{BadChunked, "bad-chunked", Phase::Request, "chunked body with a non-hex chunk size"},
    FaultInfo{Http09, "http09", Phase::Request, "bare body, no status line or headers, then FIN"},
    FaultInfo{OversizedHeaders, "oversized-headers", Phase::Request,
              "header block larger than a 16 KiB buffer"},
    FaultInfo{ResetMidResponse, "reset-mid-response", Phase::Request,
              "status line and headers, then RST"},
    FaultInfo{Interim1xx, "interim-1xx", Phase::Request,
              "100 Continue before the final response"},
    FaultInfo{BadStatusLine, "bad-status-line", Phase::Request, "HTTP/1.1 2OO OK"},
    FaultInfo{Delay, "delay", Phase::Request, "the normal response after a pause"},
    FaultInfo{SlowClose, "slow-close", Phase::Request, "the normal response, then the FIN only after ms"},
    FaultInfo{LimitData, "limit-data", Phase::Request, "the normal response cut after N bytes, then FIN"},
    FaultInfo{Timeout, "timeout", Phase::Request, "nothing sent; FIN after ms (0: held open)"},
    FaultInfo{TlsHandshakeFailure, "tls-handshake-failure", Phase::Connection,
              "TLS: a handshake_failure alert instead of a ServerHello, then FIN"},
    FaultInfo{TlsSlowHandshake, "tls-slow-handshake", Phase::Connection, "TLS: the handshake only after ms"},
    FaultInfo{TlsWrongCert, "tls-wrong-cert", Phase::Connection,
              "TLS: a self-signed certificate for wrong.invalid instead of the listener's"},
    FaultInfo{Tls13Only, "tls13-only", Phase::Connection, "TLS: TLS 1.3 or nothing (1.2 clients fail)"},
};

}  // namespace

std::span<const FaultInfo> fault_table() { return kFaults; }

const FaultInfo& info(FaultKind k) { return kFaults[static_cast<std::size_t>(k)]; }

std::optional<FaultKind> fault_from_name(std::string_view name) {
  for (const auto& f : kFaults)
    if (f.name == name) return f.kind;
  if (name == "stall-accept") return SlowAccept;  // the catalogue's word for the same thing
  if (name == "empty") return Close;
  return std::nullopt;
}

Fault make_fault(FaultKind kind) {
  Fault f{.kind = kind};
  switch (kind) {
    case Garbage: f.bytes = 64; break;
    case Drip: f.bytes = 1, f.every = Ms{50}; break;
    case OversizedHeaders: f.bytes = 20000; break;
    case BadLength: f.bytes = 90; break;
    case Partial: f.then = Ending::Hold; break;
    case Delay: f.every = Ms{1000}; break;
    case SlowClose: f.every = Ms{1000}; break;
    case LimitData: f.bytes = 100; break;
    case TlsSlowHandshake: f.every = Ms{1000}; break;
    default: break;
  }
  return f;
}

std::string_view name(Mode m) {
  switch (m) {
    case Mode::Serve: return "serve";
    case Mode::Refuse: return "refuse";
    case Mode::Blackhole: return "blackhole";
    case Mode::SlowAccept: return "slow-accept";
  }
  return "serve";
}

std::string_view name(RawEnd e) {
  switch (e) {
    case RawEnd::Close: return "close";
    case RawEnd::Hold: return "hold";
    case RawEnd::Reset: return "reset";
    case RawEnd::Serve: return "serve";
  }
  return "close";
}

std::optional<RawEnd> raw_end_from_name(std::string_view n) {
  for (RawEnd e : {RawEnd::Close, RawEnd::Hold, RawEnd::Reset, RawEnd::Serve})
    if (name(e) == n) return e;
  return std::nullopt;
}

std::optional<Mode> mode_from_name(std::string_view n) {
  for (Mode m : {Mode::Serve, Mode::Refuse, Mode::Blackhole, Mode::SlowAccept})
    if (name(m) == n) return m;
  if (n == "accept") return Mode::Serve;
  if (n == "stall-accept") return Mode::SlowAccept;
  return std::nullopt;
}

std::string_view name(TimelineStart t) {
  return t == TimelineStart::FirstConnection ? "first-connection" : "start";
}

std::optional<TimelineStart> timeline_start_from_name(std::string_view n) {
  for (TimelineStart t : {TimelineStart::Start, TimelineStart::FirstConnection})
    if (name(t) == n) return t;
  return std::nullopt;
}

double seeded_unit(std::uint64_t seed, std::uint64_t n) {
  // splitmix64 of the pair: well mixed, cheap, and the same everywhere.
  std::uint64_t z = seed * 0x9E3779B97F4A7C15ULL + n + 0x632BE59BD9B4E019ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53;
}

bool shapes_response(FaultKind k) {
  switch (k) {
    case FaultKind::Drip:
    case FaultKind::BadLength:
    case FaultKind::Http09:
    case FaultKind::OversizedHeaders:
    case FaultKind::ResetMidResponse:
    case FaultKind::Interim1xx:
    case FaultKind::BadStatusLine:
    case FaultKind::Delay:
    case FaultKind::SlowClose:
    case FaultKind::LimitData: return true;
    default: return false;
  }
}

Mode mode_of(FaultKind k) {
  switch (k) {
    case Refuse: return Mode::Refuse;
    case Blackhole: return Mode::Blackhole;
    case SlowAccept: return Mode::SlowAccept;
    default: return Mode::Serve;
  }
}

std::optional<Endpoint> parse_endpoint(std::string_view text) {
  std::string_view host, port;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos || text.substr(close + 1, 1) != ":") return std::nullopt;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return std::nullopt;  // bare IPv6 needs []
  }
  if (host.empty() || port.empty()) return std::nullopt;
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc{} || end != port.data() + port.size() || value > 65535) return std::nullopt;
  if (!valid_ip_literal(host)) return std::nullopt;  // what is bound is an address, never a name
  return Endpoint{std::string(host), static_cast<std::uint16_t>(value)};
}

std::string to_string(const Endpoint& e) {
  const bool v6 = e.host.find(':') != std::string::npos;
  return (v6 ? "[" + e.host + "]" : e.host) + ":" + std::to_string(e.port);
}

bool valid_ip_literal(std::string_view host) { return lb::core::is_ip_literal(host); }

bool is_tls_fault(FaultKind k) {
  return k == FaultKind::TlsHandshakeFailure || k == FaultKind::TlsSlowHandshake || k == FaultKind::TlsWrongCert ||
         k == FaultKind::Tls13Only;
}

std::vector<std::pair<std::string, std::string>> listener_conflicts(const ListenerSpec& l, std::string_view path) {
  std::vector<std::pair<std::string, std::string>> out;
  const std::string at = path.empty() ? std::string() : std::string(path) + ".";
  if (l.fault && is_tls_fault(l.fault->kind) && !l.tls)
    out.emplace_back(at + "fault", fmt::format("'{}' needs a TLS listener (tls)", info(l.fault->kind).name));
  for (std::size_t i = 0; i < l.rules.size(); ++i) {
    const auto& r = l.rules[i];
    if (r.proxy && !l.upstream)
      out.emplace_back(fmt::format("{}rules[{}].proxy", at, i), "the listener has no upstream to proxy to");
    if (r.fault && is_tls_fault(r.fault->kind) && !l.tls)
      out.emplace_back(fmt::format("{}rules[{}].fault", at, i),
                       fmt::format("'{}' needs a TLS listener (tls)", info(r.fault->kind).name));
  }
  return out;
}

bool valid_listener_name(std::string_view n) {
  if (n.empty() || n.size() > 64) return false;
  for (char c : n) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::string_view standard_reason(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 103: return "Early Hints";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown";
  }
}

}  // namespace mock::core
