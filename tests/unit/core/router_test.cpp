#include "lb/core/route/router.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace lb::core {
namespace {

std::vector<RouteServer> weighted(const std::vector<int>& weights) {
  std::vector<RouteServer> out;
  for (std::size_t i = 0; i < weights.size(); ++i)
    out.push_back({"s" + std::to_string(i + 1), weights[i]});
  return out;
}

// n requests, one after another: each connection closes before the next request arrives.
std::vector<std::string> sequential(Router& r, int n) {
  std::vector<std::string> names;
  for (int k = 0; k < n; ++k) {
    const auto i = r.pick();
    if (!i) {
      names.push_back("-");
      continue;
    }
    r.connection_opened(*i);
    r.connection_closed(*i);
    names.push_back(r.servers()[*i].name);
  }
  return names;
}

std::vector<std::string> split(const std::string& s, const std::string& sep) {
  std::vector<std::string> out;
  std::size_t from = 0;
  while (true) {
    const auto at = s.find(sep, from);
    out.push_back(s.substr(from, at - from));
    if (at == std::string::npos) return out;
    from = at + sep.size();
  }
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

// One row of tests/data/haproxy26/roundrobin.tsv turned into a backend: the `weights` column is
// either "1,2(backup),1(down)" (servers s1..sN) or "s1,s2 down; b1 w1,b2 w3 backup".
struct CapturedCase {
  std::string name;
  Balance balance = Balance::RoundRobin;
  bool allbackups = false;
  std::vector<RouteServer> servers;
  std::vector<bool> down;
  std::vector<std::string> phases;  // expected sequences, ' | ' separated in the file
  std::string note;
};

std::optional<CapturedCase> parse_row(const std::string& line) {
  const auto cols = split(line, "\t");
  if (cols.size() < 3) return std::nullopt;
  CapturedCase c{cols[0]};
  c.note = cols.size() > 3 ? cols[3] : "";
  if (c.name.starts_with("static_rr")) return std::nullopt;  // lb has no static-rr
  if (c.name.starts_with("leastconn")) c.balance = Balance::LeastConn;
  if (c.name.starts_with("first")) c.balance = Balance::First;
  c.allbackups = c.name.find("allbackups") != std::string::npos;
  const std::string& w = cols[1];
  if (w.find(';') == std::string::npos) {
    for (const auto& item : split(w, ",")) {
      RouteServer s{"s" + std::to_string(c.servers.size() + 1), std::stoi(item)};
      s.backup = item.find("(backup)") != std::string::npos;
      if (c.name.find("maxconn1") != std::string::npos) s.maxconn = 1;
      c.down.push_back(item.find("(down)") != std::string::npos);
      c.servers.push_back(s);
    }
  } else {
    // "<names> down; <names with optional wN> backup": down names first, then the backups.
    std::vector<std::string> down_names;
    for (const auto& part : split(w, "; ")) {
      const bool is_down = part.ends_with(" down");
      const auto list = part.substr(0, part.rfind(' '));
      for (const auto& item : split(list, ",")) {
        const auto name = item.substr(0, item.find(' '));
        const auto wpos = item.find(" w");
        RouteServer s{name, wpos == std::string::npos ? 1 : std::stoi(item.substr(wpos + 2))};
        if (is_down) {
          down_names.push_back(name);
          continue;
        }
        s.backup = true;
        c.servers.push_back(s);
        c.down.push_back(false);
      }
    }
    // Down actives come first in config order; a down name that is also a backup is a backup.
    std::vector<RouteServer> all;
    std::vector<bool> down;
    for (const auto& n : down_names) {
      bool is_backup = n.starts_with("b");
      all.push_back({n, 1, is_backup});
      down.push_back(true);
    }
    for (std::size_t i = 0; i < c.servers.size(); ++i) {
      all.push_back(c.servers[i]);
      down.push_back(false);
    }
    c.servers = all;
    c.down = down;
  }
  c.phases = split(cols[2], " | ");
  return c;
}

std::vector<CapturedCase> captured_cases() {
  std::ifstream in(std::string(LBH_SOURCE_DIR) + "/tests/data/haproxy26/roundrobin.tsv");
  std::vector<CapturedCase> out;
  std::string line;
  std::getline(in, line);  // header row
  while (std::getline(in, line))
    if (auto c = parse_row(line)) out.push_back(*c);
  return out;
}

TEST(Router, ReplaysEveryCapturedHaproxy26Sequence) {
  const auto cases = captured_cases();
  ASSERT_GE(cases.size(), 15u) << "tests/data/haproxy26/roundrobin.tsv is missing or short";
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Router r(c.balance, c.allbackups, c.servers);
    for (std::size_t i = 0; i < c.down.size(); ++i)
      if (c.down[i]) r.set_up(i, false);
    // Phases: the note names the server that goes down, then comes back ("s2 down" / "back up").
    for (std::size_t p = 0; p < c.phases.size(); ++p) {
      if (p == 1) r.set_up(1, false);
      if (p == 2) r.set_up(1, true);
      const auto expected = split(c.phases[p], ",");
      EXPECT_EQ(join(sequential(r, static_cast<int>(expected.size()))), c.phases[p]) << "phase " << p;
    }
  }
}

// Longer runs captured from HAProxy 2.6.12 (/usr/sbin/haproxy, balance roundrobin, one request
// per connection, strictly sequential). A digit N is a request answered by sN; "-N" / "+N"
// is `disable server apps/sN` / `enable server apps/sN` on the stats socket, which takes the
// server out of and back into the LB tree as a failed / passed check does. They show lb_fwrr's
// uneven first round (3,2,3) and the one-pick slips at its internal tree switches (2,3,3).
struct LongCapture {
  std::vector<int> weights;
  std::string_view script;
};

const LongCapture kLongCaptures[] = {
    {{2, 3, 3},
         "23231232132312321323123213231232132312321323123213-2313133131331313313133131331313313133"
         "13133131331313+2312312323123123231231232312312323123123231231232312312323123232132312321"
         "3231232132312321323123213231-12323232323232323232323232323232323232+13213213232132132321"
         "321323213213232132132321321323213232132312321323123213231232132312321323123213231-3-2111"
         "11111111111111111+3+2132132321321323232132312321323123213231232132312321323123213"},
    {{7, 3, 9, 1},
         "313132313143213133123131323131432-311112111211211214112112112141121121121411-12422242224"
         "2224222+34323332332333432333233233343233323323334323332332333233432333233323343233323332"
         "3+1-4-23133131313313131313313131+2+43133123131323134132131331231313231341321313312313132"
         "31341321313312313132313413213133123131"},
    {{1, 4, 2},
         "223212322-233133+2-1-32222+1+32321232232123223212322321232232123223212"},
    {{3, 2, 3},
         "1313213123132131231321312313213123132131231321312313213123132131231321312313213123132131"
         "2313213123132131231321312313213123132131313213123132131231321312313213123132131231321312"
         "3132131231321312313213123132131231321312313213123132131231321312313213123132131313213123"
         "1321312313213123132131231321312313213123132131231321312313213123132131231321312313213123"
         "1321312313213123132131231321313132131231321312313213123132131231321312313213123132131231"
         "3213123132131231321312313213123132131231321312313213123132131231321313132131231321312313"
         "213123132131231321312313213123132131231321312313213123132131231321312313"},
    {{7, 3, 9, 1},
         "3131323131432131331231313231314321313312313132313143213133123131323131432131331231313231"
         "3143213133123131323131432131331231313231314321313312313132313143213133123131323131432131"
         "3312313132313143213133123131323131432131331231313231314321313312313132313143213133123131"
         "3231314321313312313132313143213133123131323131432131331231313231314321313312313132313143"
         "2131331231313231314321313312313132313143213133123131323131432131331231313231314321313312"
         "3131323131432131331231313231314321313312313132313143213133123131323131432131331231313231"
         "314321313312313132313143213133123131323131432131331231313231314321313312"},
    {{1, 1, 2, 5, 8},
         "5453545451543545254535454515435452545354545154354525453545451543545254535454515435452545"
         "3545451543545254535454515435452545354545154354525453545451543545254535454515435452545354"
         "5451543545254535454515435452545354545154354525453545451543545254535454515435452545354545"
         "1543545254535454515435452545354545154354525453545451543545254535454515435452545354545154"
         "3545254535454515435452545354545154354525453545451543545254535454515435452545354545154354"
         "5254535454515435452545354545154354525453545451543545254535454515435452545354545154354525"
         "453545451543545254535454515435452545354545154354525453545451543545254535"},
};

TEST(Router, MatchesLongHaproxy26RunsWithServersGoingDownAndUp) {
  for (const auto& c : kLongCaptures) {
    Router r(Balance::RoundRobin, false, weighted(c.weights));
    std::string got;
    for (std::size_t k = 0; k < c.script.size(); ++k) {
      const char ch = c.script[k];
      if (ch == '-' || ch == '+') {
        r.set_up(static_cast<std::size_t>(c.script[k + 1] - '1'), ch == '+');
        got += ch;
        got += c.script[++k];
        continue;
      }
      const auto i = r.pick();
      got += i ? static_cast<char>('1' + *i) : '?';
    }
    EXPECT_EQ(got, c.script) << "weights " << ::testing::PrintToString(c.weights);
  }
}

// The same orders derived by hand from lb_fwrr.c, so they hold without the data file too.
TEST(Router, RoundRobinWithEqualWeightsFollowsConfigOrder) {
  Router r(Balance::RoundRobin, false, weighted({1, 1, 1}));
  EXPECT_EQ(join(sequential(r, 6)), "s1,s2,s3,s1,s2,s3");
}

TEST(Router, RoundRobinWithUnequalWeightsStartsWithTheHeaviest) {
  Router r(Balance::RoundRobin, false, weighted({1, 2, 3}));
  EXPECT_EQ(join(sequential(r, 12)), "s3,s2,s3,s1,s3,s2,s3,s2,s3,s1,s3,s2");
}

TEST(Router, RoundRobinServesThreeToOneInARow) {
  Router r(Balance::RoundRobin, false, weighted({3, 1}));
  EXPECT_EQ(join(sequential(r, 8)), "s1,s1,s1,s2,s1,s1,s1,s2");
}

TEST(Router, RoundRobinSkipsADownServerAndTakesItBack) {
  Router r(Balance::RoundRobin, false, weighted({1, 1, 1}));
  EXPECT_EQ(join(sequential(r, 4)), "s1,s2,s3,s1");
  r.set_up(1, false);
  EXPECT_EQ(join(sequential(r, 4)), "s3,s1,s3,s1");
  r.set_up(1, true);
  EXPECT_EQ(join(sequential(r, 6)), "s3,s1,s2,s3,s1,s2");
}

TEST(Router, RoundRobinNeverPicksWeightZero) {
  Router r(Balance::RoundRobin, false, weighted({1, 0, 1}));
  EXPECT_EQ(join(sequential(r, 4)), "s1,s3,s1,s3");
  EXPECT_EQ(r.counts().active, 2);
}

TEST(Router, RoundRobinSkipsSaturatedServers) {
  auto servers = weighted({1, 1});
  servers[0].maxconn = 1;
  Router r(Balance::RoundRobin, false, servers);
  r.connection_opened(0);  // s1 is full
  EXPECT_EQ(join({r.servers()[*r.pick()].name, r.servers()[*r.pick()].name}), "s2,s2");
}

TEST(Router, BackupIsUsedOnlyWhenNoActiveIsUp) {
  auto servers = weighted({1, 1, 1});
  servers[1].backup = true;
  Router r(Balance::RoundRobin, false, servers);
  EXPECT_EQ(join(sequential(r, 4)), "s1,s3,s1,s3");
  r.set_up(0, false);
  r.set_up(2, false);
  EXPECT_EQ(join(sequential(r, 2)), "s2,s2");
  EXPECT_EQ(r.counts().active, 0);
  EXPECT_EQ(r.counts().backup, 1);
  r.set_up(2, true);
  EXPECT_EQ(join(sequential(r, 2)), "s3,s3");
}

TEST(Router, OnlyTheFirstUsableBackupServesWithoutAllbackups) {
  std::vector<RouteServer> servers{{"s1", 1}, {"b1", 1, true}, {"b2", 1, true}};
  Router r(Balance::RoundRobin, false, servers);
  r.set_up(0, false);
  EXPECT_EQ(join(sequential(r, 3)), "b1,b1,b1");
  r.set_up(1, false);
  EXPECT_EQ(join(sequential(r, 2)), "b2,b2");
  r.set_up(1, true);  // an earlier backup takes over again
  EXPECT_EQ(join(sequential(r, 2)), "b1,b1");
}

TEST(Router, AllbackupsBalancesBackupsByWeight) {
  std::vector<RouteServer> servers{{"s1", 1}, {"b1", 1, true}, {"b2", 3, true}};
  Router r(Balance::RoundRobin, true, servers);
  r.set_up(0, false);
  EXPECT_EQ(join(sequential(r, 8)), "b2,b2,b2,b1,b2,b2,b2,b1");
}

TEST(Router, NoServerAvailableWhenEverythingIsDown) {
  Router r(Balance::RoundRobin, false, weighted({1, 1}));
  r.set_up(0, false);
  r.set_up(1, false);
  EXPECT_EQ(r.pick(), std::nullopt);
  EXPECT_EQ(r.counts().active, 0);
  EXPECT_EQ(r.counts().backup, 0);
}

TEST(Router, LeastConnPrefersTheServerWithFewestConnections) {
  Router r(Balance::LeastConn, false, weighted({1, 1, 1}));
  r.connection_opened(0);
  r.connection_opened(0);
  r.connection_opened(1);
  EXPECT_EQ(r.pick(), 2u);
  r.connection_opened(2);
  EXPECT_EQ(r.pick(), 1u);  // s2 and s3 have one each; s2 got its connection first
}

TEST(Router, LeastConnTakesTurnsAmongIdleServers) {
  Router r(Balance::LeastConn, false, weighted({1, 2, 3}));
  EXPECT_EQ(join(sequential(r, 6)), "s1,s2,s3,s1,s2,s3");
}

TEST(Router, LeastConnWeighsConnections) {
  Router r(Balance::LeastConn, false, weighted({1, 3}));
  r.connection_opened(0);  // key (1+1)*4096/16 = 512
  r.connection_opened(1);
  r.connection_opened(1);  // key (2+1)*4096/48 = 256
  EXPECT_EQ(r.pick(), 1u);
}

TEST(Router, LeastConnCountsTheNewConnectionInTheKey) {
  // HAProxy keys a busy server by (served + 1) / weight: s1 (weight 1, 1 connection) = 2,
  // s2 (weight 4, 5 connections) = 1.5, so s2 gets the next one. By served / weight alone it
  // would be s1 (1 against 1.25).
  Router r(Balance::LeastConn, false, weighted({1, 4}));
  r.connection_opened(0);
  for (int i = 0; i < 5; ++i) r.connection_opened(1);
  EXPECT_EQ(r.pick(), 1u);
}

TEST(Router, FirstFillsServersInConfigOrder) {
  auto servers = weighted({1, 1, 1});
  for (auto& s : servers) s.maxconn = 2;
  Router r(Balance::First, false, servers);
  std::vector<std::string> picked;
  for (int k = 0; k < 5; ++k) {
    const auto i = *r.pick();
    r.connection_opened(i);
    picked.push_back(r.servers()[i].name);
  }
  EXPECT_EQ(join(picked), "s1,s1,s2,s2,s3");
  r.connection_closed(0);
  EXPECT_EQ(r.pick(), 0u);
}

TEST(Router, FirstWithoutMaxconnAlwaysPicksTheFirstUpServer) {
  Router r(Balance::First, false, weighted({1, 1}));
  EXPECT_EQ(join(sequential(r, 3)), "s1,s1,s1");
  r.set_up(0, false);
  EXPECT_EQ(join(sequential(r, 2)), "s2,s2");
}

TEST(Router, CountsUsableServersOnly) {
  std::vector<RouteServer> servers{{"s1", 1}, {"s2", 0}, {"b1", 1, true}, {"b2", 1, true}};
  Router r(Balance::RoundRobin, false, servers);
  EXPECT_EQ(r.counts().active, 1);
  EXPECT_EQ(r.counts().backup, 2);
  r.set_up(3, false);
  EXPECT_EQ(r.counts().backup, 1);
  EXPECT_FALSE(r.is_up(3));
  EXPECT_TRUE(r.is_up(1));
}

TEST(Router, SettingTheSameStateTwiceChangesNothing) {
  Router r(Balance::RoundRobin, false, weighted({1, 1, 1}));
  r.set_up(1, false);
  r.set_up(1, false);
  EXPECT_EQ(r.counts().active, 2);
  r.set_up(1, true);
  r.set_up(1, true);
  EXPECT_EQ(r.counts().active, 3);
}

}  // namespace
}  // namespace lb::core
