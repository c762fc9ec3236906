#include "harness/core/events.hpp"

#include <charconv>

namespace lbh {
namespace {

// The digits at the start of `s`, consumed; nullopt when there are none.
std::optional<long> take_number(std::string_view& s) {
  long v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end == s.data()) return std::nullopt;
  s.remove_prefix(static_cast<std::size_t>(end - s.data()));
  return v;
}

bool take(std::string_view& s, std::string_view prefix) {
  if (!s.starts_with(prefix)) return false;
  s.remove_prefix(prefix.size());
  return true;
}

// The message starts at its first known opening; what precedes it is a prefix.
std::string_view message_of(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  // "be/s changed its IP from ...": the message starts with the server's name, the word before.
  if (const auto changed = line.find(" changed its IP from "); changed != std::string_view::npos) {
    const auto space = line.rfind(' ', changed - 1);
    return line.substr(space == std::string_view::npos ? 0 : space + 1);
  }
  for (std::string_view start : {"Backup Server ", "Server ", "backend ", "proxy "}) {
    const auto at = line.find(start);
    if (at == std::string_view::npos) continue;
    // "backend"/"proxy" must begin the message, not sit inside a server line.
    if ((start == "backend " || start == "proxy ") && !line.ends_with("has no server available!")) continue;
    return line.substr(at);
  }
  return {};
}

// ", reason: R[, code: C][, info: "I"][, check duration: Dms]" up to the ". " that ends it.
void parse_reason(std::string_view s, Event& e) {
  if (!take(s, ", reason: ")) {
    // A state set without a check: ", changed from CLI".
    if (take(s, ", ")) e.reason = std::string(s.substr(0, s.find(". ")));
    return;
  }
  const auto stop = [&](std::string_view t) {
    const auto a = t.find(", code: ");
    const auto b = t.find(", info: ");
    const auto c = t.find(", check duration: ");
    const auto d = t.find(". ");
    std::size_t m = std::string_view::npos;
    for (auto x : {a, b, c, d})
      if (x < m) m = x;
    return m;
  };
  const auto r = stop(s);
  e.reason = std::string(s.substr(0, r));
  s = r == std::string_view::npos ? std::string_view{} : s.substr(r);
  if (take(s, ", code: ")) e.code = static_cast<int>(take_number(s).value_or(0));
  if (take(s, ", info: \"")) {
    const auto q = s.find("\", ");
    const auto q2 = q == std::string_view::npos ? s.find("\". ") : q;
    e.info = std::string(s.substr(0, q2));
    s = q2 == std::string_view::npos ? std::string_view{} : s.substr(q2 + 1);
  }
  if (take(s, ", check duration: ")) e.duration_ms = take_number(s);
}

}  // namespace

std::string_view name(Event::Kind k) {
  switch (k) {
    case Event::Kind::Down: return "DOWN";
    case Event::Kind::Up: return "UP";
    case Event::Kind::Stopping: return "stopping";
    case Event::Kind::NoServer: return "no server available";
    case Event::Kind::Maintenance: return "MAINT";
    case Event::Kind::Address: return "address";
    case Event::Kind::Drain: return "DRAIN";
  }
  return "?";
}

bool is_state(Event::Kind k) { return k != Event::Kind::Address && k != Event::Kind::NoServer; }

std::optional<Event> parse_event(std::string_view line) {
  std::string_view s = message_of(line);
  if (s.empty()) return std::nullopt;
  Event e;
  e.line = std::string(s);
  if (s.ends_with(" has no server available!") && (take(s, "backend ") || take(s, "proxy "))) {
    s.remove_suffix(std::string_view(" has no server available!").size());
    if (s.size() >= 2 && s.front() == '\'' && s.back() == '\'') s = s.substr(1, s.size() - 2);  // stderr wording
    e.kind = Event::Kind::NoServer;
    e.proxy = std::string(s);
    return e;
  }
  if (const auto changed = s.find(" changed its IP from "); changed != std::string_view::npos && !s.starts_with("Server ")) {
    const auto who = s.substr(0, changed);
    const auto slash = who.find('/');
    auto rest = s.substr(changed + std::string_view(" changed its IP from ").size());
    const auto to = rest.find(" to "), by = rest.find(" by ");
    if (slash == std::string_view::npos || to == std::string_view::npos || by == std::string_view::npos || by < to)
      return std::nullopt;
    e.kind = Event::Kind::Address;
    e.proxy = std::string(who.substr(0, slash));
    e.server = std::string(who.substr(slash + 1));
    e.info = std::string(rest.substr(to + 4, by - to - 4));
    auto updater = rest.substr(by + 4);
    if (updater.ends_with('.')) updater.remove_suffix(1);
    e.reason = std::string(updater);
    return e;
  }
  e.backup = take(s, "Backup ");
  if (!take(s, "Server ")) return std::nullopt;
  auto space = s.find(" is ");
  std::size_t verb = 4;
  if (const auto drain = s.find(" enters drain state"); drain < space) space = drain, verb = 1;
  if (const auto was = s.find(" was "); was < space) space = was, verb = 5;  // "... was DOWN and now enters maintenance"
  const auto slash = s.find('/');
  if (space == std::string_view::npos || slash == std::string_view::npos || slash > space) return std::nullopt;
  e.proxy = std::string(s.substr(0, slash));
  e.server = std::string(s.substr(slash + 1, space - slash - 1));
  if (const auto named = e.server.find(" ('"); named != std::string::npos) e.server.resize(named);  // "s2 ('app2')"
  s.remove_prefix(space + verb);
  // A cause in brackets after the state: "(DNS NX status)", "(resolves again)".
  auto bracketed = [&](std::string_view& rest) {
    if (!take(rest, " (")) return;
    const auto close = rest.find(')');
    if (close == std::string_view::npos) return;
    e.reason = std::string(rest.substr(0, close));
    rest.remove_prefix(close + 1);
  };
  if (take(s, "going DOWN for maintenance") || take(s, "DOWN and now enters maintenance")) {
    e.kind = Event::Kind::Maintenance;
    bracketed(s);
    return e;
  }
  if (take(s, "enters drain state")) {
    e.kind = Event::Kind::Drain;
    bracketed(s);
    return e;
  }
  // Leaving maintenance or drain: "UP/READY (leaving forced maintenance)", "DOWN (leaving forced drain)".
  for (const auto& [word, kind] : {std::pair{"UP/READY", Event::Kind::Up}, std::pair{"UP/DRAIN", Event::Kind::Up},
                                   std::pair{"DOWN/READY", Event::Kind::Down}, std::pair{"DOWN/DRAIN", Event::Kind::Down},
                                   std::pair{"UP (", Event::Kind::Up}, std::pair{"DOWN (", Event::Kind::Down}}) {
    const std::string_view w = word;
    if (!s.starts_with(w)) continue;
    s.remove_prefix(w.ends_with('(') ? w.size() - 2 : w.size());
    e.kind = kind;
    bracketed(s);
    return e;
  }
  if (take(s, "DOWN"))
    e.kind = Event::Kind::Down;
  else if (take(s, "UP"))
    e.kind = Event::Kind::Up;
  else if (take(s, "stopping"))
    e.kind = Event::Kind::Stopping;
  else
    return std::nullopt;
  if (!s.starts_with(",") && !s.starts_with(".")) return std::nullopt;
  parse_reason(s, e);
  return e;
}

}  // namespace lbh
