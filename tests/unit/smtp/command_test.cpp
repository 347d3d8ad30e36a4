// Command lines into verb and argument (RFC 5321 §4.1.1), and replies onto
// the wire (RFC 5321 §4.2, RFC 2034 §4).
#include "smtp/command.hpp"

#include <gtest/gtest.h>

#include "smtp/reply.hpp"
#include "smtp/reply_codes.hpp"

namespace petrel::smtp {
namespace {

TEST(Command, verb_and_argument_are_split_at_the_first_space) {
  const CommandLine cmd = split_command("MAIL FROM:<a@example.test> SIZE=10");
  EXPECT_EQ(cmd.verb, Verb::mail);
  EXPECT_EQ(cmd.verb_text, "MAIL");
  EXPECT_EQ(cmd.argument, "FROM:<a@example.test> SIZE=10");
}

TEST(Command, verbs_are_case_insensitive) {
  EXPECT_EQ(split_command("ehlo x").verb, Verb::ehlo);
  EXPECT_EQ(split_command("Rcpt TO:<a@b>").verb, Verb::rcpt);
  EXPECT_EQ(split_command("dAtA").verb, Verb::data);
  EXPECT_EQ(split_command("starttls").verb, Verb::starttls);
}

TEST(Command, surrounding_blanks_are_trimmed) {
  const CommandLine cmd = split_command("  HELO \t client.test \t ");
  EXPECT_EQ(cmd.verb, Verb::helo);
  EXPECT_EQ(cmd.argument, "client.test");
}

TEST(Command, unknown_and_empty_verbs) {
  const CommandLine unknown = split_command("FOO bar");
  EXPECT_EQ(unknown.verb, Verb::unknown);
  EXPECT_EQ(unknown.verb_text, "FOO");
  EXPECT_EQ(split_command("").verb_text, "");
  EXPECT_EQ(split_command("MAILX FROM:<a@b>").verb, Verb::unknown);
}

TEST(Command, verb_names_round_trip) {
  for (auto v : {Verb::helo, Verb::ehlo, Verb::mail, Verb::rcpt, Verb::data, Verb::bdat, Verb::rset, Verb::noop,
                 Verb::quit, Verb::vrfy, Verb::expn, Verb::help, Verb::turn, Verb::etrn, Verb::atrn,
                 Verb::starttls, Verb::auth}) {
    EXPECT_EQ(split_command(verb_name(v)).verb, v) << verb_name(v);
  }
  EXPECT_EQ(verb_name(Verb::unknown), "UNKNOWN");
}

TEST(Command, consume_prefix_icase_only_on_match) {
  std::string_view text = "from:<a@b>";
  EXPECT_TRUE(consume_prefix_icase(text, "FROM:"));
  EXPECT_EQ(text, "<a@b>");
  std::string_view other = "TO:<a@b>";
  EXPECT_FALSE(consume_prefix_icase(other, "FROM:"));
  EXPECT_EQ(other, "TO:<a@b>");
  std::string_view shorter = "FR";
  EXPECT_FALSE(consume_prefix_icase(shorter, "FROM:"));
}

TEST(Reply, single_line_carries_the_enhanced_code) {
  EXPECT_EQ(Reply(codes::k250SenderOk, "Ok").wire(), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(Reply(codes::k250SenderOk, "Ok").wire(/*enhanced=*/false), "250 Ok\r\n");
}

TEST(Reply, multi_line_repeats_code_and_enhanced_code_on_every_line) {
  const Reply help(codes::k214Help, std::vector<std::string>{"one", "two", "three"});
  EXPECT_EQ(help.wire(), "214-2.0.0 one\r\n214-2.0.0 two\r\n214 2.0.0 three\r\n");
}

TEST(Reply, greeting_and_354_have_no_enhanced_code) {
  EXPECT_EQ(Reply(codes::k220Greeting, "mx ESMTP").wire(), "220 mx ESMTP\r\n");
  EXPECT_EQ(Reply(codes::k354StartMail, "go").wire(), "354 go\r\n");
}

TEST(Reply, status_classes) {
  EXPECT_TRUE(codes::k250Ok.positive());
  EXPECT_TRUE(codes::k354StartMail.positive());
  EXPECT_TRUE(codes::k452TooManyRecipients.transient());
  EXPECT_TRUE(codes::k554RelayDenied.permanent());
  EXPECT_FALSE(codes::k421Timeout.permanent());
}

}  // namespace
}  // namespace petrel::smtp
