#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "mockserver/core/admin.hpp"

namespace mock::core {
namespace {

namespace json = boost::json;
const TimePoint kT0{};

void record(Journal& j, std::string listener, std::string method) {
  JournalEntry* e = j.next();
  ASSERT_NE(e, nullptr);
  e->listener = std::move(listener);
  e->method = std::move(method);
  e->path = "/";
}

TEST(Journal, KeepsTheNewestEntriesAndCountsTheDropped) {
  Journal j(3);
  for (int i = 0; i < 5; ++i) record(j, "s1", i % 2 ? "GET" : "OPTIONS");
  EXPECT_EQ(j.size(), 3u);
  EXPECT_EQ(j.dropped(), 2u);
  EXPECT_EQ(j.find(2), nullptr);
  ASSERT_NE(j.find(3), nullptr);
  EXPECT_EQ(j.find(3)->seq, 3u);
  JournalFilter f;
  f.method = "OPTIONS";
  EXPECT_EQ(j.count(f), 2u);  // seq 3 and 5
  const auto listed = j.list(f);
  EXPECT_EQ(listed.at("entries").as_array().at(0).at("seq").to_number<int>(), 3);
  j.clear();
  EXPECT_EQ(j.size(), 0u);
  record(j, "s1", "GET");
  EXPECT_EQ(j.find(6)->method, "GET");
}

TEST(Journal, KeepsAtMostFourKibibytesOfPathAndHeadersPerEntry) {
  Journal j(2);
  const std::string target = "/" + std::string(64 * 1024, 'p');
  const std::string big(3000, 'v');
  const std::vector<Header> headers{{"A", big}, {"B", big}, {"C", "small"}};
  JournalEntry* e = j.next();
  record_request_text(*e, target, headers);
  EXPECT_TRUE(e->truncated);
  EXPECT_EQ(e->path.size(), kMaxJournalText);
  EXPECT_LE(e->headers.size(), kMaxJournalText);
  EXPECT_TRUE(e->headers.starts_with("A: vvv"));  // whole lines only
  EXPECT_EQ(to_json(*e, 0).at("truncated"), true);
  e = j.next();
  record_request_text(*e, "/", {{"Host", "x"}});
  EXPECT_FALSE(e->truncated);
  EXPECT_EQ(e->headers, "Host: x\r\n");
}

TEST(Journal, EntriesCarryWallClockTimeAndMakeLogLines) {
  EXPECT_EQ(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(rfc3339_ms(1796143801123), "2026-12-01T16:50:01.123Z");
  JournalEntry e;
  e.listener = "s1";
  e.peer = "127.0.0.1:4000";
  e.method = "OPTIONS";
  e.path = "/";
  e.t = lb::core::Ms{23};
  e.outcome = "500";
  e.rule = "tomcat";
  EXPECT_EQ(log_line(e, 1796143801100), "2026-12-01T16:50:01.123Z s1 127.0.0.1:4000 \"OPTIONS /\" 500 rule=tomcat");
  EXPECT_EQ(to_json(e, 1796143801100).at("time"), "2026-12-01T16:50:01.123Z");
  e.method.clear();
  e.outcome = "no-request";
  e.rule.clear();
  EXPECT_EQ(log_line(e, 0), "1970-01-01T00:00:00.023Z s1 127.0.0.1:4000 - no-request");
}

TEST(JournalFilter, MatchesPathPrefixHeadersAndBodies) {
  JournalEntry e;
  e.seq = 1;
  e.path = "/api/v1?x=1";
  e.headers = "Host: a\r\nX-Env: prod\r\n";
  e.body = "{\"k\": 1}";
  JournalFilter f;
  ASSERT_FALSE(parse_filter("path_prefix=/api&header=x-env:prod&body_contains=%22k%22", f));
  EXPECT_TRUE(f.accepts(e));
  JournalFilter g;
  ASSERT_FALSE(parse_filter("header=X-Env:dev", g));
  EXPECT_FALSE(g.accepts(e));
  JournalFilter h;
  ASSERT_FALSE(parse_filter("header=host", h));
  EXPECT_TRUE(h.accepts(e));
}

TEST(Journal, ListsTheNewestLimitEntriesOldestFirst) {
  Journal j(10);
  for (int i = 0; i < 7; ++i) record(j, "s1", i % 2 ? "GET" : "OPTIONS");  // OPTIONS: 1 3 5 7
  JournalFilter f;
  f.method = "OPTIONS";
  f.limit = 2;
  const auto listed = j.list(f);
  const auto& entries = listed.at("entries").as_array();
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries.at(0).at("seq").to_number<int>(), 5);
  EXPECT_EQ(entries.at(1).at("seq").to_number<int>(), 7);
  EXPECT_EQ(listed.at("matched").to_number<int>(), 4);
}

TEST(Journal, ZeroLimitTurnsItOff) {
  Journal j(0);
  EXPECT_EQ(j.next(), nullptr);
  EXPECT_EQ(j.size(), 0u);
}

TEST(JournalFilter, ParsesQueriesAndNamesBadParameters) {
  JournalFilter f;
  EXPECT_EQ(parse_filter("listener=s1&method=OPTIONS&path=%2Fhealth&limit=5&since=2", f), std::nullopt);
  EXPECT_EQ(f.path, "/health");
  EXPECT_EQ(f.limit, 5u);
  EXPECT_EQ(f.since, 2u);
  EXPECT_EQ(parse_filter("limit=x", f), "limit: expected a non-negative integer");
  EXPECT_EQ(parse_filter("colour=red", f), "colour: unknown parameter");
}

struct AdminWorld : ::testing::Test {
  AdminWorld() : w(100) {
    w.listeners.push_back(std::make_unique<Listener>(ListenerSpec{.name = "s1"}, kT0));
  }
  AdminReply call(std::string_view method, std::string_view target, std::string_view body = "") {
    return handle_admin(w, method, target, body, kT0);
  }
  World w;
};

TEST_F(AdminWorld, ReplacesRulesOnlyWhenAllAreValid) {
  EXPECT_EQ(call("PUT", "/v1/listeners/s1/rules", R"([{"id": "a", "respond": {"status": 500}}])").status, 200);
  const auto bad = call("PUT", "/v1/listeners/s1/rules", R"({"rules": [{"schedule": {"nth": 0}}]})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(json::parse(bad.body).at("field"), "rules[0].schedule.nth");
  EXPECT_EQ(w.listeners[0]->spec().rules.at(0).id, "a");
}

TEST_F(AdminWorld, PatchValidatesEverythingBeforeChangingAnything) {
  const auto r = call("PATCH", "/v1/listeners/s1", R"({"mode": "refuse", "fault": "nope"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(w.listeners[0]->spec().mode, Mode::Serve);
  EXPECT_EQ(call("PATCH", "/v1/listeners/s1", R"({"mode": "refuse"})").status, 200);
  EXPECT_EQ(w.listeners[0]->mode_at(kT0), Mode::Refuse);
}

TEST_F(AdminWorld, ServeCannotBeatAListenerFaultAndSaysWhich) {
  ASSERT_EQ(call("PUT", "/v1/listeners/s1/fault", R"({"fault": "refuse"})").status, 200);
  const auto r = call("PATCH", "/v1/listeners/s1", R"({"mode": "serve"})");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(json::parse(r.body).at("field"), "fault");
  EXPECT_EQ(w.listeners[0]->mode_at(kT0), Mode::Refuse);  // nothing changed
  EXPECT_EQ(call("PATCH", "/v1/listeners/s1", R"({"mode": "serve", "fault": null})").status, 200);
  EXPECT_EQ(w.listeners[0]->mode_at(kT0), Mode::Serve);
}

TEST_F(AdminWorld, ServeCannotBeatAnActiveListenerRuleAndSaysWhich) {
  ASSERT_EQ(call("PUT", "/v1/listeners/s1/rules", R"([{"id": "dark", "fault": "blackhole"}])").status, 200);
  const auto r = call("PATCH", "/v1/listeners/s1", R"({"mode": "serve"})");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(json::parse(r.body).at("field"), "rules");
  EXPECT_NE(json::parse(r.body).at("error").as_string().find("'dark'"), json::string::npos);
}

TEST_F(AdminWorld, RuleListsAreCappedWithAFieldNamedError) {
  std::string many = "[";
  for (std::size_t i = 0; i <= kMaxRules; ++i) many += R"({"respond": {"status": 200}},)";
  many.back() = ']';
  const auto r = call("PUT", "/v1/listeners/s1/rules", many);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body).at("field"), "rules");
}

TEST_F(AdminWorld, WaitIsAnsweredAtOnceWhenAlreadySatisfied) {
  EXPECT_TRUE(call("GET", "/v1/wait?listener=s1&count=1&timeout_ms=10").wait);
  record(w.journal, "s1", "GET");
  const auto r = call("GET", "/v1/wait?listener=s1&count=1");
  EXPECT_FALSE(r.wait);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(call("GET", "/v1/wait?listener=zz").status, 404);
}

TEST_F(AdminWorld, UnknownPathsAndMethodsGetJsonErrors) {
  EXPECT_EQ(call("GET", "/").status, 404);
  EXPECT_EQ(call("DELETE", "/v1/listeners").status, 405);
  EXPECT_EQ(call("GET", "/v1/listeners/s1/nothing").status, 404);
  EXPECT_EQ(call("PUT", "/v1/reset").status, 405);
  EXPECT_TRUE(json::parse(call("GET", "/v1/listeners/zz").body).as_object().contains("error"));
}

}  // namespace
}  // namespace mock::core
