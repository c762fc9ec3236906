// DNS messages: what dig and resolvers send and receive, byte for byte, and what is refused.
#include "lb/core/dns/message.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace lb::core::dns {
namespace {

using ::testing::HasSubstr;

std::string hex(std::string_view h) {
  std::string out;
  for (std::size_t i = 0; i + 1 < h.size(); i += 2) {
    while (h[i] == ' ') ++i;
    out += static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16));
  }
  return out;
}

// `dig @127.0.0.1 app2.lbh.test A +noedns` as it goes on the wire (id 0x1234, RD set).
const std::string kQuery = hex("1234 0100 0001 0000 0000 0000 04617070 32036c6268 0474657374 00 0001 0001");

TEST(DnsMessage, ParsesAQueryAsDigSendsIt) {
  const auto r = parse(kQuery);
  ASSERT_TRUE(r.message) << r.error;
  const auto& m = *r.message;
  EXPECT_EQ(m.id, 0x1234);
  EXPECT_FALSE(m.response);
  EXPECT_TRUE(m.recursion_desired);
  ASSERT_EQ(m.questions.size(), 1u);
  EXPECT_EQ(m.questions[0], (Question{"app2.lbh.test", type::A, 1}));
  EXPECT_EQ(serialize(m), kQuery);  // and writes it back the same
}

TEST(DnsMessage, AnswersWithEveryRecordKindRoundTrip) {
  Message m;
  m.id = 7;
  m.response = m.authoritative = true;
  m.questions = {{"_http._tcp.app.lbh.test", type::SRV, 1}};
  Record a{.name = "app2.lbh.test", .type = type::A, .ttl = 30, .address = "127.0.0.2"};
  Record aaaa{.name = "app2.lbh.test", .type = type::AAAA, .ttl = 0, .address = "::1"};
  Record srv{.name = "_http._tcp.app.lbh.test", .type = type::SRV, .ttl = 5, .target = "app2.lbh.test",
             .priority = 10, .weight = 20, .port = 8080};
  Record cname{.name = "www.lbh.test", .type = type::CNAME, .ttl = 1, .target = "app2.lbh.test"};
  Record txt{.name = "x.lbh.test", .type = type::TXT, .raw = std::string("\x02hi", 3)};
  m.answers = {srv, cname};
  m.additional = {a, aaaa, txt};
  m.edns_payload = 1232;
  const auto wire = serialize(m);
  const auto back = parse(wire);
  ASSERT_TRUE(back.message) << back.error;
  EXPECT_EQ(*back.message, m);
}

TEST(DnsMessage, FollowsCompressionPointersBackwardsOnly) {
  // A response whose answer name points back at the question's name (offset 12).
  const std::string answer = kQuery.substr(0, 2) + hex("8180 0001 0001 0000 0000") + kQuery.substr(12) +
                             hex("c00c 0001 0001 0000001e 0004 7f000002");
  const auto r = parse(answer);
  ASSERT_TRUE(r.message) << r.error;
  ASSERT_EQ(r.message->answers.size(), 1u);
  EXPECT_EQ(r.message->answers[0].name, "app2.lbh.test");
  EXPECT_EQ(r.message->answers[0].address, "127.0.0.2");
  EXPECT_EQ(r.message->answers[0].ttl, 30u);
  // A pointer to itself, or forwards, would loop or read what is not there yet.
  const std::string loop = hex("0000 8180 0001 0000 0000 0000 c00c 0001 0001");
  EXPECT_THAT(parse(loop).error, HasSubstr("offset 12: compression pointer that does not point backwards"));
}

TEST(DnsMessage, RefusesWhatIsNotAMessageNamingTheOffset) {
  EXPECT_THAT(parse("").error, HasSubstr("offset 0: message ends inside a field"));
  EXPECT_THAT(parse(kQuery.substr(0, kQuery.size() - 1)).error, HasSubstr("message ends inside a field"));
  EXPECT_THAT(parse(kQuery + "x").error, HasSubstr("bytes after the last record"));
  std::string long_label = hex("0000 0000 0001 0000 0000 0000") + std::string(1, '\x40') + std::string(64, 'a') + hex("00 0001 0001");
  EXPECT_THAT(parse(long_label).error, HasSubstr("offset 12: reserved label type (a label is at most 63 bytes)"));
  std::string long_name = hex("0000 0000 0001 0000 0000 0000");
  for (int i = 0; i < 5; ++i) long_name += std::string(1, '\x3f') + std::string(63, 'a');
  long_name += hex("00 0001 0001");
  EXPECT_THAT(parse(long_name).error, HasSubstr("name longer than 255 bytes"));
  const std::string bad_a = hex("0000 8180 0000 0001 0000 0000 00 0001 0001 00000000 0003 7f0000");
  EXPECT_THAT(parse(bad_a).error, HasSubstr("A RDATA of 3 bytes"));
}

// As HAProxy's resolver reads an A/AAAA answer: header, questions, answers; nothing after.
TEST(DnsMessage, AnAnswersOnlyReadIgnoresWhatFollowsTheAnswers) {
  Message m;
  m.id = 9;
  m.response = true;
  m.questions = {{"app.lbh.test", type::A, 1}};
  Record a;
  a.name = "app.lbh.test";
  a.address = "127.0.0.2";
  m.answers = {a};
  const std::string wire = serialize(m);
  // An authority section announced but cut short, then stray bytes.
  std::string broken = wire + "\x03xyz";
  broken[9] = 1;  // NSCOUNT 1
  EXPECT_FALSE(parse(broken).message);
  const auto lenient = parse(broken, Extent::Answers);
  ASSERT_TRUE(lenient.message) << lenient.error;
  EXPECT_EQ(lenient.message->answers, m.answers);
  EXPECT_TRUE(lenient.message->authority.empty());
  EXPECT_FALSE(parse(wire.substr(0, wire.size() - 1), Extent::Answers).message);  // a cut answer is not
}

TEST(DnsMessage, LabelBytesThatAreNotNameCharactersAreEscapedAndRestored) {
  Message m;
  m.questions = {{"a\\.b.c\\000d", type::A, 1}};  // "a.b" then "c", NUL, "d"
  const auto wire = serialize(m);
  EXPECT_EQ(wire.substr(12, 10), std::string("\x03" "a.b" "\x03" "c\0d" "\0", 10));
  EXPECT_EQ(parse(wire).message->questions[0].name, "a\\.b.c\\000d");
}

TEST(DnsMessage, TypeNames) {
  EXPECT_EQ(type_from_name("srv"), type::SRV);
  EXPECT_EQ(type_from_name("AAAA"), type::AAAA);
  EXPECT_EQ(type_from_name("99"), 99);
  EXPECT_EQ(type_from_name("nope"), std::nullopt);
  EXPECT_EQ(type_name(99), "99");
}

}  // namespace
}  // namespace lb::core::dns
