// Every configuration of tests/data/haproxy26/config_cases, judged by lb as haproxy 2.6.12 judged
// it (tests/data/haproxy26/config_check_streams.tsv, captured with `haproxy -c`).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <sstream>

#include "lb/core/config/check_report.hpp"
#include "tests/support/temp_file.hpp"
#include "tests/support/tsv.hpp"

namespace lb::core {
namespace {

struct HaproxyVerdict {
  std::string name;
  int exit_code;
  std::string stdout_text;
  // ALERT and WARNING lines without the "[LEVEL] (pid) : " prefix, continuation lines joined.
  std::vector<std::string> alerts, warnings;
};

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const auto at = s.find(sep, start);
    out.emplace_back(s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return out;
    start = at + 1;
  }
}

std::vector<HaproxyVerdict> load_verdicts() {
  std::vector<HaproxyVerdict> out;
  std::istringstream in(test::read_file(test::source_path("tests/data/haproxy26/config_check_streams.tsv")));
  std::string row;
  std::getline(in, row);  // header
  while (std::getline(in, row)) {
    const auto cols = split(row, '\t');
    if (cols.size() < 4) continue;
    HaproxyVerdict v{cols[0], std::stoi(cols[1]), test::tsv_unescape(cols[2]), {}, {}};
    std::vector<std::string>* last = nullptr;
    for (const auto& line : split(test::tsv_unescape(cols[3]), '\n')) {
      if (line.empty() || line.starts_with("[NOTICE]")) continue;
      if (line.starts_with("[ALERT]") || line.starts_with("[WARNING]")) {
        last = line.starts_with("[ALERT]") ? &v.alerts : &v.warnings;
        last->push_back(line.substr(line.find(") : ") + 4));
      } else if (last) {
        last->back() += "\n" + line;
      }
    }
    out.push_back(std::move(v));
  }
  return out;
}

// Where lb departs from haproxy on purpose; every other case must match line for line.
const std::map<std::string, std::string>& deliberate_differences() {
  static const std::map<std::string, std::string> kDiffs{
      {"server_bad_address", "haproxy resolves server names while parsing; lb -c resolves them in lb/main (edge)"},
      {"option_httpchk_bad_version_crlf", "headers hidden in the httpchk version are deprecated; lb rejects them"},
      {"missing_file", "opening the file is lb/main's job, not the parser's"},
      {"use_backend_nosuch", "lb rejects conditional use_backend rules (no ACLs yet) before checking the name"},
      {"stats_page_refresh_missing", "haproxy prints a NUL where the character should be and loses the rest of its "
                                     "line; lb prints the message whole"},
      {"dns_nameserver_in_backend", "lb's did-you-mean hints use edit distance; haproxy's word fingerprints find 'server'"},
  };
  static const std::map<std::string, std::string> kAll = [] {
    auto all = kDiffs;
    // Like server_bad_address: haproxy resolves server addresses after parsing; lb -c does it in
    // its edge resolver (lb_check_test holds the binary to haproxy's line for the first three),
    // and refuses the last two, which are not even names, while parsing.
    for (const auto* n : {"addr_server_ipv4_with_ipv6", "addr_server_ipv6_with_ipv4", "addr_server_tcp4_with_ipv6",
                          "addr_server_unknown_prefix", "addr_server_uppercase_prefix"})
      all.emplace(n, "haproxy resolves server addresses after parsing; lb -c in its edge resolver");
    const std::string tcp_dns = "lb's resolvers speak UDP only; it refuses tcp@ nameservers by name";
    for (const auto* n : {"dns_ns_tcp", "dns_ns_tcp_extra_arg", "dns_ns_tcp_hostname", "dns_ns_tcp_server_kw"}) all.emplace(n, tcp_dns);
    all.emplace("addr_server_port_offset", "lb has no port mapping: it refuses server port offsets (+N/-N) by name");
    return all;
  }();
  return kAll;
}

void PrintTo(const HaproxyVerdict& v, std::ostream* os) { *os << v.name; }

class ConfigVsHaproxy : public ::testing::TestWithParam<HaproxyVerdict> {};

TEST_P(ConfigVsHaproxy, SameVerdictAndMessages) {
  const auto& v = GetParam();
  const auto cfg = test::source_path("tests/data/haproxy26/config_cases/" + v.name + ".cfg");
  // The machine the verdicts were captured on: its /etc/resolv.conf (parse-resolv-conf) named
  // one nameserver; its libc resolved "localhost" and no other name of the cases.
  // Its descriptors were haproxy -c's: 0-2 the terminal, 3 the file being read, the rest closed,
  // which is what an unset ParseEnvironment::inherited_socket models.
  ParseEnvironment env;
  env.resolv_conf = "nameserver 10.255.255.53\n";
  // Its environment (capture_scripts/cfgcheck_env.py), besides PATH.
  env.variables = {{"LBH_ADDR", "127.0.0.1:20081"},
                   {"LBH_SRV", "127.0.0.1:21002"},
                   {"LBH_OPTS", "check inter 2s"},
                   {"LBH_SPACED", "  check  fall 2 "},
                   {"LBH_EMPTY", ""}};
  const auto report = check_report(parse_config(test::read_file(cfg), "site.cfg", env), "site.cfg");
  EXPECT_EQ(report.exit_code, v.exit_code == 0 ? 0 : 2);
  // Valid files and files with nothing to run print HAProxy's exact verdict on stdout; lb may add
  // "Warnings were found." for warnings of its own.
  if (v.exit_code != 1) {
    std::string lb_out = report.stdout_text, ha_out = v.stdout_text;
    for (auto* out : {&lb_out, &ha_out})
      if (out->starts_with("Warnings were found.\n")) out->erase(0, 21);
    EXPECT_EQ(lb_out, ha_out);
  } else {
    EXPECT_EQ(report.stdout_text, "");
  }
  std::vector<std::string> lb_alerts, lb_warnings;
  for (const auto& l : report.stderr_lines) (l.level == "ALERT" ? lb_alerts : lb_warnings).push_back(l.text);
  const auto& ha_alerts = v.alerts;
  const auto& ha_warnings = v.warnings;
  EXPECT_EQ(lb_alerts, ha_alerts);
  // lb may add warnings of its own (a keyword it ignores, a loose value it reads as HAProxy does).
  for (const auto& w : ha_warnings) EXPECT_THAT(lb_warnings, ::testing::Contains(w));
  for (const auto& w : lb_warnings) {
    if (std::find(ha_warnings.begin(), ha_warnings.end(), w) == ha_warnings.end()) {
      EXPECT_TRUE(lb_own_warning(w)) << w;
    }
  }
}

std::vector<HaproxyVerdict> compared_cases() {
  std::vector<HaproxyVerdict> out;
  for (auto& v : load_verdicts())
    if (!deliberate_differences().contains(v.name)) out.push_back(std::move(v));
  return out;
}

INSTANTIATE_TEST_SUITE_P(Haproxy26, ConfigVsHaproxy, ::testing::ValuesIn(compared_cases()),
                         [](const auto& info) {
                           std::string name;
                           for (const char c : info.param.name) name += std::isalnum(static_cast<unsigned char>(c)) ? c : 'X';
                           return name;
                         });

// At least 60 malformed configurations (rejected, or accepted with warnings) among them.
TEST(ConfigVsHaproxyData, CoversTheCapturedCases) {
  const auto cases = compared_cases();
  const auto malformed = std::count_if(cases.begin(), cases.end(), [](const HaproxyVerdict& v) {
    return v.exit_code != 0 || !v.warnings.empty();
  });
  EXPECT_GE(cases.size(), 400u);
  EXPECT_GE(malformed, 60);
}

}  // namespace
}  // namespace lb::core
