// MAIL FROM and RCPT TO in a session: what ends up in the envelope, and what
// is refused with which reply (RFC 5321 §4.1.1.2-3, RFC 3463, RFC 6531).
#include <gtest/gtest.h>

#include "session_harness.hpp"

namespace petrel::smtp {
namespace {

using testing::Dialogue;

// MAIL FROM and one accepted RCPT, then DATA with a one-line message: what was stored.
ReceivedMessage deliver(Dialogue& d, std::string_view mail_from, std::string_view rcpt_to = "RCPT TO:<b@example.test>\r\n") {
  d.send(mail_from);
  d.send(rcpt_to);
  d.send("DATA\r\nhi\r\n.\r\n");
  EXPECT_EQ(d.stored.size(), 1u);
  return d.stored.empty() ? ReceivedMessage{} : d.stored.back();
}

TEST(Envelope, mail_params_are_stored_in_the_envelope) {
  Dialogue d;
  d.ehlo();
  EXPECT_EQ(d.send("MAIL FROM:<a@example.test> SIZE=1234 BODY=8BITMIME RET=HDRS ENVID=env+2B1\r\n").statuses(),
            "250 2.1.0");
  const ReceivedMessage m = deliver(d, "");
  EXPECT_EQ(m.envelope.reverse_path.str(), "<a@example.test>");
  EXPECT_EQ(m.envelope.params.declared_size, 1234u);
  EXPECT_EQ(m.envelope.params.body, BodyType::eight_bit_mime);
  EXPECT_EQ(m.envelope.params.ret, DsnRet::headers);
  EXPECT_EQ(m.envelope.params.envid, "env+1");
  EXPECT_EQ(m.envelope.protocol, "ESMTP");
}

TEST(Envelope, null_reverse_path_is_accepted) {
  Dialogue d;
  d.ehlo();
  EXPECT_EQ(d.send("MAIL FROM:<>\r\n").statuses(), "250 2.1.0");
  EXPECT_TRUE(deliver(d, "").envelope.reverse_path.is_null());
}

TEST(Envelope, body_7bit_and_binarymime_are_accepted) {
  Dialogue d;
  d.ehlo();
  EXPECT_EQ(d.send("MAIL FROM:<a@example.test> BODY=7BIT\r\nRSET\r\nMAIL FROM:<a@example.test> BODY=BINARYMIME\r\n")
                .statuses(),
            "250 2.1.0 | 250 2.0.0 | 250 2.1.0");
}

TEST(Envelope, smtputf8_allows_utf8_addresses_and_is_the_protocol) {
  Dialogue d;
  d.ehlo();
  EXPECT_EQ(d.send("MAIL FROM:<jörg@bücher.example> SMTPUTF8\r\nRCPT TO:<zoë@example.test>\r\n").statuses(),
            "250 2.1.0 | 250 2.1.5");
  const ReceivedMessage m = deliver(d, "", "");
  EXPECT_TRUE(m.envelope.params.smtputf8);
  EXPECT_EQ(m.envelope.recipients.at(0).forward_path.local_part, "zoë");
  EXPECT_EQ(m.envelope.protocol, "UTF8SMTP");
}

TEST(Envelope, utf8_sender_without_smtputf8_is_553) {
  Dialogue d;
  d.ehlo();
  EXPECT_EQ(d.send("MAIL FROM:<jörg@example.test>\r\n").statuses(), "553 5.6.7");
}

TEST(Envelope, utf8_recipient_without_smtputf8_is_553) {
  Dialogue d;
  d.ehlo();
  EXPECT_EQ(d.send("MAIL FROM:<a@example.test>\r\nRCPT TO:<zoë@example.test>\r\n").statuses(), "250 2.1.0 | 553 5.6.7");
}

TEST(Envelope, mail_params_after_helo_are_555) {
  Dialogue d;
  d.send("HELO client.test\r\n");
  EXPECT_EQ(d.send("MAIL FROM:<a@example.test> SIZE=10\r\n").statuses(), "555 5.5.4");
  EXPECT_EQ(d.send("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test> NOTIFY=NEVER\r\n").statuses(),
            "250 2.1.0 | 555 5.5.4");
}

TEST(Envelope, unknown_mail_param_is_555) {
  Dialogue d;
  d.ehlo();
  EXPECT_EQ(d.send("MAIL FROM:<a@example.test> XFORWARD=1\r\n").statuses(), "555 5.5.4");
}

TEST(Envelope, bad_param_values_are_501) {
  Dialogue d;
  d.ehlo();
  EXPECT_EQ(d.send("MAIL FROM:<a@example.test> SIZE=big\r\n"
                   "MAIL FROM:<a@example.test> BODY=9BIT\r\n"
                   "MAIL FROM:<a@example.test> RET=ALL\r\n"
                   "MAIL FROM:<a@example.test> SMTPUTF8=1\r\n")
                .statuses(),
            "501 5.5.4 | 501 5.5.4 | 501 5.5.4 | 501 5.5.4");
}

TEST(Envelope, declared_size_over_the_limit_is_552) {
  SessionOptions options;
  options.limits.max_message_size = 10000;
  Dialogue d(options);
  d.ehlo();
  EXPECT_EQ(d.send("MAIL FROM:<a@example.test> SIZE=10001\r\nMAIL FROM:<a@example.test> SIZE=10000\r\n").statuses(),
            "552 5.3.4 | 250 2.1.0");
  EXPECT_EQ(d.session().stats().errors, 0u);
}

TEST(Envelope, mail_from_syntax) {
  Dialogue d;
  d.ehlo();
  EXPECT_EQ(d.send("MAIL <a@example.test>\r\nMAIL FROM a@example.test\r\n").statuses(), "501 5.5.4 | 501 5.5.4");
  EXPECT_EQ(d.send("MAIL FROM: <a@example.test>\r\n").statuses(), "250 2.1.0");
}

TEST(Envelope, bad_sender_address_is_501_5_1_7_and_says_why) {
  struct Case {
    const char* line;
    const char* why;
  } cases[] = {
      {"MAIL FROM:<a@example.test\r\n", "unbalanced"},
      {"MAIL FROM:<john doe@example.test>\r\n", "local part"},
      {"MAIL FROM:<a@>\r\n", "domain"},
      {"MAIL FROM:<Postmaster>\r\n", "domain"},
  };
  for (const auto& c : cases) {
    Dialogue d;
    d.ehlo();
    const auto r = d.send(c.line);
    EXPECT_EQ(r.statuses(), "501 5.1.7") << c.line;
    ASSERT_EQ(r.size(), 1u);
    EXPECT_NE(r[0].text().find(c.why), std::string::npos) << r[0].text();
  }
}

TEST(Envelope, overlong_local_part_is_501_with_the_limit_named) {
  Dialogue d;
  d.ehlo();
  const std::string local(65, 'a');
  const auto mail = d.send("MAIL FROM:<" + local + "@example.test>\r\n");
  EXPECT_EQ(mail.statuses(), "501 5.1.7");
  EXPECT_NE(mail[0].text().find("64"), std::string::npos);

  d.send("MAIL FROM:<a@example.test>\r\n");
  const auto rcpt = d.send("RCPT TO:<" + local + "@example.test>\r\n");
  EXPECT_EQ(rcpt.statuses(), "501 5.1.3");
  EXPECT_NE(rcpt[0].text().find("64"), std::string::npos);
}

TEST(Envelope, bad_recipient_address_is_501_5_1_3) {
  Dialogue d;
  d.ehlo();
  d.send("MAIL FROM:<a@example.test>\r\n");
  const auto r = d.send("RCPT TO:<b@example.test\r\nRCPT TO:<>\r\nRCPT TO:<b c@example.test>\r\n");
  EXPECT_EQ(r.statuses(), "501 5.1.3 | 501 5.1.3 | 501 5.1.3");
  EXPECT_NE(r[0].text().find("unbalanced"), std::string::npos);
  EXPECT_EQ(d.send("RCPT <b@example.test>\r\n").statuses(), "501 5.5.4");
}

TEST(Envelope, domain_and_path_length_limits) {
  std::string long_domain;
  while (long_domain.size() < 256) long_domain += "abcdefghi.";
  long_domain.resize(256);
  std::string path_domain(190, 'd');
  for (std::size_t i = 50; i < path_domain.size(); i += 51) path_domain[i] = '.';
  Dialogue d;
  d.ehlo();
  const auto domain = d.send("MAIL FROM:<a@" + long_domain + ">\r\n");
  EXPECT_EQ(domain.statuses(), "501 5.1.7");
  EXPECT_NE(domain[0].text().find("255"), std::string::npos);
  const auto path = d.send("MAIL FROM:<" + std::string(64, 'l') + "@" + path_domain + ">\r\n");
  EXPECT_EQ(path.statuses(), "501 5.1.7");
  EXPECT_NE(path[0].text().find("256"), std::string::npos);
}

TEST(Envelope, quoted_local_parts_source_routes_and_literals) {
  Dialogue d;
  d.ehlo();
  EXPECT_EQ(d.send("MAIL FROM:<\"john doe\"@[192.0.2.7]>\r\n"
                   "RCPT TO:<@relay.example:b@example.test>\r\n"
                   "RCPT TO:<\"c d\"@example.test>\r\n")
                .statuses(),
            "250 2.1.0 | 250 2.1.5 | 250 2.1.5");
  const ReceivedMessage m = deliver(d, "", "");
  EXPECT_EQ(m.envelope.reverse_path.str(), "<\"john doe\"@[192.0.2.7]>");
  ASSERT_EQ(m.envelope.recipients.size(), 2u);
  EXPECT_EQ(m.envelope.recipients[0].forward_path.str(), "b@example.test");
  EXPECT_EQ(m.envelope.recipients[1].forward_path.str(), "\"c d\"@example.test");
}

TEST(Envelope, many_recipients_with_dsn_params_are_stored) {
  Dialogue d;
  d.ehlo();
  EXPECT_EQ(d.send("MAIL FROM:<a@example.test>\r\n"
                   "RCPT TO:<b@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b+2Bx@example.test\r\n"
                   "RCPT TO:<c@example.org> NOTIFY=NEVER\r\n"
                   "RCPT TO:<D@Example.TEST>\r\n")
                .statuses(),
            "250 2.1.0 | 250 2.1.5 | 250 2.1.5 | 250 2.1.5");
  const ReceivedMessage m = deliver(d, "", "");
  ASSERT_EQ(m.envelope.recipients.size(), 3u);
  EXPECT_EQ(m.envelope.recipients[0].notify, notify_success | notify_failure);
  EXPECT_EQ(m.envelope.recipients[0].orcpt, "rfc822;b+x@example.test");
  EXPECT_EQ(m.envelope.recipients[1].notify, notify_never);
  EXPECT_EQ(m.envelope.recipients[2].forward_path.str(), "D@Example.TEST");
  EXPECT_EQ(d.session().stats().recipients_accepted, 3u);
}

TEST(Envelope, bad_rcpt_params_are_501_or_555) {
  Dialogue d;
  d.ehlo();
  d.send("MAIL FROM:<a@example.test>\r\n");
  EXPECT_EQ(d.send("RCPT TO:<b@example.test> NOTIFY=MAYBE\r\nRCPT TO:<b@example.test> FOO=1\r\n").statuses(),
            "501 5.5.4 | 555 5.5.4");
}

TEST(Envelope, duplicate_recipient_is_accepted_once) {
  Dialogue d;
  d.ehlo();
  EXPECT_EQ(d.send("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nRCPT TO:<b@example.test>\r\n").statuses(),
            "250 2.1.0 | 250 2.1.5 | 250 2.1.5");
  EXPECT_EQ(deliver(d, "", "").envelope.recipients.size(), 1u);
}

TEST(Envelope, duplicate_recipient_in_another_domain_case_is_accepted_once) {
  Dialogue d;
  d.ehlo();
  EXPECT_EQ(d.send("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nRCPT TO:<b@EXAMPLE.Test.>\r\n"
                   "RCPT TO:<B@example.test>\r\n")
                .statuses(),
            "250 2.1.0 | 250 2.1.5 | 250 2.1.5 | 250 2.1.5");
  const ReceivedMessage m = deliver(d, "", "");
  ASSERT_EQ(m.envelope.recipients.size(), 2u);  // b@ and B@: local parts are case-sensitive
  EXPECT_EQ(m.envelope.recipients[1].forward_path.str(), "B@example.test");
}

TEST(Envelope, postmaster_without_domain_is_a_recipient) {
  Dialogue d;
  d.ehlo();
  EXPECT_EQ(d.send("MAIL FROM:<>\r\nRCPT TO:<Postmaster>\r\n").statuses(), "250 2.1.0 | 250 2.1.5");
  const ReceivedMessage m = deliver(d, "", "");
  ASSERT_EQ(m.envelope.recipients.size(), 1u);
  EXPECT_TRUE(m.envelope.recipients[0].forward_path.domain.empty());
}

TEST(Envelope, relay_refusal_comes_from_the_policy) {
  Dialogue d;
  d.ehlo();
  const auto r = d.send("MAIL FROM:<a@example.test>\r\nRCPT TO:<victim@elsewhere.test>\r\nRCPT TO:<b@example.test>\r\n");
  EXPECT_EQ(r.statuses(), "250 2.1.0 | 554 5.7.1 | 250 2.1.5");
  EXPECT_EQ(r[1].text(), "Relay access denied");
  const ReceivedMessage m = deliver(d, "", "");
  ASSERT_EQ(m.envelope.recipients.size(), 1u);
  EXPECT_EQ(m.envelope.recipients[0].forward_path.str(), "b@example.test");
}

TEST(Envelope, overflow_recipients_get_452_and_the_accepted_ones_are_delivered) {
  SessionOptions options;
  options.limits.max_recipients = 3;
  Dialogue d(options);
  d.ehlo();
  EXPECT_EQ(d.send("MAIL FROM:<a@example.test>\r\n"
                   "RCPT TO:<r1@example.test>\r\nRCPT TO:<r2@example.test>\r\nRCPT TO:<r3@example.test>\r\n"
                   "RCPT TO:<r4@example.test>\r\nRCPT TO:<r5@example.test>\r\n"
                   "DATA\r\nhi\r\n.\r\n")
                .statuses(),
            "250 2.1.0 | 250 2.1.5 | 250 2.1.5 | 250 2.1.5 | 452 4.5.3 | 452 4.5.3 | 354 | 250 2.0.0");
  ASSERT_EQ(d.stored.size(), 1u);
  ASSERT_EQ(d.stored[0].envelope.recipients.size(), 3u);
  EXPECT_EQ(d.stored[0].envelope.recipients[2].forward_path.str(), "r3@example.test");
  EXPECT_EQ(d.session().stats().errors, 0u);
}

TEST(Envelope, new_transaction_starts_with_an_empty_envelope) {
  Dialogue d;
  d.ehlo();
  d.send("MAIL FROM:<a@example.test> ENVID=first\r\nRCPT TO:<b@example.test>\r\nDATA\r\none\r\n.\r\n");
  d.send("MAIL FROM:<c@example.test>\r\nRCPT TO:<d@example.test>\r\nDATA\r\ntwo\r\n.\r\n");
  ASSERT_EQ(d.stored.size(), 2u);
  EXPECT_EQ(d.stored[1].envelope.params.envid, "");
  ASSERT_EQ(d.stored[1].envelope.recipients.size(), 1u);
  EXPECT_EQ(d.stored[1].envelope.recipients[0].forward_path.str(), "d@example.test");
  EXPECT_EQ(d.stored[1].content, "two\r\n");
}

}  // namespace
}  // namespace petrel::smtp
