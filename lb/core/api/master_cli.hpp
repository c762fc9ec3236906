#pragma once
// HAProxy 2.6's master CLI (`-W -S ADDR`, src/cli.c pcli_* and src/mworker.c) as pure code. A
// connection's bytes are cut into commands as the CLI cuts them; the master acts on its own
// words (`@N`/`@!PID`/`@master` prefixes, prompt, quit, operator, user, the expert modes) and
// passes every other command on, one at a time, to the master's own CLI or to a worker's, with
// the session's level written in front ("operator -"). The answer comes back whole, then the
// prompt ("master> ", "1234> ") in interactive mode. A command passed on whose line ends with
// its first "<<" goes with the lines after it, up to an empty one, as they are (its payload);
// each is prompted "+ ". The sockets are lb/net/master's.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lb/core/api/cli.hpp"

namespace lb::core::mcli {

// The processes the master knows, in the order it forked them (HAProxy's proc_list).
struct Worker {
  int pid = 0;
  int reloads = 0;       // reloads since it was forked: 0 for the current worker
  std::int64_t started = 0;  // seconds, on the clock `now` is read on
  bool leaving = false;  // told to finish by a reload
};
struct Processes {
  int master_pid = 0;
  int reloads = 0;
  int failed_reloads = 0;
  std::int64_t started = 0;
  std::vector<Worker> workers;
};

// `-S ADDR[,OPTION,VALUE...]`: where the master CLI listens (a UNIX path, `unix@PATH`, or
// ADDR:PORT) and the bind options HAProxy takes there: `mode` (octal, for a path) and `level`;
// `user`, `group`, `uid`, `gid` are read and ignored with a warning.
struct MasterSocket {
  std::string path;  // a UNIX socket, or else host:port
  std::string host;
  std::uint16_t port = 0;
  std::optional<unsigned> mode;
  cli::Level level = cli::Level::Admin;
};
struct MasterSocketParse {
  std::optional<MasterSocket> socket;
  std::vector<std::string> alerts;  // haproxy's lines, each to print as an alert; the last says it failed
  std::vector<std::string> warnings;
};
MasterSocketParse parse_master_socket(std::string_view arg);

// `show proc`: the master, then the current and the old workers (HAProxy's columns).
std::string show_proc(const Processes& p, std::int64_t now);

// pcli_prefix_to_pid(): the pid a prefix names, 0 for the master, -1 for none. "@N" is the
// worker with the N-th fewest reloads in 2.6's sense: the current one (0 reloads), else the one
// with the fewest.
int prefix_to_pid(std::string_view prefix, const Processes& p);

// The master's own CLI answering one passed-on request (src/mworker.c, src/cli.c at the master
// level): show proc, show version, show cli level, show cli sockets, reload, help. `reload`:
// the master reloads and the connection ends without an answer, as HAProxy's master re-executes.
struct MasterAnswer {
  std::string text;
  bool reload = false;
};
MasterAnswer master_command(std::string_view request, const Processes& p, std::int64_t now);

class Session {
 public:
  // What to do next with the connection.
  struct Step {
    enum class Kind {
      NeedMore,       // no whole command is waiting: read more (at the client's end: close)
      Forward,        // send `request` to `target` (0: the master's own CLI), return its answer whole
      ReplyAndClose,  // write `text`, then close
    };
    Kind kind = Kind::NeedMore;
    int target = 0;
    std::string request;
    std::string text;  // ReplyAndClose; for the others, what to write before acting (prompts)
  };

  explicit Session(cli::Level level) : level_(level) {}

  void feed(std::string_view bytes) { pending_ += bytes; }
  // The next step, given the processes as they are now. A quit is a ReplyAndClose with no text.
  Step next(const Processes& processes);
  // What follows a forwarded command's answer: the prompt, when interactive.
  std::string after_answer(const Processes& processes) const { return prompt(processes); }
  bool interactive() const { return interactive_; }

 private:
  std::string prompt(const Processes& processes) const;
  // Moves the next line of a payload to payload_, if it is whole: Last for its empty line.
  enum class PayloadLine { None, More, Last };
  PayloadLine take_payload_line(std::string& text);
  cli::Level level_;
  // A forwarded command whose line ended with "<<" gathers its payload's lines, up to an empty
  // one, and goes to its process with them.
  std::optional<Step> payload_;
  std::string pending_;
  bool interactive_ = false;
  int default_target_ = 0;  // set by a prefix alone on its line
  bool expert_ = false, experimental_ = false, debug_ = false;
};

}  // namespace lb::core::mcli
