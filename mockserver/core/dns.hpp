#pragma once
// mockserver's scriptable DNS responder, as plain data and a pure function: a table of A, AAAA,
// SRV and CNAME records, each with an optional window on the timeline (app2 is 127.0.0.2 until
// 5 s, then 127.0.0.3), and faults for one name or every name (NXDOMAIN, SERVFAIL, REFUSED, no
// answer, truncated, TTL 0, a wrong id, garbage). The edge (UDP and TCP) only carries bytes.
#include <boost/json/fwd.hpp>
#include <boost/system/result.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lb/core/dns/message.hpp"
#include "mockserver/core/model.hpp"

namespace mock::core {

std::string_view name(DnsFaultKind k);
std::optional<DnsFaultKind> dns_fault_from_name(std::string_view n);

// What is wrong with a record's name, or with its value for its type; nullopt when fine. The
// spec decoder (decode_dns, spec.hpp) and the CLI forms below both judge with these.
std::optional<std::string> dns_name_problem(std::string_view name);
std::optional<std::string> dns_value_problem(const DnsRecord& r);
boost::json::value to_json(const DnsSpec& d);
// The CLI forms: "app2.lbh.test A 127.0.0.2 [ttl=N] [at_ms=A..B]",
// "_http._tcp.app.lbh.test SRV 10 20 8080 app2.lbh.test"; "[NAME=]KIND [at_ms=A..B]".
boost::system::result<DnsRecord, std::string> parse_dns_record_arg(std::string_view text);
boost::system::result<DnsFault, std::string> parse_dns_fault_arg(std::string_view text);

struct DnsAnswer {
  std::optional<std::string> reply;  // the bytes to send; unset: none (no-answer)
  // For the journal: the first question ("" if none), its type, and what was answered.
  std::string qname, qtype, outcome;
};

// The answer to `query` at `elapsed` on the timeline. Over UDP an answer larger than the
// client allows (512 bytes, or its EDNS size) is cut to a truncated one, as servers do.
DnsAnswer answer_dns(const DnsSpec& d, std::string_view query, Ms elapsed, bool over_tcp);
// A reply too large for TCP's two-byte length, as SERVFAIL with the same id and question.
std::string too_large_dns_reply(std::string_view reply);

}  // namespace mock::core
