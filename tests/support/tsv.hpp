#pragma once
// The escapes of the captured TSV files (tests/data/haproxy26/*.tsv): \\ \t \n \r \xHH, and \|
// where a cell lists pieces separated by " | ". Any other backslash is kept as written.
#include <string>
#include <string_view>

namespace lb::test {

inline std::string tsv_unescape(std::string_view s) {
  const auto hex = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 >= s.size()) {
      out += s[i];
      continue;
    }
    switch (const char c = s[++i]) {
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case '\\': out += '\\'; break;
      case '|': out += '|'; break;
      case 'x':
        if (i + 2 < s.size()) {
          out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
          i += 2;
          break;
        }
        [[fallthrough]];
      default: out += '\\'; out += c; break;
    }
  }
  return out;
}

}  // namespace lb::test
