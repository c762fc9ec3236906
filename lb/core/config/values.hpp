#pragma once
// Value syntaxes shared by config directives: HAProxy time values, integers, addresses.
#include <boost/system/result.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lb/core/config/lexer.hpp"
#include "lb/core/config/model.hpp"
#include "lb/core/time/clock.hpp"

namespace lb::core {

// Errors carry only the message; the caller adds file:line and the keyword.
struct ValueError {
  std::string message;
};
template <class T>
using ValueResult = boost::system::result<T, ValueError>;
[[noreturn]] void throw_exception_from_error(const ValueError& e, const boost::source_location&);

// HAProxy time value: digits followed by an optional unit us, ms, s, m, h or d (default ms).
ValueResult<Ms> parse_duration(std::string_view text);
// Prints a duration in the largest unit that divides it exactly ("2s", "1500ms", "0").
std::string format_duration(Ms d);

// HAProxy reads most integers with atoi(): leading digits count, the rest is ignored ("abc" is
// 0). `strict` says whether the whole text was a number, so lb can warn where HAProxy is silent.
struct LooseInt {
  long value = 0;
  bool strict = false;
};
LooseInt parse_loose_int(std::string_view text);

// An `http-check expect status` list: "200-399,404" -> {{200,399},{404,404}}; nullopt when an
// item is not N or N-M in digits. A number too long to be a status (over 5 digits) makes its
// item match nothing.
std::optional<std::vector<std::pair<int, int>>> parse_status_list(std::string_view list);

struct HostPort {
  std::string host;  // without brackets; empty = any address ("*" or "" in bind)
  std::optional<std::uint16_t> port;
};
// "127.0.0.1:80", "[::1]:80", "::1:80" (HAProxy's last-colon rule), "app:8080", ":80", "*:80",
// "host" (no port).
ValueResult<HostPort> parse_host_port(std::string_view text);
std::string format_host_port(std::string_view host, std::optional<std::uint16_t> port);

// A `bind`, `server` or `log` address as HAProxy's str2sa_range() reads it: an optional
// `stream+`/`dgram+` and family prefix (`ipv4@`, `ipv6@`, `tcp@`, `udp4@`, `unix@`, `fd@`, ...), a
// host (empty = any) and a port whose rules depend on the use. Errors carry HAProxy's words
// ("invalid address: '::1' in 'ipv4@::1:80'"); forms lb cannot serve (port offsets, unix
// datagram sockets outside `log`) are refused by name.
enum class AddressUse { Bind, Server, Log, Nameserver };
struct SocketAddress {
  enum class Kind { Ip, UnixPath, Fd };
  Kind kind = Kind::Ip;
  AddressFamily family = AddressFamily::Any;  // a prefix's constraint on the host
  std::string host;                           // Ip: no brackets, empty = any; UnixPath: the path; Fd: the number
  std::string host_as_written;                // as HAProxy quotes it in messages ("[::1]")
  std::string expanded;                       // the whole text once "$NAME"s are read
  std::optional<std::uint16_t> port;
  std::uint16_t port_last = 0;                // bind port ranges "80-81": the last port (0 = no range)
  std::string loose_port;                     // the port as written when haproxy reads it loosely ("80x")
  int fd = -1;                                // Fd: the descriptor's number
  bool socket_pair = false;                   // Fd: `sockpair@N` rather than `fd@N`
  bool abstract = false;                      // UnixPath: `abns@NAME`, a name in Linux's abstract namespace
};
// `variables`: what "$NAME"/"${NAME}" in the address read (env_expand); messages quote the text
// as written.
ValueResult<SocketAddress> parse_socket_address(std::string_view text, AddressUse use,
                                                const VariableLookup& variables = {});
// Whether `host` is an IPv4 or IPv6 address literal (no brackets), not a name.
bool is_ip_literal(std::string_view host);

// A UNIX stream socket, as a bind's or a server's host carries it: "unix@PATH" (a file) or
// "abns@NAME" (Linux's abstract namespace), so that one string names any address a stream
// socket can have, the IP literal being the other form. A server's "sockpair@N" is one too:
// each connection to it is a new socket pair, one end passed over descriptor N.
struct UnixAddress {
  std::string path;  // the file, or the abstract name
  bool abstract = false;
  int socket_pair = -1;  // N of "sockpair@N"
  bool operator==(const UnixAddress&) const = default;
};
std::string unix_host(const UnixAddress& a);
// nullopt when `host` is no "unix@"/"abns@"/"sockpair@" form (an IP literal or a name).
std::optional<UnixAddress> unix_address(std::string_view host);
// An address literal of either kind: nothing to resolve.
bool is_address_literal(std::string_view host);
// A `resolve-net` network: "10.0.0.0/8", "10.0.0.0/255.0.0.0" or "fd00::/8"; a bare address
// is itself. nullopt for anything else (a dotted mask only for IPv4, a prefix of 0..32 / 0..128).
struct Network {
  bool v6 = false;
  std::array<unsigned char, 16> base{}, mask{};
  // Whether `address` (a literal) lies in it; an address of the other family never does.
  bool contains(std::string_view address) const;
};
std::optional<Network> parse_network(std::string_view text);

// A literal as inet_ntop() writes it ("fd00:0::1" is "fd00::1"), so that addresses compare as
// HAProxy compares them, by value; anything else is returned unchanged.
std::string canonical_ip(std::string_view host);

// The prefix that makes `host` keep its family when printed back ("ipv4@", "ipv6@" or "").
std::string_view family_prefix(AddressFamily f);

}  // namespace lb::core
