// The grader, one client behaviour per test, played against the real
// server session (catch_harness.hpp). Each read is one string.
#include <gtest/gtest.h>

#include "catch_harness.hpp"

namespace petrel::catcher {
namespace {

using testing::catch_options;
using testing::kHeaders;
using testing::play;

std::string body(std::string_view text) { return std::string(kHeaders) + std::string(text); }

// A polite client: EHLO, each command after the reply to the last, SIZE
// declared, QUIT.
std::vector<std::string> polite(const std::string& content, std::string mail_params = "") {
  const std::string size = std::to_string(content.size() - 3);  // without the final ".\r\n"
  return {"EHLO client.test\r\n",
          "MAIL FROM:<alice@example.org> SIZE=" + size + mail_params + "\r\n",
          "RCPT TO:<bob@example.test>\r\n",
          "DATA\r\n",
          content,
          "QUIT\r\n"};
}

TEST(Grader, a_polite_client_has_no_findings) {
  const auto run = play(catch_options(), polite(body("Hello\r\n..dot\r\n.\r\n")));
  EXPECT_EQ(run.ids(), "");
  ASSERT_EQ(run.messages.size(), 1u);
  EXPECT_EQ(run.messages[0].reply_code, 250);
  EXPECT_EQ(run.messages[0].size, body("Hello\r\n.dot\r\n").size());
  EXPECT_EQ(run.stored.at(0), body("Hello\r\n.dot\r\n"));
  EXPECT_EQ(run.used, (std::vector<std::string>{"SIZE"}));
  EXPECT_NE(std::find(run.offered.begin(), run.offered.end(), "PIPELINING"), run.offered.end());
}

TEST(Grader, helo_is_a_lapse_when_the_server_speaks_esmtp) {
  const auto run = play(catch_options(), {"HELO client.test\r\n", "QUIT\r\n"});
  EXPECT_EQ(run.ids(), "helo-not-ehlo");
  EXPECT_EQ(run.find("helo-not-ehlo")->level, Level::warn);
}

TEST(Grader, helo_after_a_refused_ehlo_is_right) {
  auto options = catch_options();
  options.esmtp = false;
  const auto run = play(options, {"EHLO client.test\r\n", "HELO client.test\r\n", "QUIT\r\n"});
  EXPECT_EQ(run.ids(), "");
  EXPECT_NE(run.replies.find("502 5.5.1"), std::string::npos);
}

TEST(Grader, pipelining_when_offered_is_a_fact) {
  const std::string content = body("Hi\r\n.\r\n");
  const auto run = play(catch_options(), {"EHLO client.test\r\n",
                                          "MAIL FROM:<alice@example.org> SIZE=1000\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n",
                                          content, "QUIT\r\n"});
  EXPECT_EQ(run.ids(), "pipelining-used");
  EXPECT_EQ(run.find("pipelining-used")->level, Level::info);
}

TEST(Grader, pipelining_without_the_offer_is_a_fault) {
  auto options = catch_options();
  options.ehlo_offer = std::vector<std::string>{"SIZE"};
  const auto run = play(options, {"EHLO client.test\r\n",
                                  "MAIL FROM:<alice@example.org> SIZE=10\r\nRCPT TO:<bob@example.test>\r\n", "QUIT\r\n"});
  EXPECT_EQ(run.ids(), "pipelining-without-offer");
  EXPECT_EQ(run.find("pipelining-without-offer")->level, Level::fail);
}

TEST(Grader, commands_sent_with_ehlo_before_its_reply_are_pipelined_without_offer) {
  // The client could not know PIPELINING was offered: the EHLO reply had
  // not been sent when these octets were read.
  const auto run = play(catch_options(), {"EHLO client.test\r\nMAIL FROM:<alice@example.org> SIZE=10\r\n", "QUIT\r\n"});
  EXPECT_TRUE(run.has("pipelining-without-offer"));
}

TEST(Grader, quit_right_after_the_final_dot_is_pipelined) {
  auto options = catch_options();
  options.ehlo_offer = std::vector<std::string>{};
  auto reads = polite(body("Hi\r\n.\r\n"));
  reads[4] += "QUIT\r\n";
  reads.pop_back();
  reads[1] = "MAIL FROM:<alice@example.org>\r\n";
  const auto run = play(options, reads);
  EXPECT_EQ(run.ids(), "pipelining-without-offer");
}

TEST(Grader, no_size_declared_when_size_was_offered) {
  const auto run = play(catch_options(), {"EHLO client.test\r\n", "MAIL FROM:<alice@example.org>\r\n", "QUIT\r\n"});
  EXPECT_EQ(run.ids(), "no-size-declared");
}

TEST(Grader, a_message_larger_than_its_declared_size_is_a_mismatch) {
  const auto run = play(catch_options(), {"EHLO client.test\r\n", "MAIL FROM:<alice@example.org> SIZE=10\r\n",
                                          "RCPT TO:<bob@example.test>\r\n", "DATA\r\n", body("Hi\r\n.\r\n"),
                                          "QUIT\r\n"});
  EXPECT_EQ(run.ids(), "size-mismatch");
}

TEST(Grader, eight_bit_body_needs_body_8bitmime) {
  const auto run = play(catch_options(), polite(body("caf\xc3\xa9\r\n.\r\n")));
  EXPECT_EQ(run.ids(), "8bit-without-8bitmime");
  const auto declared = play(catch_options(), polite(body("caf\xc3\xa9\r\n.\r\n"), " BODY=8BITMIME"));
  EXPECT_EQ(declared.ids(), "");
  EXPECT_EQ(declared.used, (std::vector<std::string>{"SIZE", "8BITMIME"}));
}

TEST(Grader, utf8_header_or_address_needs_smtputf8) {
  const std::string content = "Subject: caf\xc3\xa9\r\n" + body("Hi\r\n.\r\n");
  EXPECT_EQ(play(catch_options(), polite(content, " BODY=8BITMIME")).ids(), "utf8-without-smtputf8");
  EXPECT_EQ(play(catch_options(), polite(content, " BODY=8BITMIME SMTPUTF8")).ids(), "");
  const auto address = play(catch_options(), {"EHLO c\r\n", "MAIL FROM:<j\xc3\xb6rg@example.org> SIZE=1\r\n", "QUIT\r\n"});
  EXPECT_EQ(address.ids(), "utf8-without-smtputf8");
}

TEST(Grader, a_nul_octet_is_binary_without_binarymime) {
  const auto run = play(catch_options(), polite(body(std::string("a\0b\r\n.\r\n", 8))));
  EXPECT_EQ(run.ids(), "binary-without-binarymime");
}

TEST(Grader, bare_lf_and_bare_cr_are_faults_and_the_server_refuses_them) {
  const auto lf = play(catch_options(), polite(body("one\ntwo\r\n.\r\n")));
  EXPECT_EQ(lf.ids(), "bare-lf");
  EXPECT_EQ(lf.messages.at(0).reply_code, 550);
  EXPECT_TRUE(lf.stored.empty());
  const auto cr = play(catch_options(), polite(body("one\rtwo\r\n.\r\n")));
  EXPECT_EQ(cr.ids(), "bare-cr");
}

TEST(Grader, a_line_over_1000_octets_is_too_long) {
  const auto run = play(catch_options(), polite(body(std::string(999, 'x') + "\r\n.\r\n")));
  EXPECT_EQ(run.ids(), "line-too-long");
  EXPECT_NE(run.find("line-too-long")->text.find("1001"), std::string::npos);
  EXPECT_EQ(play(catch_options(), polite(body(std::string(998, 'x') + "\r\n.\r\n"))).ids(), "");
}

TEST(Grader, a_line_with_a_single_leading_dot_was_not_stuffed) {
  const auto run = play(catch_options(), polite(body("Hi\r\n.hidden\r\n.\r\n")));
  EXPECT_EQ(run.ids(), "unstuffed-dot");
  EXPECT_EQ(run.find("unstuffed-dot")->text, "message 1, line 8 starts with a single '.': the client did not dot-stuff");
}

TEST(Grader, content_split_across_reads_is_graded_the_same) {
  auto reads = polite(body("Hi\r\n.hidden\r\n.\r\n"));
  const std::string content = reads[4];
  reads.erase(reads.begin() + 4);
  for (std::size_t i = content.size(); i-- > 0;) reads.insert(reads.begin() + 4, std::string(1, content[i]));
  EXPECT_EQ(play(catch_options(), reads).ids(), "unstuffed-dot");
}

TEST(Grader, bdat_is_chunking_used_and_its_content_is_graded) {
  const std::string content = body("one\ntwo\r\n");
  const auto run = play(catch_options(), {"EHLO client.test\r\n", "MAIL FROM:<alice@example.org> SIZE=200\r\n",
                                          "RCPT TO:<bob@example.test>\r\n",
                                          "BDAT " + std::to_string(content.size()) + " LAST\r\n" + content,
                                          "QUIT\r\n"});
  EXPECT_EQ(run.ids(), "chunking-used bare-lf");
  EXPECT_TRUE(run.messages.at(0).chunked);
}

TEST(Grader, binarymime_content_is_not_held_to_line_rules) {
  const std::string content = body(std::string("\0\n\r\xff", 4));
  const auto run = play(catch_options(), {"EHLO client.test\r\n",
                                          "MAIL FROM:<alice@example.org> SIZE=200 BODY=BINARYMIME\r\n",
                                          "RCPT TO:<bob@example.test>\r\n",
                                          "BDAT " + std::to_string(content.size()) + " LAST\r\n" + content,
                                          "QUIT\r\n"});
  EXPECT_EQ(run.ids(), "chunking-used");
}

TEST(Grader, auth_plain_without_tls_is_a_fault_and_starttls_not_taken) {
  auto options = catch_options();
  options.starttls = true;
  // "\0alice\0secret"
  const auto run = play(options, {"EHLO client.test\r\n", "AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n", "QUIT\r\n"}, true);
  EXPECT_EQ(run.ids(), "starttls-not-taken auth-in-clear auth-mechanism");
  EXPECT_EQ(run.find("auth-in-clear")->level, Level::fail);
}

TEST(Grader, auth_after_starttls_passes_and_tells_the_tls_version) {
  auto options = catch_options();
  options.starttls = true;
  const auto run = play(options, {"EHLO client.test\r\n", "STARTTLS\r\n", "EHLO client.test\r\n",
                                  "AUTH LOGIN\r\n", "YWxpY2U=\r\n", "c2VjcmV0\r\n", "QUIT\r\n"},
                        true);
  EXPECT_EQ(run.ids(), "tls-version auth-mechanism");
  EXPECT_EQ(run.find("auth-mechanism")->text, "the client authenticated with LOGIN");
  EXPECT_EQ(run.find("tls-version")->text, "the client negotiated TLSv1.3");
}

TEST(Grader, closing_without_quit_is_a_lapse) {
  const auto run = play(catch_options(), {"EHLO client.test\r\n"});
  EXPECT_EQ(run.ids(), "no-quit");
}

TEST(Grader, header_checks) {
  const std::string bare = "Subject: x\r\n\r\nHi\r\n.\r\n";
  EXPECT_EQ(play(catch_options(), polite(bare)).ids(), "no-message-id no-date bad-from");
  const std::string no_address = "From: Alice\r\nDate: x\r\nMessage-ID: <1@x>\r\n\r\nHi\r\n.\r\n";
  EXPECT_EQ(play(catch_options(), polite(no_address)).ids(), "bad-from");
  const std::string two = "From: <a@x>\r\nFrom: <b@x>\r\nDate: x\r\nMessage-ID: <1@x>\r\n\r\nHi\r\n.\r\n";
  EXPECT_EQ(play(catch_options(), polite(two)).ids(), "bad-from");
  const std::string folded = "From: Alice\r\n <a@example.org>\r\nDate: x\r\nMessage-ID: <1@x>\r\n\r\nHi\r\n.\r\n";
  EXPECT_EQ(play(catch_options(), polite(folded)).ids(), "");
}

TEST(Grader, findings_repeat_as_a_count) {
  auto reads = polite(body("a\nb\n\r\n.\r\n"));
  const auto run = play(catch_options(), reads);
  ASSERT_NE(run.find("bare-lf"), nullptr);
  EXPECT_EQ(run.find("bare-lf")->count, 1u);  // once per message
  auto twice = polite(body("a\n\r\n.\r\n"));
  twice.insert(twice.end() - 1, {"MAIL FROM:<alice@example.org> SIZE=500\r\n", "RCPT TO:<bob@example.test>\r\n",
                                 "DATA\r\n", body("b\n\r\n.\r\n")});
  EXPECT_EQ(play(catch_options(), twice).find("bare-lf")->count, 2u);
}

TEST(Grader, parameters_and_commands_of_extensions_not_offered_are_faults) {
  auto options = catch_options();
  options.ehlo_offer = std::vector<std::string>{"PIPELINING", "SIZE"};
  const std::string content = body("Hi\r\n.\r\n");
  const auto run = play(options, {"EHLO client.test\r\n", "MAIL FROM:<alice@example.org> SIZE=100 RET=HDRS\r\n",
                                  "RCPT TO:<bob@example.test> NOTIFY=NEVER\r\n", "STARTTLS\r\n", "QUIT\r\n"});
  const Finding* f = run.find("extension-without-offer");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->level, Level::fail);
  EXPECT_EQ(f->count, 3u);  // RET=, NOTIFY=, STARTTLS; SIZE= was offered
  EXPECT_NE(f->text.find("RET=HDRS"), std::string::npos) << f->text;
}

TEST(Grader, offered_extensions_used_are_no_fault) {
  const auto run = play(catch_options(), polite(body("Hi\r\n.\r\n"), " BODY=8BITMIME RET=FULL ENVID=x"));
  EXPECT_EQ(run.find("extension-without-offer"), nullptr);
}

TEST(Grader, a_dkim_signature_that_fails_or_errs_is_invalid_and_temperror_is_not) {
  Grader grader;
  for (const char* line : {"EHLO c.test\r\n", "MAIL FROM:<a@c.test>\r\n", "RCPT TO:<b@d.test>\r\n", "DATA\r\n"}) {
    grader.read_started();
    grader.client(ClientPart::command, line);
    grader.server_replied(std::string_view(line, 4) == "DATA" ? "354 go\r\n" : "250 ok\r\n");
  }
  grader.read_started();
  grader.client(ClientPart::data, body("x\r\n.\r\n"));
  grader.content_ended();
  ASSERT_EQ(grader.messages().size(), 1u);
  grader.dkim_checked(0, {{"c.test", "s1", "temperror", "DNS timed out"}});
  grader.dkim_checked(7, {{"c.test", "s1", "fail", "out of range: ignored"}});
  EXPECT_EQ(grader.findings().size(), 0u);
  grader.dkim_checked(0, {{"c.test", "s1", "pass", "ok"}, {"c.test", "s2", "permerror", "no key record"}});
  ASSERT_EQ(grader.findings().size(), 1u);
  EXPECT_EQ(grader.findings()[0].id, "dkim-invalid");
  EXPECT_EQ(grader.messages()[0].dkim.size(), 2u);
}

TEST(Findings, levels_and_exit_codes) {
  std::vector<Finding> f;
  EXPECT_EQ(exit_code(f), 0);
  add_finding(f, "pipelining-used", "x");
  EXPECT_EQ(exit_code(f), 0);
  add_finding(f, "no-quit", "x");
  EXPECT_EQ(exit_code(f), 1);
  add_finding(f, "bare-lf", "x");
  EXPECT_EQ(exit_code(f), 2);
  EXPECT_THROW(add_finding(f, "no-such-id", "x"), std::out_of_range);
}

}  // namespace
}  // namespace petrel::catcher
