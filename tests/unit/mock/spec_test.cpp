#include "mockserver/core/spec.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <fmt/format.h>

namespace mock::core {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> errors_of(std::string_view text) {
  const auto r = decode_spec_text(text);
  std::vector<std::string> out;
  if (!r) {
    for (const auto& e : r.error()) out.push_back(e.to_string());
  }
  return out;
}

TEST(SpecDecoding, TimelineStartIsStartOrFirstConnection) {
  EXPECT_EQ(decode_spec_text(R"({"listeners": []})")->timeline_start, TimelineStart::Start);
  const auto r = decode_spec_text(R"({"listeners": [], "timeline_start": "first-connection"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->timeline_start, TimelineStart::FirstConnection);
  EXPECT_EQ(to_json(*r).at("timeline_start"), "first-connection");
  EXPECT_EQ(errors_of(R"({"listeners": [], "timeline_start": "later"})"),
            std::vector<std::string>{"timeline_start: expected start or first-connection"});
}

TEST(SpecDecoding, ReadsAFullSpec) {
  const auto r = decode_spec_text(R"({
    "admin": "127.0.0.1:9000", "journal_limit": 5,
    "listeners": [{"name": "s1", "listen": "[::1]:8081", "mode": "serve", "fault": {"kind": "drip", "bytes": 2},
      "rules": [
        {"id": "opt", "match": {"method": ["OPTIONS", "HEAD"], "path_prefix": "/h", "headers": {"X-A": "1", "X-B": true}},
         "schedule": {"nth": 3, "at_ms": [10, null], "flap": {"period_ms": 1000, "duty": 0.25}},
         "respond": {"status": 503, "reason": null, "headers": {"Retry-After": "1"}, "body": "x", "delay_ms": 5}},
        {"schedule": {"after_requests": 2, "flap_requests": {"period": 5, "down": 3}}, "fault": "hang"}]}]})");
  ASSERT_TRUE(r) << r.error().front().to_string();
  EXPECT_EQ(r->admin, (Endpoint{"127.0.0.1", 9000}));
  EXPECT_EQ(r->journal_limit, 5u);
  const auto& l = r->listeners.at(0);
  EXPECT_EQ(l.listen, (Endpoint{"::1", 8081}));
  EXPECT_EQ(l.fault->kind, FaultKind::Drip);
  EXPECT_EQ(l.fault->bytes, 2u);
  EXPECT_EQ(l.fault->every, 50ms);  // the catalogue default stays
  const auto& opt = l.rules.at(0);
  EXPECT_EQ(opt.match.methods, (std::vector<std::string>{"OPTIONS", "HEAD"}));
  EXPECT_EQ(opt.match.path.kind, PathMatch::Kind::Prefix);
  EXPECT_EQ(opt.match.headers.at(1).value, std::nullopt);
  EXPECT_EQ(opt.schedule.matches, (Range{3, 3}));
  EXPECT_EQ(opt.schedule.from, 10ms);
  EXPECT_EQ(opt.schedule.flap->down, 250ms);
  EXPECT_TRUE(opt.respond.omit_reason);
  EXPECT_EQ(l.rules.at(1).id, "rule-2");
  EXPECT_EQ(l.rules.at(1).schedule.requests, (Range{3, std::nullopt}));
}

TEST(SpecDecoding, ErrorsNameTheFieldPath) {
  EXPECT_EQ(errors_of(R"({"listeners": [{"name": "s1", "rules": [{}, {}, {"respond": {"status": 99}}]}]})"),
            (std::vector<std::string>{"listeners[0].rules[2].respond.status: expected an integer 100..999"}));
  EXPECT_EQ(errors_of(R"({"listeners": [{"name": "s1", "listen": "nowhere"}]})"),
            (std::vector<std::string>{"listeners[0].listen: expected IP:PORT such as 127.0.0.1:0 or [::1]:8080 (an IP address, not a name)"}));
  EXPECT_EQ(errors_of(R"({"listeners": [{"name": "s1", "rules": [{"match": {"path_regex": "("}}]}]})").size(), 1u);
  EXPECT_EQ(errors_of(R"({"listners": []})"), (std::vector<std::string>{"listners: unknown field"}));
  EXPECT_EQ(errors_of("[1, 2"), (std::vector<std::string>{"invalid JSON: incomplete JSON"}));
}

TEST(SpecDecoding, LongOrDeeplyNestedRegexIsAnErrorNotACrash) {
  const auto spec = [](const std::string& re) {
    return R"({"listeners": [{"name": "s1", "rules": [{"match": {"path_regex": ")" + re + R"("}}]}]})";
  };
  EXPECT_EQ(errors_of(spec(std::string(1025, 'a'))),
            (std::vector<std::string>{"listeners[0].rules[0].match.path_regex: expected at most 1024 characters"}));
  EXPECT_EQ(errors_of(spec(std::string(1024, 'a'))), std::vector<std::string>{});
  // 500 nested groups: std::regex's recursive compiler overflowed the stack here.
  const auto nested = errors_of(spec(std::string(500, '(') + "a" + std::string(500, ')')));
  EXPECT_LE(nested.size(), 1u);
  EXPECT_EQ(errors_of(spec(std::string(100000, '('))).size(), 1u);
}

TEST(SpecDecoding, BodyIsAtMostAMebibyte) {
  const auto spec = [](std::size_t n) {
    return R"({"listeners": [{"name": "s1", "rules": [{"respond": {"body": ")" + std::string(n, 'a') + R"("}}]}]})";
  };
  EXPECT_EQ(errors_of(spec(kMaxBody + 1)),
            (std::vector<std::string>{"listeners[0].rules[0].respond.body: expected at most 1048576 bytes"}));
  EXPECT_EQ(errors_of(spec(kMaxBody)), std::vector<std::string>{});
}

TEST(SpecDecoding, ReportsEveryErrorNotJustTheFirst) {
  const auto errors = errors_of(R"({"listeners": [
      {"name": "bad name!"}, {"name": "s1", "mode": "up", "rules": [{"fault": "melt", "id": 7}]}, {"name": "s1"}]})");
  EXPECT_EQ(errors, (std::vector<std::string>{
                        "listeners[0].name: expected 1..64 of [A-Za-z0-9_.-]",
                        "listeners[1].mode: expected serve, refuse, blackhole or slow-accept",
                        "listeners[1].rules[0].id: expected a string",
                        errors.at(3),  // the unknown-fault message lists every fault
                        "listeners[2].name: duplicate listener 's1'"}));
  EXPECT_TRUE(errors.at(3).starts_with("listeners[1].rules[0].fault: unknown fault 'melt' (known: refuse, "));
}

TEST(SpecDecoding, ListenerFaultsCannotBeKeyedToUnseenConnections) {
  // The connections a listener fault turns away are never seen: a count may start it (counted
  // while serving), never end it. Every listener fault, every schedule kind.
  for (const char* fault : {"refuse", "blackhole", "slow-accept"}) {
    for (const char* counted : {R"("requests": [3, 5])", R"("probes": [3, 5])", R"("nth": 2)", R"("matches": [1, 2])",
                                R"("times": 2)", R"("every": 2)", R"("flap_requests": {"period": 4, "down": 2})"}) {
      const auto errors = errors_of(fmt::format(
          R"({{"listeners": [{{"name": "s1", "rules": [{{"schedule": {{{}}}, "fault": "{}"}}]}}]}})", counted, fault));
      ASSERT_EQ(errors.size(), 1u) << fault << " " << counted;
      EXPECT_EQ(errors[0], fmt::format("listeners[0].rules[0].schedule: '{}' acts on the listening socket, where the "
                                       "connections it turns away are never seen, so no count can end it: give an open "
                                       "count (after=N, probes=N..), a time schedule (at_ms, after_ms, flap), or count "
                                       "with a connection fault (reset-on-accept, close-before-request)",
                                       fault));
    }
    for (const char* fine : {R"("after_requests": 3)", R"("probes": [3, null])", R"("at_ms": [0, 100])",
                             R"("after_ms": 50)", R"("flap": {"period_ms": 100, "down_ms": 50})"})
      EXPECT_TRUE(errors_of(fmt::format(R"({{"listeners": [{{"name": "s1", "rules": [{{"schedule": {{{}}}, "fault": "{}"}}]}}]}})",
                                        fine, fault))
                      .empty())
          << fault << " " << fine;
  }
  EXPECT_EQ(errors_of(R"({"listeners": [{"name": "s1", "rules": [{"match": {"method": "GET"}, "fault": "refuse"}]}]})").at(0),
            "listeners[0].rules[0].match: 'refuse' acts before a request is read; remove match");
  EXPECT_TRUE(errors_of(R"({"listeners": [{"name": "s1", "rules": [{"schedule": {"at_ms": [0, 100]}, "fault": "blackhole"}]}]})").empty());
}

TEST(SpecDecoding, RejectsOutOfRangeSchedules) {
  EXPECT_EQ(errors_of(R"({"listeners": [{"name": "s1", "rules": [{"schedule": {"flap": {"period_ms": 100, "down_ms": 200}}}]}]})"),
            (std::vector<std::string>{"listeners[0].rules[0].schedule.flap.down_ms: expected an integer 0..100"}));
  EXPECT_EQ(errors_of(R"({"listeners": [{"name": "s1", "rules": [{"schedule": {"requests": [5, 2]}}]}]})"),
            (std::vector<std::string>{"listeners[0].rules[0].schedule.requests: to is before from"}));
  EXPECT_EQ(errors_of(R"({"listeners": [{"name": "s1", "rules": [{"schedule": {"at_ms": [5, 5]}}]}]})"),
            (std::vector<std::string>{"listeners[0].rules[0].schedule.at_ms: end must be after start"}));
}

TEST(SpecDecoding, RawRepliesAreWritesWithPausesAndAnEnding) {
  const auto r = decode_spec_text(R"({"listeners": [{"name": "s1", "rules": [{"raw": {"writes": [
      {"text": "HTTP/1.1 200 OK\r\n"}, {"pause_ms": 15, "hex": "0D0a"}, {"pause_ms": 5}], "then": "hold"}}]}]})");
  ASSERT_TRUE(r) << r.error().front().to_string();
  const auto& raw = r->listeners.at(0).rules.at(0).raw;
  ASSERT_TRUE(raw);
  EXPECT_EQ(*raw, (RawReply{{{Ms{0}, "HTTP/1.1 200 OK\r\n"}, {Ms{15}, "\r\n"}, {Ms{5}, ""}}, RawEnd::Hold}));
  EXPECT_EQ(decode_spec_text(R"({"listeners": [{"name": "s1", "rules": [{"raw": {"writes": []}}]}]})")->listeners[0].rules[0].raw->then,
            RawEnd::Close);

  EXPECT_EQ(errors_of(R"({"listeners": [{"name": "s1", "rules": [{"raw": {"writes": [{"hex": "0g"}, {"text": "a", "hex": "00"}],
                                                                           "then": "later"}}]}]})"),
            (std::vector<std::string>{"listeners[0].rules[0].raw.then: expected \"close\", \"hold\", \"reset\" or \"serve\"",
                                      "listeners[0].rules[0].raw.writes[0].hex: expected pairs of hexadecimal digits",
                                      "listeners[0].rules[0].raw.writes[1]: give one of text and hex"}));
  EXPECT_EQ(errors_of(R"({"listeners": [{"name": "s1", "rules": [{"raw": {}}]}]})"),
            std::vector<std::string>{"listeners[0].rules[0].raw.writes: missing"});
  EXPECT_EQ(errors_of(R"({"listeners": [{"name": "s1", "rules": [{"raw": {"writes": []}, "fault": "hang"}]}]})"),
            std::vector<std::string>{"listeners[0].rules[0]: give one of respond, fault, proxy and raw"});
  const std::string many = fmt::format(R"({{"listeners": [{{"name": "s1", "rules": [{{"raw": {{"writes": [{}{{}}]}}}}]}}]}})",
                                       [] { std::string s; for (int i = 0; i < 1024; ++i) s += "{},"; return s; }());
  EXPECT_EQ(errors_of(many), std::vector<std::string>{"listeners[0].rules[0].raw.writes: expected at most 1024 writes"});
}

TEST(SpecDecoding, AGreetingIsARawReplyTheListenerSendsFirst) {
  const auto r = decode_spec_text(R"({"listeners": [{"name": "smtp", "greeting": {"writes": [{"text": "220 ready\r\n"}],
                                                                                  "then": "serve"}}]})");
  ASSERT_TRUE(r) << r.error().front().to_string();
  EXPECT_EQ(r->listeners.at(0).greeting, (RawReply{{{Ms{0}, "220 ready\r\n"}}, RawEnd::Serve}));
  EXPECT_EQ(decode_spec_text(R"({"listeners": [{"name": "s", "greeting": null}]})")->listeners.at(0).greeting, std::nullopt);
  EXPECT_EQ(errors_of(R"({"listeners": [{"name": "s", "greeting": {"writes": [{"pause_ms": -1}], "then": "maybe"}}]})"),
            (std::vector<std::string>{"listeners[0].greeting.then: expected \"close\", \"hold\", \"reset\" or \"serve\"",
                                      "listeners[0].greeting.writes[0].pause_ms: expected an integer 0..31536000000"}));
  EXPECT_EQ(errors_of(R"({"listeners": [{"name": "s", "greeting": "220"}]})"),
            std::vector<std::string>{"listeners[0].greeting: expected an object"});
}

TEST(SpecDecoding, EncodingRoundTrips) {
  const auto first = decode_spec_text(R"({"listeners": [{"name": "s1", "listen": "127.0.0.1:0", "fault": "garbage",
    "greeting": {"writes": [{"text": "220 hi\r\n"}, {"pause_ms": 5, "hex": "ff"}], "then": "serve"},
    "rules": [{"id": "a", "match": {"method": "GET", "path_regex": "^/x", "headers": {"H": true},
                                    "query": {"debug": "1", "trace": true},
                                    "body": {"contains": "x", "regex": "^a", "json": {"/a/0": {"b": [1, "c"]}}}},
               "schedule": {"requests": [2, 4], "times": 1, "every": 2, "at_ms": [1, 9], "flap_requests": {"period": 3, "down": 1},
                            "probability": 0.25, "seed": 9},
               "respond": {"status": 201, "reason": "Made", "headers": [["A", "b"]], "body": "z", "chunked": true,
                           "delay_ms": 10, "jitter_ms": 5, "jitter": "normal", "rate": 1000}},
              {"id": "b", "fault": {"kind": "partial", "then": "close"}},
              {"id": "c", "fault": {"kind": "drip", "bytes": 3}, "respond": {"status": 503, "body": "busy"}},
              {"id": "d", "fault": {"kind": "limit-data", "bytes": 7}},
              {"id": "e", "fault": {"kind": "timeout", "ms": 300}},
              {"id": "f", "match": {"path": "/case7"}, "raw": {"writes": [{"text": "HTTP/1.1 2"}, {"pause_ms": 20, "hex": "3030ff0d0a"}],
                                                              "then": "reset"}},
              {"id": "g", "raw": {"writes": [{"text": "HTTP/1.1 204 No Content\r\n\r\n"}], "then": "serve"}}]}]})");
  ASSERT_TRUE(first);
  const auto second = decode_spec(to_json(*first));
  ASSERT_TRUE(second) << second.error().front().to_string();
  EXPECT_EQ(*first, *second);
}

}  // namespace
}  // namespace mock::core
