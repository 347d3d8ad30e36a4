// REQUIRETLS (RFC 8689): offered and accepted only over TLS on the server
// side; on the client side passed on to a next hop that offers it, and
// never sent in the clear or to a next hop without it. And the
// "TLS-Required: No" header field (RFC 8689 §5).
#include <gtest/gtest.h>

#include "client_harness.hpp"
#include "session_harness.hpp"
#include "smtp/client_commands.hpp"
#include "smtp/header_field.hpp"
#include "smtp/mail_params.hpp"

namespace petrel::smtp::testing {
namespace {

constexpr std::string_view kGreeting = "220 mx.example.net ESMTP\r\n";

std::string server(std::initializer_list<std::string_view> replies) {
  std::string s;
  for (auto r : replies) s += r;
  return s;
}

SessionOptions tls_options() {
  SessionOptions o;
  o.hostname = "mx.example.test";
  o.starttls = true;
  return o;
}

bool offers(const Replies& r, std::string_view keyword) {
  for (const auto& line : r.back().lines) {
    if (line == keyword) return true;
  }
  return false;
}

TEST(RequireTlsServer, offered_only_after_starttls) {
  Dialogue d(tls_options());
  EXPECT_FALSE(offers(d.send("EHLO client.test\r\n"), "REQUIRETLS"));
  d.send("STARTTLS\r\n");
  d.complete_tls();
  EXPECT_TRUE(offers(d.send("EHLO client.test\r\n"), "REQUIRETLS"));
}

TEST(RequireTlsServer, mail_with_requiretls_in_the_clear_gets_530_5_7_10) {
  Dialogue d(tls_options());
  d.send("EHLO client.test\r\n");
  EXPECT_EQ(d.send("MAIL FROM:<a@example.test> REQUIRETLS\r\n").statuses(), "530 5.7.10");
}

TEST(RequireTlsServer, mail_with_requiretls_over_tls_is_kept_in_the_envelope) {
  Dialogue d(tls_options());
  d.send("EHLO client.test\r\n");
  d.send("STARTTLS\r\n");
  d.complete_tls();
  d.send("EHLO client.test\r\n");
  EXPECT_EQ(d.send("MAIL FROM:<a@example.test> REQUIRETLS\r\n").statuses(), "250 2.1.0");
  EXPECT_EQ(d.send("MAIL FROM:<a@example.test>\r\n").statuses(), "503 5.5.1");
}

TEST(RequireTlsParams, requiretls_takes_no_value) {
  MailParams p;
  const ParamContext tls{true, 1000, false, true};
  ASSERT_TRUE(parse_mail_params(" REQUIRETLS=YES", tls, p));
  EXPECT_FALSE(parse_mail_params(" REQUIRETLS", tls, p));
  EXPECT_TRUE(p.requiretls);
}

TEST(RequireTlsClient, mail_from_carries_requiretls_only_to_a_server_that_offers_it) {
  MailParams params;
  params.requiretls = true;
  Capabilities caps;
  EXPECT_EQ(mail_command(Path{}, params, 10, caps), "MAIL FROM:<>\r\n");
  caps.requiretls = true;
  EXPECT_EQ(mail_command(Path{}, params, 10, caps), "MAIL FROM:<> REQUIRETLS\r\n");
}

ClientOptions requiretls_options() {
  ClientOptions o = plain_options();
  o.tls = TlsPolicy::verify;
  o.requiretls = true;
  return o;
}

OutgoingMessage requiretls_message() {
  OutgoingMessage m = message({"b"});
  m.params.requiretls = true;
  return m;
}

TEST(RequireTlsClient, a_next_hop_offering_requiretls_gets_it_on_mail_from) {
  const auto run = play_both(requiretls_options(), {requiretls_message()},
                             {server({kGreeting, "250-mx\r\n250 STARTTLS\r\n", "220 2.0.0 go ahead\r\n"}),
                              server({"250-mx\r\n250 REQUIRETLS\r\n", "250 ok\r\n", "250 ok\r\n", "354 go\r\n",
                                      "250 ok\r\n", "221 bye\r\n"})});
  EXPECT_NE(run.sent.find("MAIL FROM:<a@example.org> REQUIRETLS\r\n"), std::string::npos) << run.sent;
  EXPECT_EQ(run.outcomes[0], "delivered 250 ok");
}

TEST(RequireTlsClient, a_next_hop_without_requiretls_fails_the_connection_with_5_7_30) {
  const auto run = play_both(requiretls_options(), {requiretls_message()},
                             {server({kGreeting, "250-mx\r\n250 STARTTLS\r\n", "220 2.0.0 go ahead\r\n"}),
                              server({"250-mx\r\n250 PIPELINING\r\n", "221 bye\r\n"})});
  ASSERT_TRUE(run.failure);
  EXPECT_EQ(run.failure->code, 550);
  EXPECT_EQ(run.failure->enhanced, "5.7.30");
  EXPECT_TRUE(run.failure->local);
  EXPECT_EQ(run.sent.find("MAIL"), std::string::npos);
}

TEST(RequireTlsClient, no_starttls_fails_with_5_7_10_and_nothing_in_the_clear) {
  const auto run = play_both(requiretls_options(), {requiretls_message()},
                             server({kGreeting, "250-mx\r\n250 PIPELINING\r\n", "221 bye\r\n"}));
  ASSERT_TRUE(run.failure);
  EXPECT_EQ(run.failure->enhanced, "5.7.10");
  EXPECT_EQ(run.sent.find("MAIL"), std::string::npos);
}

TEST(RequireTlsClient, a_failed_handshake_fails_with_5_7_10) {
  ClientSession s(requiretls_options());
  s.feed(kGreeting);
  s.feed("250-mx\r\n250 STARTTLS\r\n");
  s.feed("220 go ahead\r\n");
  ASSERT_EQ(s.need(), ClientSession::Need::start_tls);
  s.tls_failed("certificate verify failed");
  ASSERT_TRUE(s.failure());
  EXPECT_EQ(s.failure()->code, 550);
  EXPECT_EQ(s.failure()->enhanced, "5.7.10");
}

TEST(TlsRequiredHeader, no_in_any_case_and_folded_is_found_in_the_header_section_only) {
  EXPECT_TRUE(tls_required_no("Subject: x\r\nTLS-Required: No\r\n\r\nbody\r\n"));
  EXPECT_TRUE(tls_required_no("tls-required:\r\n  no \r\nSubject: x\r\n\r\n"));
  EXPECT_FALSE(tls_required_no("Subject: x\r\nTLS-Required: Yes\r\n\r\n"));
  EXPECT_FALSE(tls_required_no("Subject: x\r\n\r\nTLS-Required: No\r\n"));
  EXPECT_FALSE(tls_required_no("TLS-Required-Not: No\r\n\r\n"));
}

}  // namespace
}  // namespace petrel::smtp::testing
