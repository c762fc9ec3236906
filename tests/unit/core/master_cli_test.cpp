// The master CLI (lb/core/api/master_cli): what the master acts on itself, what it passes on to
// which process, with which level lines, and the texts of its own commands, as HAProxy 2.6.12's
// master printed them (captured with `haproxy -W -S`; the live comparison is
// lb_master_cli_test's).
#include "lb/core/api/master_cli.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "lb/core/stats/info.hpp"

namespace lb::core::mcli {
namespace {

using Kind = Session::Step::Kind;
using ::testing::HasSubstr;

Processes two_workers() {
  Processes p;
  p.master_pid = 100;
  p.reloads = 1;
  p.started = 1000;
  p.workers = {{101, 1, 1000, true}, {102, 0, 1003, false}};
  return p;
}

TEST(MasterCliProc, ShowProcListsTheMasterTheWorkersAndTheOldWorkersInHaproxysColumns) {
  const auto v = std::string(stats::kVersion);
  auto pad = [](std::string s) { return s + std::string(s.size() < 15 ? 15 - s.size() : 0, ' '); };
  const std::string want = "#<PID>          <type>          <reloads>       <uptime>        <version>      \n" +
                           pad("100") + " " + pad("master") + " " + pad("1 [failed: 0]") + " " + pad("0d00h01m05s") +
                           " " + pad(v) + "\n# workers\n" + pad("102") + " " + pad("worker") + " " + pad("0") + " " +
                           pad("0d00h01m02s") + " " + pad(v) + "\n# old workers\n" + pad("101") + " " + pad("worker") +
                           " " + pad("1") + " " + pad("0d00h01m05s") + " " + pad(v) + "\n# programs\n";
  EXPECT_EQ(show_proc(two_workers(), 1065), want);
  auto one = two_workers();
  one.workers.erase(one.workers.begin());
  EXPECT_THAT(show_proc(one, 1065), ::testing::Not(HasSubstr("# old workers")));
  EXPECT_THAT(show_proc(one, 1000 + 90061), HasSubstr("master          1 [failed: 0]   1d01h01m01s"));
}

TEST(MasterCliProc, PrefixesNameTheMasterTheCurrentWorkerOrAPid) {
  const auto p = two_workers();
  EXPECT_EQ(prefix_to_pid("@", p), 0);
  EXPECT_EQ(prefix_to_pid("@master", p), 0);
  EXPECT_EQ(prefix_to_pid("@0", p), 0);
  EXPECT_EQ(prefix_to_pid("@1", p), 102);  // the worker without reloads
  EXPECT_EQ(prefix_to_pid("@!101", p), 101);
  EXPECT_EQ(prefix_to_pid("@!103", p), -1);
  for (const auto* bad : {"@2", "@-1", "@1x", "@!", "@!10x", "@Master"}) EXPECT_EQ(prefix_to_pid(bad, p), -1) << bad;
  auto old_only = p;
  old_only.workers.pop_back();
  EXPECT_EQ(prefix_to_pid("@1", old_only), 101);  // else the one with the fewest reloads
}

TEST(MasterCliSession, EachCommandGoesAloneToItsTargetAndTheSessionWaitsForWholeLines) {
  const auto p = two_workers();
  Session s(cli::Level::Admin);
  s.feed("show proc; @1 show info\n@!101 show");
  auto step = s.next(p);
  EXPECT_EQ(step.kind, Kind::Forward);
  EXPECT_EQ(step.target, 0);
  EXPECT_EQ(step.request, "show proc\n");
  step = s.next(p);
  EXPECT_EQ(step.target, 102);
  EXPECT_EQ(step.request, "show info\n");
  EXPECT_EQ(s.next(p).kind, Kind::NeedMore);
  s.feed(" stat\n");
  step = s.next(p);
  EXPECT_EQ(step.target, 101);
  EXPECT_EQ(step.request, "show stat\n");
  s.feed("\n");  // an empty line goes to the master's CLI, which answers with its usage
  step = s.next(p);
  EXPECT_EQ(step.request, "\n");
}

TEST(MasterCliSession, APrefixAloneSetsTheTargetAndThePromptNamesIt) {
  auto p = two_workers();
  Session s(cli::Level::Admin);
  s.feed("prompt\n@1\nshow version\n@master\n");
  auto step = s.next(p);
  EXPECT_EQ(step.text, "master> 102> ");
  EXPECT_EQ(step.target, 102);
  EXPECT_EQ(s.after_answer(p), "102> ");
  step = s.next(p);
  EXPECT_EQ(step.kind, Kind::NeedMore);
  EXPECT_EQ(step.text, "master> ");
  p.failed_reloads = 1;
  EXPECT_EQ(s.after_answer(p), "master[ReloadFailed]> ");
  s.feed("expert-mode on\nexperimental-mode on\nmcli-debug-mode on\n");
  EXPECT_EQ(s.next(p).text, "master[ReloadFailed](e)> master[ReloadFailed](xe)> master[ReloadFailed](xed)> ");
}

TEST(MasterCliSession, TheLevelAndModesGoInFrontOfEveryCommandPassedOn) {
  const auto p = two_workers();
  Session s(cli::Level::Admin);
  s.feed("expert-mode on\nmcli-debug-mode on\noperator\n@1 show stat\nshow proc\n");
  auto step = s.next(p);
  EXPECT_EQ(step.request, "operator -\nexpert-mode on -\nshow stat\n");
  step = s.next(p);
  EXPECT_EQ(step.request, "operator -\nexpert-mode on -\nmcli-debug-mode on -\nshow proc\n");
  // Lower again is allowed; the modes need admin: the master answers and closes.
  s.feed("user\nexpert-mode on\n");
  step = s.next(p);
  EXPECT_EQ(step.kind, Kind::ReplyAndClose);
  EXPECT_EQ(step.text, "Permission denied!\n");
}

TEST(MasterCliSession, UnknownPrefixesDeadTargetsAndQuitEndTheConnection) {
  auto p = two_workers();
  Session s(cli::Level::Admin);
  s.feed("@2 show info\n");
  auto step = s.next(p);
  EXPECT_EQ(step.kind, Kind::ReplyAndClose);
  EXPECT_EQ(step.text, "Can't find the target PID matching the prefix '@2'\n");

  Session t(cli::Level::Admin);
  t.feed("@!101\n");
  EXPECT_EQ(t.next(p).kind, Kind::NeedMore);
  p.workers.erase(p.workers.begin());  // it exits after being chosen
  t.feed("show info\n");
  step = t.next(p);
  EXPECT_EQ(step.kind, Kind::ReplyAndClose);
  EXPECT_EQ(step.text, "Can't connect to the target CLI!\n");

  Session q(cli::Level::Admin);
  q.feed("quit\nshow proc\n");
  step = q.next(p);
  EXPECT_EQ(step.kind, Kind::ReplyAndClose);
  EXPECT_EQ(step.text, "");
  Session r(cli::Level::Admin);
  r.feed("prompt\nquit\n");
  EXPECT_EQ(r.next(p).text, "master> master> ");  // quit's prompt too, then the end
}

TEST(MasterCliSession, EscapesAreKeptAndALineTooLongForTheBufferGetsTheHelp) {
  const auto p = two_workers();
  Session s(cli::Level::Admin);
  s.feed("@1 set server be/s\\;1 state drain\n");
  EXPECT_EQ(s.next(p).request, "set server be/s\\;1 state drain\n");
  s.feed(std::string(cli::kMaxRequest + 10, 'x'));
  const auto step = s.next(p);
  EXPECT_EQ(step.target, 0);
  EXPECT_EQ(step.request, "help\n");
}

TEST(MasterCliCommands, TheMastersOwnCommandsAnswerAsHaproxysMaster) {
  const auto p = two_workers();
  EXPECT_EQ(master_command("show proc\n", p, 1065).text, show_proc(p, 1065) + "\n");
  EXPECT_EQ(master_command("show version\n", p, 0).text, std::string(stats::kVersion) + "\n\n");
  EXPECT_EQ(master_command("show cli level\n", p, 0).text, "admin\n\n");
  EXPECT_EQ(master_command("operator -\nshow cli level\n", p, 0).text, "operator\n\n");
  EXPECT_EQ(master_command("show cli sockets\n", p, 0).text, "\n");
  const auto reload = master_command("reload\n", p, 0);
  EXPECT_TRUE(reload.reload);
  EXPECT_EQ(reload.text, "");
  const auto refused = master_command("user -\nreload\n", p, 0);  // operator at least, as cli_parse_reload
  EXPECT_FALSE(refused.reload);
  EXPECT_EQ(refused.text, "Permission denied\n\n");
  EXPECT_EQ(master_command("help show\n", p, 0).text,
            "The following commands are valid at this level:\n"
            "  show cli level                          : display the level of the current CLI session\n"
            "  show cli sockets                        : dump list of cli sockets\n"
            "  show proc                               : show processes status\n"
            "  show version                            : show version of the current process\n"
            "  help [<command>]                        : list matching or all commands\n"
            "  prompt                                  : toggle interactive mode with prompt\n"
            "  quit                                    : disconnect\n\n");
  EXPECT_EQ(master_command("bogus\n", p, 0).text,
            "Unknown command, but maybe one of the following ones is a better match:\n"
            "  @!<pid>                                 : send a command to the <pid> process\n"
            "  @master                                 : send a command to the master process\n"
            "  operator                                : lower the level of the current CLI session to operator\n"
            "  reload                                  : reload haproxy\n"
            "  user                                    : lower the level of the current CLI session to user\n"
            "  help [<command>]                        : list matching or all commands\n"
            "  prompt                                  : toggle interactive mode with prompt\n"
            "  quit                                    : disconnect\n\n");
  EXPECT_THAT(master_command("\n", p, 0).text,
              ::testing::StartsWith("Unknown command. Please enter one of the following commands only:\n"
                                    "  @!<pid>                                 : send a command to the <pid> process\n"
                                    "  @<relative pid>                         : send a command to the <relative pid> process\n"));
  // A worker command is unknown here.
  EXPECT_THAT(master_command("show stat\n", p, 0).text, ::testing::StartsWith("Unknown command, but maybe"));
}

TEST(MasterCliSession, APayloadGoesOnWithItsCommandUpToItsEmptyLine) {
  const auto p = two_workers();
  Session s(cli::Level::Admin);
  s.feed("prompt\noperator\n@1 add map m <<\nk v; x\r\n\r\n");
  auto step = s.next(p);
  EXPECT_EQ(step.kind, Kind::NeedMore);  // the master ends a payload at "\n" alone
  EXPECT_EQ(step.text, "master> master> + + + ");
  s.feed("\nshow proc\n");
  step = s.next(p);
  EXPECT_EQ(step.kind, Kind::Forward);
  EXPECT_EQ(step.target, 102);
  EXPECT_EQ(step.request, "operator -\nadd map m <<\nk v; x\r\n\r\n\n");
  step = s.next(p);
  EXPECT_EQ(step.target, 0);
  EXPECT_EQ(step.request, "operator -\nshow proc\n");
}

TEST(MasterCliSession, OnlyALineWhoseFirstMarkerEndsItStartsAPayload) {
  const auto p = two_workers();
  Session s(cli::Level::Admin);
  s.feed("@1 a << b <<\nshow proc\n@1 c <<\r\n");
  EXPECT_EQ(s.next(p).request, "a << b <<\n");
  EXPECT_EQ(s.next(p).request, "show proc\n");
  EXPECT_EQ(s.next(p).request, "c <<\r\n");
}

TEST(MasterCliSession, AMastersOwnCommandRunsWithItsPayload) {
  const auto p = two_workers();
  EXPECT_EQ(master_command("show cli level <<\nx\n\n", p, 1010).text, "admin\n\n");
}

}  // namespace
}  // namespace lb::core::mcli
