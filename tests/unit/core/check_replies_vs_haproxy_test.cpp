// Check replies where `lbharness check-diff` once found lb and haproxy apart, replayed on lb's
// check (CheckRun, one on_data per write) and held to haproxy 2.6.12's captured verdict
// (tests/data/haproxy26/check_replies.tsv, capture_scripts/check_replies.py).
#include <gtest/gtest.h>

#include <sstream>

#include "lb/core/check/check_run.hpp"
#include "lb/core/config/parser.hpp"
#include "tests/support/temp_file.hpp"
#include "tests/support/tsv.hpp"

namespace lb::core {
namespace {

std::vector<std::string> split(std::string_view s, std::string_view sep) {
  std::vector<std::string> out;
  for (;;) {
    const auto at = s.find(sep);
    out.emplace_back(s.substr(0, at));
    if (at == std::string_view::npos) return out;
    s.remove_prefix(at + sep.size());
  }
}

struct Row {
  std::string name, checks, writes, then, status, check_status, check_code, last_chk;
};

std::vector<Row> rows() {
  std::istringstream in(test::read_file(test::source_path("tests/data/haproxy26/check_replies.tsv")));
  std::vector<Row> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("#") || line.starts_with("case\t") || line.empty()) continue;
    auto f = split(line, "\t");
    f.resize(8);
    out.push_back({f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]});
  }
  return out;
}

TEST(CheckRepliesVsHaproxy, EveryCapturedReplyGetsHaproxysVerdict) {
  const auto all = rows();
  ASSERT_GE(all.size(), 12u);
  for (const auto& r : all) {
    std::string cfg = "defaults\n    mode http\n    timeout check 400ms\nbackend b\n";
    for (auto l : split(r.checks, " ; ")) {
      if (const auto at = l.find("{path}"); at != std::string::npos) l.replace(at, 6, "/" + r.name);
      cfg += "    " + l + "\n";
    }
    cfg += "    server s 127.0.0.1:1 check\n";
    const auto parsed = parse_config(cfg, "check.cfg");
    ASSERT_TRUE(parsed.ok()) << r.name;
    CheckRun run(parsed.config.proxies.at(0).check, true);
    run.on_connected();
    for (const auto& w : split(r.writes, " | "))
      if (!run.done()) run.on_data(test::tsv_unescape(w));
    if (!run.done()) {
      if (r.then == "close") run.on_peer_closed();
      if (r.then == "hold") run.on_timeout();
      if (r.then == "reset") run.on_error("Connection reset by peer");
    }
    ASSERT_TRUE(run.done()) << r.name;
    const CheckResult got = *run.result();
    const auto& i = info(got.status);
    const std::string status = i.verdict == CheckVerdict::Passed               ? "UP"
                               : i.verdict == CheckVerdict::ConditionallyPassed ? "NOLB"
                                                                                : "DOWN";
    EXPECT_EQ(status, r.status) << r.name;
    EXPECT_EQ(i.tag, r.check_status) << r.name;
    EXPECT_EQ(i.prints_code ? std::to_string(got.code) : "", r.check_code) << r.name;
    EXPECT_EQ(got.info, test::tsv_unescape(r.last_chk)) << r.name;
  }
}

}  // namespace
}  // namespace lb::core
