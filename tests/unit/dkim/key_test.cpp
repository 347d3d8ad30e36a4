// DKIM keys: what loads (RSA as PKCS#1 or PKCS#8, Ed25519), what is refused
// and why, the key record that publishes a key, and new keys.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include "dkim/base64.hpp"
#include "dkim/key.hpp"

namespace petrel::dkim {
namespace {

// RFC 8463 Appendix A.1's Ed25519 key (its secret "nWGxne/9...") as PKCS#8.
constexpr std::string_view kRfc8463Ed25519Pem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
    "-----END PRIVATE KEY-----\n";
constexpr std::string_view kRfc8463Ed25519Record = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

using Pkey = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

Pkey openssl_key(const char* type, std::size_t bits) {
  return Pkey(bits ? EVP_PKEY_Q_keygen(nullptr, nullptr, type, bits) : EVP_PKEY_Q_keygen(nullptr, nullptr, type),
              EVP_PKEY_free);
}

// `write` (a PEM_write_bio_* call) into a string.
template <class Write>
std::string pem(Write write) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  EXPECT_EQ(write(bio.get()), 1);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

std::string pkcs8(EVP_PKEY* key) {
  return pem([key](BIO* b) { return PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr); });
}

class TempDir {
 public:
  TempDir() {
    char path[] = "/tmp/petrel-dkim-test-XXXXXX";
    path_ = mkdtemp(path);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name, std::string_view contents) const {
    const std::string path = path_ + "/" + name;
    std::ofstream(path) << contents;
    return path;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string load_error(std::string_view pem_text, std::optional<Algorithm> expected = std::nullopt) {
  std::string error;
  EXPECT_FALSE(load_key(pem_text, expected, error));
  return error;
}

TEST(Key, rfc_8463_ed25519_key_publishes_the_rfc_record) {
  std::string error;
  const auto key = load_key(kRfc8463Ed25519Pem, Algorithm::ed25519_sha256, error);
  ASSERT_TRUE(key) << error;
  EXPECT_EQ(key->algorithm(), Algorithm::ed25519_sha256);
  EXPECT_EQ(key->public_key_data().size(), 32u);
  EXPECT_EQ(key->dns_record(), kRfc8463Ed25519Record);
  EXPECT_EQ(key->sign("data").size(), 64u);
}

TEST(Key, rsa_loads_from_pkcs1_and_pkcs8_alike) {
  const Pkey rsa = openssl_key("RSA", 1024);
  const std::string pkcs1 = pem([&rsa](BIO* b) {
    return PEM_write_bio_PrivateKey_traditional(b, rsa.get(), nullptr, nullptr, 0, nullptr, nullptr);
  });
  ASSERT_NE(pkcs1.find("BEGIN RSA PRIVATE KEY"), std::string::npos);
  std::string error;
  const auto from_pkcs1 = load_key(pkcs1, Algorithm::rsa_sha256, error);
  const auto from_pkcs8 = load_key(pkcs8(rsa.get()), Algorithm::rsa_sha256, error);
  ASSERT_TRUE(from_pkcs1 && from_pkcs8) << error;
  EXPECT_EQ(from_pkcs1->bits(), 1024);
  EXPECT_EQ(from_pkcs1->public_key_data(), from_pkcs8->public_key_data());
}

TEST(Key, rsa_record_carries_the_subject_public_key_info) {
  const Key key = generate_key(Algorithm::rsa_sha256, 2048);
  EXPECT_EQ(key.bits(), 2048);
  // The DER SubjectPublicKeyInfo of a 2048-bit key starts so, in base64.
  EXPECT_TRUE(key.dns_record().starts_with("v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"))
      << key.dns_record();
  EXPECT_EQ(key.dns_record().find_first_of("\r\n\""), std::string::npos);
}

TEST(Key, generated_keys_are_written_as_pkcs8_and_read_back) {
  for (const Algorithm algorithm : {Algorithm::rsa_sha256, Algorithm::ed25519_sha256}) {
    const Key key = generate_key(algorithm, 1024);
    const std::string text = key.private_key_pem();
    EXPECT_TRUE(text.starts_with("-----BEGIN PRIVATE KEY-----\n")) << text;
    std::string error;
    const auto again = load_key(text, algorithm, error);
    ASSERT_TRUE(again) << error;
    EXPECT_EQ(again->dns_record(), key.dns_record());
  }
  EXPECT_THROW(generate_key(Algorithm::rsa_sha256, 512), std::invalid_argument);
  EXPECT_THROW(generate_key(Algorithm::rsa_sha256, 16384), std::invalid_argument);
}

TEST(Key, algorithm_must_match_the_configured_one) {
  EXPECT_EQ(load_error(kRfc8463Ed25519Pem, Algorithm::rsa_sha256), "an Ed25519 key, but the algorithm is rsa-sha256");
  const Pkey rsa = openssl_key("RSA", 1024);
  EXPECT_EQ(load_error(pkcs8(rsa.get()), Algorithm::ed25519_sha256), "an RSA key, but the algorithm is ed25519-sha256");
}

TEST(Key, rsa_below_1024_bits_is_refused) {
  const Pkey small = openssl_key("RSA", 512);
  EXPECT_NE(load_error(pkcs8(small.get())).find("a 512-bit RSA key; DKIM needs at least 1024 bits"), std::string::npos);
}

TEST(Key, other_key_types_are_refused) {
  const Pkey ec(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), EVP_PKEY_free);
  EXPECT_NE(load_error(pkcs8(ec.get())).find("a key of type EC"), std::string::npos);
}

TEST(Key, what_is_not_a_private_key_says_so) {
  EXPECT_NE(load_error("hello").find("not a PEM private key"), std::string::npos);
  EXPECT_NE(load_error("").find("not a PEM private key"), std::string::npos);
  const Pkey ed = openssl_key("ED25519", 0);
  const std::string public_pem = pem([&ed](BIO* b) { return PEM_write_bio_PUBKEY(b, ed.get()); });
  EXPECT_NE(load_error(public_pem).find("not a PEM private key"), std::string::npos);
  const std::string encrypted = pem([&ed](BIO* b) {
    return PEM_write_bio_PKCS8PrivateKey(b, ed.get(), EVP_aes_256_cbc(), const_cast<char*>("secret"), 6, nullptr,
                                         nullptr);
  });
  EXPECT_NE(load_error(encrypted).find("encrypted"), std::string::npos);
}

TEST(Key, file_errors_name_the_file) {
  TempDir dir;
  std::string error;
  EXPECT_FALSE(load_key_file(dir.path() + "/missing.key", std::nullopt, error));
  EXPECT_EQ(error, dir.path() + "/missing.key: cannot read: No such file or directory");
  EXPECT_FALSE(load_key_file(dir.path(), std::nullopt, error));
  EXPECT_EQ(error, dir.path() + ": cannot read: Is a directory");
  const std::string junk = dir.file("junk.key", "not a key\n");
  EXPECT_FALSE(load_key_file(junk, std::nullopt, error));
  EXPECT_TRUE(error.starts_with(junk + ": not a PEM private key")) << error;
  const std::string good = dir.file("good.key", kRfc8463Ed25519Pem);
  const auto key = load_key_file(good, Algorithm::ed25519_sha256, error);
  ASSERT_TRUE(key) << error;
  EXPECT_EQ(key->dns_record(), kRfc8463Ed25519Record);
}

TEST(Key, published_keys_are_read_and_compared) {
  std::string error;
  const auto ed = load_key(kRfc8463Ed25519Pem, std::nullopt, error);
  ASSERT_TRUE(ed) << error;
  const auto ed_info = read_public_key(Algorithm::ed25519_sha256, ed->public_key_data(), error);
  ASSERT_TRUE(ed_info) << error;
  EXPECT_EQ(ed_info->bits, 256);
  EXPECT_EQ(ed_info->data, ed->public_key_data());
  EXPECT_FALSE(read_public_key(Algorithm::ed25519_sha256, "short", error));
  EXPECT_FALSE(read_public_key(Algorithm::rsa_sha256, ed->public_key_data(), error));

  const Pkey rsa = openssl_key("RSA", 1024);
  const auto key = load_key(pkcs8(rsa.get()), std::nullopt, error);
  ASSERT_TRUE(key) << error;
  // Some publish the bare PKCS#1 RSAPublicKey; it is the same key.
  unsigned char* der = nullptr;
  const int size = i2d_PublicKey(rsa.get(), &der);
  ASSERT_GT(size, 0);
  const std::string pkcs1(reinterpret_cast<char*>(der), static_cast<std::size_t>(size));
  OPENSSL_free(der);
  const auto info = read_public_key(Algorithm::rsa_sha256, pkcs1, error);
  ASSERT_TRUE(info) << error;
  EXPECT_EQ(info->bits, 1024);
  EXPECT_EQ(info->data, key->public_key_data());
  EXPECT_FALSE(read_public_key(Algorithm::rsa_sha256, pkcs1 + "x", error));
  EXPECT_FALSE(read_public_key(Algorithm::ed25519_sha256, key->public_key_data(), error));
}

}  // namespace
}  // namespace petrel::dkim
