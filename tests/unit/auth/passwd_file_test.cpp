// Dovecot passwd-file loading: what is accepted, and the FILE:LINE the
// operator is shown for each kind of mistake (never with the hash in it).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "auth/passwd_file.hpp"

namespace petrel::auth {
namespace {

constexpr std::string_view kScram =
    "{SCRAM-SHA-256}4096,c2FsdHNhbHRzYWx0c2FsdA==,Y7KMtnzzL+zDqi0RtBNdAPJekq+PCg4eCcAMKDtLILQ=,"
    "c1MMj1kLUJb96FIM7IjzQUXiW2pIi8LDbQl55vL1oRo=";

PasswdFileError error_of(std::string_view text) {
  try {
    PasswdFile::parse(text, "users.passwd");
  } catch (const PasswdFileError& e) {
    return e;
  }
  ADD_FAILURE() << "parsed without error:\n" << text;
  return PasswdFileError("", 0, "");
}

TEST(PasswdFile, FindsUsersByExactName) {
  const std::string text = "# Petrel users\n"
                           "\n"
                           "alice@example.org:{PLAIN}wonderland\n"
                           "   \n"
                           "bob:" + std::string(kScram) + "::::::\n"
                           "carol:{PLAIN}c:1000:1000:Carol:/home/carol:/bin/sh:userdb_quota_rule=*:storage=1G\n";
  const PasswdFile users = PasswdFile::parse(text, "users.passwd");
  EXPECT_EQ(users.size(), 3u);
  ASSERT_NE(users.find("alice@example.org"), nullptr);
  EXPECT_EQ(*users.find("alice@example.org"), "{PLAIN}wonderland");
  EXPECT_EQ(*users.find("bob"), kScram);
  EXPECT_EQ(*users.find("carol"), "{PLAIN}c");  // the fields after the password are ignored
  EXPECT_EQ(users.find("alice"), nullptr);
  EXPECT_EQ(users.find("Alice@example.org"), nullptr);
  EXPECT_EQ(users.find("# Petrel users"), nullptr);
}

TEST(PasswdFile, AcceptsCrlfAndNoFinalNewline) {
  const PasswdFile users = PasswdFile::parse("a:{PLAIN}x\r\nb:{PLAIN}y", "users.passwd");
  EXPECT_EQ(*users.find("a"), "{PLAIN}x");
  EXPECT_EQ(*users.find("b"), "{PLAIN}y");
}

TEST(PasswdFile, EmptyFileHasNoUsers) { EXPECT_EQ(PasswdFile::parse("", "f").size(), 0u); }

TEST(PasswdFileErrors, LineWithoutPasswordField) {
  const auto e = error_of("# users\nalice:{PLAIN}x\nbob\n");
  EXPECT_EQ(e.file(), "users.passwd");
  EXPECT_EQ(e.line(), 3u);
  EXPECT_STREQ(e.what(), "users.passwd:3: no password field (expected user:{SCHEME}hash)");
}

TEST(PasswdFileErrors, EmptyPassword) {
  EXPECT_STREQ(error_of("bob:\n").what(), "users.passwd:1: user 'bob' has no password");
  EXPECT_EQ(error_of("ok:{PLAIN}x\nbob::1000:1000\n").line(), 2u);
}

TEST(PasswdFileErrors, EmptyUserName) { EXPECT_STREQ(error_of(":{PLAIN}x\n").what(), "users.passwd:1: empty user name"); }

TEST(PasswdFileErrors, UnknownScheme) {
  EXPECT_STREQ(error_of("\n\nbob:{MD5}1a2b3c\n").what(), "users.passwd:3: user 'bob': unknown password scheme");
}

TEST(PasswdFileErrors, MissingSchemeDoesNotEchoThePassword) {
  const auto e = error_of("bob:hunter2\n");
  EXPECT_STREQ(e.what(), "users.passwd:1: user 'bob': password has no {SCHEME} prefix");
}

TEST(PasswdFileErrors, MalformedHashIsNotEchoed) {
  const auto e = error_of("bob:{SHA512-CRYPT}$6$salt$truncatedhash\n");
  EXPECT_EQ(e.line(), 1u);
  EXPECT_EQ(std::string(e.what()).find("truncatedhash"), std::string::npos) << e.what();
  EXPECT_EQ(std::string(e.what()).find("salt"), std::string::npos) << e.what();
}

TEST(PasswdFileErrors, MalformedScramSecrets) {
  EXPECT_STREQ(error_of("bob:{SCRAM-SHA-256}4096,c2FsdA==,xx,yy\n").what(),
               "users.passwd:1: user 'bob': malformed SCRAM-SHA-256 secrets");
}

TEST(PasswdFileErrors, UserListedTwice) {
  EXPECT_STREQ(error_of("bob:{PLAIN}a\n# again\nbob:{PLAIN}b\n").what(), "users.passwd:3: user 'bob' is listed twice");
}

TEST(PasswdFileLoad, ReadsAFile) {
  const auto path = std::filesystem::temp_directory_path() / ("petrel-passwd-" + std::to_string(::getpid()));
  {
    std::ofstream out(path);
    out << "alice:{PLAIN}x\nbad line\n";
  }
  try {
    PasswdFile::load(path);
    ADD_FAILURE() << "loaded a bad file";
  } catch (const PasswdFileError& e) {
    EXPECT_EQ(e.file(), path.string());
    EXPECT_EQ(e.line(), 2u);
  }
  {
    std::ofstream out(path);
    out << "alice:{PLAIN}x\n";
  }
  EXPECT_EQ(PasswdFile::load(path).size(), 1u);
  std::filesystem::remove(path);
}

TEST(PasswdFileLoad, MissingFileNamesTheFileWithoutALine) {
  try {
    PasswdFile::load("/nonexistent/petrel/users.passwd");
    ADD_FAILURE() << "loaded a missing file";
  } catch (const PasswdFileError& e) {
    EXPECT_EQ(e.line(), 0u);
    EXPECT_STREQ(e.what(), "/nonexistent/petrel/users.passwd: cannot be read");
  }
}

}  // namespace
}  // namespace petrel::auth
