#pragma once
// HAProxy 2.6's command-line interface (src/cli.c) as pure code: how a connection's bytes are cut
// into commands and words, the keyword table `help` prints, the "Unknown command" answer with its
// fuzzy suggestions, and the framing of answers (an empty line after each, "> " in prompt mode).
// What each command does is in runtime_api; this file knows no server and no socket.
#include <cstddef>
#include <functional>
#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lb/core/config/model.hpp"

namespace lb::core::cli {

using Level = CliLevel;
std::string_view level_name(Level level);  // "user", "operator", "admin"
std::optional<Level> parse_level(std::string_view word);

inline constexpr std::size_t kMaxArgs = 64;         // MAX_CLI_ARGS
inline constexpr std::size_t kMaxRequest = 16383;   // one command must fit the CLI's buffer
inline constexpr std::size_t kBuffer = 16384;       // the CLI's chunk: a command and its payload
inline constexpr std::string_view kPayloadPattern = "<<";  // a line ending so is followed by a payload
inline constexpr std::string_view kPermissionDenied = "Permission denied\n";

// Where the first command in `bytes` ends: its LF or ';' not escaped by a backslash; npos when
// no command is whole yet.
std::size_t command_end(std::string_view bytes);
// The words of one command: split on spaces and tabs, a backslash keeps the next character
// (and "\\" is one backslash); at most kMaxArgs words, the rest is dropped as HAProxy drops it.
std::vector<std::string> split_words(std::string_view command);

// One entry of HAProxy 2.6's keyword table: its leading words and its help line.
struct Keyword {
  std::vector<std::string_view> words;
  std::string_view usage;
};
const std::vector<Keyword>& keywords();
// The master CLI's own table (`lb -W -S`): the commands HAProxy's master answers itself.
const std::vector<Keyword>& master_keywords();

// The text HAProxy prints for `help [words...]` (`words` after "help") or, when `help` is false,
// for a command that matches no keyword: the matching or nearest entries of `table`, then
// help/prompt/quit.
std::string usage_message(const std::vector<std::string>& words, bool help,
                          const std::vector<Keyword>& table = keywords());

// One CLI connection, bytes in and bytes out. A command ends at an LF or an unescaped ';' (a
// trailing CR is dropped); without `prompt` the connection ends once the commands received so
// far are answered, with it each answer is followed by "> " and the connection stays.
// A command whose line ends with "<<" takes the lines after it, up to an empty one, as its
// payload (taken whole: no ';' and no escapes there), and runs then; interactively each of those
// lines is answered "+ ". A command and its payload must fit the CLI's buffer (kBuffer), or the
// connection ends unanswered. No command lb runs reads a payload: it changes what is a command.
class Connection {
 public:
  struct Answer {
    std::string text;  // what the command prints, its own line ends included
  };
  // Runs one command other than help/prompt/quit/operator/user and the expert modes, which the
  // connection answers itself; nullopt: no such command (the connection answers with the usage
  // message of `table`).
  using Handler = std::function<std::optional<Answer>(const std::vector<std::string>& words, Connection& connection)>;

  Connection(Level level, Handler handler, const std::vector<Keyword>& table = keywords());

  // Received bytes; returns the bytes to send back.
  std::string feed(std::string_view bytes);
  // Whether the connection should now be closed (after the answers feed() returned).
  bool done() const { return done_; }

  Level level() const { return level_; }
  bool interactive() const { return interactive_; }

 private:
  std::string run(const std::vector<std::string>& words);
  std::string mode(const std::vector<std::string>& words);
  // Runs a whole command and frames its answer; false once the connection is to end.
  bool answer(const std::vector<std::string>& words, std::string& out);
  // Takes the next line of a payload from pending_; false while it is not whole.
  bool take_payload_line(std::string& out);
  Level level_;
  Handler handler_;
  const std::vector<Keyword>* table_;
  std::string pending_;
  bool interactive_ = false;
  bool quit_ = false;
  bool no_lf_ = false;  // the command just run asked for no empty line after its answer
  bool done_ = false;
  // The command line that ended with "<<", while its payload comes; what the CLI's buffer holds
  // of it and the payload lines so far, as HAProxy counts it (the line, a NUL, each line's LF).
  std::optional<std::string> payload_command_;
  std::string payload_;
  std::size_t held_ = 0;
  // expert-mode, experimental-mode, mcli-debug-mode: lb has no command they unlock, but the
  // master CLI sets them on every command it passes on, and `expert-mode` reports its state.
  std::array<bool, 3> modes_{};
};

}  // namespace lb::core::cli
