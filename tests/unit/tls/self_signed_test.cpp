// The throwaway certificate for tests and `make run`.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <openssl/pem.h>
#include <sys/stat.h>

#include <fstream>

#include "tls_test_support.hpp"

namespace petrel::tls {
namespace {

using X509Ptr = std::unique_ptr<X509, testing::OpensslFree<X509_free>>;

X509Ptr read_certificate(const std::string& file) {
  BIO* in = BIO_new_file(file.c_str(), "r");
  X509Ptr cert(in == nullptr ? nullptr : PEM_read_bio_X509(in, nullptr, nullptr, nullptr));
  BIO_free(in);
  return cert;
}

unsigned permissions(const std::string& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

class SelfSigned : public ::testing::Test {
 protected:
  testing::TempDir dir;
  std::string cert_file = dir / "self.crt";
  std::string key_file = dir / "self.key";
};

TEST_F(SelfSigned, key_file_is_readable_by_the_owner_only) {
  write_self_signed(cert_file, key_file, "mx.example.net");
  EXPECT_EQ(permissions(key_file), 0600u);
}

TEST_F(SelfSigned, tightens_the_mode_of_an_existing_key_file) {
  std::ofstream(key_file) << "old";
  ASSERT_EQ(::chmod(key_file.c_str(), 0644), 0);
  write_self_signed(cert_file, key_file, "mx.example.net");
  EXPECT_EQ(permissions(key_file), 0600u);
}

TEST_F(SelfSigned, certificate_is_v3_for_p256_with_every_name_in_the_san) {
  write_self_signed(cert_file, key_file, "mx.example.net", {"mail.example.net", "mx.example.net", "*.example.org"});
  const X509Ptr cert = read_certificate(cert_file);
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(X509_get_version(cert.get()), X509_VERSION_3);

  EVP_PKEY* key = X509_get0_pubkey(cert.get());
  char group[64] = "";
  ASSERT_EQ(EVP_PKEY_get_group_name(key, group, sizeof group, nullptr), 1);
  EXPECT_STREQ(group, "prime256v1");
  EXPECT_EQ(X509_verify(cert.get(), key), 1) << "self-signature";

  EXPECT_EQ(X509_check_host(cert.get(), "mx.example.net", 0, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT, nullptr), 1);
  EXPECT_EQ(X509_check_host(cert.get(), "mail.example.net", 0, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT, nullptr), 1);
  EXPECT_EQ(X509_check_host(cert.get(), "any.example.org", 0, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT, nullptr), 1);
  EXPECT_EQ(X509_check_host(cert.get(), "other.example.net", 0, 0, nullptr), 0);
  EXPECT_EQ(X509_check_purpose(cert.get(), X509_PURPOSE_SSL_SERVER, 0), 1);
}

TEST_F(SelfSigned, certificate_is_valid_now_for_about_a_year) {
  write_self_signed(cert_file, key_file, "mx.example.net");
  const X509Ptr cert = read_certificate(cert_file);
  ASSERT_NE(cert, nullptr);
  EXPECT_LT(X509_cmp_current_time(X509_get0_notBefore(cert.get())), 0);
  int days = 0;
  int seconds = 0;
  ASSERT_EQ(ASN1_TIME_diff(&days, &seconds, nullptr, X509_get0_notAfter(cert.get())), 1);
  EXPECT_GE(days, 364);
  EXPECT_LE(days, 366);
}

TEST_F(SelfSigned, unwritable_path_throws_naming_it) {
  const std::string bad = dir / "no-such-dir/self.key";
  try {
    write_self_signed(cert_file, bad, "mx.example.net");
    FAIL() << "no exception";
  } catch (const TlsError& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr(bad));
  }
}

}  // namespace
}  // namespace petrel::tls
