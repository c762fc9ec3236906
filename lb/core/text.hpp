#pragma once
// Byte-level text helpers shared by every parser in the project (config lexer, check replies,
// mockserver requests). Header-only so that mock_core can use them without linking lb_core.
#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lb::core {

// The value of one hexadecimal digit, or -1.
constexpr int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "0a0B" -> "\x0a\x0b"; nullopt for an odd length or a non-hex digit.
inline std::optional<std::string> decode_hex(std::string_view hex) {
  if (hex.size() % 2) return std::nullopt;
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = hex_digit(hex[i]), lo = hex_digit(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

// ASCII case-insensitive equality (header names, tokens); locale-independent.
constexpr bool iequals(std::string_view a, std::string_view b) {
  constexpr auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [&](char x, char y) { return lower(x) == lower(y); });
}

// ASCII lower-casing (header names as HAProxy emits them); locale-independent.
inline std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// Levenshtein distance, for "did you mean" hints on short words.
inline std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// The candidate nearest to `word` within fewer than 3 edits, or "" when none is that close.
template <class Range>
std::string_view closest_word(const Range& candidates, std::string_view word) {
  std::string_view best;
  std::size_t best_d = 3;
  for (std::string_view k : candidates)
    if (const auto d = edit_distance(word, k); d < best_d) best_d = d, best = k;
  return best;
}

}  // namespace lb::core
