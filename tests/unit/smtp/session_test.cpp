// ServerSession dialogues: the greeting, HELO/EHLO, the small commands, and
// the order commands must come in (RFC 5321 §4.1.1, §4.1.4, §4.3.2).
#include <gtest/gtest.h>

#include "session_harness.hpp"

namespace petrel::smtp {
namespace {

using testing::Dialogue;
using testing::parse_replies;

TEST(Session, greeting_is_220_without_enhanced_code) {
  SessionOptions options;
  options.hostname = "mx.example.test";
  Dialogue d(options);
  ASSERT_EQ(d.greeting.size(), 1u);
  EXPECT_EQ(d.greeting[0].status(), "220");
  EXPECT_EQ(d.greeting[0].text(), "mx.example.test ESMTP Petrel");
}

TEST(Session, ehlo_lists_every_extension) {
  SessionOptions options;
  options.hostname = "mx.example.test";
  options.limits.max_message_size = 12345678;
  Dialogue d(options);
  const std::string wire = d.send_raw("EHLO client.test\r\n");
  EXPECT_EQ(wire,
            "250-mx.example.test Hello client.test [192.0.2.10]\r\n"
            "250-PIPELINING\r\n"
            "250-SIZE 12345678\r\n"
            "250-ETRN\r\n"
            "250-8BITMIME\r\n"
            "250-ENHANCEDSTATUSCODES\r\n"
            "250-SMTPUTF8\r\n"
            "250-CHUNKING\r\n"
            "250-BINARYMIME\r\n"
            "250 DSN\r\n");
}

TEST(Session, helo_is_a_single_250_line) {
  SessionOptions options;
  options.hostname = "mx.example.test";
  Dialogue d(options);
  EXPECT_EQ(d.send_raw("HELO client.test\r\n"), "250 mx.example.test\r\n");
  EXPECT_EQ(d.session().helo_name(), "client.test");
}

TEST(Session, helo_and_ehlo_need_a_hostname) {
  Dialogue d;
  EXPECT_EQ(d.send("EHLO\r\nHELO \r\nEHLO a\x01z\r\n").statuses(), "501 5.5.4 | 501 5.5.4 | 501 5.5.4");
  EXPECT_EQ(d.send("MAIL FROM:<a@example.test>\r\n").statuses(), "503 5.5.1");
}

TEST(Session, ehlo_again_abandons_the_transaction) {
  Dialogue d;
  d.ehlo();
  EXPECT_EQ(d.send("MAIL FROM:<a@example.test>\r\nEHLO again.test\r\nRCPT TO:<b@example.test>\r\n").statuses(),
            "250 2.1.0 | 250 | 503 5.5.1");
}

TEST(Session, noop_rset_and_quit) {
  Dialogue d;
  d.ehlo();
  EXPECT_EQ(d.send("NOOP\r\nRSET\r\n").statuses(), "250 2.0.0 | 250 2.0.0");
  const auto bye = d.send("QUIT\r\n");
  EXPECT_EQ(bye.statuses(), "221 2.0.0");
  EXPECT_EQ(d.need(), ServerSession::Need::close);
  EXPECT_EQ(d.session().stats().close_reason, "QUIT");
}

TEST(Session, nothing_after_quit_is_answered) {
  Dialogue d;
  EXPECT_EQ(d.send("QUIT\r\nNOOP\r\nEHLO x\r\n").statuses(), "221 2.0.0");
  EXPECT_EQ(d.need(), ServerSession::Need::close);
}

TEST(Session, rset_abandons_the_transaction) {
  Dialogue d;
  d.ehlo();
  EXPECT_EQ(d.send("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nRSET\r\nDATA\r\n").statuses(),
            "250 2.1.0 | 250 2.1.5 | 250 2.0.0 | 503 5.5.1");
  EXPECT_EQ(d.send("RSET now\r\n").statuses(), "501 5.5.4");
}

TEST(Session, vrfy_neither_confirms_nor_denies) {
  Dialogue d;
  d.ehlo();
  EXPECT_EQ(d.send("VRFY user@example.test\r\n").statuses(), "252 2.5.0");
  EXPECT_EQ(d.send("VRFY\r\n").statuses(), "501 5.5.4");
}

TEST(Session, expn_is_refused_by_default) {
  Dialogue d;
  d.ehlo();
  EXPECT_EQ(d.send("EXPN staff\r\n").statuses(), "502 5.5.1");
}

TEST(Session, expn_answers_252_when_configured) {
  SessionOptions options;
  options.expn = ExpnPolicy::answer_252;
  Dialogue d(options);
  d.ehlo();
  EXPECT_EQ(d.send("EXPN staff\r\n").statuses(), "252 2.5.0");
}

TEST(Session, help_lists_commands_and_explains_one) {
  Dialogue d;
  const auto all = d.send("HELP\r\n");
  ASSERT_EQ(all.statuses(), "214 2.0.0");
  EXPECT_GT(all[0].lines.size(), 1u);
  EXPECT_NE(all[0].text().find("MAIL"), std::string::npos);

  const auto mail = d.send("help mail\r\n");
  ASSERT_EQ(mail.statuses(), "214 2.0.0");
  EXPECT_NE(mail[0].text().find("MAIL FROM:<sender>"), std::string::npos);
}

TEST(Session, help_on_an_unknown_topic_is_504) {
  Dialogue d;
  const auto r = d.send("HELP FROB\r\n");
  EXPECT_EQ(r.statuses(), "504 5.5.4");
  EXPECT_NE(r[0].text().find("FROB"), std::string::npos);
}

TEST(Session, turn_and_other_unsupported_verbs_are_502) {
  Dialogue d;
  d.ehlo();
  EXPECT_EQ(d.send("TURN\r\nATRN\r\nSTARTTLS\r\n").statuses(), "502 5.5.1 | 502 5.5.1 | 502 5.5.1");
}

TEST(Session, etrn_goes_to_the_policy_and_needs_a_domain) {
  Dialogue d;
  EXPECT_EQ(d.send("ETRN example.test\r\n").statuses(), "503 5.5.1");
  d.ehlo();
  EXPECT_EQ(d.send("ETRN example.test\r\nETRN @example.test\r\n").statuses(), "458 4.7.0 | 458 4.7.0");
  EXPECT_EQ(d.send("ETRN\r\nETRN #queue\r\nETRN a b\r\n").statuses(), "501 5.5.4 | 501 5.5.4 | 501 5.5.4");
}

TEST(Session, auth_without_an_authenticator_is_not_enabled) {
  Dialogue d;
  d.ehlo();
  EXPECT_EQ(d.send("AUTH PLAIN\r\n").statuses(), "503 5.5.1");
}

TEST(Session, unknown_command_is_500_and_named) {
  Dialogue d;
  const auto r = d.send("FROB nicate\r\n\r\n");
  EXPECT_EQ(r.statuses(), "500 5.5.2 | 500 5.5.2");
  EXPECT_NE(r[0].text().find("FROB"), std::string::npos);
}

TEST(Session, unknown_command_echo_cannot_inject_a_reply) {
  Dialogue d;
  const std::string wire = d.send_raw("X\x7f\x01\r\n");
  EXPECT_EQ(wire.find('\x01'), std::string::npos);
  EXPECT_EQ(parse_replies(wire).statuses(), "500 5.5.2");
}

TEST(Session, commands_are_case_insensitive) {
  Dialogue d;
  EXPECT_EQ(d.send("ehlo client.test\r\n").statuses(), "250");
  EXPECT_EQ(d.send("mail from:<a@example.test>\r\nrCpT tO:<b@example.test>\r\ndata\r\nhi\r\n.\r\nnoop\r\nquit\r\n")
                .statuses(),
            "250 2.1.0 | 250 2.1.5 | 354 | 250 2.0.0 | 250 2.0.0 | 221 2.0.0");
  ASSERT_EQ(d.stored.size(), 1u);
}

TEST(Session, bare_lf_ends_a_command_line) {
  Dialogue d;
  EXPECT_EQ(d.send("EHLO client.test\nNOOP\n").statuses(), "250 | 250 2.0.0");
}

TEST(Session, mail_before_ehlo_is_503) {
  Dialogue d;
  EXPECT_EQ(d.send("MAIL FROM:<a@example.test>\r\n").statuses(), "503 5.5.1");
}

TEST(Session, rcpt_before_mail_is_503) {
  Dialogue d;
  d.ehlo();
  EXPECT_EQ(d.send("RCPT TO:<b@example.test>\r\n").statuses(), "503 5.5.1");
}

TEST(Session, nested_mail_is_503) {
  Dialogue d;
  d.ehlo();
  EXPECT_EQ(d.send("MAIL FROM:<a@example.test>\r\nMAIL FROM:<c@example.test>\r\n").statuses(), "250 2.1.0 | 503 5.5.1");
}

TEST(Session, data_without_mail_is_503) {
  Dialogue d;
  EXPECT_EQ(d.send("DATA\r\n").statuses(), "503 5.5.1");
  d.ehlo();
  EXPECT_EQ(d.send("DATA\r\n").statuses(), "503 5.5.1");
}

TEST(Session, data_with_no_accepted_recipient_is_554) {
  Dialogue d;
  d.ehlo();
  EXPECT_EQ(d.send("MAIL FROM:<a@example.test>\r\nRCPT TO:<x@elsewhere.test>\r\nDATA\r\n").statuses(),
            "250 2.1.0 | 554 5.7.1 | 554 5.5.1");
  EXPECT_EQ(d.store_requests, 0);
}

TEST(Session, data_with_an_argument_is_501) {
  Dialogue d;
  d.ehlo();
  EXPECT_EQ(d.send("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA now\r\n").statuses(),
            "250 2.1.0 | 250 2.1.5 | 501 5.5.4");
}

TEST(Session, helo_only_session_is_plain_smtp) {
  Dialogue d;
  d.send("HELO client.test\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\nhi\r\n.\r\n");
  ASSERT_EQ(d.stored.size(), 1u);
  EXPECT_EQ(d.stored[0].envelope.protocol, "SMTP");
  EXPECT_EQ(d.stored[0].envelope.helo_name, "client.test");
  EXPECT_EQ(d.stored[0].envelope.client_address, "192.0.2.10");
}

TEST(Session, refuse_sends_the_reply_and_closes) {
  Dialogue d;
  d.session().output().clear();
  d.session().refuse(Reply(codes::k421TooManyConnections, "Too many connections"));
  EXPECT_EQ(parse_replies(d.session().output()).statuses(), "421 4.7.0");
  EXPECT_EQ(d.need(), ServerSession::Need::close);
}

TEST(Session, connection_lost_closes_without_a_reply) {
  Dialogue d;
  d.ehlo();
  d.session().connection_lost("client closed");
  EXPECT_EQ(d.need(), ServerSession::Need::close);
  EXPECT_TRUE(d.session().output().empty());
  EXPECT_EQ(d.session().stats().close_reason, "client closed");
}

}  // namespace
}  // namespace petrel::smtp
