// lb's command line read as haproxy 2.6 reads its own (init() in src/haproxy.c); the binary's
// answers next to haproxy's are lb_command_line_test's.
#include "lb/core/command_line.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace lb::core {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Action = CommandLine::Action;

CommandLine parse(std::vector<std::string> args) { return parse_command_line(args); }

TEST(CommandLine, ReadsHaproxysFlags) {
  const auto c = parse({"-Ws", "-f", "a.cfg", "-f", "conf.d", "-p", "/run/lb.pid", "-S", "/run/m.sock", "-C", "/etc/lb",
                        "-L", "edge1", "-n", "500", "-N", "40", "-q", "-dW", "-x", "/run/lb.sock", "--announce"});
  EXPECT_EQ(c.action, Action::Run);
  EXPECT_THAT(c.config_paths, ElementsAre("a.cfg", "conf.d"));
  EXPECT_TRUE(c.master_worker && c.systemd && c.foreground && c.quiet && c.zero_warning && c.announce);
  EXPECT_FALSE(c.check || c.daemon);
  EXPECT_EQ(c.pidfile, "/run/lb.pid");
  EXPECT_THAT(c.master_cli, ElementsAre("/run/m.sock"));
  EXPECT_EQ(c.change_dir, "/etc/lb");
  EXPECT_EQ(c.localpeer, "edge1");
  EXPECT_EQ(c.maxconn, 500);
  EXPECT_EQ(c.default_maxconn, 40);
  EXPECT_EQ(c.transfer_socket, "/run/lb.sock");
}

TEST(CommandLine, KnowsAFlagByItsFirstLetters) {
  // haproxy tests one or two letters and ignores the rest of the word.
  const auto c = parse({"-check", "-dbx", "-quiet", "-Dfoo", "-Wx", "-f", "a.cfg"});
  EXPECT_TRUE(c.check && c.foreground && c.quiet && c.daemon && c.master_worker);
  EXPECT_FALSE(c.systemd);
  EXPECT_TRUE(parse({"-d", "-f", "a"}).foreground);
  EXPECT_TRUE(parse({"-dk", "-f", "a"}).foreground);  // kqueue is not built on Linux: plain -d
  EXPECT_THAT(parse({"-de", "-dS", "-dM0x55", "-dD", "-f", "a"}).without_effect, ElementsAre("-de", "-dS", "-dM0x55", "-dD"));
  // Numbers are atol()'s.
  EXPECT_EQ(parse({"-n", "12abc", "-f", "a"}).maxconn, 12);
  EXPECT_EQ(parse({"-N", "abc", "-f", "a"}).default_maxconn, 0);
  EXPECT_EQ(parse({"-m", "16", "-f", "a"}).memory_mb, 16);
  // -V cancels -q whatever the order.
  EXPECT_FALSE(parse({"-V", "-q", "-f", "a"}).quiet);
}

TEST(CommandLine, VersionAndHelpEndTheReading) {
  EXPECT_EQ(parse({"-v"}).action, Action::Version);
  EXPECT_EQ(parse({"-vv", "-Z"}).action, Action::BuildOptions);
  EXPECT_EQ(parse({"-version"}).action, Action::Version);
  EXPECT_EQ(parse({"--help"}).action, Action::Help);
  EXPECT_EQ(parse({"-f", "a", "-h"}).action, Action::Help);
}

TEST(CommandLine, OldPidsRunToTheNextFlag) {
  const auto c = parse({"-f", "a", "-sf", "12", "34 ", "-q"});
  EXPECT_THAT(c.old_pids, ElementsAre(12, 34));
  EXPECT_FALSE(c.terminate_old);
  EXPECT_TRUE(c.quiet);
  EXPECT_TRUE(parse({"-f", "a", "-st", "9"}).terminate_old);
  EXPECT_TRUE(parse({"-f", "a", "-sf"}).old_pids.empty());
  const auto bad = parse({"-f", "a", "-sf", "12x"});
  EXPECT_EQ(bad.action, Action::Fail);
  EXPECT_EQ(bad.alert, "-sf option: some bytes unconsumed in PID list {x}");
  EXPECT_EQ(parse({"-f", "a", "-stop", "1", "abc"}).alert, "-stop option: some bytes unconsumed in PID list {abc}");
  EXPECT_EQ(parse({"-f", "a", "-sf", "99999999999999999999"}).alert,
            "-sf option: failed to parse {99999999999999999999}: Numerical result out of range");
  EXPECT_EQ(parse({"-f", "a", "-sf", "0"}).action, Action::Usage);
}

TEST(CommandLine, DoubleDashListsFiles) {
  const auto c = parse({"-c", "--", "a.cfg", "-q", "b.cfg"});
  EXPECT_THAT(c.config_paths, ElementsAre("a.cfg", "-q", "b.cfg"));
  EXPECT_FALSE(c.quiet);
}

TEST(CommandLine, UsageErrorsAsHaproxy) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {},                      // no file
           {"-c"},                  // no file either
           {"a.cfg"},               // a word that is no flag
           {"-Z", "x", "-f", "a"},  // an unknown flag
           {"-", "x", "-f", "a"},
           {"-f", "a", "-Z"},       // an unknown flag at the end: it expects a value
       }) {
    const auto c = parse(args);
    EXPECT_EQ(c.action, Action::Usage) << ::testing::PrintToString(args);
    EXPECT_EQ(c.alert, "");
  }
  EXPECT_EQ(parse({"-f", "a", "-x"}).alert, "Unix socket path expected with the -x flag\n");
  // haproxy copies its flags before it reads them: one that takes a value cannot come last.
  for (const char* last : {"-f", "-p", "-S", "-C", "-n", "-m", "-N", "-L", "-foo"}) {
    const auto c = parse({"-c", "-f", "a", last});
    EXPECT_EQ(c.action, Action::Fail) << last;
    EXPECT_EQ(c.alert, "failed to copy argv.") << last;
  }
  EXPECT_EQ(parse({"-v", "-f"}).alert, "failed to copy argv.");
  EXPECT_THAT(parse({"-f", "a", "-x", "s1", "-x", "s2"}).warnings,
              ElementsAre("-x option already set, overwriting the value"));
}

TEST(CommandLine, RefusesByNameWhatLbDoesNotDo) {
  for (const char* flag : {"-dr", "-dKall", "-cc"}) {
    const auto c = parse({flag, "x", "-f", "a"});
    EXPECT_EQ(c.action, Action::Fail) << flag;
    EXPECT_THAT(c.alert, HasSubstr("not supported by lb")) << flag;
  }
}

TEST(CommandLine, UsageTextNamesTheProgram) {
  const auto text = usage_text("lb");
  EXPECT_THAT(text, ::testing::StartsWith("Usage : lb [-f <cfgfile|cfgdir>]* [ -vdVD ]"));
  EXPECT_THAT(text, HasSubstr("        -dK{class[,...]} dump registered keywords (use 'help' for list)\n"));
  EXPECT_THAT(text, ::testing::EndsWith("new master CLI\n\n"));
}

}  // namespace
}  // namespace lb::core
