#include "mockserver/core/dns.hpp"

#include <arpa/inet.h>

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <sstream>

#include "lb/core/text.hpp"

namespace mock::core {

namespace json = boost::json;
namespace dns = lb::core::dns;

namespace {

struct Names {
  DnsFaultKind kind;
  std::string_view name;
};
constexpr Names kFaultNames[] = {{DnsFaultKind::NxDomain, "nxdomain"},   {DnsFaultKind::ServFail, "servfail"},
                                 {DnsFaultKind::Refused, "refused"},     {DnsFaultKind::NoAnswer, "no-answer"},
                                 {DnsFaultKind::Truncated, "truncated"}, {DnsFaultKind::TtlZero, "ttl-0"},
                                 {DnsFaultKind::WrongId, "wrong-id"},    {DnsFaultKind::Garbage, "garbage"}};

bool active(const std::optional<Ms>& from, const std::optional<Ms>& until, Ms elapsed) {
  return (!from || elapsed >= *from) && (!until || elapsed < *until);
}

bool same_name(std::string_view a, std::string_view b) {
  while (a.ends_with('.')) a.remove_suffix(1);
  while (b.ends_with('.')) b.remove_suffix(1);
  return lb::core::iequals(a, b);
}

json::value window_json(const std::optional<Ms>& from, const std::optional<Ms>& until) {
  return json::array{from.value_or(Ms{0}).count(), until ? json::value(until->count()) : json::value(nullptr)};
}

// The CLI's trailing options: ttl=N and at_ms=A..B.
std::optional<std::string> options(std::istringstream& in, std::uint32_t* ttl, std::optional<Ms>& from,
                                   std::optional<Ms>& until) {
  for (std::string word; in >> word;) {
    const auto eq = word.find('=');
    const auto key = word.substr(0, eq), value = eq == std::string::npos ? "" : word.substr(eq + 1);
    if (key == "ttl" && ttl) {
      unsigned long n = 0;
      const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc{} || p != value.data() + value.size() || n > 0x7FFFFFFF) return "ttl: expected 0..2147483647";
      *ttl = static_cast<std::uint32_t>(n);
    } else if (key == "at_ms") {
      const auto dots = value.find("..");
      long a = -1, b = -1;
      const auto first = value.substr(0, dots);
      std::from_chars(first.data(), first.data() + first.size(), a);
      if (dots != std::string::npos && dots + 2 < value.size()) {
        const auto second = value.substr(dots + 2);
        std::from_chars(second.data(), second.data() + second.size(), b);
        if (b < 0) return "at_ms: expected FROM..UNTIL in ms, e.g. 0..5000 or 5000..";
      }
      if (a < 0 || dots == std::string::npos || (b >= 0 && b <= a)) return "at_ms: expected FROM..UNTIL in ms, e.g. 0..5000 or 5000..";
      from = Ms{a};
      if (b >= 0) until = Ms{b};
    } else {
      return fmt::format("'{}': unknown option (ttl=N, at_ms=A..B)", word);
    }
  }
  return std::nullopt;
}

dns::Record to_record(const DnsRecord& r, std::uint32_t ttl) {
  dns::Record out{.name = r.name, .type = r.type, .ttl = ttl};
  if (r.type == dns::type::A || r.type == dns::type::AAAA) {
    out.address = r.value;
  } else if (r.type == dns::type::CNAME) {
    out.target = r.value;
  } else {
    std::istringstream in(r.value);
    unsigned p = 0, w = 0, port = 0;
    in >> p >> w >> port >> out.target;
    out.priority = static_cast<std::uint16_t>(p);
    out.weight = static_cast<std::uint16_t>(w);
    out.port = static_cast<std::uint16_t>(port);
  }
  return out;
}

std::string rcode_name(std::uint8_t rc) {
  switch (rc) {
    case dns::rcode::NoError: return "NOERROR";
    case dns::rcode::FormErr: return "FORMERR";
    case dns::rcode::ServFail: return "SERVFAIL";
    case dns::rcode::NxDomain: return "NXDOMAIN";
    case dns::rcode::NotImp: return "NOTIMP";
    case dns::rcode::Refused: return "REFUSED";
    default: return std::to_string(rc);
  }
}

}  // namespace

std::optional<std::string> dns_value_problem(const DnsRecord& r) {
  unsigned char buf[16];
  switch (r.type) {
    case dns::type::A:
      if (inet_pton(AF_INET, r.value.c_str(), buf) != 1) return "expected an IPv4 address such as 127.0.0.2";
      return std::nullopt;
    case dns::type::AAAA:
      if (inet_pton(AF_INET6, r.value.c_str(), buf) != 1) return "expected an IPv6 address such as ::1";
      return std::nullopt;
    case dns::type::CNAME:
      if (r.value.empty()) return "expected the name it stands for";
      return std::nullopt;
    case dns::type::SRV: {
      std::istringstream in(r.value);
      long prio = -1, weight = -1, port = -1;
      std::string target, rest;
      if (!(in >> prio >> weight >> port >> target) || (in >> rest) || prio < 0 || prio > 65535 || weight < 0 ||
          weight > 65535 || port < 0 || port > 65535)
        return "expected \"PRIORITY WEIGHT PORT TARGET\" such as \"10 10 8080 app2.lbh.test\"";
      return std::nullopt;
    }
    default: return "expected type A, AAAA, CNAME or SRV";
  }
}

std::optional<std::string> dns_name_problem(std::string_view n) {
  if (n.empty() || n.size() > 253) return "expected a name of 1 to 253 characters";
  std::size_t label = 0;
  for (const char c : n) {
    if (c == '.') {
      if (label == 0) return "an empty label";
      label = 0;
    } else if (++label > 63) {
      return "a label longer than 63 characters";
    }
  }
  return std::nullopt;
}

std::string_view name(DnsFaultKind k) {
  for (const auto& n : kFaultNames)
    if (n.kind == k) return n.name;
  return "servfail";
}

std::optional<DnsFaultKind> dns_fault_from_name(std::string_view n) {
  for (const auto& x : kFaultNames)
    if (x.name == n) return x.kind;
  return std::nullopt;
}

json::value to_json(const DnsSpec& d) {
  json::array records, faults;
  for (const auto& r : d.records) {
    json::object o{{"name", r.name}, {"type", dns::type_name(r.type)}, {"value", r.value}, {"ttl", r.ttl}};
    if (r.from || r.until) o["at_ms"] = window_json(r.from, r.until);
    records.push_back(std::move(o));
  }
  for (const auto& f : d.faults) {
    json::object o{{"kind", name(f.kind)}};
    if (f.name) o["name"] = *f.name;
    if (f.from || f.until) o["at_ms"] = window_json(f.from, f.until);
    faults.push_back(std::move(o));
  }
  return json::object{{"listen", to_string(d.listen)}, {"records", std::move(records)}, {"faults", std::move(faults)}};
}

namespace {
// The error side of a result (a DnsRecord would also be constructible from a string).
struct Bad {
  std::string message;
  template <class T>
  operator boost::system::result<T, std::string>() const {
    return boost::system::result<T, std::string>(boost::system::in_place_error, message);
  }
};
Bad bad(std::string message) { return {std::move(message)}; }
}  // namespace

boost::system::result<DnsRecord, std::string> parse_dns_record_arg(std::string_view text) {
  std::istringstream in{std::string(text)};
  DnsRecord r;
  std::string type;
  if (!(in >> r.name >> type))
    return bad(fmt::format("--dns-record '{}': expected 'NAME TYPE VALUE [ttl=N] [at_ms=A..B]'", text));
  const auto t = dns::type_from_name(type);
  if (!t || (*t != dns::type::A && *t != dns::type::AAAA && *t != dns::type::CNAME && *t != dns::type::SRV))
    return bad(fmt::format("--dns-record '{}': type '{}': expected A, AAAA, CNAME or SRV", text, type));
  r.type = *t;
  std::string word;
  const int words = r.type == dns::type::SRV ? 4 : 1;
  for (int i = 0; i < words && in >> word; ++i) r.value += (i ? " " : "") + word;
  if (auto e = dns_name_problem(r.name)) return bad(fmt::format("--dns-record '{}': name: {}", text, *e));
  if (auto e = dns_value_problem(r)) return bad(fmt::format("--dns-record '{}': value: {}", text, *e));
  if (auto e = options(in, &r.ttl, r.from, r.until)) return bad(fmt::format("--dns-record '{}': {}", text, *e));
  return r;
}

boost::system::result<DnsFault, std::string> parse_dns_fault_arg(std::string_view text) {
  std::istringstream in{std::string(text)};
  std::string first;
  in >> first;
  DnsFault f;
  const auto eq = first.find('=');
  const std::string kind = eq == std::string::npos ? first : first.substr(eq + 1);
  if (eq != std::string::npos) {
    f.name = first.substr(0, eq);
    if (auto e = dns_name_problem(*f.name)) return bad(fmt::format("--dns-fault '{}': name: {}", text, *e));
  }
  const auto k = dns_fault_from_name(kind);
  if (!k)
    return bad(fmt::format("--dns-fault '{}': unknown DNS fault '{}' (known: nxdomain, servfail, refused, no-answer, "
                       "truncated, ttl-0, wrong-id, garbage)", text, kind));
  f.kind = *k;
  if (auto e = options(in, nullptr, f.from, f.until)) return bad(fmt::format("--dns-fault '{}': {}", text, *e));
  return f;
}

std::string too_large_dns_reply(std::string_view reply) {
  auto m = dns::parse(reply).message.value_or(dns::Message{});
  m.answers.clear();
  m.authority.clear();
  m.additional.clear();
  m.response = true;
  m.rcode = dns::rcode::ServFail;
  return dns::serialize(m);
}

DnsAnswer answer_dns(const DnsSpec& d, std::string_view query, Ms elapsed, bool over_tcp) {
  DnsAnswer out;
  const auto parsed = dns::parse(query);
  if (!parsed.message) {
    if (query.size() < 2) {
      out.outcome = "unparsable";
      return out;  // not even an id to answer to
    }
    dns::Message m;
    m.id = static_cast<std::uint16_t>((static_cast<std::uint8_t>(query[0]) << 8) | static_cast<std::uint8_t>(query[1]));
    m.response = true;
    m.rcode = dns::rcode::FormErr;
    out.reply = dns::serialize(m);
    out.outcome = "FORMERR";
    return out;
  }
  const dns::Message& q = *parsed.message;
  if (q.response) {
    out.outcome = "ignored: a response";
    return out;
  }
  dns::Message r;
  r.id = q.id;
  r.response = true;
  r.opcode = q.opcode;
  r.authoritative = true;
  r.recursion_desired = q.recursion_desired;
  r.questions = q.questions;
  if (q.edns_payload) r.edns_payload = 1232;
  if (!q.questions.empty()) {
    out.qname = q.questions[0].name;
    out.qtype = dns::type_name(q.questions[0].type);
  }
  if (q.opcode != 0 || q.questions.size() != 1) {
    r.rcode = q.opcode != 0 ? dns::rcode::NotImp : dns::rcode::FormErr;
    out.reply = dns::serialize(r);
    out.outcome = rcode_name(r.rcode);
    return out;
  }
  const auto& question = q.questions[0];
  const DnsFault* fault = nullptr;
  for (const auto& f : d.faults)
    if ((!f.name || same_name(*f.name, question.name)) && active(f.from, f.until, elapsed)) {
      fault = &f;
      break;
    }
  if (fault) {
    out.outcome = fmt::format("fault:{}", name(fault->kind));
    switch (fault->kind) {
      case DnsFaultKind::NoAnswer: return out;
      case DnsFaultKind::Garbage: out.reply = std::string("\x13\x37garbage, not DNS", 18); return out;
      case DnsFaultKind::NxDomain: r.rcode = dns::rcode::NxDomain; out.reply = dns::serialize(r); return out;
      case DnsFaultKind::ServFail: r.rcode = dns::rcode::ServFail; out.reply = dns::serialize(r); return out;
      case DnsFaultKind::Refused: r.rcode = dns::rcode::Refused; out.reply = dns::serialize(r); return out;
      case DnsFaultKind::Truncated:
        if (!over_tcp) {  // over TCP the full answer below
          r.truncated = true;
          out.reply = dns::serialize(r);
          return out;
        }
        break;
      case DnsFaultKind::TtlZero:
      case DnsFaultKind::WrongId: break;  // the answer below, then bent
    }
  }
  const bool ttl0 = fault && fault->kind == DnsFaultKind::TtlZero;
  auto add = [&](std::vector<dns::Record>& to, const DnsRecord& rec) { to.push_back(to_record(rec, ttl0 ? 0 : rec.ttl)); };
  bool name_exists = false;
  std::string wanted = question.name;
  for (int hop = 0; hop < 8; ++hop) {  // CNAME chains, bounded
    std::optional<std::string> next;
    for (const auto& rec : d.records) {
      if (!same_name(rec.name, wanted) || !active(rec.from, rec.until, elapsed)) continue;
      name_exists = true;
      if (rec.type == question.type || question.type == dns::type::ANY) add(r.answers, rec);
      else if (rec.type == dns::type::CNAME && !next) add(r.answers, rec), next = rec.value;
    }
    if (!next) break;
    wanted = *next;
  }
  // SRV answers carry their targets' addresses, as resolvers expect them in the additional section.
  for (const auto& a : std::vector<dns::Record>(r.answers))
    if (a.type == dns::type::SRV)
      for (const auto& rec : d.records)
        if (same_name(rec.name, a.target) && active(rec.from, rec.until, elapsed) &&
            (rec.type == dns::type::A || rec.type == dns::type::AAAA))
          add(r.additional, rec);
  if (!name_exists) r.rcode = dns::rcode::NxDomain;
  if (fault && fault->kind == DnsFaultKind::WrongId) r.id = static_cast<std::uint16_t>(q.id + 1);
  auto bytes = dns::serialize(r);
  // The smaller of what the client and this server accept (RFC 6891), never below 512.
  const std::size_t limit = q.edns_payload ? std::clamp<std::size_t>(*q.edns_payload, 512, 1232) : 512;
  if (!over_tcp && bytes.size() > limit) {
    r.answers.clear();
    r.additional.clear();
    r.truncated = true;
    bytes = dns::serialize(r);
  }
  out.reply = std::move(bytes);
  if (!fault) out.outcome = rcode_name(r.rcode);
  out.outcome += fmt::format("{}{} answer(s)", out.outcome.empty() ? "" : " ", r.answers.size());
  if (r.truncated) out.outcome += " truncated";
  return out;
}

}  // namespace mock::core
