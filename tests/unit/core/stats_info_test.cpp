// `show info`: HAProxy 2.6.12's fields, in its order and with its tags (the captured
// `show info typed`), with lb's own values where haproxy's describe haproxy.
#include "lb/core/stats/info.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <sstream>

#include "tests/support/temp_file.hpp"

namespace lb::core::stats {
namespace {

std::vector<std::string> keys(const std::string& typed) {
  std::vector<std::string> out;
  std::istringstream in(typed);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    // "POS.NAME.1:TAGS:TYPE:" is the field's identity; what follows is its value.
    std::size_t colons = 0, i = 0;
    for (; i < line.size() && colons < 3; ++i) colons += line[i] == ':';
    out.push_back(line.substr(0, i));
  }
  return out;
}

TEST(StatsInfo, TheFieldsTagsAndTypesAreHaproxys) {
  ProcessInfo p;
  p.pid = 4242;
  p.uptime_s = 3723;
  p.maxconn = 9983;
  p.node = "vm";
  const auto typed = show_info(p, InfoFormat::Typed);
  const auto haproxy = test::read_file(test::source_path("tests/data/haproxy26/runtime_api/02_show_info_typed.out"));
  EXPECT_EQ(keys(typed), keys(haproxy));
  const auto plain = show_info(p, InfoFormat::Plain);
  EXPECT_TRUE(plain.starts_with("Name: lb\nVersion: 2.6.12 (lb)\n")) << plain;
  EXPECT_NE(plain.find("\nPid: 4242\nUptime: 0d 1h02m03s\nUptime_sec: 3723\n"), std::string::npos) << plain;
  EXPECT_NE(plain.find("\nMaxconn: 9983\n"), std::string::npos);
  EXPECT_NE(plain.find("\nnode: vm\n"), std::string::npos);
  // JSON: the same objects as haproxy's, one per field.
  const auto json = boost::json::parse(show_info(p, InfoFormat::Json)).as_array();
  const auto theirs = boost::json::parse(
      test::read_file(test::source_path("tests/data/haproxy26/runtime_api/02_show_info_json.out"))).as_array();
  ASSERT_EQ(json.size(), theirs.size());
  for (std::size_t i = 0; i < json.size(); ++i) {
    EXPECT_EQ(json[i].at("field"), theirs[i].at("field"));
    EXPECT_EQ(json[i].at("tags"), theirs[i].at("tags"));
    EXPECT_EQ(json[i].at("value").at("type"), theirs[i].at("value").at("type"));
  }
}

}  // namespace
}  // namespace lb::core::stats
