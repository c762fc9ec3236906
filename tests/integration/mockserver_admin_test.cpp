// The control API of the real binary: rules, modes, faults, journal, reset, wait, bad input.
#include <gtest/gtest.h>

#include "tests/integration/mockserver_client.hpp"

namespace lb::test {
namespace {

namespace json = boost::json;

class MockWithAdmin : public ::testing::Test {
 protected:
  Mock m_{{"--listen", "s1=127.0.0.1:0", "--listen", "s2=127.0.0.1:0", "--rule",
           "s1: id=opt method=OPTIONS -> status 500"}};
};

TEST_F(MockWithAdmin, HealthReportsTheBlackholeMethod) {
  const auto r = m_.call("GET", "/v1/health");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.json.at("status"), "ok");
  EXPECT_EQ(r.json.at("blackhole_method"), "bpf");
}

TEST_F(MockWithAdmin, RulesCanBeReadAndReplacedLive) {
  auto r = m_.call("GET", "/v1/listeners/s1/rules");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.json.at("rules").as_array().at(0).at("id"), "opt");
  r = m_.call("PUT", "/v1/listeners/s1/rules",
              R"([{"id": "teapot", "match": {"path": "/tea"}, "respond": {"status": 418}}])");
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(status_of(http(m_.port("s1"), "GET", "/tea").bytes), 418);
  EXPECT_EQ(status_of(http(m_.port("s1"), "OPTIONS", "/").bytes), 200);
}

TEST_F(MockWithAdmin, BadRulesGet400NamingTheFieldAndKeepTheOldRules) {
  const auto r = m_.call("PUT", "/v1/listeners/s1/rules",
                         R"([{"respond": {"status": 200}}, {"respond": {"status": "x"}}])");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.json.at("field"), "rules[1].respond.status");
  EXPECT_EQ(r.json.at("error"), "rules[1].respond.status: expected an integer 100..999");
  EXPECT_EQ(status_of(http(m_.port("s1"), "OPTIONS", "/").bytes), 500);
}

TEST_F(MockWithAdmin, MalformedInputNeverHurtsTheServer) {
  const std::vector<std::tuple<std::string, std::string, std::string, int>> cases{
      {"PUT", "/v1/listeners/s1/rules", "{not json", 400},
      {"PUT", "/v1/listeners/s1/rules", R"({"rules": 5})", 400},
      {"PATCH", "/v1/listeners/s1", R"({"mode": "sideways"})", 400},
      {"PATCH", "/v1/listeners/s1", R"({"colour": "red"})", 400},
      {"PATCH", "/v1/listeners/s1", R"({"fault": "explode"})", 400},
      {"PATCH", "/v1/listeners/nope", R"({"mode": "refuse"})", 404},
      {"POST", "/v1/listeners/s1/rules", R"({"id": "opt"})", 409},
      {"DELETE", "/v1/listeners/s1/rules/missing", "", 404},
      {"GET", "/v1/journal?limit=many", "", 400},
      {"GET", "/v1/wait?timeout_ms=-1", "", 400},
      {"GET", "/v2/anything", "", 404},
      {"DELETE", "/v1/health/x", "", 404},
  };
  for (const auto& [method, target, body, status] : cases) {
    const auto r = m_.call(method, target, body);
    EXPECT_EQ(r.status, status) << method << " " << target << " " << body << "\n" << r.raw;
    EXPECT_TRUE(r.json.is_object() && r.json.as_object().contains("error")) << r.raw;
  }
  const auto bad_field = m_.call("PATCH", "/v1/listeners/s1", R"({"mode": "sideways"})");
  EXPECT_EQ(bad_field.json.at("field"), "mode");
  // A request that is not HTTP at all.
  EXPECT_EQ(status_of(request_once(m_.admin_port(), "\x01\x02garbage\r\n\r\n").bytes), 400);
  EXPECT_EQ(status_of(http(m_.port("s1"), "OPTIONS", "/").bytes), 500);
  EXPECT_EQ(m_.call("GET", "/v1/health").status, 200);
}

TEST_F(MockWithAdmin, ModeSwitchesBetweenServeRefuseAndBlackholeLive) {
  const int port = m_.port("s2");
  ASSERT_EQ(m_.call("PATCH", "/v1/listeners/s2", R"({"mode": "refuse"})").status, 200);
  EXPECT_EQ(connect_to(port).error, ECONNREFUSED);
  ASSERT_EQ(m_.call("PATCH", "/v1/listeners/s2", R"({"mode": "blackhole"})").status, 200);
  EXPECT_EQ(connect_to(port, milliseconds(200)).error, ETIMEDOUT);
  ASSERT_EQ(m_.call("PATCH", "/v1/listeners/s2", R"({"mode": "serve"})").status, 200);
  EXPECT_EQ(status_of(http(port, "GET", "/").bytes), 200);
}

TEST_F(MockWithAdmin, FaultCanBeSetAndClearedLive) {
  ASSERT_EQ(m_.call("PUT", "/v1/listeners/s2/fault", R"({"fault": "reset"})").status, 200);
  EXPECT_EQ(http(m_.port("s2"), "GET", "/").end, End::Reset);
  ASSERT_EQ(m_.call("PUT", "/v1/listeners/s2/fault", R"({"fault": null})").status, 200);
  EXPECT_EQ(status_of(http(m_.port("s2"), "GET", "/").bytes), 200);
}

TEST_F(MockWithAdmin, RulesCanBeAppendedAndDeleted) {
  auto r = m_.call("POST", "/v1/listeners/s2/rules", R"({"id": "gone", "respond": {"status": 410}})");
  ASSERT_EQ(r.status, 201) << r.raw;
  EXPECT_EQ(status_of(http(m_.port("s2"), "GET", "/").bytes), 410);
  ASSERT_EQ(m_.call("DELETE", "/v1/listeners/s2/rules/gone").status, 200);
  EXPECT_EQ(status_of(http(m_.port("s2"), "GET", "/").bytes), 200);
}

TEST_F(MockWithAdmin, JournalRecordsFiltersAndClears) {
  http(m_.port("s1"), "OPTIONS", "/", "X-Check: 1\r\n");
  http(m_.port("s1"), "GET", "/app");
  http(m_.port("s2"), "GET", "/");
  ASSERT_TRUE(m_.wait_journal("", 3));
  const auto checks = m_.journal("listener=s1&method=OPTIONS&path=/");
  ASSERT_EQ(checks.size(), 1u);
  const auto& e = checks[0].as_object();
  EXPECT_EQ(e.at("rule"), "opt");
  EXPECT_EQ(e.at("outcome"), "500");
  EXPECT_EQ(e.at("bytes_sent").to_number<int>(), 90);  // 77 head + 13 body
  EXPECT_EQ(e.at("end"), "fin-by-us");
  EXPECT_TRUE(e.at("peer").as_string().starts_with("127.0.0.1:"));
  EXPECT_GE(e.at("t_ms").to_number<int>(), 0);
  bool saw_header = false;
  for (const auto& h : e.at("headers").as_array())
    saw_header |= h.as_array().at(0) == "X-Check" && h.as_array().at(1) == "1";
  EXPECT_TRUE(saw_header);
  EXPECT_EQ(m_.journal("listener=s2").size(), 1u);
  EXPECT_EQ(m_.journal("limit=1").size(), 1u);
  ASSERT_EQ(m_.call("DELETE", "/v1/journal").status, 200);
  EXPECT_EQ(m_.journal().size(), 0u);
}

TEST_F(MockWithAdmin, WaitAnswersWhenTheJournalCatchesUpOr408) {
  EXPECT_FALSE(m_.wait_journal("listener=s2", 1, 50));
  std::thread client([port = m_.port("s2")] { http(port, "GET", "/"); });
  EXPECT_TRUE(m_.wait_journal("listener=s2"));
  client.join();
}

TEST_F(MockWithAdmin, ResetRestartsCountersAndTimelines) {
  ASSERT_EQ(m_.call("PUT", "/v1/listeners/s2/rules", R"([{"schedule": {"nth": 1}, "respond": {"status": 503}}])").status, 200);
  EXPECT_EQ(status_of(http(m_.port("s2"), "GET", "/").bytes), 503);
  EXPECT_EQ(status_of(http(m_.port("s2"), "GET", "/").bytes), 200);
  ASSERT_EQ(m_.call("POST", "/v1/listeners/s2/reset").status, 200);
  EXPECT_EQ(status_of(http(m_.port("s2"), "GET", "/").bytes), 503);
}

TEST_F(MockWithAdmin, StatsCountProbesRequestsAndRuleHits) {
  http(m_.port("s1"), "OPTIONS", "/");
  http(m_.port("s1"), "GET", "/");
  ASSERT_TRUE(m_.wait_journal("listener=s1", 2));
  const auto r = m_.call("GET", "/v1/stats");
  const auto& s1 = r.json.at("listeners").as_array().at(0);
  EXPECT_EQ(s1.at("requests").to_number<int>(), 2);
  EXPECT_EQ(s1.at("probes").to_number<int>(), 2);
  EXPECT_EQ(s1.at("rules").as_array().at(0).at("fired").to_number<int>(), 1);
}

}  // namespace
}  // namespace lb::test

namespace lb::test {
namespace {

// Issue #12, defects 2, 5 and 8 on the real binary.
TEST(MockDefects, ACountedConnectionFaultWindowEndsAndServesAgain) {
  Mock m({"--listen", "s1=127.0.0.1:0", "--rule", "s1: requests=3..5 -> reset-on-accept"});
  std::string codes;
  for (int i = 0; i < 8; ++i) {
    // A reset right after accept may already fail the connect: both count as reset (-1).
    auto c = connect_to(m.port());
    int status = -1;
    if (c.error == 0) {
      send_all(c.fd.get(), "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
      status = status_of(read_to_end(c.fd.get(), kPatience).bytes);
    }
    codes += std::to_string(status) + " ";
  }
  EXPECT_EQ(codes, "200 200 -1 -1 -1 200 200 200 ");
}

TEST(MockDefects, ABodyOverOneMegabyteIs413AndJournaled) {
  Mock m({"--listen", "s1=127.0.0.1:0"});
  const auto r = request_once(m.port(), "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 2000000\r\n\r\n");
  EXPECT_EQ(status_of(r.bytes), 413);
  ASSERT_TRUE(m.wait_journal("outcome=body-too-large"));
  const auto e = m.journal().at(0);
  EXPECT_EQ(e.at("method"), "POST");
  EXPECT_EQ(e.at("path"), "/upload");
}

TEST(MockDefects, ARuleWithTheLargestBodyCanBeSetOverTheApi) {
  Mock m({"--listen", "s1=127.0.0.1:0"});
  // 1 MiB of quotes: JSON-escaped it doubles, well over the request parser's 1 MiB.
  const std::string body(1024 * 1024, '"');
  const auto rule = boost::json::serialize(boost::json::object{{"respond", {{"status", 200}, {"body", body}}}});
  ASSERT_GT(rule.size(), 2u * 1024 * 1024);
  const auto r = m.call("PUT", "/v1/listeners/s1/rules", "[" + rule + "]");
  EXPECT_EQ(r.status, 200) << r.raw.substr(0, 300);
  EXPECT_EQ(body_of(http(m.port(), "GET", "/").bytes).size(), body.size());
}

TEST(MockDefects, TheApiSaysWhatIsWrongWithAMethodOrAnOffJournal) {
  Mock m({"--listen", "s1=127.0.0.1:0"});
  EXPECT_EQ(m.call("DELETE", "/v1/health").status, 405);
  EXPECT_EQ(m.call("POST", "/v1/stats").status, 405);
  EXPECT_EQ(m.call("GET", "/v1/health").status, 200);
  const auto dup = m.call("PATCH", "/v1/listeners/s1", R"({"mode": "refuse", "mode": "serve"})");
  EXPECT_EQ(dup.status, 400);
  EXPECT_NE(dup.raw.find("'mode' is given twice"), std::string::npos) << dup.raw;
  Mock off({"--listen", "s1=127.0.0.1:0", "--journal-limit", "0"});
  const auto w = off.call("GET", "/v1/wait?count=1&timeout_ms=5000");
  EXPECT_EQ(w.status, 409);
  EXPECT_NE(w.raw.find("the journal is off"), std::string::npos) << w.raw;
}

}  // namespace
}  // namespace lb::test
