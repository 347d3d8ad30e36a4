// The DKIM key record (RFC 6376 §3.6.1, RFC 8463 §4) and the base64 of its
// p= tag.
#include <gtest/gtest.h>

#include "dkim/base64.hpp"
#include "dkim/record.hpp"

namespace petrel::dkim {
namespace {

KeyRecord parsed(std::string_view text) {
  std::string error;
  const auto record = parse_key_record(text, error);
  EXPECT_TRUE(record) << text << ": " << error;
  return record.value_or(KeyRecord{});
}

std::string refused(std::string_view text) {
  std::string error;
  EXPECT_FALSE(parse_key_record(text, error)) << text;
  return error;
}

TEST(Base64, round_trips_every_length) {
  std::string bytes;
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(base64_decode(base64_encode(bytes)), bytes);
    bytes += static_cast<char>(i * 37);
  }
  EXPECT_EQ(base64_encode("any carnal pleas"), "YW55IGNhcm5hbCBwbGVhcw==");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
}

TEST(Base64, decoding_skips_folding_and_refuses_junk) {
  EXPECT_EQ(base64_decode("Zm9v\r\n YmFy"), "foobar");
  EXPECT_EQ(base64_decode("Zm8"), "fo");  // padding is optional
  EXPECT_FALSE(base64_decode("Zm9v!"));
  EXPECT_FALSE(base64_decode("Zg==Zg=="));  // a digit after '='
  EXPECT_FALSE(base64_decode("Z"));         // 6 bits are no octet
  EXPECT_FALSE(base64_decode("Zg==="));
}

TEST(KeyRecord, rfc_8463_ed25519_record) {
  const KeyRecord record = parsed("v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
  EXPECT_EQ(record.version, "DKIM1");
  EXPECT_EQ(record.algorithm(), Algorithm::ed25519_sha256);
  EXPECT_EQ(record.public_key.size(), 32u);
  EXPECT_FALSE(record.revoked());
  EXPECT_TRUE(record.allows_sha256());
  EXPECT_TRUE(record.for_email());
}

TEST(KeyRecord, defaults_to_rsa_and_reads_every_tag) {
  const KeyRecord record = parsed("p=AQAB ; t = y:S ; h=sha1 : SHA256; s=email; n=hello there;");
  EXPECT_EQ(record.version, "");
  EXPECT_EQ(record.key_type, "rsa");
  EXPECT_EQ(record.algorithm(), Algorithm::rsa_sha256);
  EXPECT_EQ(record.public_key, std::string("\x01\x00\x01", 3));
  EXPECT_TRUE(record.testing());
  EXPECT_TRUE(record.strict());
  EXPECT_EQ(record.hash_algorithms, (std::vector<std::string>{"sha1", "sha256"}));
  EXPECT_TRUE(record.allows_sha256());
  EXPECT_EQ(record.notes, "hello there");
}

TEST(KeyRecord, empty_p_is_a_revoked_key) {
  EXPECT_TRUE(parsed("v=DKIM1; k=rsa; p=").revoked());
  EXPECT_TRUE(parsed("v=DKIM1; p= ;").revoked());
}

TEST(KeyRecord, folded_p_and_unknown_tags_are_fine) {
  const KeyRecord record = parsed("v=DKIM1; x_future=1; p=AQ AB\r\n\t");
  EXPECT_EQ(record.public_key.size(), 3u);
}

TEST(KeyRecord, what_makes_a_record_unusable_is_reported) {
  const KeyRecord sha1_only = parsed("v=DKIM1; h=sha1; p=AQAB");
  EXPECT_FALSE(sha1_only.allows_sha256());
  EXPECT_FALSE(parsed("v=DKIM1; s=tlsrpt; p=AQAB").for_email());
  EXPECT_FALSE(parsed("v=DKIM1; k=dsa; p=AQAB").algorithm());
}

TEST(KeyRecord, malformed_records_are_refused_with_a_reason) {
  EXPECT_NE(refused("v=DKIM1; k=rsa").find("no p="), std::string::npos);
  EXPECT_NE(refused("v=DKIM1; p=AQAB; p=AQAB").find("twice"), std::string::npos);
  EXPECT_NE(refused("v=DKIM2; p=AQAB").find("v=DKIM2"), std::string::npos);
  EXPECT_NE(refused("k=rsa; v=DKIM1; p=AQAB").find("first"), std::string::npos);
  EXPECT_NE(refused("v=DKIM1; p=not base64!").find("base64"), std::string::npos);
  EXPECT_NE(refused("v=DKIM1; junk; p=AQAB").find("not a tag"), std::string::npos);
  EXPECT_NE(refused("v=DKIM1; 1x=2; p=AQAB").find("not a tag"), std::string::npos);
  refused("");
  refused("v=spf1 -all");
}

}  // namespace
}  // namespace petrel::dkim
