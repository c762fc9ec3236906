#include "lb/core/api/cli.hpp"

#include <algorithm>
#include <array>
#include <climits>
#include <cstdint>
#include <cstdlib>

#include <fmt/format.h>

namespace lb::core::cli {
namespace {

// HAProxy 2.6.12's help lines (`help` prints them sorted), in the order its keywords register
// (the link order of the source files, then their order in each file): the fuzzy suggestions
// keep the first of equally near keywords, so this order decides which ones are shown. The
// commands lb runs are runtime_api's; the others answer that lb lacks them, but they stay here
// because `help` and the suggestions list them.
constexpr std::array kUsages{
    "show tls-keys [id|*]                    : show tls keys references or dump tls ticket keys when id specified",
    "set ssl tls-key [id|file] <key>         : set the next TLS key for the <id> or <file> listener to <key>",
    "set ssl ocsp-response <resp|payload>    : update a certificate's OCSP Response from a base64-encode DER",
    "show ssl ocsp-response [id]             : display the IDs of the OCSP responses used in memory, or the details of a single OCSP response",
    "show ssl providers                      : show loaded SSL providers",
    "add ssl crt-list <list> <cert> [opts]*  : add to crt-list file <list> a line <cert> or a payload",
    "del ssl crt-list <list> <cert[:line]>   : delete a line <cert> from crt-list file <list>",
    "show ssl crt-list [-n] [<list>]         : show the list of crt-lists or the content of a crt-list file <list>",
    "new ssl cert <certfile>                 : create a new certificate file to be used in a crt-list or a directory",
    "set ssl cert <certfile> <payload>       : replace a certificate file",
    "commit ssl cert <certfile>              : commit a certificate file",
    "abort ssl cert <certfile>               : abort a transaction for a certificate file",
    "del ssl cert <certfile>                 : delete an unused certificate file",
    "show ssl cert [<certfile>]              : display the SSL certificates used in memory, or the details of a file",
    "new ssl ca-file <cafile>                : create a new CA file to be used in a crt-list",
    "set ssl ca-file <cafile> <payload>      : replace a CA file",
    "commit ssl ca-file <cafile>             : commit a CA file",
    "abort ssl ca-file <cafile>              : abort a transaction for a CA file",
    "del ssl ca-file <cafile>                : delete an unused CA file",
    "show ssl ca-file [<cafile>[:<index>]]   : display the SSL CA files used in memory, or the details of a <cafile>, or a single certificate of index <index> of a CA file <cafile>",
    "new ssl crlfile <crlfile>               : create a new CRL file to be used in a crt-list",
    "set ssl crl-file <crlfile> <payload>    : replace a CRL file",
    "commit ssl crl-file <crlfile>           : commit a CRL file",
    "abort ssl crl-file <crlfile>            : abort a transaction for a CRL file",
    "del ssl crl-file <crlfile>              : delete an unused CRL file",
    "show ssl crl-file [<crlfile[:<index>>]] : display the SSL CRL files used in memory, or the details of a <crlfile>, or a single CRL of index <index> of CRL file <crlfile>",
    "show sess [id]                          : report the list of current sessions or dump this exact session",
    "shutdown session [id]                   : kill a specific session",
    "shutdown sessions server <bk>/<srv>     : kill sessions on a server",
    "clear counters [all]                    : clear max statistics counters (or all counters)",
    "show info [desc|json|typed|float]*      : report information about the running process",
    "show stat [desc|json|no-maint|typed|up]*: report counters for each proxy and server",
    "show schema json                        : report schema used for stats",
    "disable agent                           : disable agent checks",
    "disable health                          : disable health checks",
    "disable server (DEPRECATED)             : disable a server for maintenance (use 'set server' instead)",
    "enable agent                            : enable agent checks",
    "enable health                           : enable health checks",
    "enable server  (DEPRECATED)             : enable a disabled server (use 'set server' instead)",
    "set maxconn server <bk>/<srv>           : change a server's maxconn setting",
    "set server <bk>/<srv> [opts]            : change a server's state, weight, address or ssl",
    "get weight <bk>/<srv>                   : report a server's current weight",
    "set weight <bk>/<srv>  (DEPRECATED)     : change a server's weight (use 'set server' instead)",
    "add server <bk>/<srv>                   : create a new server",
    "del server <bk>/<srv>                   : remove a dynamically added server",
    "clear table <table> [<filter>]*         : remove an entry from a table (filter: data/key)",
    "set table <table> key <k> [data.* <v>]* : update or create a table entry's data",
    "show table <table> [<filter>]*          : report table usage stats or dump this table's contents (filter: data/key)",
    "show peers [dict|-] [section]           : dump some information about all the peers or this peers section",
    "show resolvers [id]                     : dumps counters from all resolvers section and associated name servers",
    "set maxconn global <value>              : change the per-process maxconn setting",
    "set rate-limit <setting> <value>        : change a rate limiting value",
    "set severity-output [none|number|string]: set presence of severity level in feedback information",
    "set timeout [cli] <delay>               : change a timeout setting",
    "show env [var]                          : dump environment variables known to the process",
    "show cli sockets                        : dump list of cli sockets",
    "show cli level                          : display the level of the current CLI session",
    "show fd [num]                           : dump list of file descriptors in use or a specific one",
    "show activity                           : show per-thread activity stats (for support/developers)",
    "show version                            : show version of the current process",
    "operator                                : lower the level of the current CLI session to operator",
    "user                                    : lower the level of the current CLI session to user",
    "disable frontend <frontend>             : temporarily disable specific frontend",
    "enable frontend <frontend>              : re-enable specific frontend",
    "set maxconn frontend <frontend> <value> : change a frontend's maxconn setting",
    "show servers conn [<backend>]           : dump server connections status (all or for a single backend)",
    "show servers state [<backend>]          : dump volatile server information (all or for a single backend)",
    "show backend                            : list backends in the current running config",
    "shutdown frontend <frontend>            : stop a specific frontend",
    "set dynamic-cookie-key backend <bk> <k> : change a backend secret key for dynamic cookies",
    "enable dynamic-cookie backend <bk>      : enable dynamic cookies on a specific backend",
    "disable dynamic-cookie backend <bk>     : disable dynamic cookies on a specific backend",
    "show errors [<px>] [request|response]   : report last request and/or response errors for each proxy",
    "show cache                              : show cache status",
    "get var <name>                          : retrieve contents of a process-wide variable",
    "show libs                               : show loaded object files and libraries",
    "show threads                            : show some threads debugging information",
    "show events [<sink>] [-w] [-n]          : show event sink state",
    "add acl [@<ver>] <acl> <pattern>        : add an acl entry",
    "clear acl [@<ver>] <acl>                : clear the contents of this acl",
    "commit acl @<ver> <acl>                 : commit the ACL at this version",
    "del acl <acl> [<key>|#<ref>]            : delete acl entries matching <key>",
    "get acl <acl> <value>                   : report the patterns matching a sample for an ACL",
    "prepare acl <acl>                       : prepare a new version for atomic ACL replacement",
    "show acl [@<ver>] <acl>]                : report available acls or dump an acl's contents",
    "add map [@<ver>] <map> <key> <val>      : add a map entry (payload supported instead of key/val)",
    "clear map [@<ver>] <map>                : clear the contents of this map",
    "commit map @<ver> <map>                 : commit the map at this version",
    "del map <map> [<key>|#<ref>]            : delete map entries matching <key>",
    "get map <acl> <value>                   : report the keys and values matching a sample for a map",
    "prepare map <acl>                       : prepare a new version for atomic map replacement",
    "set map <map> [<key>|#<ref>] <value>    : modify a map entry",
    "show map [@ver] [map]                   : report available maps or dump a map's contents",
    "show pools                              : report information about the memory pools usage",
    "trace [<module>|0] [cmd [args...]]      : manage live tracing (empty to list, 0 to stop all)",
    "show trace [<module>]                   : show live tracing state",
    "set profiling <what> {auto|on|off}      : enable/disable resource profiling (tasks,memory)",
    "show profiling [<what>|<#lines>|byaddr]*: show profiling state (all,status,tasks,memory)",
    "show tasks                              : show running tasks",
    "show startup-logs                       : report logs emitted during HAProxy startup",
};

constexpr std::string_view kAlwaysShown =
    "  help [<command>]                        : list matching or all commands\n"
    "  prompt                                  : toggle interactive mode with prompt\n"
    "  quit                                    : disconnect\n";

// The keyword's words are the literal words its usage starts with, up to an argument
// ("<bk>", "[opts]", "(DEPRECATED)") or the description.
Keyword keyword_of(std::string_view usage) {
  Keyword k{{}, usage};
  const auto text = usage.substr(0, usage.find(':'));
  std::size_t i = 0;
  while (i < text.size() && k.words.size() < 5) {
    while (i < text.size() && text[i] == ' ') ++i;
    std::size_t j = i;
    while (j < text.size() && text[j] != ' ') ++j;
    const auto word = text.substr(i, j - i);
    if (word.empty()) break;
    const bool literal = std::all_of(word.begin(), word.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    });
    if (!literal) break;
    k.words.push_back(word);
    i = j;
  }
  return k;
}

// HAProxy's word fingerprint (src/tools.c): which letters occur and how often each pair follows
// another, so that near words are near.
using Fingerprint = std::array<std::uint8_t, 1024>;

void add_word(Fingerprint& fp, std::string_view word) {
  int from = 28;  // begin
  for (const char ch : word) {
    int c = static_cast<unsigned char>(ch);
    if (c >= 'A' && c <= 'Z') c = c - 'A' + 'a';
    int to = 28;
    if (c >= 'a' && c <= 'z') to = c - 'a' + 1;
    else if (c >= '0' && c <= '9') to = 27;
    fp[static_cast<std::size_t>(to)] = 1;
    ++fp[static_cast<std::size_t>(32 * from + to)];
    from = to;
  }
  ++fp[static_cast<std::size_t>(32 * from + 28)];  // end
}

int distance(const Fingerprint& a, const Fingerprint& b) {
  int d = 0;
  for (std::size_t i = 0; i < a.size(); ++i) d += std::abs(int{a[i]} - int{b[i]});
  return d;
}

// How many of `args`' first words equal the keyword's.
std::size_t matching_words(const Keyword& k, const std::vector<std::string>& args, std::size_t limit) {
  std::size_t n = 0;
  while (n < limit && n < k.words.size() && n < args.size() && !args[n].empty() && k.words[n] == args[n]) ++n;
  return n;
}

}  // namespace

std::string_view level_name(Level level) {
  switch (level) {
    case Level::User:
      return "user";
    case Level::Operator:
      return "operator";
    case Level::Admin:
      return "admin";
  }
  return "user";
}

std::optional<Level> parse_level(std::string_view word) {
  for (const auto l : {Level::User, Level::Operator, Level::Admin})
    if (word == level_name(l)) return l;
  return std::nullopt;
}

std::size_t command_end(std::string_view bytes) {
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (bytes[i] == '\\') {
      ++i;
      continue;
    }
    if (bytes[i] == '\n' || bytes[i] == ';') return i;
  }
  return std::string_view::npos;
}

std::vector<std::string> split_words(std::string_view command) {
  std::vector<std::string> words;
  std::size_t i = 0;
  while (words.size() < kMaxArgs && i < command.size()) {
    while (i < command.size() && (command[i] == ' ' || command[i] == '\t')) ++i;
    if (i >= command.size()) break;
    std::string word;
    while (i < command.size() && command[i] != ' ' && command[i] != '\t') {
      if (command[i] == '\\') {
        // "\x" is x; "\\" is one backslash; a lone trailing backslash vanishes.
        if (++i < command.size()) word += command[i++];
        continue;
      }
      word += command[i++];
    }
    words.push_back(std::move(word));
  }
  return words;
}

const std::vector<Keyword>& keywords() {
  static const std::vector<Keyword> table = [] {
    std::vector<Keyword> t;
    for (const auto u : kUsages) t.push_back(keyword_of(u));
    return t;
  }();
  return table;
}

const std::vector<Keyword>& master_keywords() {
  // The keywords of the master's level in registration order: src/cli.c's, then src/mworker.c's.
  // The prefixes are single words that no argument follows.
  static const std::vector<Keyword> table{
      {{"show", "cli", "sockets"}, "show cli sockets                        : dump list of cli sockets"},
      {{"show", "cli", "level"}, "show cli level                          : display the level of the current CLI session"},
      {{"show", "version"}, "show version                            : show version of the current process"},
      {{"operator"}, "operator                                : lower the level of the current CLI session to operator"},
      {{"user"}, "user                                    : lower the level of the current CLI session to user"},
      {{"@<relative pid>"}, "@<relative pid>                         : send a command to the <relative pid> process"},
      {{"@!<pid>"}, "@!<pid>                                 : send a command to the <pid> process"},
      {{"@master"}, "@master                                 : send a command to the master process"},
      {{"show", "proc"}, "show proc                               : show processes status"},
      {{"reload"}, "reload                                  : reload haproxy"},
  };
  return table;
}

std::string usage_message(const std::vector<std::string>& words, bool help, const std::vector<Keyword>& table) {
  constexpr std::size_t kPrefixWords = 5;  // CLI_PREFIX_KW_NB
  constexpr std::size_t kMaxMatches = 5;   // CLI_MAX_MATCHES
  // help/prompt/quit are keywords too, without a help line of their own.
  static const std::array<Keyword, 3> kSimple{Keyword{{"help"}, {}}, Keyword{{"prompt"}, {}}, Keyword{{"quit"}, {}}};

  std::size_t length = 0;  // how many leading words some keyword matches exactly
  for (const auto& k : table) length = std::max(length, matching_words(k, words, kPrefixWords));
  for (const auto& k : kSimple) length = std::max(length, matching_words(k, words, kPrefixWords));

  std::string out;
  const bool no_words = words.empty() || words.front().empty();
  if (help) out = "The following commands are valid at this level:\n";
  else if (length == 0 && no_words) out = "Unknown command. Please enter one of the following commands only:\n";
  else out = "Unknown command, but maybe one of the following ones is a better match:\n";

  struct Match {
    const Keyword* kw = nullptr;
    int dist = INT_MAX;
  };
  std::array<Match, kMaxMatches> matches{};
  if (length < words.size() && !words[length].empty()) {
    for (const auto& k : table) {
      if (matching_words(k, words, length) != length) continue;
      Fingerprint word_sig{}, list_sig{};
      int total = 0;
      for (std::size_t i = length; i < kPrefixWords && i < words.size() && !words[i].empty(); ++i) {
        add_word(word_sig, words[i]);
        total += static_cast<int>(words[i].size());
      }
      for (std::size_t i = length; i < kPrefixWords && i < k.words.size(); ++i) {
        add_word(list_sig, k.words[i]);
        total += static_cast<int>(k.words[i].size());
      }
      const int dist = distance(word_sig, list_sig);
      // Kept among the best five, behind earlier ones at the same distance.
      if (dist < 5 * total / 2 && dist < matches.back().dist) {
        matches.back() = {&k, dist};
        for (std::size_t i = kMaxMatches - 1; i > 0 && matches[i].dist < matches[i - 1].dist; --i)
          std::swap(matches[i], matches[i - 1]);
      }
    }
  }

  std::vector<const Keyword*> entries;
  if (matches.front().kw) {
    for (const auto& m : matches) {
      if (!m.kw || m.dist > 5 * matches.front().dist / 2) break;
      entries.push_back(m.kw);
    }
  } else {
    for (const auto& k : table)
      if (matching_words(k, words, length) == length) entries.push_back(&k);
  }
  std::sort(entries.begin(), entries.end(), [](const Keyword* a, const Keyword* b) { return a->usage < b->usage; });
  for (const auto* k : entries) {
    out += "  ";
    out += k->usage;
    out += '\n';
  }
  out += kAlwaysShown;
  return out;
}

Connection::Connection(Level level, Handler handler, const std::vector<Keyword>& table)
    : level_(level), handler_(std::move(handler)), table_(&table) {}

// cli_parse_expert_experimental_mode(): "NAME on|off [-]" sets, "NAME" alone reports; admin only.
std::string Connection::mode(const std::vector<std::string>& words) {
  static constexpr std::array<std::string_view, 3> kNames{"expert-mode", "experimental-mode", "mcli-debug-mode"};
  const auto i = static_cast<std::size_t>(std::find(kNames.begin(), kNames.end(), words[0]) - kNames.begin());
  if (words.size() > 2 && words[2] == "-") no_lf_ = true;
  if (level_ < Level::Admin) return std::string(kPermissionDenied);
  if (words.size() < 2) return fmt::format("{} is {}\n", kNames[i], modes_[i] ? "ON" : "OFF");
  modes_[i] = words[1] == "on";
  return {};
}

std::string Connection::run(const std::vector<std::string>& words) {
  if (!words.empty()) {
    const std::string& w = words.front();
    if (w == "help") return usage_message({words.begin() + 1, words.end()}, true, *table_);
    if (w == "prompt") {
      interactive_ = !interactive_;
      return {};
    }
    if (w == "quit") {
      quit_ = true;
      return {};
    }
    if (w == "operator" || w == "user") {
      // "operator -": no empty line after the answers from now on (the master CLI's form).
      if (words.size() > 1 && words[1] == "-") no_lf_ = true;
      const Level wanted = w == "operator" ? Level::Operator : Level::User;
      if (level_ < wanted) return std::string(kPermissionDenied);
      level_ = wanted;
      modes_ = {};
      return {};
    }
    if (w == "expert-mode" || w == "experimental-mode" || (w == "mcli-debug-mode" && table_ == &master_keywords()))
      return mode(words);
  }
  if (auto answer = handler_(words, *this)) return std::move(answer->text);
  return usage_message(words, false, *table_);
}

bool Connection::answer(const std::vector<std::string>& words, std::string& out) {
  out += run(words);
  if (quit_) {
    done_ = true;
    return false;
  }
  if (interactive_) out += "\n> ";
  else if (!no_lf_) out += '\n';
  no_lf_ = false;  // for this command only, as HAProxy re-arms APPCTX_CLI_ST1_NOLF
  return true;
}

bool Connection::take_payload_line(std::string& out) {
  // A line must fit beside what the buffer holds, with its LF and the NUL HAProxy keeps after.
  if (held_ + 1 >= kBuffer) {
    done_ = true;
    return false;
  }
  const std::size_t room = kBuffer - held_ - 1;
  const std::size_t lf = pending_.find('\n');
  if (lf == std::string::npos || lf + 1 > room) {
    // haproxy 2.6.12 spins and aborts when only the closing empty line no longer fits; lb ends
    // the connection there as at any other line too long for the buffer.
    if (lf != std::string::npos || pending_.size() >= room) done_ = true;
    return false;
  }
  std::string_view line(pending_.data(), lf);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.empty()) {
    pending_.erase(0, lf + 1);
    // cli_parse_request(): "<<" as the command's last word marks where the payload starts;
    // glued to a word it is part of that word, and the payload's words are more arguments.
    std::string command = std::move(*payload_command_);
    payload_command_.reset();
    if (!payload_.empty()) payload_.pop_back();  // the last line's LF
    const std::size_t at = command.size() - kPayloadPattern.size();
    std::size_t escapes = 0;  // backslashes before the blank in front of "<<"
    while (at >= escapes + 2 && command[at - 2 - escapes] == '\\') ++escapes;
    const bool own_word = at == 0 || ((command[at - 1] == ' ' || command[at - 1] == '\t') && escapes % 2 == 0);
    auto words = split_words(std::string_view(command).substr(0, at));
    if (!own_word) {
      words = split_words(command);
      for (auto& w : split_words(payload_))
        if (words.size() < kMaxArgs) words.push_back(std::move(w));
    }
    payload_.clear();
    answer(words, out);
    return true;
  }
  held_ += line.size() + 1;
  payload_ += line;
  payload_ += '\n';
  pending_.erase(0, lf + 1);
  if (interactive_) out += "+ ";
  return true;
}

std::string Connection::feed(std::string_view bytes) {
  std::string out;
  if (done_) return out;
  pending_ += bytes;
  bool answered = false;
  while (!done_) {
    if (payload_command_) {
      if (!take_payload_line(out)) break;
      if (!payload_command_) answered = true;
      continue;
    }
    const std::size_t end = command_end(pending_);
    if (end == std::string::npos) {
      // A command longer than the CLI's buffer ends the connection, as in HAProxy.
      if (pending_.size() > kMaxRequest) done_ = true;
      break;
    }
    std::string_view command(pending_.data(), end);
    if (end > kMaxRequest) {
      done_ = true;
      break;
    }
    if (!command.empty() && command.back() == '\r') command.remove_suffix(1);
    if (command.ends_with(kPayloadPattern)) {
      payload_command_ = std::string(command);
      held_ = command.size() + 1;
      pending_.erase(0, end + 1);
      if (interactive_) out += "+ ";
      continue;
    }
    const auto words = split_words(command);
    pending_.erase(0, end + 1);
    answered = true;
    if (!answer(words, out)) break;
  }
  // Without a prompt, the connection ends once nothing more is waiting to be read.
  if (answered && !interactive_ && pending_.empty() && !payload_command_) done_ = true;
  return out;
}

}  // namespace lb::core::cli
