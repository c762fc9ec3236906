#include "mockserver/core/journal.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <charconv>
#include <ctime>

#include "lb/core/text.hpp"

namespace mock::core {

namespace json = boost::json;

void record_request_text(JournalEntry& e, std::string_view target, const std::vector<Header>& headers,
                         std::string_view body) {
  e.truncated = target.size() > kMaxJournalText || body.size() > kMaxJournalText;
  e.path.assign(target.substr(0, kMaxJournalText));
  e.body.assign(body.substr(0, kMaxJournalText));
  for (const auto& h : headers) {
    const std::size_t line = h.name.size() + h.value.size() + 4;
    if (e.headers.size() + line > kMaxJournalText) {
      e.truncated = true;  // whole lines only: the JSON view splits them again
      break;
    }
    e.headers.append(h.name).append(": ").append(h.value).append("\r\n");
  }
}

bool JournalFilter::accepts(const JournalEntry& e) const {
  if (e.seq <= since) return false;
  if (listener && e.listener != *listener) return false;
  if (method && e.method != *method) return false;
  if (path && e.path != *path) return false;
  if (rule && e.rule != *rule) return false;
  if (outcome && e.outcome != *outcome) return false;
  if (path_prefix && !e.path.starts_with(*path_prefix)) return false;
  if (body_contains && e.body.find(*body_contains) == std::string::npos) return false;
  if (header) {
    // The entry keeps "Name: value\r\n" lines; names compare case-insensitively.
    bool found = false;
    std::string_view rest = e.headers;
    while (!rest.empty() && !found) {
      const auto eol = rest.find("\r\n");
      const auto line = rest.substr(0, eol);
      const auto colon = line.find(':');
      if (colon != std::string_view::npos && lb::core::iequals(line.substr(0, colon), header->first)) {
        auto value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        found = !header->second || value == *header->second;
      }
      if (eol == std::string_view::npos) break;
      rest.remove_prefix(eol + 2);
    }
    if (!found) return false;
  }
  return true;
}

std::string url_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() &&
               lb::core::hex_digit(s[i + 1]) >= 0 && lb::core::hex_digit(s[i + 2]) >= 0) {
      out += static_cast<char>(lb::core::hex_digit(s[i + 1]) * 16 + lb::core::hex_digit(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::optional<std::string> parse_filter(std::string_view query, JournalFilter& f) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    const std::string key = url_decode(pair.substr(0, eq));
    const std::string value = eq == std::string_view::npos ? "" : url_decode(pair.substr(eq + 1));
    if (key == "listener") f.listener = value;
    else if (key == "method") f.method = value;
    else if (key == "path") f.path = value;
    else if (key == "rule") f.rule = value;
    else if (key == "outcome") f.outcome = value;
    else if (key == "path_prefix") f.path_prefix = value;
    else if (key == "body_contains") f.body_contains = value;
    else if (key == "header") {
      const auto colon = value.find(':');
      f.header.emplace(value.substr(0, colon), colon == std::string::npos ? std::nullopt
                                                                         : std::optional<std::string>(value.substr(colon + 1)));
    }
    else if (key == "since" || key == "limit") {
      std::uint64_t n = 0;
      const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc{} || p != value.data() + value.size() || value.empty())
        return fmt::format("{}: expected a non-negative integer", key);
      if (key == "since") f.since = n;
      else f.limit = static_cast<std::size_t>(std::min<std::uint64_t>(n, 1'000'000));
    } else {
      return fmt::format("{}: unknown parameter", key);
    }
  }
  return std::nullopt;
}

JournalEntry* Journal::next() {
  if (limit_ == 0) {
    ++seq_;
    ++dropped_;
    return nullptr;
  }
  std::size_t slot;
  if (count_ == limit_) {
    slot = head_;
    head_ = (head_ + 1) % limit_;
    ++dropped_;
  } else {
    slot = (head_ + count_) % limit_;
    ++count_;
  }
  if (slot >= ring_.size()) ring_.resize(slot + 1);
  JournalEntry& e = ring_[slot];
  e.seq = ++seq_;
  e.bytes_sent = 0;
  e.t = lb::core::Ms{0};
  e.done.reset();
  e.truncated = false;
  // clear() keeps capacity: the next request's strings fit without allocating.
  for (auto* s : {&e.listener, &e.peer, &e.method, &e.path, &e.headers, &e.body, &e.rule, &e.outcome, &e.end})
    s->clear();
  return &e;
}

JournalEntry* Journal::find(std::uint64_t seq) {
  if (count_ == 0 || seq > seq_ || seq <= seq_ - count_) return nullptr;
  const std::uint64_t oldest = seq_ - count_ + 1;
  return &ring_[(head_ + (seq - oldest)) % limit_];
}

void Journal::clear() {
  ring_.clear();
  ring_.shrink_to_fit();  // a cleared journal gives its memory back
  head_ = 0;
  count_ = 0;
}

std::size_t Journal::count(const JournalFilter& f) const {
  std::size_t n = 0;
  for_each([&](const JournalEntry& e) { n += f.accepts(e) ? 1 : 0; });
  return n;
}

json::value Journal::list(const JournalFilter& f) const {
  // The newest `limit` matches (a test asks for what just happened), found newest first so only
  // those become JSON, then listed oldest first.
  std::vector<const JournalEntry*> picked;
  std::size_t matched = 0;
  for (std::size_t i = 0; i < count_; ++i) {
    const JournalEntry& e = nth_newest(i);
    if (!f.accepts(e)) continue;
    ++matched;
    if (picked.size() < f.limit) picked.push_back(&e);
  }
  json::array entries;
  entries.reserve(picked.size());
  for (auto it = picked.rbegin(); it != picked.rend(); ++it) entries.push_back(to_json(**it, wall_origin_ms_));
  return json::object{{"entries", std::move(entries)},
                      {"matched", matched},
                      {"dropped", dropped_},
                      {"last_seq", seq_}};
}

std::string rfc3339_ms(std::int64_t unix_ms) {
  const std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday,
                     utc.tm_hour, utc.tm_min, utc.tm_sec, unix_ms % 1000);
}

std::string log_line(const JournalEntry& e, std::int64_t wall_origin_ms) {
  std::string request = e.method.empty() ? std::string("-") : fmt::format("\"{} {}\"", e.method, e.path);
  return fmt::format("{} {} {} {} {}{}", rfc3339_ms(wall_origin_ms + e.t.count()), e.listener, e.peer, request,
                     e.outcome, e.rule.empty() ? std::string() : " rule=" + e.rule);
}

json::value to_json(const JournalEntry& e, std::int64_t wall_origin_ms) {
  json::array headers;
  std::string_view rest = e.headers;
  while (!rest.empty()) {
    const auto eol = rest.find("\r\n");
    const auto line = rest.substr(0, eol);
    const auto colon = line.find(':');
    if (colon != std::string_view::npos) {
      auto value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      headers.push_back(json::array{json::string(line.substr(0, colon)), json::string(value)});
    }
    if (eol == std::string_view::npos) break;
    rest.remove_prefix(eol + 2);
  }
  return json::object{{"seq", e.seq},
                      {"listener", e.listener},
                      {"peer", e.peer},
                      {"method", e.method},
                      {"path", e.path},
                      {"headers", std::move(headers)},
                      {"body", e.body},
                      {"t_ms", e.t.count()},
                      {"time", rfc3339_ms(wall_origin_ms + e.t.count())},
                      {"rule", e.rule},
                      {"outcome", e.outcome},
                      {"bytes_sent", e.bytes_sent},
                      {"end", e.end},
                      {"end_ms", e.done ? json::value(e.done->count()) : json::value(nullptr)},
                      {"truncated", e.truncated}};
}

}  // namespace mock::core
