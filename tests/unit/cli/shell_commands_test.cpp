// petrel shell's pure parts: completion, help, dot-commands, DATA lines.
#include "cli/shell_commands.hpp"

#include <gtest/gtest.h>

namespace petrel::cli::shell {
namespace {

std::vector<std::string> no_files(const std::string&) { return {}; }

Completion tab(std::string_view before) { return complete(before, no_files); }

TEST(ShellCompletion, completes_a_unique_verb_with_a_space_for_its_argument) {
  EXPECT_EQ(tab("EH").insert, "LO ");
  EXPECT_TRUE(tab("EH").candidates.empty());
  EXPECT_EQ(tab("STA").insert, "RTTLS");
}

TEST(ShellCompletion, keeps_the_case_the_user_typed) {
  EXPECT_EQ(tab("eh").insert, "lo ");
  EXPECT_EQ(tab("Eh").insert, "LO ");
}

TEST(ShellCompletion, mail_and_rcpt_complete_to_the_opening_bracket) {
  EXPECT_EQ(tab("MA").insert, "IL FROM:<");
  EXPECT_EQ(tab("MAIL F").insert, "ROM:<");
  EXPECT_EQ(tab("rc").insert, "pt to:<");
}

TEST(ShellCompletion, an_ambiguous_prefix_lists_the_candidates) {
  const Completion c = tab("E");
  EXPECT_EQ(c.insert, "");
  EXPECT_EQ(c.candidates, (std::vector<std::string>{"EHLO", "EXPN", "ETRN"}));
  EXPECT_EQ(tab("").candidates.size(), 16u);
  EXPECT_EQ(tab("AT").insert, "RN ");
}

TEST(ShellCompletion, nothing_after_a_finished_argument_it_cannot_know) {
  const Completion c = tab("EHLO client.example");
  EXPECT_EQ(c.insert, "");
  EXPECT_TRUE(c.candidates.empty());
}

TEST(ShellCompletion, auth_mechanisms_and_esmtp_parameters) {
  EXPECT_EQ(tab("AUTH PL").insert, "AIN");
  EXPECT_EQ(tab("MAIL FROM:<a@b> BODY=8").insert, "BITMIME");
  EXPECT_EQ(tab("RCPT TO:<a@b> NOTIFY=F").insert, "AILURE");
  EXPECT_EQ(tab("MAIL FROM:<a@b").insert, "");  // still inside the path
}

TEST(ShellCompletion, dot_commands_and_their_arguments) {
  EXPECT_EQ(tab(".st").insert, "arttls");
  EXPECT_EQ(tab(".au").insert, "th ");
  EXPECT_EQ(tab(".auth p").insert, "lain ");
  EXPECT_EQ(tab(".auth c").insert, "ram-md5 ");
  EXPECT_EQ(tab(".help eh").insert, "lo");
}

TEST(ShellCompletion, data_completes_file_names_in_the_directory_typed) {
  const DirLister files = [](const std::string& dir) -> std::vector<std::string> {
    if (dir == "") return {"message.eml", "mail/", ".hidden"};
    if (dir == "mail/") return {"one.eml", "two.eml"};
    return {};
  };
  EXPECT_EQ(complete(".data mes", files).insert, "sage.eml");
  EXPECT_EQ(complete(".data mail/o", files).insert, "ne.eml");
  EXPECT_EQ(complete(".data m", files).candidates, (std::vector<std::string>{"mail/", "message.eml"}));
  EXPECT_EQ(complete(".data ", files).candidates.size(), 2u);  // hidden files only when asked for
}

TEST(ShellHelp, lists_every_smtp_verb_with_its_rfc) {
  const std::string text = help_text();
  for (const char* verb : {"HELO", "EHLO", "MAIL FROM:", "RCPT TO:", "DATA", "BDAT", "RSET", "NOOP", "QUIT", "VRFY",
                           "EXPN", "HELP", "ETRN", "ATRN", "STARTTLS", "AUTH", ".starttls", ".auth", ".data", ".quit", ".help"}) {
    EXPECT_NE(text.find(verb), std::string::npos) << verb;
  }
  EXPECT_NE(text.find("RFC 3207"), std::string::npos);
  EXPECT_NE(text.find("RFC 1985"), std::string::npos);
  EXPECT_NE(text.find("RFC 2645"), std::string::npos);
}

TEST(ShellHelp, one_command_in_any_case_with_or_without_the_dot) {
  EXPECT_NE(help_text("rcpt")->find("RFC 5321 §4.1.1.3"), std::string::npos);
  EXPECT_NE(help_text("auth")->find("AUTH mechanism"), std::string::npos);  // the SMTP verb first
  EXPECT_NE(help_text(".auth")->find(".auth plain|login|cram-md5 USER"), std::string::npos);
  EXPECT_NE(help_text("data")->find("DATA"), std::string::npos);
  EXPECT_FALSE(help_text("TURN").has_value());
}

TEST(ShellLocal, only_lines_starting_with_a_dot_are_for_the_shell) {
  EXPECT_FALSE(parse_local("EHLO x").has_value());
  EXPECT_EQ(parse_local(".starttls")->kind, LocalCommand::Kind::starttls);
  EXPECT_EQ(parse_local(".QUIT")->kind, LocalCommand::Kind::quit);
  EXPECT_EQ(parse_local(".help mail")->args, std::vector<std::string>{"mail"});
}

TEST(ShellLocal, auth_takes_a_mechanism_and_a_user) {
  const auto ok = parse_local(".auth PLAIN alice@local.test");
  EXPECT_EQ(ok->kind, LocalCommand::Kind::auth);
  EXPECT_TRUE(ok->error.empty());
  EXPECT_EQ(ok->args, (std::vector<std::string>{"plain", "alice@local.test"}));
  EXPECT_EQ(parse_local(".auth CRAM-MD5 bob")->args, (std::vector<std::string>{"cram-md5", "bob"}));
  EXPECT_EQ(parse_local(".auth scram-sha-1 bob")->error, "usage: .auth plain|login|cram-md5 USER");
  EXPECT_EQ(parse_local(".auth plain")->error, "usage: .auth plain|login|cram-md5 USER");
}

TEST(ShellLocal, data_takes_the_rest_of_the_line_as_the_file_name) {
  EXPECT_EQ(parse_local(".data  my message.eml")->args, std::vector<std::string>{"my message.eml"});
  EXPECT_EQ(parse_local(".data")->error, "usage: .data FILE");
}

TEST(ShellLocal, an_unknown_dot_command_says_so) {
  EXPECT_EQ(parse_local(".frobnicate")->error, "unknown command .frobnicate (.help lists them)");
}

TEST(ShellData, a_leading_dot_is_doubled_and_crlf_added) {
  EXPECT_EQ(stuff_data_line("hello"), "hello\r\n");
  EXPECT_EQ(stuff_data_line(".hidden"), "..hidden\r\n");
  EXPECT_EQ(stuff_data_line(".."), "...\r\n");
  EXPECT_EQ(stuff_data_line(""), "\r\n");
}

TEST(ShellAuth, challenges_decode_when_they_are_text) {
  EXPECT_EQ(decode_challenge("VXNlcm5hbWU6"), "Username:");
  EXPECT_EQ(decode_challenge("UGFzc3dvcmQ6"), "Password:");
  EXPECT_FALSE(decode_challenge("").has_value());
  EXPECT_FALSE(decode_challenge("not base64!").has_value());
  EXPECT_FALSE(decode_challenge("AAEC").has_value());  // binary
}

TEST(ShellAuth, cram_md5_answers_the_rfc_2195_example) {
  // RFC 2195 §2: user "tim", password "tanstaaftanstaaf".
  EXPECT_EQ(cram_md5_response("tim", "tanstaaftanstaaf",
                              "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+"),
            "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw");
  EXPECT_FALSE(cram_md5_response("tim", "x", "not base64!").has_value());
}

TEST(ShellVerb, first_word_upper_case) {
  EXPECT_EQ(verb_of("mail from:<a@b>"), "MAIL");
  EXPECT_EQ(verb_of("  data"), "DATA");
  EXPECT_EQ(verb_of(""), "");
}

TEST(ShellCredentials, typed_auth_lines_are_hidden_from_echo_and_history) {
  EXPECT_EQ(hide_credentials("AUTH PLAIN AGFsaWNlAHNlY3JldA==", false), "AUTH PLAIN <credentials hidden>");
  EXPECT_EQ(hide_credentials("auth plain AGFsaWNlAHNlY3JldA==", false), "AUTH plain <credentials hidden>");
  EXPECT_EQ(hide_credentials("c2VjcmV0", true), "<credentials hidden>");  // the answer to a 334
  EXPECT_FALSE(hide_credentials("AUTH LOGIN", false).has_value());
  EXPECT_FALSE(hide_credentials("MAIL FROM:<a@b.example>", false).has_value());
}

TEST(ShellTarget, host_port_forms) {
  EXPECT_EQ(parse_target("mx.example.org", 25)->port, 25);
  EXPECT_EQ(parse_target("mx.example.org:587", 25)->port, 587);
  EXPECT_EQ(parse_target("mx.example.org:587", 25)->host, "mx.example.org");
  EXPECT_EQ(parse_target("[2001:db8::1]:465", 25)->host, "2001:db8::1");
  EXPECT_EQ(parse_target("[2001:db8::1]:465", 25)->port, 465);
  EXPECT_EQ(parse_target("2001:db8::1", 465)->port, 465);
  EXPECT_FALSE(parse_target("host:0", 25).has_value());
  EXPECT_FALSE(parse_target("host:70000", 25).has_value());
  EXPECT_FALSE(parse_target("host:", 25).has_value());
  EXPECT_FALSE(parse_target(":25", 25).has_value());
  EXPECT_FALSE(parse_target("[::1", 25).has_value());
}

}  // namespace
}  // namespace petrel::cli::shell
