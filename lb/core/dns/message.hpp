#pragma once
// DNS messages (RFC 1035, AAAA of RFC 3596, SRV of RFC 2782, EDNS0's OPT of RFC 6891) as plain
// data, parsed from and written to the wire. Pure: shared by mockserver's DNS responder and lb's
// resolvers. The parser takes any bytes: names are bounded (255 bytes, 63 per label), compression
// pointers may only point backwards, and every error names its offset.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lb::core::dns {

namespace type {
constexpr std::uint16_t A = 1, NS = 2, CNAME = 5, SOA = 6, PTR = 12, MX = 15, TXT = 16, AAAA = 28, SRV = 33,
                        OPT = 41, ANY = 255;
}
namespace rcode {
constexpr std::uint8_t NoError = 0, FormErr = 1, ServFail = 2, NxDomain = 3, NotImp = 4, Refused = 5;
}

// "A", "AAAA", "SRV", or the number.
std::string type_name(std::uint16_t t);
// The type a name stands for ("a", "AAAA", "srv", "33"); nullopt for none.
std::optional<std::uint16_t> type_from_name(std::string_view name);

struct Question {
  std::string name;  // "app2.lbh.test", no trailing dot; "" is the root
  std::uint16_t type = type::A;
  std::uint16_t klass = 1;  // IN
  bool operator==(const Question&) const = default;
};

struct Record {
  std::string name;
  std::uint16_t type = type::A;
  std::uint16_t klass = 1;
  std::uint32_t ttl = 0;
  // A and AAAA: the address as text ("127.0.0.2", "::1"); CNAME, NS, PTR: the name it holds;
  // SRV: priority, weight, port and target. Any other type keeps its RDATA as bytes.
  std::string address;
  std::string target;
  std::uint16_t priority = 0, weight = 0, port = 0;
  std::string raw;
  bool operator==(const Record&) const = default;
};

struct Message {
  std::uint16_t id = 0;
  bool response = false;
  std::uint8_t opcode = 0;
  bool authoritative = false, truncated = false, recursion_desired = false, recursion_available = false;
  std::uint8_t rcode = rcode::NoError;
  std::vector<Question> questions;
  std::vector<Record> answers, authority, additional;  // additional without the OPT record
  std::optional<std::uint16_t> edns_payload;            // the OPT record's UDP payload size
  bool operator==(const Message&) const = default;
};

struct ParseResult {
  std::optional<Message> message;
  std::string error;  // "offset 12: message ends inside a label"
};

// How much of a message parse() reads: all of it (a byte after the last record is an error), or,
// as HAProxy's resolver reads an A/AAAA answer, the header, the questions and the answers only
// (what follows is not looked at).
enum class Extent { Whole, Answers };
ParseResult parse(std::string_view wire, Extent extent = Extent::Whole);
// The message on the wire, names uncompressed. A record whose address does not parse as its
// type's address is written with empty RDATA.
std::string serialize(const Message& m);

}  // namespace lb::core::dns
