// Whole AUTH exchanges against the authenticator, driven by a libgsasl
// client the way a mail client would drive them: one scenario per test.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "auth/gsasl_authenticator.hpp"
#include "auth/password_hash.hpp"
#include "sasl_client.hpp"

namespace petrel::auth {
namespace {

using Outcome = smtp::SaslStep::Outcome;
using testing::run_exchange;
using testing::SaslClient;

// Password "pencil", from gsasl --mkpasswd.
constexpr std::string_view kScramPencil =
    "{SCRAM-SHA-256}4096,c2FsdHNhbHRzYWx0c2FsdA==,Y7KMtnzzL+zDqi0RtBNdAPJekq+PCg4eCcAMKDtLILQ=,"
    "c1MMj1kLUJb96FIM7IjzQUXiW2pIi8LDbQl55vL1oRo=";

std::shared_ptr<const PasswdFile> users() {
  static const std::string text = "alice@example.org:{PLAIN}wonderland\n"
                                  "scram@example.org:" + std::string(kScramPencil) + "\n"
                                  "argon@example.org:" + make_password_hash("ARGON2ID", "hashed") + "\n"
                                  "yes@example.org:" + make_password_hash("CRYPT", "hashed") + "\n";
  return std::make_shared<const PasswdFile>(PasswdFile::parse(text, "users.passwd"));
}

class GsaslAuthenticatorTest : public ::testing::Test {
 protected:
  smtp::SaslStep exchange(const std::string& mechanism, const std::string& user, const std::string& password,
                          bool initial_response, const std::string& authzid = "") {
    auto exchange = auth.start(mechanism);
    if (!exchange) {
      ADD_FAILURE() << mechanism << " not offered";
      return {};
    }
    SaslClient client(mechanism, user, password, authzid);
    return run_exchange(*exchange, client, initial_response);
  }

  GsaslAuthenticator auth{users()};
};

void expect_success(const smtp::SaslStep& step, std::string_view user) {
  EXPECT_EQ(step.outcome, Outcome::success);
  EXPECT_EQ(step.user, user);
}

// ---- mechanisms ----

TEST_F(GsaslAuthenticatorTest, OffersPlainLoginAndScramSha256) {
  EXPECT_EQ(auth.mechanisms(), (std::vector<std::string>{"PLAIN", "LOGIN", "SCRAM-SHA-256"}));
}

TEST_F(GsaslAuthenticatorTest, UnofferedMechanismCannotStart) {
  EXPECT_EQ(auth.start("CRAM-MD5"), nullptr);
  EXPECT_EQ(auth.start("XOAUTH2"), nullptr);
  EXPECT_EQ(auth.start(""), nullptr);
}

TEST_F(GsaslAuthenticatorTest, MechanismNamesAreCaseInsensitive) { EXPECT_NE(auth.start("plain"), nullptr); }

TEST(GsaslAuthenticatorSetup, OffersOnlyTheConfiguredMechanisms) {
  GsaslAuthenticator auth(users(), {}, {"scram-sha-256"});
  EXPECT_EQ(auth.mechanisms(), std::vector<std::string>{"SCRAM-SHA-256"});
  EXPECT_EQ(auth.start("PLAIN"), nullptr);
}

TEST(GsaslAuthenticatorSetup, RefusesMechanismsItHasNoCallbacksFor) {
  EXPECT_THROW(GsaslAuthenticator(users(), {}, {"PLAIN", "DIGEST-MD5"}), std::invalid_argument);
}

// ---- CRAM-MD5 (RFC 2195), for ODMR (RFC 2645); {PLAIN} users only ----

TEST(GsaslAuthenticatorSetup, CramMd5OnlyWhenAskedFor) {
  GsaslAuthenticator plain(users());
  EXPECT_EQ(plain.start("CRAM-MD5"), nullptr);
  GsaslAuthenticator with(users(), {}, {"PLAIN", "CRAM-MD5"});
  EXPECT_EQ(with.mechanisms(), (std::vector<std::string>{"PLAIN", "CRAM-MD5"}));
}

smtp::SaslStep cram(GsaslAuthenticator& auth, const std::string& user, const std::string& password) {
  auto exchange = auth.start("CRAM-MD5");
  if (!exchange) return {};
  SaslClient client("CRAM-MD5", user, password);
  return run_exchange(*exchange, client, false);
}

TEST(CramMd5, PlainUserWithTheRightPassword) {
  GsaslAuthenticator auth(users(), {}, {"CRAM-MD5"});
  expect_success(cram(auth, "alice@example.org", "wonderland"), "alice@example.org");
}

TEST(CramMd5, WrongPasswordUnknownUserAndHashedUserFail) {
  GsaslAuthenticator auth(users(), {}, {"CRAM-MD5"});
  EXPECT_EQ(cram(auth, "alice@example.org", "wonderlant").outcome, Outcome::failure);
  EXPECT_EQ(cram(auth, "nobody@example.org", "wonderland").outcome, Outcome::failure);
  // A hash cannot answer a CRAM-MD5 challenge.
  EXPECT_EQ(cram(auth, "argon@example.org", "hashed").outcome, Outcome::failure);
}

// ---- PLAIN (RFC 4616) ----

TEST_F(GsaslAuthenticatorTest, PlainWithInitialResponse) {
  expect_success(exchange("PLAIN", "alice@example.org", "wonderland", true), "alice@example.org");
}

TEST_F(GsaslAuthenticatorTest, PlainWithoutInitialResponseGetsEmptyChallengeFirst) {
  auto ex = auth.start("PLAIN");
  const auto first = ex->step(std::nullopt);
  EXPECT_EQ(first.outcome, Outcome::challenge);
  EXPECT_EQ(first.challenge, "");  // "334 " with nothing after it
  SaslClient client("PLAIN", "alice@example.org", "wonderland");
  expect_success(ex->step(client.respond("")), "alice@example.org");
}

TEST_F(GsaslAuthenticatorTest, PlainChecksHashedPasswords) {
  expect_success(exchange("PLAIN", "argon@example.org", "hashed", true), "argon@example.org");
  expect_success(exchange("PLAIN", "yes@example.org", "hashed", true), "yes@example.org");
  expect_success(exchange("PLAIN", "scram@example.org", "pencil", true), "scram@example.org");
}

TEST_F(GsaslAuthenticatorTest, PlainWrongPasswordFails) {
  EXPECT_EQ(exchange("PLAIN", "alice@example.org", "wonderlant", true).outcome, Outcome::failure);
  EXPECT_EQ(exchange("PLAIN", "yes@example.org", "hashes", true).outcome, Outcome::failure);
}

TEST_F(GsaslAuthenticatorTest, PlainUnknownUserFails) {
  EXPECT_EQ(exchange("PLAIN", "mallory@example.org", "wonderland", true).outcome, Outcome::failure);
}

TEST_F(GsaslAuthenticatorTest, PlainUserNameMatchesExactly) {
  EXPECT_EQ(exchange("PLAIN", "Alice@example.org", "wonderland", true).outcome, Outcome::failure);
}

TEST_F(GsaslAuthenticatorTest, PlainAuthzidOfAnotherUserIsRefused) {
  EXPECT_EQ(exchange("PLAIN", "alice@example.org", "wonderland", true, "scram@example.org").outcome, Outcome::failure);
}

TEST_F(GsaslAuthenticatorTest, PlainAuthzidNamingTheUserItselfIsAccepted) {
  expect_success(exchange("PLAIN", "alice@example.org", "wonderland", true, "alice@example.org"), "alice@example.org");
}

TEST_F(GsaslAuthenticatorTest, PlainBadBase64IsMalformed) {
  EXPECT_EQ(auth.start("PLAIN")->step("AGFsaWNl!!!").outcome, Outcome::malformed);
}

TEST_F(GsaslAuthenticatorTest, PlainWithoutNulSeparatorsIsMalformed) {
  EXPECT_EQ(auth.start("PLAIN")->step("YWxpY2Ugd29uZGVybGFuZA==").outcome, Outcome::malformed);  // "alice wonderland"
}

TEST_F(GsaslAuthenticatorTest, PlainEmptyResponsesAreMalformedNotALoop) {
  EXPECT_EQ(auth.start("PLAIN")->step("").outcome, Outcome::malformed);  // "AUTH PLAIN ="
  auto ex = auth.start("PLAIN");
  EXPECT_EQ(ex->step(std::nullopt).outcome, Outcome::challenge);
  EXPECT_EQ(ex->step("").outcome, Outcome::malformed);
}

TEST_F(GsaslAuthenticatorTest, StepAfterTheEndIsMalformed) {
  auto ex = auth.start("PLAIN");
  SaslClient client("PLAIN", "alice@example.org", "wonderland");
  EXPECT_EQ(ex->step(client.respond("")).outcome, Outcome::success);
  EXPECT_EQ(ex->step("").outcome, Outcome::malformed);
}

// ---- LOGIN (draft-murchison-sasl-login) ----

TEST_F(GsaslAuthenticatorTest, LoginPromptsForUserNameThenPassword) {
  auto ex = auth.start("LOGIN");
  const auto user_prompt = ex->step(std::nullopt);
  EXPECT_EQ(user_prompt.outcome, Outcome::challenge);
  EXPECT_EQ(user_prompt.challenge, "VXNlciBOYW1l");  // "User Name"
  const auto password_prompt = ex->step("YWxpY2VAZXhhbXBsZS5vcmc=");  // "alice@example.org"
  EXPECT_EQ(password_prompt.outcome, Outcome::challenge);
  EXPECT_EQ(password_prompt.challenge, "UGFzc3dvcmQ=");  // "Password"
  expect_success(ex->step("d29uZGVybGFuZA=="), "alice@example.org");  // "wonderland"
}

TEST_F(GsaslAuthenticatorTest, LoginWithUserNameAsInitialResponse) {
  auto ex = auth.start("LOGIN");
  const auto prompt = ex->step("YWxpY2VAZXhhbXBsZS5vcmc=");
  EXPECT_EQ(prompt.outcome, Outcome::challenge);
  EXPECT_EQ(prompt.challenge, "UGFzc3dvcmQ=");
  expect_success(ex->step("d29uZGVybGFuZA=="), "alice@example.org");
}

TEST_F(GsaslAuthenticatorTest, LoginDrivenByClient) {
  expect_success(exchange("LOGIN", "yes@example.org", "hashed", false), "yes@example.org");
}

TEST_F(GsaslAuthenticatorTest, LoginWrongPasswordAndUnknownUserFail) {
  EXPECT_EQ(exchange("LOGIN", "alice@example.org", "nope", false).outcome, Outcome::failure);
  EXPECT_EQ(exchange("LOGIN", "nobody@example.org", "wonderland", false).outcome, Outcome::failure);
}

TEST_F(GsaslAuthenticatorTest, LoginBadBase64IsMalformed) {
  auto ex = auth.start("LOGIN");
  ex->step(std::nullopt);
  EXPECT_EQ(ex->step("not base64!").outcome, Outcome::malformed);
}

TEST_F(GsaslAuthenticatorTest, LoginEmptyUserNameIsMalformed) {
  auto ex = auth.start("LOGIN");
  ex->step(std::nullopt);
  EXPECT_EQ(ex->step("").outcome, Outcome::malformed);
}

// ---- SCRAM-SHA-256 (RFC 7677, RFC 5802) ----

TEST_F(GsaslAuthenticatorTest, ScramWithStoredSecrets) {
  auto ex = auth.start("SCRAM-SHA-256");
  SaslClient client("SCRAM-SHA-256", "scram@example.org", "pencil");
  expect_success(run_exchange(*ex, client, true), "scram@example.org");
  EXPECT_EQ(client.last_rc(), GSASL_OK);  // the client checked the server's signature
}

TEST_F(GsaslAuthenticatorTest, ScramWithoutInitialResponse) {
  expect_success(exchange("SCRAM-SHA-256", "scram@example.org", "pencil", false), "scram@example.org");
}

TEST_F(GsaslAuthenticatorTest, ScramServerSignatureComesIn334AndAnEmptyLineEndsIt) {
  auto ex = auth.start("SCRAM-SHA-256");
  SaslClient client("SCRAM-SHA-256", "scram@example.org", "pencil");
  const auto server_first = ex->step(client.respond(""));
  ASSERT_EQ(server_first.outcome, Outcome::challenge);
  const auto server_final = ex->step(client.respond(server_first.challenge));
  ASSERT_EQ(server_final.outcome, Outcome::challenge);
  EXPECT_EQ(client.respond(server_final.challenge), "");
  expect_success(ex->step(""), "scram@example.org");
}

TEST_F(GsaslAuthenticatorTest, ScramAnythingButAnEmptyLineAfterTheSignatureIsMalformed) {
  auto ex = auth.start("SCRAM-SHA-256");
  SaslClient client("SCRAM-SHA-256", "scram@example.org", "pencil");
  const auto server_first = ex->step(client.respond(""));
  ex->step(client.respond(server_first.challenge));
  EXPECT_EQ(ex->step("eA==").outcome, Outcome::malformed);
}

TEST_F(GsaslAuthenticatorTest, ScramForCleartextUser) {
  expect_success(exchange("SCRAM-SHA-256", "alice@example.org", "wonderland", true), "alice@example.org");
}

TEST_F(GsaslAuthenticatorTest, ScramWrongPasswordFails) {
  EXPECT_EQ(exchange("SCRAM-SHA-256", "scram@example.org", "pen", true).outcome, Outcome::failure);
  EXPECT_EQ(exchange("SCRAM-SHA-256", "alice@example.org", "wonderlant", true).outcome, Outcome::failure);
}

TEST_F(GsaslAuthenticatorTest, ScramUnknownUserFails) {
  EXPECT_EQ(exchange("SCRAM-SHA-256", "nobody@example.org", "pencil", true).outcome, Outcome::failure);
}

TEST_F(GsaslAuthenticatorTest, ScramImpossibleForHashedUserFailsLikeUnknown) {
  EXPECT_EQ(exchange("SCRAM-SHA-256", "argon@example.org", "hashed", true).outcome, Outcome::failure);
}

TEST_F(GsaslAuthenticatorTest, ScramAuthzidOfAnotherUserIsRefused) {
  EXPECT_EQ(exchange("SCRAM-SHA-256", "scram@example.org", "pencil", true, "alice@example.org").outcome,
            Outcome::failure);
}

TEST_F(GsaslAuthenticatorTest, ScramBadBase64IsMalformed) {
  EXPECT_EQ(auth.start("SCRAM-SHA-256")->step("biwsbj1!!!").outcome, Outcome::malformed);
}

TEST_F(GsaslAuthenticatorTest, ScramGarbageFirstMessageIsMalformed) {
  EXPECT_EQ(auth.start("SCRAM-SHA-256")->step("aGVsbG8=").outcome, Outcome::malformed);  // "hello"
}

// The salt in the server-first message of a name that cannot use SCRAM.
std::string salt_offered(GsaslAuthenticator& auth, const std::string& user) {
  auto ex = auth.start("SCRAM-SHA-256");
  SaslClient client("SCRAM-SHA-256", user, "x");
  const auto first = ex->step(client.respond(""));
  char* decoded = nullptr;
  std::size_t len = 0;
  gsasl_base64_from(first.challenge.c_str(), first.challenge.size(), &decoded, &len);
  std::string message(decoded, len);
  gsasl_free(decoded);
  const auto s = message.find(",s=");
  return message.substr(s + 3, message.find(',', s + 3) - s - 3);
}

TEST_F(GsaslAuthenticatorTest, ScramUnknownUserGetsAStableSaltLikeARealOne) {
  const std::string salt = salt_offered(auth, "nobody@example.org");
  EXPECT_EQ(salt_offered(auth, "nobody@example.org"), salt);
  EXPECT_NE(salt_offered(auth, "someone@example.org"), salt);
  EXPECT_EQ(salt.size(), 24u);  // 16 bytes, as new SCRAM secrets have
  EXPECT_EQ(salt_offered(auth, "scram@example.org"), "c2FsdHNhbHRzYWx0c2FsdA==");
}

// ---- users, lockout, threads ----

TEST_F(GsaslAuthenticatorTest, ReplacedUsersApplyToNewExchanges) {
  auto started_before = auth.start("PLAIN");
  auth.replace_users(std::make_shared<const PasswdFile>(PasswdFile::parse("dave:{PLAIN}newpass\n", "new")));
  expect_success(exchange("PLAIN", "dave", "newpass", true), "dave");
  EXPECT_EQ(exchange("PLAIN", "alice@example.org", "wonderland", true).outcome, Outcome::failure);
  SaslClient client("PLAIN", "alice@example.org", "wonderland");
  expect_success(started_before->step(client.respond("")), "alice@example.org");
}

TEST(GsaslAuthenticatorThrottle, LocksOutAfterRepeatedFailures) {
  GsaslAuthenticator auth(users(), ThrottleSettings{.lockout_failures = 3});
  EXPECT_EQ(auth.refuse_client("192.0.2.7"), std::nullopt);
  EXPECT_EQ(auth.record_outcome("192.0.2.7", false), std::chrono::seconds(1));
  EXPECT_EQ(auth.record_outcome("192.0.2.7", false), std::chrono::seconds(2));
  EXPECT_EQ(auth.record_outcome("192.0.2.7", false), std::chrono::seconds(4));
  const auto refusal = auth.refuse_client("192.0.2.7");
  ASSERT_TRUE(refusal);
  EXPECT_EQ(refusal->wire(), "421 4.7.0 too many authentication failures, try again later\r\n");
  EXPECT_EQ(auth.refuse_client("192.0.2.8"), std::nullopt);
  EXPECT_EQ(auth.record_outcome("192.0.2.8", true), std::chrono::milliseconds(0));
}

TEST_F(GsaslAuthenticatorTest, ExchangesRunConcurrentlyOnManyThreads) {
  std::atomic<int> successes = 0, failures = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        const bool scram = (i + t) % 2 == 0;
        const bool right = i % 5 != 0;
        auto ex = auth.start(scram ? "SCRAM-SHA-256" : "PLAIN");
        SaslClient client(scram ? "SCRAM-SHA-256" : "PLAIN", scram ? "scram@example.org" : "alice@example.org",
                          right ? (scram ? "pencil" : "wonderland") : "wrong");
        const auto step = run_exchange(*ex, client, true);
        (step.outcome == Outcome::success ? successes : failures)++;
        if ((step.outcome == Outcome::success) != right) ADD_FAILURE() << "thread " << t << " exchange " << i;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(successes, 80);
  EXPECT_EQ(failures, 20);
}

}  // namespace
}  // namespace petrel::auth
