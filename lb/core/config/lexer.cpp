#include "lb/core/config/lexer.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "lb/core/text.hpp"

namespace lb::core {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t'; }

// HAProxy's two-line pointer under a position of the line: the line without its indentation,
// and a caret under the character.
std::string pointing_at(std::string_view line, std::size_t at) {
  const auto indent = std::min(line.find_first_not_of(" \t"), at);
  auto shown = line.substr(indent);
  while (!shown.empty() && (shown.back() == '\n' || shown.back() == '\r')) shown.remove_suffix(1);
  return fmt::format("  {}\n  {}^", shown, std::string(at - indent, ' '));
}

}  // namespace

LexedLine lex_line(std::string_view line) {
  LexedLine out;
  std::string word;
  bool in_word = false;
  char quote = 0;  // '"' or '\'' while inside quotes
  std::size_t quote_pos = 0;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (c == '\r' || c == '\n') {
      if (quote) continue;  // a stray CR at the end of a CRLF file line
      break;
    }
    if (quote == '\'') {
      if (c == '\'') quote = 0;
      else word += c;
      continue;
    }
    if (c == '\\' && quote != '\'') {
      if (i + 1 >= line.size() || line[i + 1] == '\r' || line[i + 1] == '\n') {
        // HAProxy keeps a trailing backslash as a literal character.
        word += c;
        in_word = true;
        continue;
      }
      const std::size_t backslash = i;
      const char n = line[++i];
      switch (n) {
        case 'r': word += '\r'; break;
        case 'n': word += '\n'; break;
        case 't': word += '\t'; break;
        case ' ': case '#': case '\\': case '"': case '\'': word += n; break;
        case '$':
          // Only double quotes expand variables, so only there does \$ stand for a plain '$'.
          if (quote != '"') word += '\\';
          word += n;
          break;
        case 'x': {
          const int hi = i + 1 < line.size() ? hex_digit(line[i + 1]) : -1;
          const int lo = i + 2 < line.size() ? hex_digit(line[i + 2]) : -1;
          if (hi < 0 || lo < 0) {
            out.error = fmt::format("truncated or invalid hexadecimal sequence at position {}:\n{}", backslash + 1,
                                    pointing_at(line, backslash));
            out.words.clear();
            return out;
          }
          word += static_cast<char>(hi * 16 + lo);
          i += 2;
          break;
        }
        default:  // any other escape is not one: both characters stay (regexes rely on it: \d, \+)
          word += '\\';
          word += n;
          break;
      }
      in_word = true;
      continue;
    }
    if (quote == '"') {
      if (c == '"') quote = 0;
      else word += c;
      continue;
    }
    if (c == '"' || c == '\'') {
      quote = c;
      quote_pos = i;
      in_word = true;
      continue;
    }
    if (c == '#') break;
    if (is_blank(c)) {
      if (in_word) out.words.push_back(std::move(word));
      word.clear();
      in_word = false;
      continue;
    }
    word += c;
    in_word = true;
  }
  if (quote) {
    out.error = fmt::format("unmatched quote at position {}:\n{}", quote_pos + 1, pointing_at(line, quote_pos));
    out.words.clear();
    return out;
  }
  if (in_word) out.words.push_back(std::move(word));
  return out;
}

std::string quote_word(std::string_view word) {
  bool plain = !word.empty();
  for (const char c : word) {
    const auto b = static_cast<unsigned char>(c);
    if (b <= 0x20 || b >= 0x7f || c == '"' || c == '\'' || c == '\\' || c == '#') plain = false;
  }
  if (plain) return std::string(word);
  std::string out = "\"";
  for (const char c : word) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\r': out += "\\r"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default: {
        const auto b = static_cast<unsigned char>(c);
        if (b < 0x20 || b >= 0x7f) out += fmt::format("\\x{:02x}", b);
        else out += c;
      }
    }
  }
  out += '"';
  return out;
}

}  // namespace lb::core
