#include "lb/core/config/lexer.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "lb/core/text.hpp"

namespace lb::core {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t'; }
bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }
bool is_alpha(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }
bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

// HAProxy's two-line pointer under a position of the line (sanitize_for_printing() in
// src/tools.c): the line without its indentation, at most 80 columns of it (centred on the
// position, with "..." around, when the position is further right), blanks as spaces and other
// unprintable bytes as '?'; then a caret under the character. `cuts`: where haproxy's parser had
// written a NUL into its copy of the line before it failed; the line shows up to the first one.
std::string pointing_at(std::string_view line, std::size_t at, const std::vector<std::size_t>& cuts = {}) {
  constexpr std::size_t kWidth = 80;
  const auto indent = std::min(line.find_first_not_of(" \t"), at);
  std::string text(line.substr(indent));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  for (const auto cut : cuts)
    if (cut >= indent && cut - indent < text.size()) text[cut - indent] = '\0';
  std::size_t pos = at - indent, from = 0, width = kWidth;
  std::string shown;
  const bool shifted = pos >= kWidth;
  if (shifted) {
    const std::size_t shift = pos - kWidth / 2;
    from = shift + 3;
    width = kWidth - 6;
    pos -= shift;
    shown = "...";
  }
  for (std::size_t i = from; i < text.size() && text[i] != '\0' && i - from < width; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    shown += std::isspace(c) ? ' ' : std::isprint(c) ? static_cast<char>(c) : '?';
  }
  if (shifted) shown += "...";
  return fmt::format("  {}\n  {}^", shown, std::string(pos, ' '));
}

// One "$NAME" or "${...}" inside double quotes, from the '$' at `at`: the expansion as a list of
// words (more than one only for ${NAME[*]}), and the position after it; or haproxy's error.
struct Expansion {
  std::vector<std::string> pieces;  // the first continues the current word, each other starts one
  std::size_t next = 0;
  std::string error;
};

Expansion expand_variable(std::string_view line, std::size_t at, const LexContext& context,
                          std::vector<std::size_t>& cuts) {
  Expansion out;
  std::size_t i = at + 1;
  const auto char_at = [&](std::size_t k) { return k < line.size() && line[k] != '\n' ? line[k] : '\0'; };
  const auto fail = [&](std::string_view what, std::size_t where) {
    out.error = fmt::format("{} at position {}:\n{}", what, where + 1, pointing_at(line, where, cuts));
    return out;
  };
  std::optional<std::size_t> brace;
  if (char_at(i) == '{') brace = i++;
  if (!is_alpha(char_at(i)) && char_at(i) != '_' && char_at(i) != '.')
    return fail("forbidden first char in environment variable name", i);
  const std::size_t name_start = i;
  if (char_at(i) == '.') ++i;
  while (is_alnum(char_at(i)) || char_at(i) == '_') ++i;
  const std::string name(line.substr(name_start, i - name_start));
  std::optional<std::string> value;
  if (name.starts_with('.')) {
    if (name == ".LINE") value = std::to_string(context.line);
    else if (name == ".FILE") value = std::string(context.file);
    else if (name == ".SECTION") value = context.section ? std::optional<std::string>(*context.section) : std::nullopt;
    else {
      cuts.push_back(i);  // haproxy ends the name with a NUL and fails before it puts the byte back
      return fail("forbidden first char in environment variable name", name_start);
    }
  } else if (context.getenv) {
    value = context.getenv(name);
  }
  bool split = false;
  if (char_at(i) == '[' && brace) {
    const std::size_t bracket = i++;
    if (char_at(i) != '*' || char_at(i + 1) != ']') return fail("truncated or invalid word expansion sequence", bracket);
    i += 2;
    split = true;
  }
  if (brace) {
    if (char_at(i) == '-') {
      const std::size_t close = line.find_first_of("}\n", i);
      if (close == std::string_view::npos || line[close] != '}')
        return fail("unmatched brace in environment variable name", *brace);
      if (!value) value = std::string(line.substr(i + 1, close - i - 1));
      cuts.push_back(close);  // haproxy ends the default value with a NUL in its copy of the line
      i = close;
    } else if (char_at(i) != '}') {
      return fail("unmatched brace in environment variable name", *brace);
    }
    ++i;
  }
  out.next = i;
  out.pieces.emplace_back();
  if (value) {
    for (std::size_t k = 0; k < value->size();) {
      if (split && is_space((*value)[k])) {
        out.pieces.emplace_back();
        while (k < value->size() && is_space((*value)[k])) ++k;
      } else {
        out.pieces.back() += (*value)[k++];
      }
    }
  }
  return out;
}

}  // namespace

LexedLine lex_line(std::string_view line, const LexContext& context) {
  LexedLine out;
  std::string word;
  bool in_word = false;
  char quote = 0;  // '"' or '\'' while inside quotes
  std::size_t quote_pos = 0;
  std::vector<std::size_t> cuts;  // NULs haproxy's parse_line() has written into the line so far
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
                                    pointing_at(line, backslash, cuts));
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
    if (quote == '"' && c == '$') {
      auto e = expand_variable(line, i, context, cuts);
      if (!e.error.empty()) {
        out.error = std::move(e.error);
        out.words.clear();
        return out;
      }
      word += e.pieces.front();
      for (std::size_t k = 1; k < e.pieces.size(); ++k) {
        out.words.push_back(std::move(word));
        word = std::move(e.pieces[k]);
      }
      i = e.next - 1;
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
    out.error = fmt::format("unmatched quote at position {}:\n{}", quote_pos + 1, pointing_at(line, quote_pos, cuts));
    out.words.clear();
    return out;
  }
  if (in_word) out.words.push_back(std::move(word));
  return out;
}

std::string env_expand(std::string_view text, const VariableLookup& getenv) {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    if (text[i] != '$') {
      out += text[i++];
      continue;
    }
    std::size_t name_start = i + 1;
    const bool brace = name_start < text.size() && text[name_start] == '{';
    if (brace) ++name_start;
    std::size_t end = name_start;
    while (end < text.size() && (is_alnum(text[end]) || text[end] == '_')) ++end;
    if (getenv)
      if (const auto value = getenv(std::string(text.substr(name_start, end - name_start)))) out += *value;
    i = brace && end < text.size() && text[end] == '}' ? end + 1 : end;
  }
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
      case '$': out += "\\$"; break;  // inside double quotes a bare '$' would start a variable
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
