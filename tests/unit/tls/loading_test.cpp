// Start-up failures name the file and the reason.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <openssl/pem.h>

#include <fstream>

#include "tls_test_support.hpp"

namespace petrel::tls {
namespace {

using ::testing::HasSubstr;

class Loading : public ::testing::Test {
 protected:
  testing::TempDir dir;

  // The message of the TlsError the constructor throws, or "" if none.
  static std::string construction_error(ServerTlsSettings settings) {
    try {
      ServerTls tls(std::move(settings));
    } catch (const TlsError& e) {
      return e.what();
    }
    return "";
  }
};

TEST_F(Loading, a_key_that_does_not_match_the_certificate_throws_naming_both) {
  const CertificateFiles first = testing::make_certificate(dir, "first", "mx.example.net");
  const CertificateFiles second = testing::make_certificate(dir, "second", "mx.example.net");
  EXPECT_EQ(construction_error({{{first.cert_file, second.key_file}}}),
            second.key_file + " does not match " + first.cert_file);
}

TEST_F(Loading, a_missing_certificate_file_throws_naming_it) {
  const CertificateFiles files = testing::make_certificate(dir, "mx", "mx.example.net");
  const std::string missing = dir / "missing.crt";
  const std::string error = construction_error({{{missing, files.key_file}}});
  EXPECT_THAT(error, HasSubstr(missing + ": cannot load certificate chain"));
  EXPECT_THAT(error, HasSubstr("No such file"));
}

TEST_F(Loading, a_missing_key_file_throws_naming_it) {
  const CertificateFiles files = testing::make_certificate(dir, "mx", "mx.example.net");
  const std::string missing = dir / "missing.key";
  const std::string error = construction_error({{{files.cert_file, missing}}});
  EXPECT_THAT(error, HasSubstr(missing + ": cannot open private key"));
  EXPECT_THAT(error, HasSubstr("No such file"));
}

TEST_F(Loading, a_file_that_is_not_pem_throws_naming_it) {
  const CertificateFiles files = testing::make_certificate(dir, "mx", "mx.example.net");
  std::ofstream(dir / "junk.pem") << "not a certificate\n";
  EXPECT_THAT(construction_error({{{dir / "junk.pem", files.key_file}}}), HasSubstr(dir / "junk.pem" + ": "));
  EXPECT_THAT(construction_error({{{files.cert_file, dir / "junk.pem"}}}), HasSubstr(dir / "junk.pem" + ": "));
}

TEST_F(Loading, an_encrypted_key_is_refused_without_asking_for_a_passphrase) {
  const CertificateFiles files = testing::make_certificate(dir, "mx", "mx.example.net");
  {
    BIO* in = BIO_new_file(files.key_file.c_str(), "r");
    EVP_PKEY* key = PEM_read_bio_PrivateKey(in, nullptr, nullptr, nullptr);
    BIO_free(in);
    ASSERT_NE(key, nullptr);
    BIO* out = BIO_new_file((dir / "encrypted.key").c_str(), "w");
    char passphrase[] = "secret";
    ASSERT_EQ(PEM_write_bio_PrivateKey(out, key, EVP_aes_256_cbc(), nullptr, 0, nullptr, passphrase), 1);
    BIO_free(out);
    EVP_PKEY_free(key);
  }
  EXPECT_THAT(construction_error({{{files.cert_file, dir / "encrypted.key"}}}),
              HasSubstr(dir / "encrypted.key" + ": no unencrypted PEM private key"));
}

TEST_F(Loading, a_bad_extra_certificate_fails_the_whole_load) {
  const CertificateFiles good = testing::make_certificate(dir, "mx", "mx.example.net");
  EXPECT_THAT(construction_error({{good, {dir / "missing.crt", good.key_file}}}), HasSubstr(dir / "missing.crt"));
}

TEST_F(Loading, no_certificate_throws) { EXPECT_EQ(construction_error({}), "no TLS certificate configured"); }

TEST_F(Loading, a_cipher_list_with_nothing_usable_throws_naming_the_setting) {
  ServerTlsSettings settings{{testing::make_certificate(dir, "mx", "mx.example.net")}};
  settings.tls12_ciphers = "NO-SUCH-CIPHER";
  EXPECT_THAT(construction_error(settings), HasSubstr("tls12_ciphers \"NO-SUCH-CIPHER\""));
  settings = {{testing::make_certificate(dir, "mx", "mx.example.net")}};
  settings.tls13_ciphersuites = "TLS_NO_SUCH_SUITE";
  EXPECT_THAT(construction_error(settings), HasSubstr("tls13_ciphersuites \"TLS_NO_SUCH_SUITE\""));
}

}  // namespace
}  // namespace petrel::tls
