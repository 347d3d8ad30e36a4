// DKIM signing: what sign() writes verifies (checked by test_verifier.cpp
// with OpenSSL), under both algorithms; the RFC 8463 example verifies with
// the same verifier; h= signs every field bottom-up, absent ones once, and
// From once more; sign_all picks keys by the From domain.
#include <gtest/gtest.h>

#include <sstream>

#include "dkim/signer.hpp"
#include "test_verifier.hpp"

namespace petrel::dkim {
namespace {

constexpr std::int64_t kTime = 1'700'000'000;

// RFC 8463 Appendix A.3, byte for byte.
constexpr std::string_view kRfc8463Signed =
    "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
    " d=football.example.com; i=@football.example.com;\r\n"
    " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
    " subject : date : message-id : from : subject : date;\r\n"
    " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
    " b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n"
    " Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==\r\n"
    "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n"
    " d=football.example.com; i=@football.example.com;\r\n"
    " q=dns/txt; s=test; t=1528637909; h=from : to : subject :\r\n"
    " date : message-id : from : subject : date;\r\n"
    " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
    " b=F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3\r\n"
    " DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2Jz\r\n"
    " dA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=\r\n";
constexpr std::string_view kRfc8463Message =
    "From: Joe SixPack <joe@football.example.com>\r\n"
    "To: Suzie Q <suzie@shopping.example.net>\r\n"
    "Subject: Is dinner ready?\r\n"
    "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
    "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
    "\r\n"
    "Hi.\r\n"
    "\r\n"
    "We lost the game.  Are you hungry yet?\r\n"
    "\r\n"
    "Joe.\r\n"
    "\r\n";
constexpr std::string_view kRfc8463Ed25519Record = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
constexpr std::string_view kRfc8463RsaRecord =
    "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWR"
    "iGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutAC"
    "DfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3"
    "Ip3G+2kryOTIKT+l/K4w3QIDAQAB";
constexpr std::string_view kRfc8463Ed25519Pem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
    "-----END PRIVATE KEY-----\n";

constexpr std::string_view kMessage =
    "Received: from a by b; Tue, 14 Nov 2023 22:13:20 +0000\r\n"
    "From: Ada Lovelace <ada@Example.COM>\r\n"
    "To: grace@example.org,\r\n"
    "    alan@example.net\r\n"
    "Subject:   Notes \t on the  engine  \r\n"
    "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
    "Message-ID: <note-1@example.com>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "The engine  weaves algebraic patterns \r\n"
    "just as the Jacquard loom weaves flowers.\r\n"
    "\r\n"
    "\r\n";

const Key& rsa_key() {
  static const Key key = generate_key(Algorithm::rsa_sha256, 2048);
  return key;
}

const Key& ed25519_key() {
  static const Key key = generate_key(Algorithm::ed25519_sha256);
  return key;
}

SignerConfig config(Algorithm algorithm, std::string domain = "example.com", std::string selector = "s1") {
  SignerConfig c;
  c.domain = std::move(domain);
  c.selector = std::move(selector);
  c.algorithm = algorithm;
  return c;
}

std::string signed_message(const Key& key, const SignerConfig& c, std::string_view message) {
  return sign(key, c, message, kTime) + std::string(message);
}

TEST(Signer, rfc_8463_example_verifies_with_the_test_verifier) {
  const std::string message = std::string(kRfc8463Signed) + std::string(kRfc8463Message);
  EXPECT_EQ(test::verify(message, kRfc8463Ed25519Record, 0), "");
  EXPECT_EQ(test::verify(message, kRfc8463RsaRecord, 1), "");
  // And the verifier does fail: a word changed in a signed field.
  std::string changed = message;
  changed.replace(changed.find("dinner"), 6, "lunch!");
  EXPECT_EQ(test::verify(changed, kRfc8463Ed25519Record, 0), "signature mismatch (a=ed25519-sha256)");
}

TEST(Signer, rfc_8463_body_hash_is_reproduced) {
  std::string error;
  const auto key = load_key(kRfc8463Ed25519Pem, Algorithm::ed25519_sha256, error);
  ASSERT_TRUE(key) << error;
  SignerConfig c = config(Algorithm::ed25519_sha256, "football.example.com", "brisbane");
  const std::string message = signed_message(*key, c, kRfc8463Message);
  EXPECT_EQ(test::signature_tag(message, "bh"), "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");
  EXPECT_EQ(test::verify(message, kRfc8463Ed25519Record), "");
}

TEST(Signer, rsa_signature_verifies) {
  const std::string message = signed_message(rsa_key(), config(Algorithm::rsa_sha256), kMessage);
  EXPECT_EQ(test::verify(message, rsa_key().dns_record()), "") << message;
  EXPECT_EQ(test::signature_tag(message, "a"), "rsa-sha256");
}

TEST(Signer, ed25519_signature_verifies) {
  const std::string message = signed_message(ed25519_key(), config(Algorithm::ed25519_sha256), kMessage);
  EXPECT_EQ(test::verify(message, ed25519_key().dns_record()), "") << message;
  EXPECT_EQ(test::signature_tag(message, "a"), "ed25519-sha256");
}

TEST(Signer, field_carries_every_tag_folded_under_78_octets) {
  const std::string field = sign(rsa_key(), config(Algorithm::rsa_sha256), kMessage, kTime);
  EXPECT_TRUE(field.starts_with("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=s1;\r\n"))
      << field;
  ASSERT_TRUE(field.ends_with("\r\n"));
  EXPECT_EQ(test::signature_tag(field + "\r\n", "t"), "1700000000");
  std::istringstream lines(field);
  for (std::string line; std::getline(lines, line);) {
    EXPECT_TRUE(line.ends_with('\r')) << line;
    EXPECT_LE(line.size(), 79u) << line;  // 78 and the CR
  }
  for (const char* tag : {"v", "a", "c", "d", "s", "t", "h", "bh", "b"}) {
    EXPECT_NE(test::signature_tag(field + "\r\n", tag), "") << tag;
  }
}

TEST(Signer, h_lists_each_field_present_absent_ones_once_and_from_once_more) {
  SignerConfig c = config(Algorithm::ed25519_sha256);
  c.headers = {"To", "subject", "X-Absent", "to"};
  const std::string_view message = "From: a@example.com\r\nTo: b@example.org\r\nTo: c@example.org\r\nSubject: x\r\n\r\n";
  const std::string signed_text = signed_message(ed25519_key(), c, message);
  EXPECT_EQ(test::signature_tag(signed_text, "h"), "from:from:to:to:subject:x-absent");
  EXPECT_EQ(test::verify(signed_text, ed25519_key().dns_record()), "");
}

TEST(Signer, default_list_signs_the_fields_a_reader_sees) {
  const std::string signed_text = signed_message(ed25519_key(), config(Algorithm::ed25519_sha256), kMessage);
  const std::string h = test::signature_tag(signed_text, "h");
  EXPECT_TRUE(h.starts_with("from:from:to:cc:subject:date:message-id:reply-to:mime-version:content-type:")) << h;
  EXPECT_EQ(h.find("received"), std::string::npos);
}

TEST(Signer, a_from_added_above_breaks_the_signature_but_other_fields_may_be_added) {
  const std::string signed_text = signed_message(ed25519_key(), config(Algorithm::ed25519_sha256), kMessage);
  const std::string record = ed25519_key().dns_record();
  const std::size_t from = signed_text.find("From:");
  std::string forged = signed_text;
  forged.insert(from, "From: Mallory <m@example.com>\r\n");
  EXPECT_EQ(test::verify(forged, record), "signature mismatch (a=ed25519-sha256)");
  std::string relayed = signed_text;
  relayed.insert(0, "Received: from relay by mx; Tue, 14 Nov 2023 22:13:21 +0000\r\n");
  EXPECT_EQ(test::verify(relayed, record), "");
  std::string changed_body = signed_text;
  changed_body.replace(changed_body.find("flowers"), 7, "weeds!!");
  EXPECT_EQ(test::verify(changed_body, record), "body hash mismatch");
}

TEST(Signer, repeated_fields_are_signed_bottom_up) {
  // Two Subject fields: both signed; swapping them breaks the signature.
  const std::string_view message = "From: a@example.com\r\nSubject: first\r\nSubject: second\r\n\r\nbody\r\n";
  const std::string signed_text = signed_message(ed25519_key(), config(Algorithm::ed25519_sha256), message);
  EXPECT_NE(test::signature_tag(signed_text, "h").find("subject:subject"), std::string::npos);
  EXPECT_EQ(test::verify(signed_text, ed25519_key().dns_record()), "");
  std::string swapped = signed_text;
  const std::string_view order = "Subject: first\r\nSubject: second\r\n";
  swapped.replace(swapped.find(order), order.size(), "Subject: second\r\nSubject: first\r\n");
  EXPECT_NE(test::verify(swapped, ed25519_key().dns_record()), "");
}

TEST(Signer, message_without_body_or_blank_line_is_signed) {
  for (const std::string_view message : {"From: a@example.com\r\n\r\n", "From: a@example.com\r\n", "From: a@example.com"}) {
    const std::string signed_text = signed_message(ed25519_key(), config(Algorithm::ed25519_sha256), message);
    EXPECT_EQ(test::signature_tag(signed_text, "bh"), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");  // SHA-256 of ""
  }
}

TEST(Signer, configuration_errors_throw) {
  EXPECT_THROW(sign(rsa_key(), config(Algorithm::ed25519_sha256), kMessage, kTime), std::invalid_argument);
  EXPECT_THROW(sign(rsa_key(), config(Algorithm::rsa_sha256, "exa mple.com"), kMessage, kTime), std::invalid_argument);
  EXPECT_THROW(sign(rsa_key(), config(Algorithm::rsa_sha256, "example.com", "s1;x=y"), kMessage, kTime),
               std::invalid_argument);
  SignerConfig bad_header = config(Algorithm::rsa_sha256);
  bad_header.headers = {"subject:"};
  EXPECT_THROW(sign(rsa_key(), bad_header, kMessage, kTime), std::invalid_argument);
}

TEST(SignerNames, valid_dns_name) {
  EXPECT_TRUE(valid_dns_name("example.com"));
  EXPECT_TRUE(valid_dns_name("s2024-01_a"));
  EXPECT_FALSE(valid_dns_name(""));
  EXPECT_FALSE(valid_dns_name("example.com."));
  EXPECT_FALSE(valid_dns_name("a..b"));
  EXPECT_FALSE(valid_dns_name("../etc"));
  EXPECT_FALSE(valid_dns_name("a/b"));
  EXPECT_FALSE(valid_dns_name(std::string(64, 'a')));
  EXPECT_TRUE(valid_dns_name(std::string(63, 'a')));
}

TEST(FromDomain, domain_of_the_first_mailbox_in_lower_case) {
  EXPECT_EQ(from_domain("From: ada@Example.COM\r\n\r\n"), "example.com");
  EXPECT_EQ(from_domain("From: \"Ada, <x@evil.example>\" <ada@example.com>\r\n\r\n"), "example.com");
  EXPECT_EQ(from_domain("From: ada@example.com (Ada @ home.example)\r\n\r\n"), "example.com");
  EXPECT_EQ(from_domain("From: Ada\r\n <ada@example.com.>\r\n\r\n"), "example.com");
  EXPECT_EQ(from_domain("from : a@one.example, b@two.example\r\n\r\n"), "one.example");
  EXPECT_EQ(from_domain("From: \"a@b\"@example.com\r\n\r\n"), "example.com");
}

TEST(FromDomain, none_when_missing_twice_or_not_a_domain) {
  EXPECT_EQ(from_domain("To: a@example.com\r\n\r\n"), "");
  EXPECT_EQ(from_domain("From: a@one.example\r\nFrom: b@two.example\r\n\r\n"), "");
  EXPECT_EQ(from_domain("From: undisclosed\r\n\r\n"), "");
  EXPECT_EQ(from_domain("From: a@[192.0.2.1]\r\n\r\n"), "");
  EXPECT_EQ(from_domain("\r\nFrom: a@example.com\r\n"), "");  // that From is in the body
}

TEST(SignAll, every_key_of_the_from_domain_signs) {
  auto rsa = std::make_shared<const Key>(rsa_key());
  auto ed = std::make_shared<const Key>(ed25519_key());
  const std::vector<DomainKey> keys = {
      {config(Algorithm::rsa_sha256, "example.com", "rsa1"), rsa},
      {config(Algorithm::ed25519_sha256, "example.org", "ed1"), ed},
      {config(Algorithm::ed25519_sha256, "EXAMPLE.com", "ed1"), ed},
  };
  const std::string signatures = sign_all(keys, kMessage, kTime);
  const std::string message = signatures + std::string(kMessage);
  EXPECT_EQ(test::signature_tag(message, "s", 0), "rsa1");
  EXPECT_EQ(test::signature_tag(message, "s", 1), "ed1");
  EXPECT_EQ(test::signature_tag(message, "d", 1), "example.com");
  EXPECT_EQ(test::signature_tag(message, "s", 2), "");
  EXPECT_EQ(test::verify(message, rsa->dns_record(), 0), "");
  EXPECT_EQ(test::verify(message, ed->dns_record(), 1), "");
}

TEST(SignAll, nothing_for_another_domain_or_no_from) {
  const std::vector<DomainKey> keys = {
      {config(Algorithm::ed25519_sha256, "example.org", "ed1"), std::make_shared<const Key>(ed25519_key())}};
  EXPECT_EQ(sign_all(keys, kMessage, kTime), "");
  EXPECT_EQ(sign_all(keys, "Subject: no from\r\n\r\nbody\r\n", kTime), "");
  EXPECT_EQ(sign_all(keys, "From: a@sub.example.org\r\n\r\n", kTime), "");  // exact domain only
  EXPECT_EQ(sign_all({}, kMessage, kTime), "");
}

}  // namespace
}  // namespace petrel::dkim
