// Stored password schemes: what each makes, that it checks the right
// password and no other, and that values made by other tools verify.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "auth/password_hash.hpp"

namespace petrel::auth {
namespace {

// Made with other tools, password "correct horse":
//   openssl passwd -6 -salt petrelsalt 'correct horse'
constexpr std::string_view kOpensslSha512 =
    "{SHA512-CRYPT}$6$petrelsalt$nAuLnATo0bPJBrism6atVal2NPH/6kHDYPr6mOYjLFQaCXdjL5Wgc45/1blyEvZxKSWCUPL0vixYOSnaT.KLw.";
//   echo -n 'correct horse' | argon2 petrelsaltpetrel -id -t 2 -k 19456 -p 1 -l 32 -e
constexpr std::string_view kArgon2Cli =
    "{ARGON2ID}$argon2id$v=19$m=19456,t=2,p=1$cGV0cmVsc2FsdHBldHJlbA$v9Y5TfSKVH0ytBk7JyFZLTl/yEx2A+ZdBbRzu8K7oe0";
// Password "pencil":
//   gsasl --mkpasswd --mechanism SCRAM-SHA-256 --password pencil --iteration-count 4096
//         --salt c2FsdHNhbHRzYWx0c2FsdA==
constexpr std::string_view kGsaslScram =
    "{SCRAM-SHA-256}4096,c2FsdHNhbHRzYWx0c2FsdA==,Y7KMtnzzL+zDqi0RtBNdAPJekq+PCg4eCcAMKDtLILQ=,"
    "c1MMj1kLUJb96FIM7IjzQUXiW2pIi8LDbQl55vL1oRo=";

struct SchemeCase {
  const char* scheme;
  const char* expected_prefix;
};

class EachScheme : public ::testing::TestWithParam<SchemeCase> {};

TEST_P(EachScheme, MadeHashVerifiesItsPasswordOnly) {
  const std::string stored = make_password_hash(GetParam().scheme, "s3cret pässword");
  EXPECT_TRUE(stored.starts_with(GetParam().expected_prefix)) << stored;
  EXPECT_EQ(stored_password_problem(stored), std::nullopt) << stored;
  EXPECT_TRUE(verify_password(stored, "s3cret pässword"));
  EXPECT_FALSE(verify_password(stored, "s3cret passw0rd"));
  EXPECT_FALSE(verify_password(stored, ""));
  EXPECT_FALSE(verify_password(stored, "s3cret pässword "));
}


INSTANTIATE_TEST_SUITE_P(PasswordHash, EachScheme,
                         ::testing::Values(SchemeCase{"PLAIN", "{PLAIN}s3cret"},
                                           SchemeCase{"CRYPT", "{CRYPT}$y$"},  // yescrypt is the default
                                           SchemeCase{"YESCRYPT", "{YESCRYPT}$y$"},
                                           SchemeCase{"SHA512-CRYPT", "{SHA512-CRYPT}$6$"},
                                           SchemeCase{"BLF-CRYPT", "{BLF-CRYPT}$2b$10$"},
                                           SchemeCase{"ARGON2ID", "{ARGON2ID}$argon2id$v=19$m=19456,t=2,p=1$"},
                                           SchemeCase{"SCRAM-SHA-256", "{SCRAM-SHA-256}4096,"}),
                         [](const auto& info) {
                           std::string name = info.param.scheme;
                           std::erase(name, '-');
                           return name;
                         });

TEST(PasswordHash, EverySaltedSchemeTakesAFreshSaltEachTime) {
  for (const char* scheme : {"CRYPT", "YESCRYPT", "SHA512-CRYPT", "BLF-CRYPT", "ARGON2ID", "SCRAM-SHA-256"}) {
    EXPECT_NE(make_password_hash(scheme, "same"), make_password_hash(scheme, "same")) << scheme;
  }
}

TEST(PasswordHash, ScramUsesSixteenByteSaltAndThirtyTwoByteKeys) {
  const std::string stored = make_password_hash("SCRAM-SHA-256", "pencil");
  const auto split = split_stored_password(stored);
  ASSERT_TRUE(split);
  const auto secrets = parse_scram_sha256(split->data);
  ASSERT_TRUE(secrets);
  EXPECT_EQ(secrets->iterations, 4096u);
  EXPECT_EQ(secrets->salt_base64.size(), 24u);  // base64 of 16 bytes
  EXPECT_EQ(secrets->stored_key_base64.size(), 44u);
  EXPECT_EQ(secrets->server_key_base64.size(), 44u);
}

TEST(PasswordHash, VerifiesOpensslSha512Crypt) {
  EXPECT_TRUE(verify_password(kOpensslSha512, "correct horse"));
  EXPECT_FALSE(verify_password(kOpensslSha512, "correct horsE"));
}

TEST(PasswordHash, VerifiesArgon2CommandLineHash) {
  EXPECT_TRUE(verify_password(kArgon2Cli, "correct horse"));
  EXPECT_FALSE(verify_password(kArgon2Cli, "correct hors"));
}

TEST(PasswordHash, VerifiesGsaslMkpasswdScramSecrets) {
  EXPECT_TRUE(verify_password(kGsaslScram, "pencil"));
  EXPECT_FALSE(verify_password(kGsaslScram, "pen"));
}

TEST(PasswordHash, CryptSchemeAcceptsAnyCryptString) {
  const std::string sha512(kOpensslSha512.substr(std::string_view("{SHA512-CRYPT}").size()));
  EXPECT_TRUE(verify_password("{CRYPT}" + sha512, "correct horse"));
}

TEST(PasswordHash, SchemeNamesAreCaseInsensitive) {
  const std::string lower = "{sha512-crypt}" + std::string(kOpensslSha512.substr(14));
  EXPECT_TRUE(verify_password(lower, "correct horse"));
  EXPECT_TRUE(make_password_hash("argon2id", "x").starts_with("{ARGON2ID}"));
}

TEST(PasswordHash, UnknownSchemeNeverVerifies) {
  EXPECT_FALSE(verify_password("{MD5}x", "x"));
  EXPECT_FALSE(verify_password("{PLAIN", "x"));
  EXPECT_FALSE(verify_password("x", "x"));
  EXPECT_EQ(stored_password_problem("{MD5}x"), "unknown password scheme");
  EXPECT_EQ(stored_password_problem("secret"), "password has no {SCHEME} prefix");
}

TEST(PasswordHash, MakingUnknownSchemeThrows) {
  EXPECT_THROW(make_password_hash("MD5-CRYPT", "x"), std::invalid_argument);
  EXPECT_THROW(make_password_hash("", "x"), std::invalid_argument);
}

TEST(PasswordHash, MalformedValuesAreReportedAndNeverVerify) {
  const std::string_view broken[] = {
      "{PLAIN}",
      "{SHA512-CRYPT}$6$petrelsalt$tooshort",
      "{SHA512-CRYPT}$y$j9T$abc$def",  // another method under this name
      "{BLF-CRYPT}$2b$10$short",
      "{YESCRYPT}$6$salt$x",
      "{CRYPT}",
      "{CRYPT}$6$salt$",
      "{CRYPT}not:crypt",
      "{ARGON2ID}$argon2i$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
      "{ARGON2ID}$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ",
      "{ARGON2ID}$argon2id$v=19$m=x,t=2,p=1$c2FsdA$aGFzaA",
      "{ARGON2ID}$argon2id$v=19$m=19456,t=0,p=1$c2FsdA$aGFzaA",
      "{SCRAM-SHA-256}4096,c2FsdA==,Y7KMtnzzL+zDqi0RtBNdAPJekq+PCg4eCcAMKDtLILQ=",
      "{SCRAM-SHA-256}0,c2FsdA==,Y7KMtnzzL+zDqi0RtBNdAPJekq+PCg4eCcAMKDtLILQ=,Y7KMtnzzL+zDqi0RtBNdAPJekq+PCg4eCcAMKDtLILQ=",
      "{SCRAM-SHA-256}4096,!!!,Y7KMtnzzL+zDqi0RtBNdAPJekq+PCg4eCcAMKDtLILQ=,Y7KMtnzzL+zDqi0RtBNdAPJekq+PCg4eCcAMKDtLILQ=",
      "{SCRAM-SHA-256}4096,c2FsdA==,c2hvcnQ=,Y7KMtnzzL+zDqi0RtBNdAPJekq+PCg4eCcAMKDtLILQ=",
      "{SCRAM-SHA-256}4096,c2FsdA==,Y7KMtnzzL+zDqi0RtBNdAPJekq+PCg4eCcAMKDtLILQ=,Y7KMtnzzL+zDqi0RtBNdAPJekq+PCg4eCcAMKDtLILQ=,x",
  };
  for (const auto stored : broken) {
    const auto problem = stored_password_problem(stored);
    ASSERT_TRUE(problem.has_value()) << stored;
    const auto brace = stored.find('}');
    if (stored.size() > brace + 4) {
      EXPECT_EQ(problem->find(stored.substr(brace + 1)), std::string::npos) << *problem;
    }
    EXPECT_FALSE(verify_password(stored, "pencil")) << stored;
  }
}

TEST(PasswordHash, PasswordWithNulNeverMatchesItsPrefix) {
  const std::string stored = make_password_hash("SHA512-CRYPT", "abc");
  EXPECT_FALSE(verify_password(stored, std::string_view("abc\0def", 7)));
  EXPECT_FALSE(verify_password("{PLAIN}abc", std::string_view("abc\0", 4)));
}

}  // namespace
}  // namespace petrel::auth
