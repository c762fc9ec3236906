// The check engine replays the scenarios captured from real HAProxy 2.6.12
// (tests/data/haproxy26/log_scenarios/*.cfg, backends as in capture_scripts/scen.py) on simulated
// time and must log the same lines, in the same order, as HAProxy logged to its raw log target
// (tests/data/haproxy26/log_lines.tsv). Check durations may differ by a few milliseconds: the
// captures ran on a real clock with Python backends.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <set>
#include <map>
#include <regex>
#include <sstream>

#include "lb/core/check/check_engine.hpp"
#include "lb/core/config/parser.hpp"
#include "lb/core/log/syslog.hpp"
#include "lb/core/sim/sim_prober.hpp"
#include "tests/support/temp_file.hpp"

namespace lb::core {
namespace {

// -------------------------------------------------------------------- backends of scen.py
using Backend = std::function<SimBehavior()>;

SimBehavior http_answer(std::string status_line, std::string body = "", std::string headers = "") {
  SimBehavior b;
  if (headers.empty()) headers = "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n";
  b.answer = status_line + "\r\n" + headers + "\r\n" + body;
  b.then_delay = Ms{50};
  return b;
}
SimBehavior ok() { return http_answer("HTTP/1.1 200 OK", "ok\n"); }
SimBehavior found() { return http_answer("HTTP/1.1 302 Found", "", "Location: /x\r\nContent-Length: 0\r\n"); }
SimBehavior silent() { return SimBehavior::hang(); }
SimBehavior raw_then_close(std::string bytes) {
  SimBehavior b;
  b.answer = std::move(bytes);
  b.then_delay = Ms{50};
  return b;
}
SimBehavior raw_then_hold(std::string bytes) {
  SimBehavior b;
  b.answer_on_connect = true;
  b.answer = std::move(bytes);
  b.then = SimBehavior::Then::Hold;
  return b;
}
SimBehavior pong() { return raw_then_close("PONG\r\n"); }
SimBehavior empty() { return SimBehavior::reset(); }  // closed unread: the kernel resets
SimBehavior rst() {
  SimBehavior b;
  b.answer_on_connect = true;
  b.answer_delay = Ms{21};
  b.then = SimBehavior::Then::Reset;
  return b;
}

struct Scenario {
  std::string name;
  long duration_ms;
  // Behaviour of each backend port as a function of the simulated time (ms); ports not listed refuse.
  std::map<int, std::function<SimBehavior(long now)>> backends;
};

std::function<SimBehavior(long)> always(SimBehavior b) {
  return [b](long) { return b; };
}
std::function<SimBehavior(long)> from(long start_ms, SimBehavior b) {
  return [=](long now) { return now >= start_ms ? b : SimBehavior::refuse(); };
}
std::function<SimBehavior(long)> until(long stop_ms, SimBehavior b) {
  return [=](long now) { return now < stop_ms ? b : SimBehavior::refuse(); };
}
std::function<SimBehavior(long)> schedule(std::vector<std::pair<long, SimBehavior>> steps) {
  return [steps](long now) {
    SimBehavior current = SimBehavior::refuse();
    for (const auto& [at, b] : steps)
      if (now >= at) current = b;
    return current;
  };
}

std::map<int, std::function<SimBehavior(long)>> ok23() { return {{21002, always(ok())}, {21003, always(ok())}}; }
std::map<int, std::function<SimBehavior(long)>> ok23p() { return {{21002, always(pong())}, {21003, always(pong())}}; }
template <class M>
M with(M base, int port, std::function<SimBehavior(long)> b) {
  base[port] = std::move(b);
  return base;
}

std::vector<Scenario> scenarios() {
  const auto e500 = http_answer("HTTP/1.1 500 Internal Server Error", "err\n");
  const auto e404 = http_answer("HTTP/1.1 404 Not Found");
  return {
      {"refused_plain", 2000, ok23()},
      {"refused_httpchk", 2000, ok23()},
      {"refused_tcpcheck_implicit", 2000, ok23()},
      {"refused_tcpcheck_explicit_connect", 2000, ok23()},
      {"plain_down_then_up", 4000, with(ok23(), 21001, from(1200, silent()))},
      {"httpchk_500", 2000, with(ok23(), 21001, always(e500))},
      {"httpchk_503_noreason", 2000, with(ok23(), 21001, always(http_answer("HTTP/1.1 503")))},
      {"httpchk_404", 2000, with(ok23(), 21001, always(e404))},
      {"httpchk_302_passes_then_up", 4000, with(ok23(), 21001, from(1200, found()))},
      {"httpchk_302_from_start_no_line", 2000, with(ok23(), 21001, always(found()))},
      {"httpchk_500_then_200", 5000, with(ok23(), 21001, schedule({{0, e500}, {1500, ok()}}))},
      {"silent_httpchk_tcheck2s_inter1s", 4000, with(ok23(), 21001, always(silent()))},
      {"silent_httpchk_no_tcheck_inter1500", 4000, with(ok23(), 21001, always(silent()))},
      {"silent_plain_passes_no_line", 2000, with(ok23(), 21001, always(silent()))},
      {"syn_drop_plain_inter1s_tconn5s_tcheck2s", 4000, with(ok23(), 21001, always(SimBehavior::blackhole()))},
      {"syn_drop_httpchk_inter1s_tconn5s_tcheck2s", 4000, with(ok23(), 21001, always(SimBehavior::blackhole()))},
      {"syn_drop_plain_inter1s_tconn5s_no_tcheck", 4000, with(ok23(), 21001, always(SimBehavior::blackhole()))},
      {"syn_drop_plain_inter3s_tconn1500ms_tcheck2s", 4000, with(ok23(), 21001, always(SimBehavior::blackhole()))},
      {"syn_drop_plain_inter3s_tconn1500ms_no_tcheck", 5000, with(ok23(), 21001, always(SimBehavior::blackhole()))},
      {"garbage_httpchk", 2000, with(ok23(), 21001, always(raw_then_close("xyz\r\n")))},
      {"empty_httpchk", 2000, with(ok23(), 21001, always(empty()))},
      {"rst_after_accept_httpchk", 2000, with(ok23(), 21001, always(rst()))},
      {"rst_after_read_httpchk", 2000, with(ok23(), 21001, always(SimBehavior::reset()))},
      {"rst_after_accept_plain", 2000, with(ok23(), 21001, always(rst()))},
      {"rst_after_accept_tcpcheck_expect", 2000, with(ok23p(), 21001, always(rst()))},
      {"last_server_down_backend", 2000, {}},
      {"last_server_down_listen", 2000, {}},
      {"last_two_servers_down_backend", 2000, {}},
      {"backup_running_on_backup", 2000, {{21011, always(ok())}}},
      {"backup_down_while_active_up", 2000, {{21002, always(ok())}}},
      {"backup_then_backup_down_then_up", 6000, {{21011, until(2000, silent())}, {21001, from(4000, silent())}}},
      {"log_health_checks_transitions", 7000, with(ok23(), 21001, schedule({{0, ok()}, {1500, e404}, {3500, ok()}}))},
      {"log_health_checks_refused_then_up_rise3_fall3", 6000, with(ok23(), 21001, from(2500, silent()))},
      {"log_health_checks_backup", 3000, {{21011, from(1000, ok())}}},
      {"tcpcheck_send_expect_timeout", 4000, with(ok23p(), 21001, always(raw_then_hold("hello\r\n")))},
      {"tcpcheck_send_expect_wrong_then_close", 2000, with(ok23p(), 21001, always(raw_then_close("hello\r\n")))},
      {"tcpcheck_send_expect_pass_then_up", 4000, with(ok23p(), 21001, from(1200, pong()))},
      {"tcpcheck_explicit_connect_up", 4000, with(ok23p(), 21001, from(1200, silent()))},
      {"tcpcheck_implicit_connect_up", 4000, with(ok23p(), 21001, from(1200, silent()))},
      {"tcpcheck_expect_not_string", 2000, with(ok23p(), 21001, always(raw_then_close("ERROR\r\n")))},
      {"tcpcheck_expect_rstring_wrong_then_close", 2000, with(ok23p(), 21001, always(raw_then_close("hello\r\n")))},
      {"tcpcheck_two_expects_second_fails", 2000, with(ok23p(), 21001, always(raw_then_close("hello\r\nworld\r\n")))},
      {"http_expect_string_ok_missing", 2000, with(ok23(), 21001, always(http_answer("HTTP/1.1 200 OK", "all bad here\n")))},
      {"http_expect_string_ok_no_body", 2000, with(ok23(), 21001, always(http_answer("HTTP/1.1 200 OK")))},
      {"http_expect_not_string_bad", 2000, with(ok23(), 21001, always(http_answer("HTTP/1.1 200 OK", "this is bad\n")))},
      {"http_expect_not_status_500", 2000, with(ok23(), 21001, always(e500))},
      {"http_expect_rstatus_2_with_302", 2000, with(ok23(), 21001, always(found()))},
      {"http_expect_rstatus_2_with_200_up", 4000, with(ok23(), 21001, from(1200, ok()))},
      {"http_expect_status_200_with_302", 2000, with(ok23(), 21001, always(found()))},
      {"http_reason_with_quote_and_utf8", 2000,
       with(ok23(), 21001, always(http_answer("HTTP/1.1 500 Bad \"thing\" <x> \xc3\xa9")))},
      {"empty_after_read_httpchk", 2000, with(ok23(), 21001, always(raw_then_close("")))},
      {"partial_headers_then_close_httpchk", 2000,
       with(ok23(), 21001, always(raw_then_close("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n")))},
      {"http10_200_no_content_length_close", 2000,
       with(ok23(), 21001, always(raw_then_close("HTTP/1.0 500 Oops\r\n\r\nbody")))},
      {"disable_on_404", 6000, with(ok23(), 21001, schedule({{0, ok()}, {1500, e404}, {3500, ok()}}))},
      {"disable_on_404_then_500", 5000,
       with(ok23(), 21001, schedule({{0, ok()}, {1500, e404}, {3000, http_answer("HTTP/1.1 500 Internal Server Error")}}))},
      {"disable_on_404_from_start_down", 3000, with(ok23(), 21001, always(e404))},
      // The capture's listener closed just after its check at 1.55 s (stop_after counts from the
      // script's start, before haproxy's spawn), so the first refused check is the one at ~2 s.
      {"fall2_from_fully_up_timing", 5000, with(ok23(), 21001, until(1520, ok()))},
      {"fastinter_downinter_timing_lhc", 8000,
       with(ok23(), 21001, schedule({{0, ok()}, {2000, http_answer("HTTP/1.1 500 Internal Server Error")}, {5000, ok()}}))},
      {"going_down_then_recover_lhc", 6000,
       with(ok23(), 21001, schedule({{0, ok()}, {1500, http_answer("HTTP/1.1 500 Internal Server Error")}, {2200, ok()}}))},
      {"weight0_drain_lhc", 2000, with(ok23(), 21001, always(ok()))},
  };
}

// Captured scenarios lb does not replay, each with its reason.
const std::map<std::string, std::string>& not_replayed() {
  static const std::map<std::string, std::string> kWhy{
      {"timeout_check_500ms_inter1s",
       "timeout check < inter: HAProxy fires the timeout late, at run-dependent times (docs/checks.md)"},
      {"timeout_check_500ms_inter3s_quirk", "same quirk as timeout_check_500ms_inter1s"},
  };
  return kWhy;
}

// -------------------------------------------------------------------- captured lines

// One captured line: what HAProxy printed on a channel ("raw" log target or "stderr") and,
// from log_lines_timed.tsv, when (ms since the haproxy process was spawned, ±20 ms).
struct Captured {
  std::string line;
  long at_ms = -1;
};

std::map<std::string, std::vector<Captured>> captured_lines(const std::string& channel) {
  std::map<std::string, std::vector<Captured>> out;
  std::istringstream in(test::read_file(test::source_path("tests/data/haproxy26/log_lines_timed.tsv")));
  std::string row;
  std::getline(in, row);
  while (std::getline(in, row)) {
    const auto a = row.find('\t'), b = row.find('\t', a + 1), c = row.find('\t', b + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    const std::string scenario = row.substr(0, a), ch = row.substr(a + 1, b - a - 1);
    auto& lines = out[scenario];  // a scenario with no line still gets its (empty) entry
    if (ch != channel || c == std::string::npos) continue;
    lines.push_back({row.substr(c + 1), std::lround(std::stod(row.substr(b + 1, c - b - 1)) * 1000)});
  }
  return out;
}

std::map<std::string, std::vector<std::string>> captured_raw_lines() {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& [name, lines] : captured_lines("raw")) {
    auto& l = out[name];
    for (const auto& c : lines) l.push_back(c.line);
  }
  return out;
}

const std::regex kDuration("check duration: ([0-9]+)ms");

std::string without_duration(const std::string& line) {
  return std::regex_replace(line, kDuration, "check duration: Nms");
}

// log_severity.tsv: "<PRI>line" as format short prints it, durations masked.
std::map<std::string, std::vector<std::string>> captured_short_lines() {
  std::map<std::string, std::vector<std::string>> out;
  std::istringstream in(test::read_file(test::source_path("tests/data/haproxy26/log_severity.tsv")));
  std::string row;
  std::getline(in, row);
  while (std::getline(in, row)) {
    const auto a = row.find('\t'), b = row.find('\t', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    out[row.substr(0, a)].push_back(
        without_duration("<" + row.substr(a + 1, b - a - 1) + ">" + row.substr(b + 1)));
  }
  return out;
}
long duration_of(const std::string& line) {
  std::smatch m;
  return std::regex_search(line, m, kDuration) ? std::stol(m[1]) : -1;
}

void PrintTo(const Scenario& s, std::ostream* os) { *os << s.name; }

class EngineVsHaproxy : public ::testing::TestWithParam<Scenario> {};

TEST_P(EngineVsHaproxy, LogsTheSameLinesAsHaproxy) {
  const auto& sc = GetParam();
  const auto all = captured_raw_lines();
  ASSERT_TRUE(all.contains(sc.name)) << "no capture for " << sc.name;
  const auto& expected = all.at(sc.name);

  const auto cfg_text = test::read_file(test::source_path("tests/data/haproxy26/log_scenarios/" + sc.name + ".cfg"));
  const auto parsed = parse_config(cfg_text, sc.name + ".cfg");
  ASSERT_TRUE(parsed.ok());
  SimScheduler sched;
  SimProber prober(sched);
  for (const auto& [port, behaviour] : sc.backends)
    prober.set(ProbeTarget{"127.0.0.1", static_cast<std::uint16_t>(port)},
               [&sched, behaviour](const ProbeTarget&, int) { return behaviour(sched.now().time_since_epoch().count()); });
  std::vector<std::string> logged, foreground, framed_short;
  std::vector<long> logged_at;
  CheckEngine engine(parsed.config, sched, prober, [&](const HealthEvent& e) {
    if (!e.line) return;
    logged.push_back(e.line->text);
    logged_at.push_back(e.at.time_since_epoch().count());
    foreground.push_back(foreground_line(*e.line, 4242));
    const auto framed = frame_log_message(LogTarget{"stdout", "short"}, e.line->severity, e.line->text, {}, SyslogIdentity{});
    EXPECT_TRUE(framed.ends_with('\n'));
    framed_short.push_back(framed.substr(0, framed.size() - 1));
  });
  engine.start();
  sched.run_until(TimePoint{Ms{sc.duration_ms}});

  std::vector<std::string> got_text, want_text;
  for (const auto& l : logged) got_text.push_back(without_duration(l));
  for (const auto& l : expected) want_text.push_back(without_duration(l));
  ASSERT_EQ(got_text, want_text);
  for (std::size_t i = 0; i < logged.size(); ++i)
    EXPECT_NEAR(duration_of(logged[i]), duration_of(expected[i]), 3) << logged[i];

  // The foreground copies on stderr, byte for byte but the pid and the durations.
  std::vector<std::string> want_stderr, got_stderr;
  const auto stderr_captures = captured_lines("stderr");
  for (const auto& c : stderr_captures.at(sc.name))
    want_stderr.push_back(without_duration(std::regex_replace(c.line, std::regex("\\(PID\\)"), "(4242)")));
  for (const auto& l : foreground) got_stderr.push_back(without_duration(l));
  EXPECT_EQ(got_stderr, want_stderr);

  // Severities, as `log stdout format short` showed them (log_severity.tsv, where captured).
  if (const auto sev = captured_short_lines(); sev.contains(sc.name)) {
    std::vector<std::string> got_short;
    for (const auto& l : framed_short) got_short.push_back(without_duration(l));
    EXPECT_EQ(got_short, sev.at(sc.name));
  }

  // When: each line at the captured instant, give or take HAProxy's start-up (the captures count
  // from the spawn, the simulation from the first instant) and the capture's 10 ms resolution.
  const auto timed = captured_lines("raw").at(sc.name);
  ASSERT_EQ(timed.size(), logged_at.size());
  if (timed.empty()) return;
  long lo = timed[0].at_ms - logged_at[0], hi = lo;
  for (std::size_t i = 0; i < timed.size(); ++i) {
    const long d = timed[i].at_ms - logged_at[i];
    lo = std::min(lo, d);
    hi = std::max(hi, d);
  }
  EXPECT_GE(lo, -30) << "a line came later in lb than in haproxy";
  EXPECT_LE(hi - lo, 60) << "the lines are not spaced as haproxy spaced them";
}

INSTANTIATE_TEST_SUITE_P(Haproxy26, EngineVsHaproxy, ::testing::ValuesIn(scenarios()), [](const auto& info) {
  std::string name;
  for (const char c : info.param.name) name += std::isalnum(static_cast<unsigned char>(c)) ? c : 'X';
  return name;
});

}  // namespace
}  // namespace lb::core

namespace lb::core {
namespace {

TEST(EngineVsHaproxyData, EveryScenarioHasACaptureAndMostLogSomething) {
  const auto all = captured_raw_lines();
  std::size_t lines = 0;
  for (const auto& sc : scenarios()) {
    ASSERT_TRUE(all.contains(sc.name)) << sc.name;
    lines += all.at(sc.name).size();
  }
  EXPECT_GE(lines, 100u);
}

TEST(EngineVsHaproxyData, EveryCapturedScenarioIsReplayedOrExplained) {
  std::set<std::string> replayed;
  for (const auto& sc : scenarios()) replayed.insert(sc.name);
  for (const auto& entry : std::filesystem::directory_iterator(test::source_path("tests/data/haproxy26/log_scenarios"))) {
    const auto name = entry.path().stem().string();
    EXPECT_TRUE(replayed.contains(name) || not_replayed().contains(name)) << name << " is neither replayed nor explained";
  }
}

}  // namespace
}  // namespace lb::core

namespace lb::core {
namespace {

// check_timeout_grid.tsv: the duration haproxy reported for a silent HTTP server. Rows where
// `timeout check` is shorter than `inter` are haproxy's run-dependent quirk (docs/checks.md); the
// others must come out at the same deadline (haproxy's own clock adds 0..2 ms).
TEST(EngineVsHaproxyGrid, ASilentServerTimesOutWhenHaproxysDid) {
  std::istringstream in(test::read_file(test::source_path("tests/data/haproxy26/check_timeout_grid.tsv")));
  std::string row;
  std::getline(in, row);
  int compared = 0;
  while (std::getline(in, row)) {
    std::istringstream cols(row);
    std::string inter, tcheck, tconnect, servers, reported;
    cols >> inter >> tcheck >> tconnect >> servers >> reported;
    if (tcheck != "unset" && std::stol(tcheck) < std::stol(inter)) continue;
    const auto cfg = fmt::format(R"(defaults
    mode http
    timeout connect {}ms
    {}
backend apps
    option httpchk
    server s1 127.0.0.1:21001 check inter {}ms rise 2 fall 2
    server s2 127.0.0.1:21002 check inter {}ms rise 2 fall 2
    server s3 127.0.0.1:21003 check inter {}ms rise 2 fall 2
)",
                                 tconnect, tcheck == "unset" ? "" : "timeout check " + tcheck + "ms", inter, inter, inter);
    const auto parsed = parse_config(cfg, "grid.cfg");
    ASSERT_TRUE(parsed.ok()) << cfg;
    SimScheduler sched;
    SimProber prober(sched);
    prober.set({"127.0.0.1", 21001}, SimBehavior::hang());
    for (const std::uint16_t port : {21002, 21003}) prober.set({"127.0.0.1", port}, SimBehavior::http(200, "OK"));
    std::optional<long> duration;
    CheckEngine engine(parsed.config, sched, prober, [&](const HealthEvent& e) {
      if (e.kind == HealthEvent::Kind::WentDown && !duration) duration = e.result.duration.count();
    });
    engine.start();
    sched.run_until(TimePoint{Ms{20000}});
    ASSERT_TRUE(duration) << row;
    EXPECT_GE(std::stol(reported), *duration) << row;
    EXPECT_LE(std::stol(reported) - *duration, 2) << row;
    ++compared;
  }
  EXPECT_GE(compared, 10);
}

}  // namespace
}  // namespace lb::core
