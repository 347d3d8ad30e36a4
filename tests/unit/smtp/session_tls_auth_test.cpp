// STARTTLS (RFC 3207) and AUTH (RFC 4954) dialogues against the session
// core, with a scripted authenticator in place of GNU SASL.
#include <gtest/gtest.h>

#include "session_harness.hpp"

namespace petrel::smtp::testing {
namespace {

// PLAIN-like: "Z29vZA==" ("good") authenticates alice, "YmFk" ("bad") fails,
// anything else is malformed. Without an initial response it asks once.
class ScriptedExchange : public SaslExchange {
 public:
  SaslStep step(std::optional<std::string_view> response) override {
    if (!response) return {SaslStep::Outcome::challenge, "", ""};
    if (*response == "Z29vZA==") return {SaslStep::Outcome::success, "", "alice@example.test"};
    if (*response == "YmFk") return {SaslStep::Outcome::failure, "", ""};
    if (response->size() > 600) return {SaslStep::Outcome::success, "", "long@example.test"};
    return {SaslStep::Outcome::malformed, "", ""};
  }
};

class ScriptedAuthenticator : public Authenticator {
 public:
  std::vector<std::string> mechanisms() const override { return {"PLAIN", "LOGIN"}; }
  std::unique_ptr<SaslExchange> start(std::string_view mechanism) override {
    if (mechanism != "PLAIN" && mechanism != "plain") return nullptr;
    return std::make_unique<ScriptedExchange>();
  }
  std::optional<Reply> refuse_client(std::string_view) override {
    if (locked) return Reply(codes::k421AuthLockedOut, "Too many authentication failures");
    return std::nullopt;
  }
  std::chrono::milliseconds record_outcome(std::string_view, bool success) override {
    success ? ++successes : ++failures;
    return success ? std::chrono::milliseconds(0) : std::chrono::milliseconds(250);
  }
  bool locked = false;
  int successes = 0;
  int failures = 0;
};

SessionOptions tls_options() {
  SessionOptions o;
  o.hostname = "mx.example.test";
  o.starttls = true;
  return o;
}

bool offers(const Replies& r, std::string_view keyword) {
  for (const auto& line : r.back().lines) {
    if (line.rfind(keyword, 0) == 0) return true;
  }
  return false;
}

TEST(Starttls, offered_when_configured_and_auth_only_after_tls) {
  ScriptedAuthenticator auth;
  Dialogue d(tls_options(), "192.0.2.10", &auth);
  const auto before = d.send("EHLO client.test\r\n");
  EXPECT_TRUE(offers(before, "STARTTLS"));
  EXPECT_FALSE(offers(before, "AUTH"));
  EXPECT_EQ(d.send("STARTTLS\r\n").statuses(), "220 2.0.0");
  EXPECT_EQ(d.need(), ServerSession::Need::start_tls);
  d.complete_tls();
  const auto after = d.send("EHLO client.test\r\n");
  EXPECT_FALSE(offers(after, "STARTTLS"));
  EXPECT_TRUE(offers(after, "AUTH PLAIN LOGIN"));
}

TEST(Starttls, not_offered_without_a_certificate) {
  Dialogue d;
  EXPECT_FALSE(offers(d.send("EHLO client.test\r\n"), "STARTTLS"));
  EXPECT_EQ(d.send("STARTTLS\r\n").statuses(), "502 5.5.1");
}

TEST(Starttls, commands_pipelined_after_starttls_are_discarded) {
  // CVE-2011-0411: RSET came in the clear and must never be answered.
  Dialogue d(tls_options());
  d.ehlo();
  EXPECT_EQ(d.send("STARTTLS\r\nRSET\r\nMAIL FROM:<a@example.test>\r\n").statuses(), "220 2.0.0");
  EXPECT_TRUE(d.unconsumed().empty());
  d.complete_tls();
  EXPECT_TRUE(d.session().output().empty());
  EXPECT_EQ(d.send("NOOP\r\n").statuses(), "250 2.0.0");
}

TEST(Starttls, session_starts_afresh_after_the_handshake) {
  Dialogue d(tls_options());
  d.ehlo();
  d.send("STARTTLS\r\n");
  d.complete_tls();
  EXPECT_EQ(d.send("MAIL FROM:<a@example.test>\r\n").statuses(), "503 5.5.1");
  EXPECT_TRUE(d.session().helo_name().empty());
}

TEST(Starttls, refused_twice_inside_a_transaction_and_with_an_argument) {
  Dialogue d(tls_options());
  d.ehlo();
  EXPECT_EQ(d.send("STARTTLS now\r\n").statuses(), "501 5.5.4");
  EXPECT_EQ(d.send("MAIL FROM:<a@example.test>\r\nSTARTTLS\r\nRSET\r\n").statuses(), "250 2.1.0 | 503 5.5.1 | 250 2.0.0");
  d.send("STARTTLS\r\n");
  d.complete_tls();
  d.ehlo();
  EXPECT_EQ(d.send("STARTTLS\r\n").statuses(), "503 5.5.1");
}

TEST(Starttls, received_protocol_and_tls_are_recorded) {
  ScriptedAuthenticator auth;
  Dialogue d(tls_options(), "192.0.2.10", &auth);
  d.ehlo();
  d.send("STARTTLS\r\n");
  d.complete_tls();
  d.ehlo();
  d.send("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\nHi\r\n.\r\n");
  ASSERT_EQ(d.stored.size(), 1u);
  EXPECT_EQ(d.stored[0].envelope.protocol, "ESMTPS");
  EXPECT_EQ(d.stored[0].envelope.tls, "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)");
  d.send("AUTH PLAIN Z29vZA==\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\nHi\r\n.\r\n");
  ASSERT_EQ(d.stored.size(), 2u);
  EXPECT_EQ(d.stored[1].envelope.protocol, "ESMTPSA");
  EXPECT_EQ(d.stored[1].envelope.auth_user, "alice@example.test");
}

class Auth : public ::testing::Test {
 protected:
  ScriptedAuthenticator auth;
  Dialogue d{tls_options(), "192.0.2.10", &auth, /*implicit_tls=*/true};
  void SetUp() override { d.ehlo(); }
};

TEST(AuthInTheClear, in_the_clear_needs_encryption) {
  ScriptedAuthenticator plain_auth;
  Dialogue clear(tls_options(), "192.0.2.10", &plain_auth);
  clear.ehlo();
  EXPECT_EQ(clear.send("AUTH PLAIN Z29vZA==\r\n").statuses(), "538 5.7.11");
}

TEST(AuthInTheClear, a_trusted_listener_may_offer_it_in_the_clear) {
  ScriptedAuthenticator plain_auth;
  SessionOptions o;
  o.auth_without_tls = true;
  Dialogue clear(o, "192.0.2.10", &plain_auth);
  EXPECT_TRUE(offers(clear.send("EHLO client.test\r\n"), "AUTH"));
  EXPECT_EQ(clear.send("AUTH PLAIN Z29vZA==\r\n").statuses(), "235 2.7.0");
}

TEST_F(Auth, initial_response_succeeds_and_a_second_auth_is_refused) {
  EXPECT_EQ(d.send("AUTH PLAIN Z29vZA==\r\n").statuses(), "235 2.7.0");
  EXPECT_EQ(d.session().auth_user(), "alice@example.test");
  EXPECT_EQ(d.send("AUTH PLAIN Z29vZA==\r\n").statuses(), "503 5.5.1");
  EXPECT_EQ(auth.successes, 1);
}

TEST_F(Auth, without_initial_response_the_server_asks_with_an_empty_334) {
  EXPECT_EQ(d.send_raw("AUTH PLAIN\r\n"), "334 \r\n");
  EXPECT_EQ(d.send("Z29vZA==\r\n").statuses(), "235 2.7.0");
}

TEST_F(Auth, star_cancels_the_exchange) {
  d.send("AUTH PLAIN\r\n");
  EXPECT_EQ(d.send("*\r\n").statuses(), "501 5.0.0");
  EXPECT_EQ(d.send("NOOP\r\n").statuses(), "250 2.0.0");
}

TEST_F(Auth, wrong_credentials_get_535_after_a_delay) {
  EXPECT_EQ(d.send("AUTH PLAIN YmFk\r\n").statuses(), "535 5.7.8");
  EXPECT_EQ(d.session().take_reply_delay(), std::chrono::milliseconds(250));
  EXPECT_EQ(d.session().take_reply_delay(), std::chrono::milliseconds(0));
  EXPECT_EQ(auth.failures, 1);
  EXPECT_TRUE(d.session().auth_user().empty());
}

TEST_F(Auth, bad_base64_is_a_syntax_error) { EXPECT_EQ(d.send("AUTH PLAIN !!!\r\n").statuses(), "501 5.5.2"); }

TEST_F(Auth, unknown_mechanism_is_504) { EXPECT_EQ(d.send("AUTH CRAM-MD5\r\n").statuses(), "504 5.5.4"); }

TEST_F(Auth, empty_initial_response_is_passed_as_empty) {
  EXPECT_EQ(d.send("AUTH PLAIN =\r\n").statuses(), "501 5.5.2");
}

TEST_F(Auth, a_locked_out_client_is_disconnected) {
  auth.locked = true;
  EXPECT_EQ(d.send("AUTH PLAIN Z29vZA==\r\n").statuses(), "421 4.7.0");
  EXPECT_EQ(d.need(), ServerSession::Need::close);
}

TEST_F(Auth, not_during_a_transaction) {
  EXPECT_EQ(d.send("MAIL FROM:<a@example.test>\r\nAUTH PLAIN Z29vZA==\r\n").statuses(), "250 2.1.0 | 503 5.5.1");
}

TEST_F(Auth, responses_may_be_longer_than_a_command_line) {
  d.send("AUTH PLAIN\r\n");
  EXPECT_EQ(d.send(std::string(4000, 'A') + "\r\n").statuses(), "235 2.7.0");
}

TEST_F(Auth, authenticated_clients_may_relay) {
  EXPECT_EQ(d.send("MAIL FROM:<a@example.test>\r\nRCPT TO:<x@elsewhere.example>\r\nRSET\r\n").statuses(),
            "250 2.1.0 | 554 5.7.1 | 250 2.0.0");
  d.send("AUTH PLAIN Z29vZA==\r\n");
  EXPECT_EQ(d.send("MAIL FROM:<a@example.test>\r\nRCPT TO:<x@elsewhere.example>\r\n").statuses(),
            "250 2.1.0 | 250 2.1.5");
}

TEST_F(Auth, auth_parameter_of_mail_is_parsed_where_auth_is_offered) {
  EXPECT_EQ(d.send("MAIL FROM:<a@example.test> AUTH=<>\r\nRSET\r\n").statuses(), "250 2.1.0 | 250 2.0.0");
  EXPECT_EQ(d.send("MAIL FROM:<a@example.test> AUTH=bad+2\r\n").statuses(), "501 5.5.4");
}

TEST(Submission, mail_needs_auth_first) {
  ScriptedAuthenticator auth;
  SessionOptions o = tls_options();
  o.submission = true;
  Dialogue d(o, "192.0.2.10", &auth, /*implicit_tls=*/true);
  d.ehlo();
  EXPECT_EQ(d.send("MAIL FROM:<alice@example.test>\r\n").statuses(), "530 5.7.0");
  EXPECT_EQ(d.send("AUTH PLAIN Z29vZA==\r\nMAIL FROM:<alice@example.test>\r\n").statuses(), "235 2.7.0 | 250 2.1.0");
}

TEST(Submission, auth_parameter_is_not_known_without_auth) {
  Dialogue d;
  d.ehlo();
  EXPECT_EQ(d.send("MAIL FROM:<a@example.test> AUTH=<>\r\n").statuses(), "555 5.5.4");
}

}  // namespace
}  // namespace petrel::smtp::testing
