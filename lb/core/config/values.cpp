#include "lb/core/config/values.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <stdexcept>

namespace lb::core {

void throw_exception_from_error(const ValueError& e, const boost::source_location&) {
  throw std::invalid_argument(e.message);
}

ValueResult<Ms> parse_duration(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  if (i == 0) {
    if (text.empty()) return ValueError{"missing time value"};
    return ValueError{fmt::format("unexpected character '{}'", text[0])};
  }
  std::uint64_t value = 0;
  const auto [p, ec] = std::from_chars(text.data(), text.data() + i, value);
  if (ec != std::errc{} || value > 0x7fffffffULL) return ValueError{"timer overflow"};
  const std::string_view unit = text.substr(i);
  std::uint64_t ms = 0;
  if (unit.empty() || unit == "ms") ms = value;
  else if (unit == "us") ms = (value + 999) / 1000;
  else if (unit == "s") ms = value * 1000;
  else if (unit == "m") ms = value * 60'000;
  else if (unit == "h") ms = value * 3'600'000;
  else if (unit == "d") ms = value * 86'400'000;
  else return ValueError{fmt::format("unexpected character '{}'", unit[0])};
  if (ms > 0x7fffffffULL) return ValueError{"timer overflow"};
  return Ms{static_cast<std::int64_t>(ms)};
}

std::string format_duration(Ms d) {
  const auto ms = d.count();
  if (ms == 0) return "0";
  if (ms % 86'400'000 == 0) return fmt::format("{}d", ms / 86'400'000);
  if (ms % 3'600'000 == 0) return fmt::format("{}h", ms / 3'600'000);
  if (ms % 60'000 == 0) return fmt::format("{}m", ms / 60'000);
  if (ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
  return fmt::format("{}ms", ms);
}

std::optional<std::vector<std::pair<int, int>>> parse_status_list(std::string_view list) {
  std::vector<std::pair<int, int>> out;
  // -1: not digits; -2: digits, but too many for a status.
  const auto number = [](std::string_view s) -> int {
    if (s.empty()) return -1;
    int n = 0;
    for (const char c : s) {
      if (c < '0' || c > '9') return -1;
      if (n >= 0) n = s.size() > 5 ? -2 : n * 10 + (c - '0');
    }
    return n;
  };
  while (true) {
    const auto comma = list.find(',');
    const auto item = list.substr(0, comma);
    const auto dash = item.find('-');
    const int lo = number(item.substr(0, dash));
    const int hi = dash == std::string_view::npos ? lo : number(item.substr(dash + 1));
    if (lo == -1 || hi == -1) return std::nullopt;
    if (lo >= 0 && hi >= 0) out.emplace_back(lo, hi);
    if (comma == std::string_view::npos) return out;
    list.remove_prefix(comma + 1);
  }
}

LooseInt parse_loose_int(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  bool negative = false;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) negative = text[i++] == '-';
  const std::size_t digits_start = i;
  long value = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    if (value < 1'000'000'000L) value = value * 10 + (text[i] - '0');
    ++i;
  }
  const bool strict = i > digits_start && i == text.size() &&
                      !std::isspace(static_cast<unsigned char>(text.front()));
  return {negative ? -value : value, strict};
}

namespace {

// A host name or IPv4 literal (letters, digits, '-', '_', '.'), or an IPv6 literal (hex digits,
// ':', '.', and a "%scope" suffix). Anything else cannot be resolved or printed back.
bool valid_host(std::string_view host) {
  const auto is = [](char c, std::string_view extra) {
    return std::isalnum(static_cast<unsigned char>(c)) || extra.find(c) != std::string_view::npos;
  };
  if (host.find(':') != std::string_view::npos) {
    const auto scope = host.find('%');
    const auto addr = host.substr(0, scope);
    if (!std::all_of(addr.begin(), addr.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.'; }))
      return false;
    if (scope == std::string_view::npos) return true;
    const auto name = host.substr(scope + 1);
    return !name.empty() && std::all_of(name.begin(), name.end(), [&](char c) { return is(c, "-_."); });
  }
  return std::all_of(host.begin(), host.end(), [&](char c) { return is(c, "-_."); });
}

}  // namespace

ValueResult<HostPort> parse_host_port(std::string_view text) {
  HostPort out;
  std::string_view port_text;
  bool has_port = false;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return ValueError{fmt::format("invalid address: '{}'", text)};
    out.host = std::string(text.substr(1, close - 1));
    const auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return ValueError{fmt::format("invalid address: '{}'", text)};
      port_text = rest.substr(1);
      has_port = true;
    }
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      out.host = std::string(text);
    } else {
      out.host = std::string(text.substr(0, colon));
      port_text = text.substr(colon + 1);
      has_port = true;
    }
  }
  if (out.host == "*") out.host.clear();
  if (!valid_host(out.host)) return ValueError{fmt::format("invalid address: '{}'", text)};
  if (has_port) {
    unsigned long port = 0;
    const auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (port_text.empty() || ec != std::errc{} || p != port_text.data() + port_text.size())
      return ValueError{fmt::format("invalid port '{}'", port_text)};
    if (port > 65535) return ValueError{fmt::format("invalid port '{}'", port_text)};
    out.port = static_cast<std::uint16_t>(port);
  }
  return out;
}

std::string format_host_port(std::string_view host, std::optional<std::uint16_t> port) {
  const bool v6 = host.find(':') != std::string_view::npos;
  std::string out = v6 ? fmt::format("[{}]", host) : std::string(host);
  if (port) out += fmt::format(":{}", *port);
  return out;
}

}  // namespace lb::core

namespace lb::core {
namespace {

bool is_ipv4_literal(std::string_view h) {
  int dots = 0;
  for (const char c : h) {
    if (c == '.') ++dots;
    else if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return dots == 3;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

// atoi() of a port: the number its first digits make (leading zeros too), saturated past any port.
long atoi_port(std::string_view s) {
  long v = 0;
  for (std::size_t n = 0; n < s.size() && std::isdigit(static_cast<unsigned char>(s[n])); ++n)
    v = std::min(v * 10 + (s[n] - '0'), 1000000L);
  return v;
}

struct Prefix {
  std::string_view text;
  SocketAddress::Kind kind;
  AddressFamily family;
  bool dgram;
};
constexpr std::array kPrefixes{
    Prefix{"unix@", SocketAddress::Kind::UnixPath, AddressFamily::Any, false},
    Prefix{"uxdg@", SocketAddress::Kind::UnixPath, AddressFamily::Any, true},
    Prefix{"uxst@", SocketAddress::Kind::UnixPath, AddressFamily::Any, false},
    Prefix{"abns@", SocketAddress::Kind::UnixPath, AddressFamily::Any, false},
    Prefix{"ip@", SocketAddress::Kind::Ip, AddressFamily::Any, false},
    Prefix{"ipv4@", SocketAddress::Kind::Ip, AddressFamily::V4, false},
    Prefix{"ipv6@", SocketAddress::Kind::Ip, AddressFamily::V6, false},
    Prefix{"tcp4@", SocketAddress::Kind::Ip, AddressFamily::V4, false},
    Prefix{"udp4@", SocketAddress::Kind::Ip, AddressFamily::V4, true},
    Prefix{"tcp6@", SocketAddress::Kind::Ip, AddressFamily::V6, false},
    Prefix{"udp6@", SocketAddress::Kind::Ip, AddressFamily::V6, true},
    Prefix{"tcp@", SocketAddress::Kind::Ip, AddressFamily::Any, false},
    Prefix{"udp@", SocketAddress::Kind::Ip, AddressFamily::Any, true},
    Prefix{"fd@", SocketAddress::Kind::Fd, AddressFamily::Any, false},
    Prefix{"sockpair@", SocketAddress::Kind::Fd, AddressFamily::Any, false},
};

}  // namespace

std::string unix_host(const UnixAddress& a) {
  if (a.socket_pair >= 0) return fmt::format("sockpair@{}", a.socket_pair);
  return (a.abstract ? "abns@" : "unix@") + a.path;
}

std::optional<UnixAddress> unix_address(std::string_view host) {
  if (host.starts_with("unix@")) return UnixAddress{std::string(host.substr(5)), false};
  if (host.starts_with("abns@")) return UnixAddress{std::string(host.substr(5)), true};
  if (host.starts_with("sockpair@")) {
    int fd = -1;
    const auto digits = host.substr(9);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), fd);
    if (ec == std::errc() && end == digits.data() + digits.size() && fd >= 0) return UnixAddress{{}, false, fd};
  }
  return std::nullopt;
}

bool is_address_literal(std::string_view host) { return is_ip_literal(host) || unix_address(host); }

std::string_view family_prefix(AddressFamily f) {
  switch (f) {
    case AddressFamily::V4: return "ipv4@";
    case AddressFamily::V6: return "ipv6@";
    case AddressFamily::Any: break;
  }
  return "";
}

ValueResult<SocketAddress> parse_socket_address(std::string_view text, AddressUse use, const VariableLookup& variables) {
  const std::string whole(text);
  const std::string expanded = text.find('$') == std::string_view::npos ? whole : env_expand(text, variables);
  auto fail = [&](std::string m) { return ValueError{std::move(m)}; };
  std::string_view rest = expanded;
  bool dgram = false;
  if (rest.starts_with("stream+")) rest.remove_prefix(7);
  else if (rest.starts_with("dgram+")) rest.remove_prefix(6), dgram = true;

  SocketAddress out;
  out.expanded = expanded;
  std::string_view prefix;
  for (const auto& p : kPrefixes)
    if (rest.starts_with(p.text)) {
      prefix = p.text;
      out.kind = p.kind;
      out.family = p.family;
      dgram = dgram || p.dgram;
      rest.remove_prefix(p.text.size());
      break;
    }
  for (const auto& [q, family] : {std::pair{std::string_view("quic4@"), 2}, std::pair{std::string_view("quic6@"), 10}})
    if (prefix.empty() && rest.starts_with(q))
      return fail(fmt::format("unsupported stream protocol for datagram family {} address '{}'; QUIC is not compiled "
                              "in if this is what you were looking for.",
                              family, whole));
  if (prefix.empty() && rest.starts_with('/')) out.kind = SocketAddress::Kind::UnixPath;

  if (out.kind == SocketAddress::Kind::Fd) {
    if (!all_digits(rest)) return fail(fmt::format("file descriptor '{}' is not a valid integer in '{}'", rest, whole));
    if (use == AddressUse::Server && prefix == "fd@")
      return fail(fmt::format("a file descriptor is not acceptable here in '{}'", whole));
    if (use == AddressUse::Nameserver)
      return fail(fmt::format("inherited file descriptors ('{}') are not supported by lb", whole));
    // A bind's or a server's descriptor is looked at by the parser, as haproxy does (getsockname).
    out.host = std::string(rest);
    // As atoi() reads it; a number too long for a descriptor is one no process has.
    out.fd = rest.size() > 9 ? 0x7fffffff : std::stoi(out.host);
    out.socket_pair = prefix == "sockpair@";
    return out;
  }
  const bool datagram_use = use == AddressUse::Log || use == AddressUse::Nameserver;
  if (dgram && !datagram_use) return fail(fmt::format("dgram-type address not acceptable in '{}'", whole));
  if (out.kind == SocketAddress::Kind::UnixPath) {
    out.abstract = prefix == "abns@";
    if (use == AddressUse::Nameserver || (use == AddressUse::Log && out.abstract))
      return fail(fmt::format("UNIX and abstract sockets ('{}') are not supported by lb", whole));
    // str2sa_range(): a path leaves room for the ".PID.tmp" a bind renames from (sun_path less
    // its NUL, less 10); an abstract name has the whole of sun_path but its leading NUL.
    const std::size_t max_length = out.abstract ? 107 : 97;
    if (rest.size() > max_length) return fail(fmt::format("socket path '{}' too long (max {})", whole, max_length));
    out.host = std::string(rest);
    return out;
  }

  // host[:port]: the port follows the last ':' unless a ']' comes after it ("[::1]", "::1:80").
  std::string_view host = rest, port_text;
  bool has_port = false;
  if (const auto at = rest.find_last_of(":]"); at != std::string_view::npos && rest[at] == ':') {
    host = rest.substr(0, at);
    port_text = rest.substr(at + 1);
    has_port = true;
  }
  out.host_as_written = std::string(host);
  std::string_view bare = host;
  if (bare.size() >= 2 && bare.front() == '[' && bare.back() == ']') bare = bare.substr(1, bare.size() - 2);
  if (bare == "*") bare = {};
  out.host = std::string(bare);
  const bool v6_literal = bare.find(':') != std::string_view::npos;
  const bool wrong_family = (out.family == AddressFamily::V4 && (v6_literal || host.starts_with('['))) ||
                            (out.family == AddressFamily::V6 && is_ipv4_literal(bare));
  // Servers resolve their names at start-up, so only bind and log addresses are judged here.
  if (use != AddressUse::Server && (wrong_family || !valid_host(bare)))
    return fail(fmt::format("invalid address: '{}' in '{}'", host, whole));
  if (use == AddressUse::Server && !wrong_family && !valid_host(bare))
    return fail(fmt::format("invalid address: '{}'", whole));

  if (!has_port || port_text.empty()) {
    if (use == AddressUse::Bind || use == AddressUse::Nameserver)
      return fail(fmt::format("missing port specification in '{}'", whole));
    if (use == AddressUse::Log) out.port = 514;
    return out;
  }
  // str2sa_range(): a port that starts with a digit is read with atoi(), so "80x" is 80 (lb
  // notes it in `loose_port`); a range only where ports may be ranges; a mandatory port (bind,
  // nameserver) is at least 1.
  if (std::isdigit(static_cast<unsigned char>(port_text.front()))) {
    const auto dash = port_text.find('-');
    if (dash != std::string_view::npos && use != AddressUse::Bind)
      return fail(fmt::format("port range not permitted here in '{}'", whole));
    const auto low_text = port_text.substr(0, dash);
    const auto high_text = dash == std::string_view::npos ? low_text : port_text.substr(dash + 1);
    const long minimum = use == AddressUse::Bind || use == AddressUse::Nameserver ? 1 : 0;
    const long low = atoi_port(low_text), high = atoi_port(high_text);
    if (low < minimum || low > 65535) return fail(fmt::format("invalid port '{}'", low_text));
    if (high < minimum || high > 65535) return fail(fmt::format("invalid port '{}'", high_text));
    if (low > high) return fail(fmt::format("invalid port range '{}-{}'", low, high));
    out.port = static_cast<std::uint16_t>(low);
    if (dash != std::string_view::npos) out.port_last = static_cast<std::uint16_t>(high);
    if (!all_digits(low_text) || !all_digits(high_text)) out.loose_port = std::string(port_text);
    return out;
  }
  if (port_text.front() == '+' || port_text.front() == '-') {
    if (use == AddressUse::Server) return fail(fmt::format("port offsets ('{}') are not supported by lb", whole));
    return fail(fmt::format("port offset not permitted here in '{}'", whole));
  }
  return fail(fmt::format("invalid character '{}' in port number '{}' in '{}'", port_text.front(), port_text, whole));
}

std::optional<Network> parse_network(std::string_view text) {
  const auto slash = text.find('/');
  const std::string base(text.substr(0, slash));
  Network n;
  n.v6 = base.find(':') != std::string::npos;
  const int family = n.v6 ? AF_INET6 : AF_INET;
  const std::size_t len = n.v6 ? 16 : 4;
  if (::inet_pton(family, base.c_str(), n.base.data()) != 1) return std::nullopt;
  if (slash == std::string_view::npos) {
    std::fill(n.mask.begin(), n.mask.begin() + static_cast<std::ptrdiff_t>(len), 0xff);
    return n;
  }
  const std::string mask(text.substr(slash + 1));
  if (!n.v6 && mask.find('.') != std::string::npos)
    return ::inet_pton(AF_INET, mask.c_str(), n.mask.data()) == 1 ? std::optional<Network>(n) : std::nullopt;
  const auto bits = parse_loose_int(mask);
  if (!bits.strict || bits.value < 0 || bits.value > static_cast<long>(len) * 8) return std::nullopt;
  for (std::size_t i = 0; i < len; ++i) {
    const long left = bits.value - static_cast<long>(i) * 8;
    n.mask[i] = left >= 8 ? 0xff : left <= 0 ? 0 : static_cast<unsigned char>(0xff << (8 - left));
  }
  return n;
}

bool Network::contains(std::string_view address) const {
  const std::string text(address);
  unsigned char a[16];
  if (::inet_pton(v6 ? AF_INET6 : AF_INET, text.c_str(), a) != 1) return false;
  for (std::size_t i = 0; i < (v6 ? 16u : 4u); ++i)
    if ((a[i] & mask[i]) != (base[i] & mask[i])) return false;
  return true;
}

std::string canonical_ip(std::string_view host) {
  const std::string text(host);
  unsigned char buf[16];
  char out[INET6_ADDRSTRLEN] = {};
  for (const int family : {AF_INET, AF_INET6})
    if (::inet_pton(family, text.c_str(), buf) == 1 && ::inet_ntop(family, buf, out, sizeof out)) return out;
  return text;
}

bool is_ip_literal(std::string_view host) {
  const std::string text(host);
  unsigned char buf[16];
  return ::inet_pton(AF_INET, text.c_str(), buf) == 1 || ::inet_pton(AF_INET6, text.c_str(), buf) == 1;
}

}  // namespace lb::core
