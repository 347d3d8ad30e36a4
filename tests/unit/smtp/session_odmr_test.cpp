// ODMR (RFC 2645) on the session core: AUTH before anything, ATRN only for
// the login's domains, and the caller's answers (453, 451, 250 and the
// reversal). A scripted CRAM-like authenticator stands in for GNU SASL.
#include <gtest/gtest.h>

#include "session_harness.hpp"

namespace petrel::smtp::testing {
namespace {

// "Z29vZA==" ("good") authenticates alice; anything else fails.
class OneStepExchange : public SaslExchange {
 public:
  SaslStep step(std::optional<std::string_view> response) override {
    if (!response) return {SaslStep::Outcome::challenge, "PDEyMzQ+", ""};
    if (*response == "Z29vZA==") return {SaslStep::Outcome::success, "", "alice"};
    return {SaslStep::Outcome::failure, "", ""};
  }
};

class TwoMechanisms : public Authenticator {
 public:
  std::vector<std::string> mechanisms() const override { return {"PLAIN", "CRAM-MD5"}; }
  std::unique_ptr<SaslExchange> start(std::string_view) override { return std::make_unique<OneStepExchange>(); }
  std::optional<Reply> refuse_client(std::string_view) override { return std::nullopt; }
  std::chrono::milliseconds record_outcome(std::string_view, bool) override { return {}; }
};

SessionOptions odmr_options() {
  SessionOptions o;
  o.hostname = "odmr.example.test";
  o.starttls = true;
  o.odmr = true;
  o.auth_in_clear = {"CRAM-MD5"};
  o.odmr_domains = {{"alice", {"fetch.example", "second.example"}}, {"bob", {"other.example"}}};
  return o;
}

struct Odmr : ::testing::Test {
  TwoMechanisms auth;
  Dialogue d{odmr_options(), "192.0.2.10", &auth};

  void log_in() {
    d.ehlo();
    ASSERT_EQ(d.send("AUTH CRAM-MD5\r\n").statuses(), "334");
    ASSERT_EQ(d.send("Z29vZA==\r\n").statuses(), "235 2.7.0");
  }
};

bool offers(const Replies& r, std::string_view keyword) {
  for (const auto& line : r.back().lines) {
    if (line == keyword) return true;
  }
  return false;
}

TEST_F(Odmr, ehlo_offers_atrn_and_only_cram_md5_in_the_clear) {
  const auto r = d.send("EHLO customer.test\r\n");
  EXPECT_TRUE(offers(r, "ATRN"));
  EXPECT_TRUE(offers(r, "AUTH CRAM-MD5"));
  EXPECT_TRUE(offers(r, "STARTTLS"));
  EXPECT_FALSE(offers(r, "PIPELINING"));  // not a mail server: no mail extensions
}

TEST_F(Odmr, plain_in_the_clear_needs_tls_and_is_offered_after_it) {
  d.ehlo();
  EXPECT_EQ(d.send("AUTH PLAIN Z29vZA==\r\n").statuses(), "538 5.7.11");
  EXPECT_EQ(d.send("STARTTLS\r\n").statuses(), "220 2.0.0");
  d.complete_tls();
  EXPECT_TRUE(offers(d.send("EHLO customer.test\r\n"), "AUTH PLAIN CRAM-MD5"));
  EXPECT_EQ(d.send("AUTH PLAIN Z29vZA==\r\n").statuses(), "235 2.7.0");
}

TEST_F(Odmr, atrn_before_auth_is_530) {
  d.ehlo();
  EXPECT_EQ(d.send("ATRN fetch.example\r\n").statuses(), "530 5.7.0");
}

TEST_F(Odmr, mail_is_refused_before_and_after_auth) {
  d.ehlo();
  EXPECT_EQ(d.send("MAIL FROM:<a@outside.test>\r\n").statuses(), "530 5.7.0");
  log_in();
  EXPECT_EQ(d.send("MAIL FROM:<a@outside.test>\r\n").statuses(), "502 5.5.1");
  EXPECT_EQ(d.send("TURN\r\n").statuses(), "502 5.5.1");  // TURN stays refused
}

TEST_F(Odmr, atrn_for_a_domain_of_another_login_is_450) {
  log_in();
  EXPECT_EQ(d.send("ATRN fetch.example,other.example\r\n").statuses(), "450 4.7.0");
  EXPECT_EQ(d.need(), ServerSession::Need::input);
}

TEST_F(Odmr, atrn_without_argument_means_all_the_logins_domains) {
  log_in();
  EXPECT_TRUE(d.send("ATRN\r\n").empty());
  EXPECT_EQ(d.need(), ServerSession::Need::atrn);
  EXPECT_EQ(d.session().atrn_domains(), (std::vector<std::string>{"fetch.example", "second.example"}));
}

TEST_F(Odmr, atrn_domains_are_lower_cased_and_spaces_around_commas_tolerated) {
  log_in();
  d.send("ATRN Second.Example , FETCH.example.\r\n");
  ASSERT_EQ(d.need(), ServerSession::Need::atrn);
  EXPECT_EQ(d.session().atrn_domains(), (std::vector<std::string>{"second.example", "fetch.example"}));
}

TEST_F(Odmr, nothing_waiting_is_453_and_the_session_goes_on) {
  log_in();
  d.send("ATRN fetch.example\r\n");
  d.session().atrn_no_mail();
  EXPECT_EQ(d.send("QUIT\r\n").statuses(), "453 4.0.0 | 221 2.0.0");
}

TEST_F(Odmr, a_queue_that_cannot_be_read_is_451) {
  log_in();
  d.send("ATRN fetch.example\r\n");
  d.session().atrn_unavailable();
  EXPECT_EQ(d.send("NOOP\r\n").statuses(), "451 4.3.0 | 250 2.0.0");
}

TEST_F(Odmr, accepted_atrn_reverses_and_leaves_pipelined_bytes_unconsumed) {
  log_in();
  d.send("ATRN fetch.example\r\n220 customer.test ready\r\n");
  ASSERT_EQ(d.need(), ServerSession::Need::atrn);
  EXPECT_EQ(d.unconsumed(), "220 customer.test ready\r\n");
  d.session().atrn_accepted();
  EXPECT_EQ(d.need(), ServerSession::Need::reversed);
  const auto r = parse_replies(d.session().output());
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status(), "250 2.0.0");
  EXPECT_EQ(d.session().stats().close_reason, "ATRN");
}

TEST_F(Odmr, a_malformed_domain_list_is_501) {
  log_in();
  EXPECT_EQ(d.send("ATRN fetch.example,,x\r\n").statuses(), "501 5.5.4");
}

TEST(Atrn, refused_on_an_ordinary_port) {
  Dialogue d;
  d.ehlo();
  EXPECT_EQ(d.send("ATRN example.test\r\n").statuses(), "502 5.5.1");
}

}  // namespace
}  // namespace petrel::smtp::testing
