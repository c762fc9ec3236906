#include "lb/core/config/values.hpp"

#include <fmt/format.h>

#include <algorithm>
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
