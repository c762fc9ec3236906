#include "lb/core/dns/message.hpp"

#include <arpa/inet.h>

#include <fmt/format.h>

#include <charconv>

#include "lb/core/text.hpp"

namespace lb::core::dns {

namespace {

constexpr std::size_t kMaxName = 255;
constexpr std::size_t kMaxLabel = 63;
constexpr std::size_t kMaxRecords = 4096;  // per section: more cannot fit 64 KiB anyway

class Reader {
 public:
  explicit Reader(std::string_view w) : w_(w) {}

  bool fail(std::string message) {
    if (error_.empty()) error_ = fmt::format("offset {}: {}", at_, message);
    return false;
  }
  const std::string& error() const { return error_; }
  std::size_t at() const { return at_; }

  bool u8(std::uint8_t& v) {
    if (at_ + 1 > w_.size()) return fail("message ends inside a field");
    v = static_cast<std::uint8_t>(w_[at_++]);
    return true;
  }
  bool u16(std::uint16_t& v) {
    if (at_ + 2 > w_.size()) return fail("message ends inside a field");
    v = static_cast<std::uint16_t>((static_cast<std::uint8_t>(w_[at_]) << 8) | static_cast<std::uint8_t>(w_[at_ + 1]));
    at_ += 2;
    return true;
  }
  bool u32(std::uint32_t& v) {
    std::uint16_t hi = 0, lo = 0;
    if (!u16(hi) || !u16(lo)) return false;
    v = (static_cast<std::uint32_t>(hi) << 16) | lo;
    return true;
  }

  // A name at the current offset, following compression pointers backwards only.
  bool name(std::string& out) { return name_at(at_, out, true); }

  bool name_at(std::size_t& pos, std::string& out, bool advance) {
    out.clear();
    std::size_t p = pos, wire_length = 1;
    bool jumped = false;
    std::size_t end_after_first = 0;
    for (int hops = 0;; ++hops) {
      if (p >= w_.size()) return fail_at(p, "message ends inside a name");
      const auto len = static_cast<std::uint8_t>(w_[p]);
      if ((len & 0xC0) == 0xC0) {
        if (p + 2 > w_.size()) return fail_at(p, "message ends inside a compression pointer");
        const std::size_t target = ((len & 0x3F) << 8) | static_cast<std::uint8_t>(w_[p + 1]);
        if (target >= p) return fail_at(p, "compression pointer that does not point backwards");
        if (hops > 127) return fail_at(p, "too many compression pointers");
        if (!jumped) end_after_first = p + 2;
        jumped = true;
        p = target;
        continue;
      }
      if ((len & 0xC0) != 0) return fail_at(p, "reserved label type (a label is at most 63 bytes)");
      if (len == 0) {
        if (advance) at_ = jumped ? end_after_first : p + 1;
        return true;
      }
      if (p + 1 + len > w_.size()) return fail_at(p, "message ends inside a label");
      wire_length += len + 1;
      if (wire_length > kMaxName) return fail_at(p, "name longer than 255 bytes");
      if (!out.empty()) out += '.';
      for (std::size_t i = 0; i < len; ++i) {
        const auto c = static_cast<unsigned char>(w_[p + 1 + i]);
        // Dots and unprintable bytes inside a label are escaped, as dig prints them.
        if (c == '.' || c == '\\') out += '\\', out += static_cast<char>(c);
        else if (c < 0x21 || c > 0x7E) out += fmt::format("\\{:03}", c);
        else out += static_cast<char>(c);
      }
      p += 1 + len;
    }
  }

  bool bytes(std::size_t n, std::string& out) {
    if (at_ + n > w_.size()) return fail("message ends inside RDATA");
    out.assign(w_.substr(at_, n));
    at_ += n;
    return true;
  }
  void skip_to(std::size_t p) { at_ = p; }
  std::size_t size() const { return w_.size(); }

 private:
  bool fail_at(std::size_t p, std::string message) {
    if (error_.empty()) error_ = fmt::format("offset {}: {}", p, message);
    return false;
  }
  std::string_view w_;
  std::size_t at_ = 0;
  std::string error_;
};

bool record(Reader& r, Record& rec, std::optional<std::uint16_t>* edns) {
  if (!r.name(rec.name) || !r.u16(rec.type) || !r.u16(rec.klass) || !r.u32(rec.ttl)) return false;
  std::uint16_t length = 0;
  if (!r.u16(length)) return false;
  const std::size_t start = r.at(), end = start + length;
  if (end > r.size()) return r.fail("RDATA longer than the message");
  if (rec.type == type::OPT && edns) {
    *edns = rec.klass;  // the OPT record's class is the UDP payload size
    r.skip_to(end);
    return true;
  }
  switch (rec.type) {
    case type::A:
    case type::AAAA: {
      const std::size_t want = rec.type == type::A ? 4 : 16;
      std::string raw;
      if (!r.bytes(length, raw)) return false;
      if (length != want) return r.fail(fmt::format("{} RDATA of {} bytes", type_name(rec.type), length));
      char text[INET6_ADDRSTRLEN] = {};
      inet_ntop(rec.type == type::A ? AF_INET : AF_INET6, raw.data(), text, sizeof text);
      rec.address = text;
      break;
    }
    case type::CNAME:
    case type::NS:
    case type::PTR:
      if (!r.name(rec.target)) return false;
      break;
    case type::SRV:
      if (!r.u16(rec.priority) || !r.u16(rec.weight) || !r.u16(rec.port) || !r.name(rec.target)) return false;
      break;
    default:
      if (!r.bytes(length, rec.raw)) return false;
  }
  if (r.at() != end) return r.fail("RDATA length does not match its content");
  return true;
}

void put16(std::string& out, std::uint16_t v) {
  out += static_cast<char>(v >> 8);
  out += static_cast<char>(v & 0xFF);
}
void put32(std::string& out, std::uint32_t v) {
  put16(out, static_cast<std::uint16_t>(v >> 16));
  put16(out, static_cast<std::uint16_t>(v & 0xFFFF));
}

// The text form back to labels: "\." and "\\" and "\DDD" escapes undone.
void put_name(std::string& out, std::string_view name) {
  std::string label;
  auto flush = [&] {
    if (label.empty()) return;
    out += static_cast<char>(std::min<std::size_t>(label.size(), kMaxLabel));
    out.append(label, 0, kMaxLabel);
    label.clear();
  };
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    auto digit = [&](std::size_t k) { return k < name.size() && name[k] >= '0' && name[k] <= '9'; };
    if (c == '\\' && digit(i + 1) && digit(i + 2) && digit(i + 3)) {
      label += static_cast<char>((name[i + 1] - '0') * 100 + (name[i + 2] - '0') * 10 + (name[i + 3] - '0'));
      i += 3;
    } else if (c == '\\' && i + 1 < name.size()) {
      label += name[++i];
    } else if (c == '.') {
      flush();
    } else {
      label += c;
    }
  }
  flush();
  out += '\0';
}

void put_record(std::string& out, const Record& r) {
  put_name(out, r.name);
  put16(out, r.type);
  put16(out, r.klass);
  put32(out, r.ttl);
  std::string rdata;
  switch (r.type) {
    case type::A:
    case type::AAAA: {
      unsigned char buf[16];
      if (inet_pton(r.type == type::A ? AF_INET : AF_INET6, r.address.c_str(), buf) == 1)
        rdata.assign(reinterpret_cast<const char*>(buf), r.type == type::A ? 4 : 16);
      break;
    }
    case type::CNAME:
    case type::NS:
    case type::PTR: put_name(rdata, r.target); break;
    case type::SRV:
      put16(rdata, r.priority);
      put16(rdata, r.weight);
      put16(rdata, r.port);
      put_name(rdata, r.target);
      break;
    default: rdata = r.raw;
  }
  put16(out, static_cast<std::uint16_t>(rdata.size()));
  out += rdata;
}

}  // namespace

std::string type_name(std::uint16_t t) {
  switch (t) {
    case type::A: return "A";
    case type::NS: return "NS";
    case type::CNAME: return "CNAME";
    case type::SOA: return "SOA";
    case type::PTR: return "PTR";
    case type::MX: return "MX";
    case type::TXT: return "TXT";
    case type::AAAA: return "AAAA";
    case type::SRV: return "SRV";
    case type::OPT: return "OPT";
    case type::ANY: return "ANY";
    default: return std::to_string(t);
  }
}

std::optional<std::uint16_t> type_from_name(std::string_view name) {
  for (const std::uint16_t t : {type::A, type::NS, type::CNAME, type::SOA, type::PTR, type::MX, type::TXT, type::AAAA,
                                type::SRV, type::OPT, type::ANY})
    if (iequals(type_name(t), name)) return t;
  std::uint16_t n = 0;
  const auto [p, ec] = std::from_chars(name.data(), name.data() + name.size(), n);
  if (ec == std::errc{} && p == name.data() + name.size() && !name.empty()) return n;
  return std::nullopt;
}

ParseResult parse(std::string_view wire, Extent extent) {
  Reader r(wire);
  Message m;
  std::uint16_t flags = 0, qd = 0, an = 0, ns = 0, ar = 0;
  if (!r.u16(m.id) || !r.u16(flags) || !r.u16(qd) || !r.u16(an) || !r.u16(ns) || !r.u16(ar))
    return {std::nullopt, r.error()};
  m.response = flags & 0x8000;
  m.opcode = static_cast<std::uint8_t>((flags >> 11) & 0x0F);
  m.authoritative = flags & 0x0400;
  m.truncated = flags & 0x0200;
  m.recursion_desired = flags & 0x0100;
  m.recursion_available = flags & 0x0080;
  m.rcode = static_cast<std::uint8_t>(flags & 0x000F);
  if (qd > kMaxRecords || an > kMaxRecords || ns > kMaxRecords || ar > kMaxRecords)
    return {std::nullopt, "offset 4: more records than a message can hold"};
  for (std::uint16_t i = 0; i < qd; ++i) {
    Question q;
    if (!r.name(q.name) || !r.u16(q.type) || !r.u16(q.klass)) return {std::nullopt, r.error()};
    m.questions.push_back(std::move(q));
  }
  for (auto [count, section] : {std::pair{an, &m.answers}, std::pair{ns, &m.authority}, std::pair{ar, &m.additional}}) {
    if (extent == Extent::Answers && section != &m.answers) break;
    for (std::uint16_t i = 0; i < count; ++i) {
      Record rec;
      std::optional<std::uint16_t> edns;
      if (!record(r, rec, section == &m.additional ? &edns : nullptr)) return {std::nullopt, r.error()};
      if (edns) m.edns_payload = edns;
      else section->push_back(std::move(rec));
    }
  }
  if (extent == Extent::Whole && r.at() != wire.size())
    return {std::nullopt, fmt::format("offset {}: bytes after the last record", r.at())};
  return {std::move(m), {}};
}

std::string serialize(const Message& m) {
  std::string out;
  put16(out, m.id);
  std::uint16_t flags = static_cast<std::uint16_t>((m.response ? 0x8000 : 0) | ((m.opcode & 0x0F) << 11) |
                                                   (m.authoritative ? 0x0400 : 0) | (m.truncated ? 0x0200 : 0) |
                                                   (m.recursion_desired ? 0x0100 : 0) |
                                                   (m.recursion_available ? 0x0080 : 0) | (m.rcode & 0x0F));
  put16(out, flags);
  put16(out, static_cast<std::uint16_t>(m.questions.size()));
  put16(out, static_cast<std::uint16_t>(m.answers.size()));
  put16(out, static_cast<std::uint16_t>(m.authority.size()));
  put16(out, static_cast<std::uint16_t>(m.additional.size() + (m.edns_payload ? 1 : 0)));
  for (const auto& q : m.questions) {
    put_name(out, q.name);
    put16(out, q.type);
    put16(out, q.klass);
  }
  for (const auto* section : {&m.answers, &m.authority, &m.additional})
    for (const auto& r : *section) put_record(out, r);
  if (m.edns_payload) {
    out += '\0';  // root
    put16(out, type::OPT);
    put16(out, *m.edns_payload);
    put32(out, 0);
    put16(out, 0);
  }
  return out;
}

}  // namespace lb::core::dns
