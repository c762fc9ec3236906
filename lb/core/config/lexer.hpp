#pragma once
// Splits one configuration line into words the way HAProxy 2.6 does (src/tools.c parse_line):
// blanks separate words, '#' starts a comment, backslash escapes, "double" and 'single' quotes,
// and environment variables inside double quotes.
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lb::core {

struct LexedLine {
  std::vector<std::string> words;
  std::string error;  // non-empty: the line could not be split, in HAProxy's words (may span lines)
};

// What "$NAME", "${NAME}", "${NAME-default}" and "${NAME[*]}" expand to inside double quotes
// (haproxy reads variables nowhere else), and the pseudo-variables ${.FILE}, ${.LINE} and
// ${.SECTION}. An unset variable expands to nothing, as in haproxy.
using VariableLookup = std::function<std::optional<std::string>(const std::string& name)>;

struct LexContext {
  VariableLookup getenv;  // unset: no variable is set
  std::string_view file;
  int line = 0;
  std::optional<std::string_view> section;  // the name of the last section header, if any yet
};

LexedLine lex_line(std::string_view line, const LexContext& context = {});

// haproxy's second expansion, which every address gets (env_expand() in str2sa_range()), quoted
// or not: "$NAME" and "${NAME}" become the value (nothing when unset), with no default, word
// expansion or error; the rest stays as written.
std::string env_expand(std::string_view text, const VariableLookup& getenv);

// Writes a word back so that lex_line() reads it unchanged (quotes only when needed).
std::string quote_word(std::string_view word);

}  // namespace lb::core
