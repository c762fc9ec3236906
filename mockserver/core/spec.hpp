#pragma once
// JSON <-> model. Decoding never throws on bad input: it returns every error found, each naming
// the field by its path (`listeners[0].rules[2].respond.status: expected an integer 100..999`).
#include <boost/json/fwd.hpp>
#include <boost/system/result.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "mockserver/core/model.hpp"

namespace mock::core {

struct SpecError {
  std::string path;  // empty: the document itself
  std::string message;
  std::string to_string() const { return path.empty() ? message : path + ": " + message; }
  bool operator==(const SpecError&) const = default;
};
using SpecErrors = std::vector<SpecError>;

[[noreturn]] void throw_exception_from_error(const SpecErrors& e, const boost::source_location& loc);

template <class T>
using SpecResult = boost::system::result<T, SpecErrors>;

// The one JSON reader of spec files and API bodies: bounded depth, and a key given twice in one
// object is an error naming where (JSON parsers keep one of the two silently).
SpecResult<boost::json::value> parse_json_document(std::string_view text);
SpecResult<Spec> decode_spec_text(std::string_view json_text);
SpecResult<Spec> decode_spec(const boost::json::value& v);
// `path` prefixes error paths: "listeners[0].rules".
SpecResult<std::vector<Rule>> decode_rules(const boost::json::value& v, std::string_view path);
SpecResult<Rule> decode_rule(const boost::json::value& v, std::string_view path,
                             std::size_t index = 0);
SpecResult<Fault> decode_fault(const boost::json::value& v, std::string_view path);
SpecResult<RawReply> decode_raw_reply(const boost::json::value& v, std::string_view path);
SpecResult<ListenerSpec> decode_listener(const boost::json::value& v, std::string_view path);
// The DNS responder (dns.hpp): {"listen": "127.0.0.1:0", "records": [{"name", "type", "value",
// "ttl", "at_ms"}], "faults": [{"kind", "name", "at_ms"}]}, and its two lists alone.
SpecResult<DnsSpec> decode_dns(const boost::json::value& v, std::string_view path);
SpecResult<std::vector<DnsRecord>> decode_dns_records(const boost::json::value& v, std::string_view path);
SpecResult<std::vector<DnsFault>> decode_dns_faults(const boost::json::value& v, std::string_view path);

boost::json::value to_json(const Fault& f);
boost::json::value to_json(const RawReply& r);
boost::json::value to_json(const Rule& r);
boost::json::value to_json(const ListenerSpec& l);
boost::json::value to_json(const Spec& s);

}  // namespace mock::core
