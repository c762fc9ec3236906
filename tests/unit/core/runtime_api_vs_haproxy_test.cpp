// The Runtime API replayed against haproxy 2.6.12's own answers (tests/data/haproxy26/runtime_api,
// captured by capture_scripts/runtime_api.py): each group of cases runs in order on one simulated
// lb, with the same configuration, and every answer must be byte for byte haproxy's, every state
// line the command caused too. Only the seconds-since-last-change column is masked (the capture's
// wall-clock pauses are not the simulator's).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <sstream>

#include "lb/core/api/runtime_api.hpp"
#include "lb/core/config/parser.hpp"
#include "lb/core/sim/sim_prober.hpp"
#include "tests/support/temp_file.hpp"

namespace lb::core {
namespace {

struct Case {
  std::string name, group, run, level, mode, command, output_file;
  double wait_s = 0;
  std::vector<std::string> lines;  // the state lines it logged (stderr, prefix removed)
};

std::string unescape(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out += s[i];
      continue;
    }
    const char c = s[++i];
    out += c == 'n' ? '\n' : c == 'r' ? '\r' : c == 't' ? '\t' : c;
  }
  return out;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) out.push_back(cur);
  if (!s.empty() && s.back() == sep) out.emplace_back();
  return out;
}

std::vector<Case> load_cases() {
  const auto text = test::read_file(test::source_path("tests/data/haproxy26/runtime_api/cases.tsv"));
  std::vector<Case> cases;
  std::istringstream in(text);
  std::string row;
  std::getline(in, row);  // header
  while (std::getline(in, row)) {
    const auto f = split(row, '\t');
    if (f.size() < 14) continue;
    Case c{f[0], f[1], f[2], f[3], f[6], unescape(f[7]), f[8], std::stod(f[11]), {}};
    for (auto line : split(f[13], '|')) {
      while (!line.empty() && line.front() == ' ') line.erase(0, 1);
      while (!line.empty() && line.back() == ' ') line.pop_back();
      const auto colon = line.find(") : ");
      if (colon != std::string::npos) c.lines.push_back(line.substr(colon + 4));
    }
    cases.push_back(std::move(c));
  }
  return cases;
}

// `show servers state` rows: the 10th column counts wall-clock seconds. `show servers conn` ends
// with one idle count per thread: haproxy ran two here, lb runs one.
std::string masked(const std::string& answer) {
  std::istringstream in(answer);
  std::string line, out;
  while (std::getline(in, line)) {
    auto words = split(line, ' ');
    if (words.size() == 25 && words[0] != "#") words[9] = "T";
    if (line.starts_with("# bkname/svname")) words.back() = "idle_per_thr[threads]";
    if (words.size() > 13 && words[1].find('/') != std::string::npos && words[4] == "-") words.resize(13);
    // `show stat` rows: seconds (lastchg, downtime), the check's duration, and the h1 counters the
    // checks move on a backend (lb counts no mux traffic) are the capture's own.
    if (auto fields = split(line, ','); fields.size() == 129 && line[0] != '#') {
      for (const std::size_t i : {23, 24, 38, 122, 123, 124, 125})
        if (!fields[i].empty()) fields[i] = "*";
      std::string joined;
      for (std::size_t i = 0; i < fields.size(); ++i) joined += (i ? "," : "") + fields[i];
      words = {joined};
    }
    // The same fields in the typed and JSON forms, which number the fields after the CSV's "-"
    // one lower.
    static const std::regex kTyped(R"(^([FBS]\.[0-9]+\.[0-9]+\.)(23|24|38|121|122|123|124)(\..*:)[^:]*$)");
    static const std::regex kJson(
        R"re(("pos":(23|24|38|121|122|123|124),"name":"[^"]*"\},"processNum":1,"tags":\{[^}]*\},"value":\{"type":"[a-z0-9]+","value":)[^}]*)re");
    if (std::regex_match(line, kTyped)) words = {std::regex_replace(line, kTyped, "$1$2$3*")};
    if (line.starts_with("[[")) words = {std::regex_replace(line, kJson, "$1*")};
    for (std::size_t i = 0; i < words.size(); ++i) out += (i ? " " : "") + words[i];
    out += '\n';
  }
  if (!answer.empty() && answer.back() != '\n' && !out.empty()) out.pop_back();
  return out;
}

// The lines a command causes by itself (check results come on their own schedule).
bool caused_by_check(const std::string& line) { return line.find(", reason: ") != std::string::npos; }

class ApiWorld {
 public:
  explicit ApiWorld(bool s2_down) {
    const auto path = test::source_path("tests/data/haproxy26/runtime_api/haproxy.cfg");
    auto parsed = parse_config(test::read_file(path), "haproxy.cfg");
    for (const auto& d : parsed.diagnostics)
      if (d.level == Diagnostic::Level::Alert) ADD_FAILURE() << format_diagnostic(d);
    config_ = parsed.config;
    for (const int port : {42101, 42102, 42103})
      prober_.set({"127.0.0.1", static_cast<std::uint16_t>(port)},
                  s2_down && port == 42102 ? SimBehavior::refuse() : SimBehavior::http(200, "OK"));
    backends_ = std::make_unique<Backends>(config_);
    engine_ = std::make_unique<CheckEngine>(config_, sched_, prober_, [this](const HealthEvent& e) {
      backends_->follow(e, *engine_);
      if (e.line && e.kind != HealthEvent::Kind::CheckFinished) lines_.push_back(e.line->stderr_text.empty() ? e.line->text : e.line->stderr_text);
    });
    // The process's maxconn as haproxy derived it from its 20000 descriptors with its two threads
    // (lb, one thread, would keep a few descriptors more for connections).
    api_ = std::make_unique<RuntimeApi>(config_, *engine_, *backends_, sched_, 9983);
    engine_->start();
    sched_.advance(Ms{900});  // the capture's first command came ~0.9 s after start
  }

  struct Result {
    std::string answer;
    std::vector<std::string> lines;
  };
  Result play(const Case& c) {
    const auto level = c.level == "user" ? cli::Level::User : c.level == "operator" ? cli::Level::Operator : cli::Level::Admin;
    cli::Connection conn(level, api_->handler());
    const std::size_t before = lines_.size();
    Result r;
    if (c.mode == "interactive") {
      // The capture typed these one line at a time, each after the previous answer.
      std::size_t from = 0;
      while (from < c.command.size() && !conn.done()) {
        const auto lf = c.command.find('\n', from);
        const auto to = lf == std::string::npos ? c.command.size() : lf + 1;
        r.answer += conn.feed(std::string_view(c.command).substr(from, to - from));
        from = to;
      }
    } else {
      r.answer = conn.feed(c.command);
    }
    for (std::size_t i = before; i < lines_.size(); ++i)
      if (!caused_by_check(lines_[i])) r.lines.push_back(lines_[i]);
    sched_.advance(Ms{static_cast<long>(c.wait_s * 1000)});
    return r;
  }

 private:
  SimScheduler sched_;
  SimProber prober_{sched_};
  Config config_;
  std::unique_ptr<Backends> backends_;
  std::unique_ptr<CheckEngine> engine_;
  std::unique_ptr<RuntimeApi> api_;
  std::vector<std::string> lines_;
};

// `show info` says what lb is (stats_info_test). The dump taken while haproxy's first checks were
// still running (a race the capture lost on purpose) is not replayed.
bool replayed(const Case& c) { return !c.command.starts_with("show info") && c.name != "03_show_stat_at_startup"; }

TEST(RuntimeApiVsHaproxy, EveryCapturedAnswerAndStateLineIsHaproxys) {
  const auto cases = load_cases();
  ASSERT_GT(cases.size(), 100u);
  std::map<std::string, std::vector<const Case*>> groups;
  for (const auto& c : cases) groups[c.group].push_back(&c);
  int played = 0;
  for (const auto& [group, list] : groups) {
    ApiWorld world(list.front()->run == "s2down");
    for (const Case* c : list) {
      if (!replayed(*c)) continue;
      const auto expected =
          test::read_file(test::source_path("tests/data/haproxy26/runtime_api/" + c->output_file));
      const auto got = world.play(*c);
      EXPECT_EQ(masked(got.answer), masked(expected)) << c->name << ": " << c->command;
      std::vector<std::string> want;
      for (const auto& l : c->lines)
        if (!caused_by_check(l)) want.push_back(l);
      EXPECT_EQ(got.lines, want) << c->name;
      ++played;
    }
  }
  EXPECT_GT(played, 100);
}

}  // namespace
}  // namespace lb::core
