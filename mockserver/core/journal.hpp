#pragma once
// Every probe and request, newest last, in a bounded ring: old entries are dropped and counted,
// never grown without bound. Slots are reused so steady-state recording allocates nothing.
#include <boost/json/fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lb/core/time/clock.hpp"
#include "mockserver/core/request.hpp"

namespace mock::core {

// Longest target, header block and body an entry keeps; a request may carry 64 KiB of head and
// 1 MiB of body, and the ring holds thousands of entries.
constexpr std::size_t kMaxJournalText = 4096;

struct JournalEntry {
  std::uint64_t seq = 0;
  std::string listener;
  std::string peer;
  std::string method;  // empty: the connection ended before a request (connection fault, ...)
  std::string path;    // the full request target, query included
  std::string headers;  // "Name: value\r\n" lines as received
  std::string body;     // the request body, its first kMaxJournalText bytes
  lb::core::Ms t{0};     // receive time (accept time for an entry without a request), ms since
                         // the mockserver started
  std::optional<lb::core::Ms> done;  // when the exchange ended: the response written on a
                                     // keep-alive connection, or the connection closed
  std::string rule;      // "" = default answer
  std::string outcome;   // "200", "fault:hang", "bad-request", "no-request", "incomplete"
  std::uint64_t bytes_sent = 0;
  std::string end;       // "open", "fin-by-us", "rst-by-us", "fin-by-peer", "held", "idle-timeout",
                         // "closed" (the API closed it)
  bool truncated = false;  // path, headers or body were cut at kMaxJournalText
};

// Fills e.path, e.headers and e.body from the request, each cut at kMaxJournalText.
void record_request_text(JournalEntry& e, std::string_view target, const std::vector<Header>& headers,
                         std::string_view body = {});

struct JournalFilter {
  std::optional<std::string> listener, method, path, rule, outcome;
  std::optional<std::string> path_prefix, body_contains;
  std::optional<std::pair<std::string, std::optional<std::string>>> header;  // name[:value]
  std::uint64_t since = 0;  // entries with seq > since
  std::size_t limit = 1000;
  bool accepts(const JournalEntry& e) const;
};

// Parses "listener=s1&method=OPTIONS&limit=5"; unknown keys and bad numbers are errors naming
// the parameter.
std::optional<std::string> parse_filter(std::string_view query, JournalFilter& out);
std::string url_decode(std::string_view s);

// "2026-12-01T16:50:01.123Z": a Unix time in ms as RFC 3339, UTC, to the millisecond.
std::string rfc3339_ms(std::int64_t unix_ms);

class Journal {
 public:
  explicit Journal(std::size_t limit) : limit_(limit) {}

  // The wall-clock time (Unix ms) of t = 0, set by the edge at start: entries then carry their
  // wall-clock time beside t_ms, to be lined up with a balancer's log.
  void set_wall_origin(std::int64_t unix_ms) { wall_origin_ms_ = unix_ms; }
  std::int64_t wall_origin() const { return wall_origin_ms_; }

  // A slot to fill, with the next seq; reused storage. nullptr when the journal is off.
  JournalEntry* next();
  // The entry with this seq if still kept.
  JournalEntry* find(std::uint64_t seq);
  void clear();

  std::size_t size() const { return count_; }
  std::uint64_t dropped() const { return dropped_; }
  std::uint64_t last_seq() const { return seq_; }
  std::size_t limit() const { return limit_; }

  std::size_t count(const JournalFilter& f) const;
  boost::json::value list(const JournalFilter& f) const;

  template <class F>
  void for_each(F&& fn) const {  // oldest first
    const std::size_t n = size();
    for (std::size_t i = 0; i < n; ++i) fn(ring_[(head_ + i) % limit_]);
  }
  const JournalEntry& nth_newest(std::size_t i) const { return ring_[(head_ + count_ - 1 - i) % limit_]; }

 private:
  std::size_t limit_;
  std::vector<JournalEntry> ring_;
  std::size_t head_ = 0;   // index of the oldest kept entry
  std::size_t count_ = 0;  // kept entries
  std::uint64_t seq_ = 0;
  std::uint64_t dropped_ = 0;
  std::int64_t wall_origin_ms_ = 0;
};

boost::json::value to_json(const JournalEntry& e, std::int64_t wall_origin_ms);
// One line for `mockserver --log`: time, listener, peer, request, outcome, rule.
std::string log_line(const JournalEntry& e, std::int64_t wall_origin_ms);

}  // namespace mock::core
