#pragma once
// Splits one configuration line into words the way HAProxy 2.6 does (src/tools.c parse_line):
// blanks separate words, '#' starts a comment, backslash escapes, "double" and 'single' quotes.
#include <string>
#include <string_view>
#include <vector>

namespace lb::core {

struct LexedLine {
  std::vector<std::string> words;
  std::string error;  // non-empty: the line could not be split, in HAProxy's words (may span lines)
};

LexedLine lex_line(std::string_view line);

// Writes a word back so that lex_line() reads it unchanged (quotes only when needed).
std::string quote_word(std::string_view word);

}  // namespace lb::core
