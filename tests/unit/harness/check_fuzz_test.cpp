// The differential check fuzzer's cases: drawn from (seed, index) alone, always a config lb and
// haproxy accept and a spec mockserver serves, and shrinking only ever makes them smaller.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "harness/core/check_fuzz.hpp"
#include "lb/core/config/parser.hpp"
#include "mockserver/core/spec.hpp"

namespace lbh {
namespace {

TEST(CheckFuzz, ACaseIsNamedByItsSeedAndIndex) {
  EXPECT_EQ(generate_check_case(7, 41), generate_check_case(7, 41));
  EXPECT_EQ(generate_check_case(7, 41).name, "c41");
  std::set<std::string> replies;
  for (std::size_t i = 0; i < 200; ++i) replies.insert(generate_check_case(7, i).bytes);
  EXPECT_GT(replies.size(), 190u);  // hardly a repeat
  EXPECT_NE(generate_check_case(7, 3).bytes, generate_check_case(8, 3).bytes);
}

TEST(CheckFuzz, EveryBatchIsAConfigLbAcceptsAndASpecMockserverServes) {
  std::vector<CheckCase> cases;
  std::size_t tcp = 0, split = 0, held = 0, server_first = 0, serve = 0;
  for (std::size_t i = 0; i < 500; ++i) {
    cases.push_back(generate_check_case(1, i));
    const auto& c = cases.back();
    tcp += c.check_lines.front() == "option tcp-check";
    split += !c.cuts.empty();
    held += c.then != mock::core::RawEnd::Close;
    server_first += c.server_first;
    serve += c.then == mock::core::RawEnd::Serve;
    // Only a greeting goes on serving: a rule's reply answers the one request a check sends.
    if (!c.server_first) {
      EXPECT_NE(c.then, mock::core::RawEnd::Serve) << c.name;
    } else {  // a server-first dialogue expects before it sends anything
      EXPECT_TRUE(c.check_lines.at(1).starts_with("tcp-check expect") || c.check_lines.at(1) == "tcp-check connect") << c.name;
    }
    ASSERT_EQ(c.pauses_ms.size(), c.cuts.size() + 1);
    ASSERT_TRUE(std::is_sorted(c.cuts.begin(), c.cuts.end()));
    int total = c.end_pause_ms;
    for (const int p : c.pauses_ms) total += p;
    EXPECT_LT(total, kCheckTimeoutMs / 2) << c.name;  // no reply races the check timeout
    std::string joined;
    for (const auto& w : c.reply().writes) joined += w.bytes;
    EXPECT_EQ(joined, c.bytes);
  }
  EXPECT_GT(tcp, 50u);
  EXPECT_GT(split, 150u);
  EXPECT_GT(held, 50u);
  EXPECT_GT(server_first, 20u);
  EXPECT_GT(serve, 5u);
  const auto parsed = lb::core::parse_config(check_diff_config(cases, std::vector<int>(cases.size(), 8080), "/tmp/x.sock"), "diff.cfg");
  EXPECT_TRUE(parsed.ok());
  for (const auto& d : parsed.diagnostics) ADD_FAILURE() << lb::core::format_diagnostic(d);
  ASSERT_EQ(parsed.config.proxies.size(), cases.size());
  const auto spec = mock::core::decode_spec_text(check_diff_spec(cases));
  ASSERT_TRUE(spec) << spec.error().front().to_string();
  ASSERT_EQ(spec->listeners.size(), 1 + server_first);
  ASSERT_EQ(spec->listeners.at(0).rules.size(), cases.size() - server_first);
  EXPECT_EQ(spec->listeners[0].name, "app");
  for (const auto& c : cases) {
    const auto l = std::find_if(spec->listeners.begin(), spec->listeners.end(),
                                [&](const auto& x) { return x.name == check_diff_listener(c); });
    ASSERT_NE(l, spec->listeners.end()) << c.name;
    if (c.server_first) {
      EXPECT_EQ(l->greeting, c.reply()) << c.name;
      EXPECT_TRUE(l->rules.empty());
    } else {
      const auto r = std::find_if(l->rules.begin(), l->rules.end(), [&](const auto& x) { return x.id == c.name; });
      ASSERT_NE(r, l->rules.end()) << c.name;
      EXPECT_EQ(*r->raw, c.reply());
    }
  }
}

TEST(CheckFuzz, ShrinkingMakesCasesSmallerUntilNothingIsLeft) {
  for (std::size_t i = 0; i < 50; ++i) {
    CheckCase c = generate_check_case(3, i);
    for (int round = 0; round < 10000; ++round) {
      const auto smaller = shrink_candidates(c);
      if (smaller.empty()) break;
      for (const auto& s : smaller) {
        ASSERT_LT(s.size(), c.size());
        ASSERT_EQ(s.pauses_ms.size(), s.cuts.size() + 1);
        for (const auto cut : s.cuts) ASSERT_TRUE(cut > 0 && cut < s.bytes.size());
      }
      c = smaller.front();
    }
    EXPECT_TRUE(c.bytes.empty()) << describe(c);
    EXPECT_EQ(c.then, mock::core::RawEnd::Close);
  }
}

TEST(CheckFuzz, VerdictsComeFromShowStatOnceChecked) {
  const auto csv = find_stats_csv(
      "# pxname,svname,status,check_status,check_code,last_chk,\n"
      "c1,s,DOWN,L7STS,500,\"Internal, Error\",\n"
      "c2,s,UP,INI,,,\n"
      "c3,s,UP 0/1,L7RSP,,,\n"
      "c4,s,NOLB,* L7OKC,404,,\n"
      "c5,s,UP,* L7OKC,404,,\n\n");
  ASSERT_TRUE(csv);
  EXPECT_EQ(check_verdict(*csv, "c1"), (CheckVerdict{"DOWN", "L7STS", "500", "Internal, Error"}));
  EXPECT_EQ(check_verdict(*csv, "c1")->to_string(), "DOWN L7STS code=500 info=\"Internal, Error\"");
  EXPECT_EQ(check_verdict(*csv, "c2"), std::nullopt);  // not checked yet
  EXPECT_EQ(check_verdict(*csv, "c3"), std::nullopt);  // the transition is not applied yet
  EXPECT_EQ(check_verdict(*csv, "c4"), (CheckVerdict{"NOLB", "L7OKC", "404", ""}));
  EXPECT_EQ(check_verdict(*csv, "c5"), std::nullopt);  // the check task has not made it NOLB yet
  EXPECT_EQ(check_verdict(*csv, "c9"), std::nullopt);
}

TEST(CheckFuzz, DescribeShowsWritesPausesAndTheEnding) {
  CheckCase c;
  c.name = "c5";
  c.check_lines = {"option httpchk GET {path}"};
  c.bytes = "HTTP/1.1 2" + std::string("00 OK\r\n\r\n") + std::string(40, 'v');
  c.cuts = {10};
  c.pauses_ms = {0, 12};
  c.then = mock::core::RawEnd::Reset;
  c.end_pause_ms = 30;
  EXPECT_EQ(describe(c), "    option httpchk GET /c5\n"
                         "    \"HTTP/1.1 2\"\n"
                         "    (pause 12 ms)\n"
                         "    \"00 OK\\r\\n\\r\\n\" + \"v\" x 40 + \"\"\n"
                         "    (pause 30 ms)\n"
                         "    (reset)\n");
}

}  // namespace
}  // namespace lbh
