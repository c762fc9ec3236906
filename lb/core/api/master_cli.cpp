#include "lb/core/api/master_cli.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "lb/core/config/values.hpp"
#include "lb/core/stats/info.hpp"

namespace lb::core::mcli {
namespace {

std::string uptime(std::int64_t s) {
  s = std::max<std::int64_t>(s, 0);
  return fmt::format("{}d{:02}h{:02}m{:02}s", s / 86400, s % 86400 / 3600, s % 3600 / 60, s % 60);
}

// "N" as strtol() reads it, the whole text; nullopt when anything else is in it.
std::optional<long> whole_number(std::string_view text) {
  if (text.empty()) return std::nullopt;
  const std::string s(text);
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(s.c_str(), &end, 10);
  if (*end != '\0') return std::nullopt;
  return v;
}

bool alive(int pid, const Processes& p) {
  return std::any_of(p.workers.begin(), p.workers.end(), [&](const Worker& w) { return w.pid == pid; });
}

// The command's words as pcli cuts them: on spaces and tabs, a backslash keeping the character
// after it (the words are passed on as written, so nothing is unescaped). Each word's offset.
struct Word {
  std::string_view text;
  std::size_t at;
};
std::vector<Word> words_of(std::string_view command) {
  std::vector<Word> out;
  std::size_t i = 0;
  while (out.size() < cli::kMaxArgs) {
    while (i < command.size() && (command[i] == ' ' || command[i] == '\t')) ++i;
    if (i >= command.size()) break;
    const std::size_t start = i;
    while (i < command.size() && command[i] != ' ' && command[i] != '\t') i += command[i] == '\\' ? 2 : 1;
    i = std::min(i, command.size());
    out.push_back({command.substr(start, i - start), start});
  }
  return out;
}

}  // namespace

MasterSocketParse parse_master_socket(std::string_view arg) {
  MasterSocketParse out;
  std::vector<std::string_view> parts;
  for (std::size_t start = 0;;) {
    const auto comma = arg.find(',', start);
    parts.push_back(arg.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  const auto failed = [&](std::string why) {
    out.alerts.push_back(std::move(why));
    out.alerts.push_back("config : Can't create the master's CLI.");
    out.socket.reset();
    return out;
  };
  MasterSocket sock;
  const auto address = parts[0];
  if (address.starts_with('/') || address.starts_with("unix@")) {
    sock.path = std::string(address.starts_with("unix@") ? address.substr(5) : address);
  } else {
    const auto a = parse_socket_address(address, AddressUse::Bind);
    if (!a || a->kind != SocketAddress::Kind::Ip || !a->port) {
      out.alerts.push_back("config : Cannot create the listener of the master CLI");
      return failed(fmt::format("config : {}\n", a ? fmt::format("address '{}' is not supported by lb (a UNIX path or ADDR:PORT)", address)
                                                   : a.error().message));
    }
    sock.host = a->host.empty() ? "0.0.0.0" : a->host;
    sock.port = *a->port;
  }
  for (std::size_t i = 1; i < parts.size(); i += 2) {
    const auto option = parts[i];
    const auto value = i + 1 < parts.size() ? parts[i + 1] : std::string_view();
    const auto joined = fmt::format("{} {}", address, option);  // how haproxy names what failed
    if (option == "mode") {
      const bool octal = !value.empty() && value.find_first_not_of("01234567") == std::string_view::npos;
      if (!octal)
        return failed(fmt::format("config : '{}' : ''mode' : missing or invalid mode '{}' (octal integer expected)'", joined, value));
      sock.mode = static_cast<unsigned>(std::stoul(std::string(value), nullptr, 8));
    } else if (option == "level") {
      const auto level = cli::parse_level(value);
      if (!level)
        return failed(fmt::format("config : '{}' : ''level' only supports 'user', 'operator', and 'admin' (got '{}')'", joined, value));
      sock.level = *level;
    } else if (option == "user" || option == "group" || option == "uid" || option == "gid") {
      out.warnings.push_back(fmt::format("-S {}: '{}' has no effect in lb and is ignored", arg, option));
    } else {
      return failed(fmt::format("config : '{}' : unknown keyword '{}'.", joined, option));
    }
  }
  out.socket = std::move(sock);
  return out;
}

std::string show_proc(const Processes& p, std::int64_t now) {
  const auto version = std::string(stats::kVersion);
  std::string out = fmt::format("#{:<14} {:<15} {:<15} {:<15} {:<15}\n", "<PID>", "<type>", "<reloads>", "<uptime>", "<version>");
  out += fmt::format("{:<15} {:<15} {:<15} {:<15} {:<15}\n", p.master_pid, "master",
                     fmt::format("{} [failed: {}]", p.reloads, p.failed_reloads), uptime(now - p.started), version);
  const auto rows = [&](bool leaving) {
    std::string text;
    for (const auto& w : p.workers)
      if (w.leaving == leaving)
        text += fmt::format("{:<15} {:<15} {:<15} {:<15} {:<15}\n", w.pid, "worker", w.reloads, uptime(now - w.started), version);
    return text;
  };
  out += "# workers\n" + rows(false);
  if (const auto old = rows(true); !old.empty()) out += "# old workers\n" + old;
  out += "# programs\n";
  return out;
}

int prefix_to_pid(std::string_view prefix, const Processes& p) {
  if (!prefix.starts_with('@')) return -1;
  prefix.remove_prefix(1);
  if (prefix.empty() || prefix == "master") return 0;
  if (prefix.starts_with('!')) {
    const auto pid = whole_number(prefix.substr(1));
    return pid && alive(static_cast<int>(*pid), p) ? static_cast<int>(*pid) : -1;
  }
  const auto n = whole_number(prefix);
  if (!n) return -1;
  if (*n == 0) return 0;
  if (*n != 1) return -1;  // 2.6.12 has one process: @1 is the only relative pid
  const Worker* chosen = nullptr;
  for (const auto& w : p.workers) {
    if (w.reloads == 0) return w.pid;
    if (!chosen || w.reloads < chosen->reloads) chosen = &w;
  }
  return chosen ? chosen->pid : -1;
}

MasterAnswer master_command(std::string_view request, const Processes& p, std::int64_t now) {
  MasterAnswer out;
  const auto answer = [](std::string text) { return std::optional(cli::Connection::Answer{std::move(text)}); };
  cli::Connection connection(
      cli::Level::Admin,
      [&](const std::vector<std::string>& words, cli::Connection& c) -> std::optional<cli::Connection::Answer> {
        const auto is = [&](std::initializer_list<std::string_view> w) {
          return words.size() >= w.size() && std::equal(w.begin(), w.end(), words.begin());
        };
        if (is({"show", "proc"})) return answer(show_proc(p, now));
        if (is({"show", "version"})) return answer(fmt::format("{}\n", stats::kVersion));
        if (is({"show", "cli", "level"})) return answer(fmt::format("{}\n", cli::level_name(c.level())));
        if (is({"show", "cli", "sockets"})) return answer({});  // the master lists none
        if (is({"reload"})) {
          if (c.level() < cli::Level::Operator) return answer(std::string(cli::kPermissionDenied));
          out.reload = true;
          return answer({});
        }
        return std::nullopt;
      },
      cli::master_keywords());
  out.text = connection.feed(request);
  if (out.reload) out.text.clear();
  return out;
}

std::string Session::prompt(const Processes& processes) const {
  if (!interactive_) return {};
  std::string out = default_target_ == 0
                        ? fmt::format("master{}", processes.failed_reloads > 0 ? "[ReloadFailed]" : "")
                        : std::to_string(default_target_);
  if (experimental_ || expert_ || debug_)
    out += fmt::format("({}{}{})", experimental_ ? "x" : "", expert_ ? "e" : "", debug_ ? "d" : "");
  return out + "> ";
}

Session::PayloadLine Session::take_payload_line(std::string& text) {
  auto lf = pending_.find('\n');
  if (lf == std::string::npos) {
    // A line that does not fit the buffer is taken as "help", as HAProxy replaces it.
    if (pending_.size() <= cli::kMaxRequest) return PayloadLine::None;
    pending_ = "help\n";
    lf = pending_.size() - 1;
  }
  // The worker ends a connection whose payload outgrows its buffer: what is past that is not
  // worth holding here (HAProxy's master streams it on, to no avail).
  if (payload_->request.size() <= 2 * cli::kBuffer) payload_->request.append(pending_, 0, lf + 1);
  pending_.erase(0, lf + 1);
  // Only a line with nothing before its LF ends it: the worker also ends it at "\r\n".
  if (lf == 0) return PayloadLine::Last;
  if (interactive_) text += "+ ";
  return PayloadLine::More;
}

Session::Step Session::next(const Processes& processes) {
  Step step;
  const auto close_with = [&](std::string_view text) {
    step.kind = Step::Kind::ReplyAndClose;
    step.text += text;
    return step;
  };
  for (;;) {
    if (payload_) {
      const auto line = take_payload_line(step.text);
      if (line == PayloadLine::None) return step;
      if (line == PayloadLine::More) continue;
      step.kind = Step::Kind::Forward;
      step.target = payload_->target;
      step.request = std::move(payload_->request);
      payload_.reset();
      return step;
    }
    const std::size_t end = cli::command_end(pending_);
    if (end == std::string::npos) {
      // A command that does not fit the buffer is answered with the help, as HAProxy does.
      if (pending_.size() <= cli::kMaxRequest) return step;
      pending_ = "help\n";
      continue;
    }
    const std::string command = pending_.substr(0, end);
    pending_.erase(0, end + 1);
    const auto words = words_of(command);

    int next_pid = -1;
    std::size_t trimmed = 0;  // leading words the master acts on itself
    if (!words.empty()) {
      const auto w0 = words[0].text;
      const auto permitted = [&](cli::Level needed) { return level_ >= needed; };
      if (w0.starts_with('@')) {
        const int pid = prefix_to_pid(w0, processes);
        if (pid < 0) return close_with(fmt::format("Can't find the target PID matching the prefix '{}'\n", w0));
        if (words.size() == 1) default_target_ = pid;
        else next_pid = pid;
        trimmed = 1;
      } else if (w0 == "prompt") {
        interactive_ = !interactive_;
        trimmed = words.size();
      } else if (w0 == "quit") {
        return close_with(prompt(processes));  // the prompt is written before the connection ends
      } else if (w0 == "operator" || w0 == "user") {
        const auto wanted = w0 == "operator" ? cli::Level::Operator : cli::Level::User;
        if (!permitted(wanted)) return close_with("Permission denied!\n");
        level_ = wanted;
        trimmed = words.size();
      } else if (w0 == "expert-mode" || w0 == "experimental-mode" || w0 == "mcli-debug-mode") {
        if (!permitted(cli::Level::Admin)) return close_with("Permission denied!\n");
        bool& flag = w0 == "expert-mode" ? expert_ : w0 == "experimental-mode" ? experimental_ : debug_;
        flag = words.size() > 1 && words[1].text == "on";
        trimmed = words.size();
      }
    }
    const std::string forwarded =
        trimmed == 0 ? command + "\n" : trimmed < words.size() ? command.substr(words[trimmed].at) + "\n" : std::string();
    if (forwarded.empty()) {
      step.text += prompt(processes);
      continue;
    }
    if (forwarded.size() > 1) {
      // What the session's level and modes are, on lines of their own before the command.
      if (level_ == cli::Level::Operator) step.request += "operator -\n";
      if (level_ == cli::Level::User) step.request += "user -\n";
      if (expert_) step.request += "expert-mode on -\n";
      if (experimental_) step.request += "experimental-mode on -\n";
      if (debug_ && next_pid <= 0) step.request += "mcli-debug-mode on -\n";
    }
    step.request += forwarded;
    step.target = next_pid > -1 ? next_pid : default_target_;
    if (step.target != 0 && !alive(step.target, processes)) return close_with("Can't connect to the target CLI!\n");
    if (const auto pattern = command.find(cli::kPayloadPattern);
        pattern != std::string::npos && pattern + cli::kPayloadPattern.size() == command.size()) {
      payload_ = Step{Step::Kind::Forward, step.target, std::move(step.request), {}};
      step.request.clear();
      if (interactive_) step.text += "+ ";
      continue;
    }
    step.kind = Step::Kind::Forward;
    return step;
  }
}

}  // namespace lb::core::mcli
