// Server state across a reload, against haproxy 2.6.12 (tests/data/haproxy26/reload, captured by
// capture_scripts/reload.py): for every `f_*` case, the same configuration and state file give lb
// the warnings and state lines haproxy printed while loading (`haproxy -c` prints them too), and
// the servers' state `show servers state` then showed. The configurations' `%pid` headers (how
// the capture told processes apart) are left out: lb has no such header rules.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <filesystem>
#include <map>
#include <regex>
#include <sstream>

#include "lb/core/api/runtime_api.hpp"
#include "lb/core/config/parser.hpp"
#include "lb/core/sim/sim_prober.hpp"
#include "lb/core/state/server_state.hpp"
#include "tests/support/temp_file.hpp"

namespace lb::core {
namespace {

struct Capture {
  std::string name, config, state;
  bool has_state = false;
  std::vector<std::string> loader_lines;  // "config : ..." warnings of `haproxy -c`
  std::string first_state_dump;           // the first `show servers state` answer
};

// The text of the fenced block after the line `label`.
std::optional<std::string> block(const std::string& text, const std::string& label) {
  const auto at = text.find("\n" + label + "\n```\n");
  if (at == std::string::npos) return std::nullopt;
  const auto begin = at + label.size() + 6;
  const auto end = text.find("\n```", begin);
  return text.substr(begin, end - begin + 1);
}

Capture load(const std::filesystem::path& file) {
  Capture c;
  c.name = file.stem().string();
  const auto text = test::read_file(file);
  std::istringstream cfg(block(text, "haproxy.cfg:").value_or(""));
  for (std::string line; std::getline(cfg, line);)
    if (line.find("%pid") == std::string::npos) c.config += line + "\n";
  // The state file is the first other fenced block: "state:", "apps.state:", "base/state:".
  static const std::regex kLabel("\n([^\n`]+:)\n```\n");
  const auto config_at = text.find("\nhaproxy.cfg:\n");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), kLabel); it != std::sregex_iterator(); ++it) {
    const std::string label = (*it)[1];
    if (label == "haproxy.cfg:") continue;
    if (static_cast<std::size_t>(it->position()) > config_at && label != "state:") break;
    c.state = *block(text, label);
    c.has_state = true;
    break;
  }
  // A markdown fence cannot show a last line without its newline: this case's file has none.
  if (c.name == "f_no_trailing_newline" && c.state.ends_with("\n")) c.state.pop_back();
  std::istringstream in(text);
  int checks = 0;  // a case may run `haproxy -c` on a second file: only the first counts
  for (std::string line; std::getline(in, line);) {
    if (line.find("check:err  [NOTICE]   (PID) : haproxy version is") != std::string::npos && ++checks > 1) break;
    const auto at = line.find("check:err  [WARNING]  (PID) : config : ");
    if (at != std::string::npos) c.loader_lines.push_back(line.substr(at + 39));
  }
  // The first `show servers state apps` the running haproxy answered.
  std::istringstream again(text);
  bool in_dump = false, dumped = false;
  for (std::string line; std::getline(again, line) && !dumped;) {
    if (line.find("cli        > ") != std::string::npos) {
      if (!c.first_state_dump.empty()) break;
      in_dump = line.find("> show servers state apps") != std::string::npos;
      continue;
    }
    if (!in_dump) continue;
    const auto at = line.find("cli        < ");
    if (at == std::string::npos) {
      dumped = true;
      continue;
    }
    c.first_state_dump += line.substr(at + 13) + "\n";
  }
  return c;
}

class Loaded {
 public:
  explicit Loaded(const Capture& c) : capture_(c) {
    auto parsed = parse_config(c.config, "haproxy.cfg");
    ok_ = parsed.ok();
    if (!ok_) return;
    config_ = parsed.config;
    backends_ = std::make_unique<Backends>(config_);
    engine_ = std::make_unique<CheckEngine>(config_, sched_, prober_, [this](const HealthEvent& e) {
      backends_->follow(e, *engine_);
      if (e.line && e.kind != HealthEvent::Kind::CheckFinished) lines_.push_back(e.line->text);
    });
    // Each case has one file (or none): whatever path lb names, as haproxy named it.
    const auto reader = [&](const std::string&) -> StateFileText {
      if (c.has_state) return {c.state, {}};
      return {std::nullopt, "No such file or directory"};
    };
    apply_server_state(config_, reader, *engine_, *backends_, [this](const std::string& w) { lines_.push_back(w); });
  }
  bool ok() const { return ok_; }
  const std::vector<std::string>& lines() const { return lines_; }
  std::string show_servers_state() {
    RuntimeApi api(config_, *engine_, *backends_, sched_);
    cli::Connection conn(cli::Level::Admin, api.handler());
    return conn.feed("show servers state apps\n");
  }

 private:
  const Capture& capture_;
  bool ok_ = false;
  SimScheduler sched_;
  SimProber prober_{sched_};
  Config config_;
  std::unique_ptr<Backends> backends_;
  std::unique_ptr<CheckEngine> engine_;
  std::vector<std::string> lines_;
};

std::vector<Capture> cases() {
  std::vector<Capture> out;
  for (const auto& e : std::filesystem::directory_iterator(test::source_path("tests/data/haproxy26/reload")))
    if (e.path().filename().string().starts_with("f_") && e.path().extension() == ".txt") out.push_back(load(e.path()));
  std::sort(out.begin(), out.end(), [](const Capture& a, const Capture& b) { return a.name < b.name; });
  return out;
}

// srv_name, srv_op_state, srv_admin_state, srv_uweight, srv_iweight, srv_port of each server line.
std::vector<std::string> state_columns(const std::string& dump) {
  std::vector<std::string> out;
  std::istringstream in(dump);
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::vector<std::string> w;
    for (std::string x; words >> x;) w.push_back(x);
    if (w.size() < 19 || w[0] == "#") continue;
    out.push_back(fmt::format("{} {} {} {} {} {}", w[3], w[5], w[6], w[7], w[8], w[18]));
  }
  return out;
}

// Cases whose point lb cannot reproduce here, each with its reason.
const std::map<std::string, std::string> kNotReplayed{
    {"f_doc_local_example", "a configuration haproxy rejects (lb's own verdict is config_vs_haproxy's business)"},
    {"f_fqdn_lastaddr", "a server name that resolves nowhere: haproxy starts on the file's address, lb -c resolves names "
                        "in its edge, before any state is read"},
    {"f_mw_master_prints", "about which process prints, not what"},
};

TEST(ServerStateVsHaproxy, EveryLoaderWarningAndStateLineIsHaproxys) {
  const auto all = cases();
  ASSERT_GT(all.size(), 30u);
  int played = 0;
  for (const auto& c : all) {
    if (kNotReplayed.contains(c.name)) continue;
    Loaded lb(c);
    ASSERT_TRUE(lb.ok()) << c.name << "\n" << c.config;
    // The paths in the capture's warnings are its own; lb was given the same ones.
    EXPECT_EQ(lb.lines(), c.loader_lines) << c.name;
    // What each server then is: state, admin flags, weights, port (the checks that ran before
    // haproxy's dump change none of them: rise and fall are 3 there).
    // (f_stopping_starting: a check passed before the dump and took the stopping server UP.)
    if (!c.first_state_dump.empty() && c.name != "f_stopping_starting") {
      EXPECT_EQ(state_columns(lb.show_servers_state()), state_columns(c.first_state_dump)) << c.name;
    }
    ++played;
  }
  EXPECT_GT(played, 30);
}

}  // namespace
}  // namespace lb::core
