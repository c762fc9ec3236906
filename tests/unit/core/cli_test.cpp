// HAProxy's CLI framing (lb/core/api/cli): how bytes become commands and words, where answers
// end, when the connection is over. The byte-exact answers are runtime_api_vs_haproxy_test's.
#include "lb/core/api/cli.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace lb::core::cli {
namespace {

using ::testing::ElementsAre;

// A connection whose every command answers with its words joined by '|'.
Connection echo(Level level = Level::Admin) {
  return Connection(level, [](const std::vector<std::string>& words, Connection&) -> std::optional<Connection::Answer> {
    if (!words.empty() && words[0] == "nosuch") return std::nullopt;
    std::string out;
    for (const auto& w : words) out += (out.empty() ? "" : "|") + w;
    return Connection::Answer{out + "\n"};
  });
}

TEST(CliWords, BlanksSeparateAndABackslashKeepsTheNextCharacter) {
  EXPECT_THAT(split_words("  set   server\tbe/s1 "), ElementsAre("set", "server", "be/s1"));
  EXPECT_THAT(split_words(R"(a\ b c\\d e\;f)"), ElementsAre("a b", "c\\d", "e;f"));
  EXPECT_THAT(split_words("trailing\\"), ElementsAre("trailing"));
  EXPECT_TRUE(split_words("").empty());
}

TEST(CliWords, AtMostSixtyFourWordsAreRead) {
  std::string line;
  for (int i = 0; i < 70; ++i) line += "w" + std::to_string(i) + " ";
  const auto words = split_words(line);
  ASSERT_EQ(words.size(), kMaxArgs);
  EXPECT_EQ(words.back(), "w63");
}

TEST(CliConnection, CommandsEndAtLineFeedsAndUnescapedSemicolonsEachFollowedByAnEmptyLine) {
  auto c = echo();
  EXPECT_EQ(c.feed("a 1;b 2\nc\\;d\r\n"), "a|1\n\nb|2\n\nc;d\n\n");
  EXPECT_TRUE(c.done());
}

TEST(CliConnection, APartialCommandWaitsForTheRestAndIsDroppedIfItNeverComes) {
  auto c = echo();
  EXPECT_EQ(c.feed("show ser"), "");
  EXPECT_FALSE(c.done());
  EXPECT_EQ(c.feed("vers\n"), "show|servers\n\n");
  EXPECT_TRUE(c.done());
}

TEST(CliConnection, PromptModeEndsAnswersWithThePromptAndStaysUntilQuit) {
  auto c = echo();
  EXPECT_EQ(c.feed("prompt\n"), "\n> ");
  EXPECT_TRUE(c.interactive());
  EXPECT_EQ(c.feed("x\n"), "x\n\n> ");
  EXPECT_FALSE(c.done());
  EXPECT_EQ(c.feed("quit\n"), "");
  EXPECT_TRUE(c.done());
  EXPECT_EQ(c.feed("x\n"), "");  // nothing after quit
}

TEST(CliConnection, ALevelCanBeLoweredNeverRaised) {
  auto c = echo(Level::Operator);
  EXPECT_EQ(c.feed("prompt\n"), "\n> ");
  EXPECT_EQ(c.feed("user\n"), "\n> ");
  EXPECT_EQ(c.level(), Level::User);
  EXPECT_EQ(c.feed("operator\n"), "Permission denied\n\n> ");
  EXPECT_EQ(c.level(), Level::User);
}

TEST(CliConnection, AnUnknownCommandGetsTheUsageMessage) {
  auto c = echo();
  const auto out = c.feed("nosuch thing\n");
  EXPECT_THAT(out, ::testing::StartsWith("Unknown command, but maybe one of the following ones is a better match:\n"));
  EXPECT_THAT(out, ::testing::EndsWith("  quit                                    : disconnect\n\n"));
}

TEST(CliConnection, ACommandLongerThanTheBufferEndsTheConnection) {
  auto c = echo();
  EXPECT_EQ(c.feed(std::string(kMaxRequest + 1, 'x')), "");
  EXPECT_TRUE(c.done());
}

TEST(CliPayload, ALineEndingWithTheMarkerRunsAtTheEmptyLineAfterItsPayloadLines) {
  auto c = echo();
  EXPECT_EQ(c.feed("a b <<\nx; y\n"), "");  // no ';' and no command inside a payload
  EXPECT_FALSE(c.done());
  EXPECT_EQ(c.feed("z\r\n\r\nc\n"), "a|b\n\nc\n\n");
  EXPECT_TRUE(c.done());
}

TEST(CliPayload, AMarkerGluedToAWordStaysInItAndThePayloadsWordsFollow) {
  auto c = echo();
  EXPECT_EQ(c.feed("a b<<\nx y\nz\n\n"), "a|b<<|x|y\nz\n\n");
  auto d = echo();
  EXPECT_EQ(d.feed("a b\\ <<\nx\n\n"), "a|b <<|x\n\n");    // an escaped blank joins the marker to the word
  auto e = echo();
  EXPECT_EQ(e.feed("a b\\\\ <<\nx\n\n"), "a|b\\\n\n");  // an escaped backslash does not
  auto f = echo();
  EXPECT_EQ(f.feed("a << b\n"), "a|<<|b\n\n");  // not at the end: a word like another
  auto g = echo();
  EXPECT_EQ(g.feed("a <<;x\n\n"), "a\n\n");  // ';' ends the command line before the payload
}

TEST(CliPayload, InteractiveSessionsPromptEachPayloadLineWithAPlus) {
  auto c = echo();
  EXPECT_EQ(c.feed("prompt\n"), "\n> ");
  EXPECT_EQ(c.feed("a <<\n"), "+ ");
  EXPECT_EQ(c.feed("x\n"), "+ ");
  EXPECT_EQ(c.feed("\n"), "a\n\n> ");
}

TEST(CliPayload, ACommandAndItsPayloadMustFitTheBufferOrTheConnectionEnds) {
  // "a <<", a NUL, the line and its LF: 16382 bytes held, the empty line still fits.
  const std::string fits(kBuffer - 2 - 5 - 1, 'x');
  auto c = echo();
  EXPECT_EQ(c.feed("a <<\n" + fits + "\n\n"), "a\n\n");
  auto d = echo();
  EXPECT_EQ(d.feed("a <<\n" + fits + "x\n\n"), "");
  EXPECT_TRUE(d.done());
  auto e = echo();
  EXPECT_EQ(e.feed("a <<\n" + std::string(kBuffer, 'x')), "");  // no LF in sight
  EXPECT_TRUE(e.done());
  auto f = echo();
  EXPECT_EQ(f.feed("a <<\nx\n"), "");  // a payload still coming keeps the connection
  EXPECT_FALSE(f.done());
  auto g = echo();  // a command line that fills the buffer by itself leaves no room for a payload
  EXPECT_EQ(g.feed(std::string(kMaxRequest - 2, 'a') + "<<\nx\n"), "");
  EXPECT_TRUE(g.done());
}

TEST(CliUsage, HelpWithWordsListsTheCommandsTheyStart) {
  const auto show_servers = usage_message({"show", "servers"}, true);
  EXPECT_THAT(show_servers, ::testing::HasSubstr("  show servers conn [<backend>]"));
  EXPECT_THAT(show_servers, ::testing::HasSubstr("  show servers state [<backend>]"));
  EXPECT_THAT(show_servers, ::testing::StartsWith("The following commands are valid at this level:\n"));
  EXPECT_THAT(show_servers, ::testing::Not(::testing::HasSubstr("show backend")));
}

}  // namespace
}  // namespace lb::core::cli
