// ClientSession: one dialogue per test against a scripted server, each run
// whole and byte by byte (play_both) with the same outcome.
#include <gtest/gtest.h>

#include "client_harness.hpp"
#include "smtp/client_commands.hpp"

namespace petrel::smtp {
namespace {

using testing::message;
using testing::plain_options;
using testing::play_both;
using Need = ClientSession::Need;

constexpr std::string_view kGreeting = "220 mx.example.net ESMTP\r\n";
constexpr std::string_view kBareEhlo = "250 mx.example.net\r\n";

std::string server(std::initializer_list<std::string_view> replies) {
  std::string s;
  for (auto r : replies) s += r;
  return s;
}

TEST(ClientSession, delivers_in_lock_step_without_extensions) {
  const auto run = play_both(plain_options(), {message({"b", "c"})},
                             server({kGreeting, kBareEhlo, "250 2.1.0 ok\r\n", "250 2.1.5 ok\r\n", "250 2.1.5 ok\r\n",
                                     "354 go\r\n", "250 2.0.0 queued as X\r\n", "221 2.0.0 bye\r\n"}));
  EXPECT_EQ(run.sent,
            "EHLO client.example.org\r\n"
            "MAIL FROM:<a@example.org>\r\n"
            "RCPT TO:<b@example.net>\r\n"
            "RCPT TO:<c@example.net>\r\n"
            "DATA\r\n"
            "Subject: t\r\n\r\nhi\r\n.\r\n"
            "QUIT\r\n");
  ASSERT_EQ(run.outcomes.size(), 1u);
  EXPECT_EQ(run.outcomes[0], "delivered 250 2.0.0 queued as X | delivered 250 2.0.0 queued as X");
  EXPECT_TRUE(run.results[0].attempted);
  EXPECT_EQ(run.end, Need::done);
  EXPECT_FALSE(run.failure);
}

TEST(ClientSession, lock_step_waits_for_each_reply_before_the_next_command) {
  ClientSession s(plain_options());
  s.feed(kGreeting);
  EXPECT_EQ(s.output(), "EHLO client.example.org\r\n");
  s.output().clear();
  EXPECT_EQ(s.awaiting(), ClientSession::Awaiting::other);
  s.feed(kBareEhlo);
  ASSERT_EQ(s.need(), Need::next_message);
  EXPECT_EQ(s.awaiting(), ClientSession::Awaiting::nothing);
  s.send_message(message({"b", "c"}));
  EXPECT_EQ(s.output(), "MAIL FROM:<a@example.org>\r\n");
  EXPECT_EQ(s.awaiting(), ClientSession::Awaiting::mail);
  s.output().clear();
  s.feed("250 ok\r\n");
  EXPECT_EQ(s.output(), "RCPT TO:<b@example.net>\r\n");
  EXPECT_EQ(s.awaiting(), ClientSession::Awaiting::rcpt);
  s.output().clear();
  s.feed("250 ok\r\n250 ok\r\n");
  EXPECT_EQ(s.output(), "RCPT TO:<c@example.net>\r\nDATA\r\n");
  EXPECT_EQ(s.awaiting(), ClientSession::Awaiting::data_init);
  s.output().clear();
  s.feed("354 go\r\n");
  EXPECT_EQ(s.awaiting(), ClientSession::Awaiting::data_end);
  EXPECT_FALSE(s.take_results());
  s.feed("250 ok\r\n");
  EXPECT_EQ(s.need(), Need::next_message);
  ASSERT_TRUE(s.take_results());
  EXPECT_FALSE(s.take_results());  // taken once
}

TEST(ClientSession, pipelining_sends_mail_rcpts_and_data_in_one_write) {
  ClientSession s(plain_options());
  s.feed(kGreeting);
  s.output().clear();
  s.feed("250-mx.example.net\r\n250 PIPELINING\r\n");
  s.send_message(message({"b", "c"}));
  EXPECT_EQ(s.output(), "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nRCPT TO:<c@example.net>\r\nDATA\r\n");
  s.output().clear();
  s.feed("250 ok\r\n250 ok\r\n550 5.1.1 no\r\n");
  EXPECT_EQ(s.output(), "");  // nothing before the 354
  s.feed("354 go\r\n");
  EXPECT_EQ(s.output(), "Subject: t\r\n\r\nhi\r\n.\r\n");
  s.output().clear();
  s.feed("250 2.0.0 ok\r\n");
  ASSERT_EQ(s.need(), Need::next_message);
  EXPECT_EQ(testing::describe(*s.take_results()), "delivered 250 2.0.0 ok | failed 550 5.1.1 no");
}

TEST(ClientSession, ehlo_refused_falls_back_to_helo) {
  const auto run = play_both(plain_options(), {message({"b"})},
                             server({kGreeting, "502 5.5.1 what\r\n", "250 mx\r\n", "250 ok\r\n", "250 ok\r\n",
                                     "354 go\r\n", "250 ok\r\n", "221 bye\r\n"}));
  EXPECT_TRUE(run.sent.starts_with("EHLO client.example.org\r\nHELO client.example.org\r\nMAIL FROM:<a@example.org>\r\n"));
  EXPECT_FALSE(run.caps.esmtp);
  EXPECT_EQ(run.outcomes, std::vector<std::string>{"delivered 250 ok"});
}

TEST(ClientSession, ehlo_and_helo_refused_is_a_connection_failure) {
  const auto run = play_both(plain_options(), {message({"b"})}, server({kGreeting, "500 no\r\n", "501 no\r\n"}));
  EXPECT_EQ(run.sent, "EHLO client.example.org\r\nHELO client.example.org\r\nQUIT\r\n");
  ASSERT_TRUE(run.failure);
  EXPECT_EQ(run.failure->str(), "501 no");
  EXPECT_TRUE(run.results.empty());  // no message was given
  EXPECT_EQ(run.end, Need::done);
}

TEST(ClientSession, ehlo_4xx_is_a_connection_failure_without_helo) {
  const auto run = play_both(plain_options(), {message({"b"})}, server({kGreeting, "450 4.3.2 busy\r\n"}));
  EXPECT_EQ(run.sent, "EHLO client.example.org\r\nQUIT\r\n");
  ASSERT_TRUE(run.failure);
  EXPECT_EQ(run.failure->code, 450);
}

TEST(ClientSession, refused_greeting_is_a_connection_failure) {
  auto run = play_both(plain_options(), {message({"b"})}, server({"554 5.7.1 go away\r\n", "221 bye\r\n"}));
  EXPECT_EQ(run.sent, "QUIT\r\n");  // RFC 5321 §3.1
  ASSERT_TRUE(run.failure);
  EXPECT_EQ(run.failure->str(), "554 5.7.1 go away");
  run = play_both(plain_options(), {message({"b"})}, server({"421 4.3.2 too busy\r\n"}));
  EXPECT_EQ(run.sent, "");  // the server is closing: no QUIT
  ASSERT_TRUE(run.failure);
  EXPECT_EQ(run.failure->code, 421);
}

TEST(ClientSession, lmtp_sends_lhlo_and_gets_one_reply_per_accepted_recipient) {
  const auto run = play_both(plain_options(ClientProtocol::lmtp), {message({"b", "c", "d"})},
                             server({"220 lmtp\r\n", "250-lmtp\r\n250 PIPELINING\r\n", "250 ok\r\n", "250 ok\r\n",
                                     "250 ok\r\n", "550 5.1.1 no d\r\n", "354 go\r\n", "250 2.0.0 b saved\r\n",
                                     "452 4.2.2 c over quota\r\n", "221 bye\r\n"}));
  EXPECT_TRUE(run.sent.starts_with("LHLO client.example.org\r\n"));
  EXPECT_EQ(run.outcomes,
            std::vector<std::string>{"delivered 250 2.0.0 b saved | deferred 452 4.2.2 c over quota | failed 550 5.1.1 no d"});
}

TEST(ClientSession, lmtp_has_no_helo_fallback) {
  const auto run = play_both(plain_options(ClientProtocol::lmtp), {message({"b"})}, server({"220 lmtp\r\n", "500 no\r\n"}));
  EXPECT_EQ(run.sent, "LHLO client.example.org\r\nQUIT\r\n");
  ASSERT_TRUE(run.failure);
  EXPECT_EQ(run.failure->code, 500);
}

TEST(ClientSession, refused_mail_applies_to_every_recipient) {
  const auto run = play_both(plain_options(), {message({"b", "c"})},
                             server({kGreeting, kBareEhlo, "553 5.7.1 sender rejected\r\n", "221 bye\r\n"}));
  EXPECT_EQ(run.sent, "EHLO client.example.org\r\nMAIL FROM:<a@example.org>\r\nQUIT\r\n");
  EXPECT_EQ(run.outcomes[0], "failed 553 5.7.1 sender rejected | failed 553 5.7.1 sender rejected");
}

TEST(ClientSession, pipelined_refused_mail_ignores_the_later_replies) {
  const auto run =
      play_both(plain_options(), {message({"b"}), message({"c"})},
                server({kGreeting, "250-mx\r\n250 PIPELINING\r\n", "451 4.3.0 try later\r\n", "503 5.5.1 need MAIL\r\n",
                        "503 5.5.1 no valid recipients\r\n", "250 ok\r\n", "250 ok\r\n", "354 go\r\n", "250 ok\r\n",
                        "221 bye\r\n"}));
  EXPECT_EQ(run.outcomes, (std::vector<std::string>{"deferred 451 4.3.0 try later", "delivered 250 ok"}));
  // No RSET: the refused MAIL left no transaction open.
  EXPECT_EQ(run.sent.find("RSET"), std::string::npos);
}

TEST(ClientSession, no_accepted_recipient_in_lock_step_sends_rset_before_the_next_message_only) {
  const auto run = play_both(plain_options(), {message({"b"}), message({"c"})},
                             server({kGreeting, kBareEhlo, "250 ok\r\n", "550 5.1.1 no\r\n", "250 reset\r\n",
                                     "250 ok\r\n", "250 ok\r\n", "354 go\r\n", "250 ok\r\n", "221 bye\r\n"}));
  EXPECT_EQ(run.sent,
            "EHLO client.example.org\r\n"
            "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n"
            "RSET\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<c@example.net>\r\nDATA\r\nSubject: t\r\n\r\nhi\r\n.\r\n"
            "QUIT\r\n");
  EXPECT_EQ(run.outcomes, (std::vector<std::string>{"failed 550 5.1.1 no", "delivered 250 ok"}));
}

TEST(ClientSession, no_rset_before_quit) {
  const auto run = play_both(plain_options(), {message({"b"})},
                             server({kGreeting, kBareEhlo, "250 ok\r\n", "450 4.2.0 later\r\n", "221 bye\r\n"}));
  EXPECT_EQ(run.sent, "EHLO client.example.org\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nQUIT\r\n");
  EXPECT_EQ(run.outcomes[0], "deferred 450 4.2.0 later");
}

TEST(ClientSession, pipelined_data_refused_when_no_recipient_was_accepted) {
  const auto run = play_both(plain_options(), {message({"b"}), message({"c"})},
                             server({kGreeting, "250-mx\r\n250 PIPELINING\r\n", "250 ok\r\n", "550 5.1.1 no\r\n",
                                     "554 5.5.1 no valid recipients\r\n", "250 reset\r\n", "250 ok\r\n", "250 ok\r\n",
                                     "354 go\r\n", "250 ok\r\n", "221 bye\r\n"}));
  EXPECT_EQ(run.outcomes, (std::vector<std::string>{"failed 550 5.1.1 no", "delivered 250 ok"}));
  // The MAIL is still open at the server: RSET goes with the next group.
  EXPECT_NE(run.sent.find("DATA\r\nRSET\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<c@example.net>\r\nDATA\r\n"),
            std::string::npos);
}

TEST(ClientSession, pipelined_data_accepted_without_recipients_gets_an_empty_message) {
  const auto run = play_both(plain_options(), {message({"b"})},
                             server({kGreeting, "250-mx\r\n250 PIPELINING\r\n", "250 ok\r\n", "550 5.1.1 no\r\n",
                                     "354 go ahead anyway\r\n", "250 ok\r\n", "221 bye\r\n"}));
  EXPECT_EQ(run.outcomes, std::vector<std::string>{"failed 550 5.1.1 no"});
  EXPECT_NE(run.sent.find("DATA\r\n.\r\nQUIT\r\n"), std::string::npos);
  EXPECT_EQ(run.sent.find("Subject"), std::string::npos);
}

TEST(ClientSession, refused_data_or_end_of_data_applies_to_the_accepted_recipients) {
  auto run = play_both(plain_options(), {message({"b", "c"})},
                       server({kGreeting, kBareEhlo, "250 ok\r\n", "250 ok\r\n", "550 5.1.1 no c\r\n",
                               "451 4.3.0 no DATA now\r\n", "221 bye\r\n"}));
  EXPECT_EQ(run.outcomes[0], "deferred 451 4.3.0 no DATA now | failed 550 5.1.1 no c");
  EXPECT_EQ(run.sent.find("Subject"), std::string::npos);
  run = play_both(plain_options(), {message({"b", "c"})},
                  server({kGreeting, kBareEhlo, "250 ok\r\n", "250 ok\r\n", "250 ok\r\n", "354 go\r\n",
                          "554 5.7.1 spam\r\n", "221 bye\r\n"}));
  EXPECT_EQ(run.outcomes[0], "failed 554 5.7.1 spam | failed 554 5.7.1 spam");
}

TEST(ClientSession, size_is_declared_and_too_big_fails_without_sending) {
  auto run = play_both(plain_options(), {message({"b"})},
                       server({kGreeting, "250-mx\r\n250 SIZE 1000\r\n", "250 ok\r\n", "250 ok\r\n", "354 go\r\n",
                               "250 ok\r\n", "221 bye\r\n"}));
  EXPECT_NE(run.sent.find("MAIL FROM:<a@example.org> SIZE=18\r\n"), std::string::npos);
  EXPECT_EQ(*run.caps.size, 1000u);
  run = play_both(plain_options(), {message({"b", "c"}, std::string(1001, 'x'))},
                  server({kGreeting, "250-mx\r\n250 SIZE 1000\r\n", "221 bye\r\n"}));
  EXPECT_EQ(run.sent, "EHLO client.example.org\r\nQUIT\r\n");
  EXPECT_EQ(run.outcomes[0],
            "failed 552 5.3.4 Message size 1001 exceeds the server's limit of 1000 | "
            "failed 552 5.3.4 Message size 1001 exceeds the server's limit of 1000");
  EXPECT_TRUE(run.results[0].recipients[0].reply.local);
  EXPECT_FALSE(run.results[0].attempted);
  // SIZE without a number: no fixed limit.
  run = play_both(plain_options(), {message({"b"}, std::string(5000, 'x'))},
                  server({kGreeting, "250-mx\r\n250 SIZE\r\n", "250 ok\r\n", "250 ok\r\n", "354 go\r\n", "250 ok\r\n",
                          "221 bye\r\n"}));
  EXPECT_EQ(run.outcomes[0], "delivered 250 ok");
}

TEST(ClientSession, eight_bit_content_needs_8bitmime) {
  auto m = message({"b"}, "Subject: caf\xc3\xa9\r\n\r\nx\r\n");
  m.params.body = BodyType::eight_bit_mime;
  auto run = play_both(plain_options(), {m}, server({kGreeting, kBareEhlo, "221 bye\r\n"}));
  // 8-bit in a header cannot be converted (that needs SMTPUTF8).
  EXPECT_EQ(run.outcomes[0],
            "failed 554 5.6.3 The server does not accept 8-bit content (8BITMIME), and it cannot be converted");
  run = play_both(plain_options(), {m},
                  server({kGreeting, "250-mx\r\n250 8BITMIME\r\n", "250 ok\r\n", "250 ok\r\n", "354 go\r\n",
                          "250 ok\r\n", "221 bye\r\n"}));
  EXPECT_NE(run.sent.find("MAIL FROM:<a@example.org> BODY=8BITMIME\r\n"), std::string::npos);
  EXPECT_EQ(run.outcomes[0], "delivered 250 ok");
  // Declared 8BITMIME but all ASCII: sent as it is, without BODY=.
  m.content = "Subject: plain\r\n\r\nx\r\n";
  run = play_both(plain_options(), {m},
                  server({kGreeting, kBareEhlo, "250 ok\r\n", "250 ok\r\n", "354 go\r\n", "250 ok\r\n", "221 bye\r\n"}));
  EXPECT_NE(run.sent.find("MAIL FROM:<a@example.org>\r\n"), std::string::npos);
  EXPECT_EQ(run.outcomes[0], "delivered 250 ok");
}

TEST(ClientSession, eight_bit_body_is_converted_for_a_server_without_8bitmime) {
  auto m = message({"b"}, "Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                          "Content-Transfer-Encoding: 8bit\r\n\r\ncaf\xc3\xa9\r\n");
  m.params.body = BodyType::eight_bit_mime;
  auto run = play_both(plain_options(), {m},
                       server({kGreeting, kBareEhlo, "250 ok\r\n", "250 ok\r\n", "354 go\r\n", "250 ok\r\n",
                               "221 bye\r\n"}));
  EXPECT_EQ(run.outcomes[0], "delivered 250 ok");
  EXPECT_NE(run.sent.find("MAIL FROM:<a@example.org>\r\n"), std::string::npos);  // no BODY=
  EXPECT_NE(run.sent.find("Content-Transfer-Encoding: quoted-printable\r\n\r\ncaf=C3=A9\r\n.\r\n"),
            std::string::npos)
      << run.sent;
}

TEST(ClientSession, smtputf8_needs_the_extension) {
  auto m = message({"b"});
  m.params.smtputf8 = true;
  auto run = play_both(plain_options(), {m}, server({kGreeting, "250-mx\r\n250 8BITMIME\r\n", "221 bye\r\n"}));
  EXPECT_EQ(run.outcomes[0], "failed 553 5.6.7 The server does not offer SMTPUTF8");
  // A UTF-8 address needs it even without the flag.
  run = play_both(plain_options(), {message({"j\xc3\xb6rg"})},
                  server({kGreeting, "250-mx\r\n250 SMTPUTF8\r\n", "250 ok\r\n", "250 ok\r\n", "354 go\r\n",
                          "250 ok\r\n", "221 bye\r\n"}));
  EXPECT_NE(run.sent.find("MAIL FROM:<a@example.org> SMTPUTF8\r\nRCPT TO:<j\xc3\xb6rg@example.net>\r\n"),
            std::string::npos);
  EXPECT_EQ(run.outcomes[0], "delivered 250 ok");
}

TEST(ClientSession, dsn_parameters_only_when_offered) {
  auto m = message({"b"});
  m.params.ret = DsnRet::headers;
  m.params.envid = "id 1";
  m.recipients[0].notify = notify_failure | notify_delay;
  m.recipients[0].orcpt = "rfc822;b+x@example.net";
  const std::string tail = "250 ok\r\n250 ok\r\n354 go\r\n250 ok\r\n221 bye\r\n";
  auto run = play_both(plain_options(), {m}, server({kGreeting, "250-mx\r\n250 DSN\r\n", tail}));
  EXPECT_NE(run.sent.find("MAIL FROM:<a@example.org> RET=HDRS ENVID=id+201\r\n"
                          "RCPT TO:<b@example.net> NOTIFY=FAILURE,DELAY ORCPT=rfc822;b+2Bx@example.net\r\n"),
            std::string::npos);
  run = play_both(plain_options(), {m}, server({kGreeting, kBareEhlo, tail}));
  EXPECT_NE(run.sent.find("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n"), std::string::npos);
}

TEST(ClientSession, chunking_sends_one_bdat_last) {
  const auto run = play_both(plain_options(), {message({"b", "c"}, "Subject: t\r\n\r\n.dot")},
                             server({kGreeting, "250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n", "250 ok\r\n",
                                     "250 ok\r\n", "452 4.5.3 too many\r\n", "250 2.0.0 ok\r\n", "221 bye\r\n"}));
  EXPECT_EQ(run.sent,
            "EHLO client.example.org\r\n"
            "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nRCPT TO:<c@example.net>\r\n"
            "BDAT 20 LAST\r\nSubject: t\r\n\r\n.dot\r\n"
            "QUIT\r\n");
  EXPECT_EQ(run.outcomes[0], "delivered 250 2.0.0 ok | deferred 452 4.5.3 too many");
}

TEST(ClientSession, failed_bdat_needs_rset_before_the_next_message) {
  const auto run = play_both(plain_options(), {message({"b"}), message({"c"})},
                             server({kGreeting, "250-mx\r\n250 CHUNKING\r\n", "250 ok\r\n", "250 ok\r\n",
                                     "554 5.7.1 spam\r\n", "250 reset\r\n", "250 ok\r\n", "250 ok\r\n",
                                     "250 ok\r\n", "221 bye\r\n"}));
  EXPECT_NE(run.sent.find("RSET\r\nMAIL"), std::string::npos);
  EXPECT_EQ(run.outcomes, (std::vector<std::string>{"failed 554 5.7.1 spam", "delivered 250 ok"}));
}

TEST(ClientSession, data_content_is_dot_stuffed_and_ends_with_crlf) {
  const auto run = play_both(plain_options(), {message({"b"}, ".a\r\n..b\r\nc.\r\n.\r\nend")},
                             server({kGreeting, kBareEhlo, "250 ok\r\n", "250 ok\r\n", "354 go\r\n", "250 ok\r\n",
                                     "221 bye\r\n"}));
  EXPECT_NE(run.sent.find("DATA\r\n..a\r\n...b\r\nc.\r\n..\r\nend\r\n.\r\nQUIT\r\n"), std::string::npos);
}

TEST(ClientSession, two_messages_on_one_connection_without_rset_after_success) {
  const auto run = play_both(plain_options(), {message({"b"}), message({"c"}, "x\r\n", "z")},
                             server({kGreeting, kBareEhlo, "250 ok\r\n", "250 ok\r\n", "354 go\r\n", "250 one\r\n",
                                     "250 ok\r\n", "250 ok\r\n", "354 go\r\n", "250 two\r\n", "221 bye\r\n"}));
  EXPECT_EQ(run.outcomes, (std::vector<std::string>{"delivered 250 one", "delivered 250 two"}));
  EXPECT_EQ(run.sent.find("RSET"), std::string::npos);
  EXPECT_NE(run.sent.find(".\r\nMAIL FROM:<z@example.org>\r\n"), std::string::npos);
}

TEST(ClientSession, starttls_when_offered_then_ehlo_again) {
  ClientOptions o = plain_options();
  o.tls = TlsPolicy::may;
  const auto run = play_both(o, {message({"b"})},
                             {server({kGreeting, "250-mx\r\n250 STARTTLS\r\n", "220 2.0.0 go ahead\r\n",
                                      "250 injected in the clear\r\n"}),
                              server({"250-mx\r\n250 PIPELINING\r\n", "250 ok\r\n", "250 ok\r\n", "354 go\r\n",
                                      "250 ok\r\n", "221 bye\r\n"})});
  EXPECT_TRUE(run.sent.starts_with("EHLO client.example.org\r\nSTARTTLS\r\nEHLO client.example.org\r\nMAIL"));
  EXPECT_TRUE(run.encrypted);
  EXPECT_TRUE(run.caps.pipelining);
  EXPECT_FALSE(run.caps.starttls);  // what was said in the clear is forgotten
  EXPECT_EQ(run.outcomes[0], "delivered 250 ok");
}

TEST(ClientSession, start_tls_leaves_the_bytes_after_the_220_unconsumed) {
  ClientOptions o = plain_options();
  o.tls = TlsPolicy::may;
  ClientSession s(o);
  s.feed(kGreeting);
  s.feed("250-mx\r\n250 STARTTLS\r\n");
  const std::string wire = "220 go ahead\r\n250 injected\r\n";
  EXPECT_EQ(s.feed(wire), 14u);
  EXPECT_EQ(s.need(), Need::start_tls);
  EXPECT_EQ(s.feed("250 injected\r\n"), 0u);
}

TEST(ClientSession, starttls_may_goes_on_in_the_clear) {
  ClientOptions o = plain_options();
  o.tls = TlsPolicy::may;
  auto run = play_both(o, {message({"b"})},
                       server({kGreeting, kBareEhlo, "250 ok\r\n", "250 ok\r\n", "354 go\r\n", "250 ok\r\n",
                               "221 bye\r\n"}));
  EXPECT_FALSE(run.encrypted);
  EXPECT_EQ(run.outcomes[0], "delivered 250 ok");
  // Offered but refused: also in the clear.
  run = play_both(o, {message({"b"})},
                  server({kGreeting, "250-mx\r\n250 STARTTLS\r\n", "454 4.7.0 not now\r\n", "250 ok\r\n", "250 ok\r\n",
                          "354 go\r\n", "250 ok\r\n", "221 bye\r\n"}));
  EXPECT_EQ(run.outcomes[0], "delivered 250 ok");
}

TEST(ClientSession, starttls_encrypt_fails_the_connection_when_not_offered_or_refused) {
  ClientOptions o = plain_options();
  o.tls = TlsPolicy::encrypt;
  auto run = play_both(o, {message({"b"})}, server({kGreeting, kBareEhlo}));
  EXPECT_EQ(run.sent, "EHLO client.example.org\r\nQUIT\r\n");
  ASSERT_TRUE(run.failure);
  EXPECT_EQ(run.failure->str(), "454 4.7.4 TLS is required, but the server does not offer STARTTLS");
  run = play_both(o, {message({"b"})}, server({kGreeting, "250-mx\r\n250 STARTTLS\r\n", "454 4.7.0 not now\r\n"}));
  ASSERT_TRUE(run.failure);
  EXPECT_EQ(run.failure->code, 454);
}

TEST(ClientSession, starttls_verify_is_required_like_encrypt) {
  ClientOptions o = plain_options();
  o.tls = TlsPolicy::verify;
  auto run = play_both(o, {message({"b"})}, server({kGreeting, kBareEhlo}));
  EXPECT_EQ(run.sent, "EHLO client.example.org\r\nQUIT\r\n");
  ASSERT_TRUE(run.failure);
  EXPECT_EQ(run.failure->enhanced, "4.7.4");
}

TEST(ClientSession, failed_handshake_fails_the_connection) {
  ClientOptions o = plain_options();
  o.tls = TlsPolicy::encrypt;
  ClientSession s(o);
  s.feed(kGreeting);
  s.feed("250-mx\r\n250 STARTTLS\r\n");
  s.feed("220 go\r\n");
  ASSERT_EQ(s.need(), Need::start_tls);
  s.output().clear();
  s.tls_failed("certificate rejected");
  EXPECT_EQ(s.need(), Need::done);
  EXPECT_EQ(s.output(), "");
  ASSERT_TRUE(s.failure());
  EXPECT_EQ(s.failure()->str(), "454 4.7.5 TLS handshake failed: certificate rejected");
}

TEST(ClientSession, implicit_tls_skips_starttls) {
  ClientOptions o = plain_options();
  o.tls = TlsPolicy::encrypt;
  ClientSession s(o);
  s.tls_started();
  s.feed(kGreeting);
  s.feed("250-mx\r\n250 STARTTLS\r\n");
  EXPECT_EQ(s.need(), Need::next_message);
  EXPECT_TRUE(s.encrypted());
}

ClientOptions with_credentials(TlsPolicy tls, bool in_clear) {
  ClientOptions o = plain_options();
  o.tls = tls;
  o.credentials = Credentials{"user", "secret"};
  o.auth_in_clear = in_clear;
  return o;
}

TEST(ClientSession, auth_plain_after_starttls) {
  const auto run = play_both(with_credentials(TlsPolicy::encrypt, false), {message({"b"})},
                             {server({kGreeting, "250-mx\r\n250 STARTTLS\r\n", "220 go\r\n"}),
                              server({"250-mx\r\n250 AUTH LOGIN PLAIN\r\n", "235 2.7.0 ok\r\n", "250 ok\r\n",
                                      "250 ok\r\n", "354 go\r\n", "250 ok\r\n", "221 bye\r\n"})});
  EXPECT_NE(run.sent.find("EHLO client.example.org\r\nAUTH PLAIN AHVzZXIAc2VjcmV0\r\nMAIL"), std::string::npos);
  EXPECT_TRUE(run.authenticated);
  EXPECT_EQ(run.outcomes[0], "delivered 250 ok");
  for (const auto& line : run.transcript) EXPECT_EQ(line.find("AHVzZXIAc2VjcmV0"), std::string::npos) << line;
}

TEST(ClientSession, auth_login_when_plain_is_not_offered) {
  const auto run = play_both(with_credentials(TlsPolicy::none, true), {message({"b"})},
                             server({kGreeting, "250-mx\r\n250 AUTH=LOGIN\r\n", "334 VXNlcm5hbWU6\r\n",
                                     "334 UGFzc3dvcmQ6\r\n", "235 ok\r\n", "250 ok\r\n", "250 ok\r\n", "354 go\r\n",
                                     "250 ok\r\n", "221 bye\r\n"}));
  EXPECT_NE(run.sent.find("AUTH LOGIN\r\ndXNlcg==\r\nc2VjcmV0\r\nMAIL"), std::string::npos);
  EXPECT_EQ(run.outcomes[0], "delivered 250 ok");
}

TEST(ClientSession, no_credentials_in_the_clear_unless_allowed) {
  const auto run = play_both(with_credentials(TlsPolicy::may, false), {message({"b"})},
                             server({kGreeting, "250-mx\r\n250 AUTH PLAIN\r\n"}));
  EXPECT_EQ(run.sent, "EHLO client.example.org\r\nQUIT\r\n");
  ASSERT_TRUE(run.failure);
  EXPECT_EQ(run.failure->code, 454);
}

TEST(ClientSession, refused_auth_fails_the_connection) {
  const auto run = play_both(with_credentials(TlsPolicy::none, true), {message({"b"})},
                             server({kGreeting, "250-mx\r\n250 AUTH PLAIN\r\n", "535 5.7.8 bad credentials\r\n"}));
  EXPECT_TRUE(run.sent.ends_with("QUIT\r\n"));
  ASSERT_TRUE(run.failure);
  EXPECT_EQ(run.failure->str(), "535 5.7.8 bad credentials");
  EXPECT_FALSE(run.authenticated);
}

TEST(ClientSession, malformed_reply_is_a_protocol_error) {
  const auto run = play_both(plain_options(), {message({"b"})}, server({kGreeting, kBareEhlo, "hello?\r\n"}));
  ASSERT_TRUE(run.failure);
  EXPECT_EQ(run.failure->code, 451);
  EXPECT_EQ(run.failure->enhanced, "4.5.0");
  EXPECT_EQ(run.outcomes[0], "deferred 451 4.5.0 Protocol error: malformed reply");
  EXPECT_FALSE(run.results[0].attempted);
  EXPECT_FALSE(run.sent.ends_with("QUIT\r\n"));
}

TEST(ClientSession, unexpected_reply_class_is_a_protocol_error) {
  const auto run = play_both(plain_options(), {message({"b"})}, server({kGreeting, kBareEhlo, "354 what\r\n"}));
  ASSERT_TRUE(run.failure);
  EXPECT_EQ(run.failure->code, 451);
}

TEST(ClientSession, connection_lost_defers_what_is_not_known) {
  // Lost after the RCPT replies: accepted recipients are deferred, refused
  // ones keep their reply; the transaction was attempted.
  auto run = play_both(plain_options(), {message({"b", "c"})},
                       server({kGreeting, kBareEhlo, "250 ok\r\n", "250 ok\r\n", "550 5.1.1 no\r\n", "354 go\r\n"}));
  EXPECT_EQ(run.outcomes[0],
            "deferred 421 4.4.2 Lost connection with the server: server closed | failed 550 5.1.1 no");
  EXPECT_TRUE(run.results[0].attempted);
  EXPECT_TRUE(run.results[0].recipients[0].reply.local);
  EXPECT_EQ(run.end, Need::done);
  // Lost before any reply to the transaction: not attempted.
  run = play_both(plain_options(), {message({"b"})}, server({kGreeting, kBareEhlo}));
  EXPECT_FALSE(run.results[0].attempted);
  ASSERT_TRUE(run.failure);
}

TEST(ClientSession, reply_421_ends_the_connection_at_any_point) {
  const auto run = play_both(plain_options(), {message({"b", "c"})},
                             server({kGreeting, kBareEhlo, "250 ok\r\n", "250 ok\r\n",
                                     "421 4.3.2 shutting down\r\n", "250 never read\r\n"}));
  EXPECT_EQ(run.outcomes[0], "deferred 421 4.3.2 shutting down | deferred 421 4.3.2 shutting down");
  ASSERT_TRUE(run.failure);
  EXPECT_FALSE(run.sent.ends_with("QUIT\r\n"));
}

TEST(ClientSession, quit_waits_for_its_reply_and_nothing_follows) {
  ClientSession s(plain_options());
  s.feed(kGreeting);
  s.feed(kBareEhlo);
  s.output().clear();
  s.quit();
  EXPECT_EQ(s.output(), "QUIT\r\n");
  EXPECT_EQ(s.need(), Need::input);
  s.output().clear();
  EXPECT_EQ(s.feed("221 bye\r\n250 more\r\n"), 9u);
  EXPECT_EQ(s.need(), Need::done);
  EXPECT_FALSE(s.failure());
  s.connection_lost("closed");
  EXPECT_FALSE(s.failure());
  EXPECT_EQ(s.output(), "");
}

TEST(ClientSession, lost_connection_after_quit_is_no_failure) {
  ClientSession s(plain_options());
  s.feed(kGreeting);
  s.feed(kBareEhlo);
  s.quit();
  s.connection_lost("closed");
  EXPECT_EQ(s.need(), Need::done);
  EXPECT_FALSE(s.failure());
}

TEST(ClientSession, send_message_at_the_wrong_time_is_a_programming_error) {
  ClientSession s(plain_options());
  EXPECT_THROW(s.send_message(message({"b"})), std::logic_error);
}

TEST(ClientSession, addresses_cannot_inject_commands) {
  auto m = message({"b"});
  m.recipients[0].forward_path.local_part = "b\r\nRSET";
  const auto run = play_both(plain_options(), {m}, server({kGreeting, kBareEhlo, "221 bye\r\n"}));
  EXPECT_EQ(run.sent, "EHLO client.example.org\r\nQUIT\r\n");
  EXPECT_EQ(run.outcomes[0], "failed 501 5.1.3 Bad recipient address syntax");
}

TEST(Capabilities, parses_the_extensions_a_client_uses) {
  ServerReply r;
  r.code = 250;
  r.lines = {"mx.example.net Hello", "SIZE 10240000", "pipelining", "8BITMIME", "SMTPUTF8", "CHUNKING", "BINARYMIME",
             "DSN", "STARTTLS", "ENHANCEDSTATUSCODES", "AUTH PLAIN login", "AUTH=XOAUTH2", "X-UNKNOWN 1"};
  const Capabilities c = parse_capabilities(r);
  EXPECT_TRUE(c.esmtp);
  EXPECT_EQ(c.server_name, "mx.example.net");
  EXPECT_EQ(*c.size, 10240000u);
  EXPECT_TRUE(c.pipelining && c.eight_bit_mime && c.smtputf8 && c.chunking && c.binary_mime && c.dsn && c.starttls &&
              c.enhanced_status_codes);
  EXPECT_EQ(c.auth, (std::vector<std::string>{"PLAIN", "LOGIN", "XOAUTH2"}));
  EXPECT_EQ(c.keywords.size(), 12u);
}

TEST(ClientCommands, encodings) {
  EXPECT_EQ(xtext_encode("a+b=c d\x01"), "a+2Bb+3Dc+20d+01");
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode(std::string("\0u\0p", 4)), "AHUAcA==");
}

TEST(ClientCommands, dot_stuffing_turns_bare_line_endings_into_crlf) {
  std::string out;
  append_dot_stuffed("a\n.b\r.c\r\n", out);
  EXPECT_EQ(out, "a\r\n..b\r\n..c\r\n.\r\n");
  out.clear();
  append_dot_stuffed("", out);
  EXPECT_EQ(out, ".\r\n");
}

}  // namespace
}  // namespace petrel::smtp
