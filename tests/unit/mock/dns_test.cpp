// mockserver's DNS responder as a pure function: the table, its timeline and its faults.
#include "mockserver/core/dns.hpp"
#include "mockserver/core/spec.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace mock::core {
namespace {

namespace dns = lb::core::dns;
using namespace std::chrono_literals;
using ::testing::HasSubstr;

std::string query(std::string name, std::uint16_t type = dns::type::A, bool edns = false, std::uint16_t id = 42) {
  dns::Message q;
  q.id = id;
  q.recursion_desired = true;
  q.questions = {{std::move(name), type, 1}};
  if (edns) q.edns_payload = 4096;
  return dns::serialize(q);
}

dns::Message reply_of(const DnsAnswer& a) {
  EXPECT_TRUE(a.reply);
  const auto r = dns::parse(a.reply.value_or(""));
  EXPECT_TRUE(r.message) << r.error;
  return r.message.value_or(dns::Message{});
}

DnsSpec table(std::vector<std::string> records, std::vector<std::string> faults = {}) {
  DnsSpec d;
  for (const auto& r : records) d.records.push_back(*parse_dns_record_arg(r));
  for (const auto& f : faults) d.faults.push_back(*parse_dns_fault_arg(f));
  return d;
}

TEST(DnsResponder, AnswersFromTheTableAsItStandsOnTheTimeline) {
  // The re-created container: 127.0.0.2 until 5 s, then 127.0.0.3.
  const auto d = table({"app2.lbh.test A 127.0.0.2 ttl=10 at_ms=0..5000", "app2.lbh.test A 127.0.0.3 at_ms=5000..",
                        "app2.lbh.test AAAA ::1"});
  auto before = reply_of(answer_dns(d, query("app2.lbh.test"), 4999ms, false));
  EXPECT_EQ(before.id, 42);
  EXPECT_TRUE(before.response && before.authoritative && before.recursion_desired);
  ASSERT_EQ(before.answers.size(), 1u);
  EXPECT_EQ(before.answers[0].address, "127.0.0.2");
  EXPECT_EQ(before.answers[0].ttl, 10u);
  const auto after = answer_dns(d, query("APP2.lbh.test."), 5000ms, false);  // names compare case-insensitively
  EXPECT_EQ(reply_of(after).answers.at(0).address, "127.0.0.3");
  EXPECT_EQ(after.qname, "APP2.lbh.test");
  EXPECT_EQ(after.qtype, "A");
  EXPECT_EQ(after.outcome, "NOERROR 1 answer(s)");
  EXPECT_EQ(reply_of(answer_dns(d, query("app2.lbh.test", dns::type::AAAA), 0ms, false)).answers.at(0).address, "::1");
  // A name it does not have is NXDOMAIN; a type it does not have is an empty NOERROR.
  EXPECT_EQ(reply_of(answer_dns(d, query("app9.lbh.test"), 0ms, false)).rcode, dns::rcode::NxDomain);
  const auto nodata = reply_of(answer_dns(d, query("app2.lbh.test", dns::type::SRV), 0ms, false));
  EXPECT_EQ(nodata.rcode, dns::rcode::NoError);
  EXPECT_TRUE(nodata.answers.empty());
}

TEST(DnsResponder, SrvAnswersCarryTheirTargetsAndCnamesAreFollowed) {
  const auto d = table({"_http._tcp.app.lbh.test SRV 10 5 8081 app1.lbh.test",
                        "_http._tcp.app.lbh.test SRV 10 5 8082 app2.lbh.test", "app1.lbh.test A 127.0.0.2",
                        "app2.lbh.test A 127.0.0.3", "www.lbh.test CNAME app1.lbh.test"});
  const auto srv = reply_of(answer_dns(d, query("_http._tcp.app.lbh.test", dns::type::SRV), 0ms, false));
  ASSERT_EQ(srv.answers.size(), 2u);
  EXPECT_EQ(srv.answers[1].port, 8082);
  EXPECT_EQ(srv.answers[1].target, "app2.lbh.test");
  ASSERT_EQ(srv.additional.size(), 2u);
  EXPECT_EQ(srv.additional[1].address, "127.0.0.3");
  const auto www = reply_of(answer_dns(d, query("www.lbh.test"), 0ms, false));
  ASSERT_EQ(www.answers.size(), 2u);
  EXPECT_EQ(www.answers[0].type, dns::type::CNAME);
  EXPECT_EQ(www.answers[1].address, "127.0.0.2");
}

TEST(DnsResponder, FaultsForOneNameOrAll) {
  const auto d = table({"app2.lbh.test A 127.0.0.2"},
                       {"app2.lbh.test=servfail at_ms=1000..2000", "other.lbh.test=refused", "gone.lbh.test=no-answer",
                        "ttl.lbh.test=ttl-0", "id.lbh.test=wrong-id", "trunc.lbh.test=truncated", "junk.lbh.test=garbage"});
  EXPECT_EQ(reply_of(answer_dns(d, query("app2.lbh.test"), 1500ms, false)).rcode, dns::rcode::ServFail);
  EXPECT_EQ(reply_of(answer_dns(d, query("app2.lbh.test"), 2000ms, false)).rcode, dns::rcode::NoError);
  EXPECT_EQ(reply_of(answer_dns(d, query("other.lbh.test"), 0ms, false)).rcode, dns::rcode::Refused);
  const auto silent = answer_dns(d, query("gone.lbh.test"), 0ms, false);
  EXPECT_FALSE(silent.reply);
  EXPECT_EQ(silent.outcome, "fault:no-answer");
  // The answer, bent by a fault of the name: ttl-0, wrong-id, truncated, garbage.
  auto with = [](const std::string& name, const std::string& kind) {
    return table({name + " A 127.0.0.9 ttl=60"}, {name + "=" + kind});
  };
  EXPECT_EQ(reply_of(answer_dns(with("ttl.lbh.test", "ttl-0"), query("ttl.lbh.test"), 0ms, false)).answers.at(0).ttl, 0u);
  EXPECT_EQ(reply_of(answer_dns(with("id.lbh.test", "wrong-id"), query("id.lbh.test", dns::type::A, false, 42), 0ms, false)).id, 43);
  const auto t = with("trunc.lbh.test", "truncated");
  const auto udp = reply_of(answer_dns(t, query("trunc.lbh.test"), 0ms, false));
  EXPECT_TRUE(udp.truncated);
  EXPECT_TRUE(udp.answers.empty());
  EXPECT_EQ(reply_of(answer_dns(t, query("trunc.lbh.test"), 0ms, true)).answers.size(), 1u);  // TCP gets it all
  const auto junk = answer_dns(with("junk.lbh.test", "garbage"), query("junk.lbh.test"), 0ms, false);
  ASSERT_TRUE(junk.reply);
  EXPECT_FALSE(dns::parse(*junk.reply).message);
  // A fault without a name is for every name.
  EXPECT_EQ(reply_of(answer_dns(table({"a.lbh.test A 127.0.0.2"}, {"nxdomain"}), query("a.lbh.test"), 0ms, false)).rcode,
            dns::rcode::NxDomain);
}

TEST(DnsResponder, AnAnswerTooBigForUdpIsTruncatedUnlessEdnsAllowsIt) {
  std::vector<std::string> many;
  for (int i = 0; i < 40; ++i) many.push_back(fmt::format("big.lbh.test A 127.0.1.{}", i));
  const auto d = table(many);
  const auto plain = reply_of(answer_dns(d, query("big.lbh.test"), 0ms, false));
  EXPECT_TRUE(plain.truncated);
  const auto edns = reply_of(answer_dns(d, query("big.lbh.test", dns::type::A, true), 0ms, false));
  EXPECT_FALSE(edns.truncated);
  EXPECT_EQ(edns.answers.size(), 40u);  // 1161 bytes: within 1232
  EXPECT_EQ(edns.edns_payload, 1232);
}

TEST(DnsResponder, QueriesThatAreNotQueriesGetFormErrOrNothing) {
  const auto d = table({});
  EXPECT_EQ(reply_of(answer_dns(d, "\x12\x34garbage", 0ms, false)).rcode, dns::rcode::FormErr);
  EXPECT_EQ(reply_of(answer_dns(d, "\x12\x34garbage", 0ms, false)).id, 0x1234);
  EXPECT_FALSE(answer_dns(d, "x", 0ms, false).reply);
  dns::Message response;
  response.response = true;
  EXPECT_FALSE(answer_dns(d, dns::serialize(response), 0ms, false).reply);  // never answer an answer
}

TEST(DnsResponder, RecordsAndFaultsAreCheckedWhereTheyAreWritten) {
  EXPECT_THAT(parse_dns_record_arg("app A 999.1.1.1").error(), HasSubstr("value: expected an IPv4 address"));
  EXPECT_THAT(parse_dns_record_arg("app MX 10 mail").error(), HasSubstr("type 'MX': expected A, AAAA, CNAME or SRV"));
  EXPECT_THAT(parse_dns_record_arg("_s SRV 1 2 port x").error(), HasSubstr("PRIORITY WEIGHT PORT TARGET"));
  EXPECT_THAT(parse_dns_record_arg("app A 127.0.0.1 at_ms=5..1").error(), HasSubstr("at_ms: expected FROM..UNTIL"));
  EXPECT_THAT(parse_dns_fault_arg("app=melt").error(), HasSubstr("unknown DNS fault 'melt'"));
  const auto v = boost::json::parse(R"({"listen": "127.0.0.1:0", "records": [{"name": "a", "type": "A", "value": "x"}],
                                        "faults": [{"kind": "nxdomain", "colour": "red"}]})");
  const auto r = decode_dns(v, "dns");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().at(0).to_string(), "dns.records[0].value: expected an IPv4 address such as 127.0.0.2");
  EXPECT_EQ(r.error().at(1).to_string(), "dns.faults[0].colour: unknown field");
  // What is written is what is read back.
  const auto d = table({"app A 127.0.0.2 ttl=7 at_ms=10..20", "_s._tcp.app SRV 1 2 80 app"}, {"app=ttl-0 at_ms=5.."});
  const auto back = decode_dns(to_json(d), "dns");
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, d);
}

}  // namespace
}  // namespace mock::core
