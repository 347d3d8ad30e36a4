// What a client can and cannot negotiate with the server's context.
#include <gtest/gtest.h>

#include "tls_test_support.hpp"

namespace petrel::tls {
namespace {

using testing::ClientOptions;
using testing::InMemoryConnection;

class Handshake : public ::testing::Test {
 protected:
  testing::TempDir dir;
  ServerTls tls{ServerTlsSettings{{testing::make_certificate(dir, "mx", "mx.example.net")}}};

  InMemoryConnection connect(const ClientOptions& options = {}) { return InMemoryConnection(*tls.context(), options); }
};

TEST_F(Handshake, completes_at_tls13) {
  InMemoryConnection connection = connect();
  ASSERT_TRUE(connection.handshake()) << connection.failure_text();
  EXPECT_EQ(SSL_version(connection.server()), TLS1_3_VERSION);
}

TEST_F(Handshake, completes_at_tls12_with_ecdhe_aes_gcm) {
  InMemoryConnection connection =
      connect({.max_version = TLS1_2_VERSION, .tls12_ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256"});
  ASSERT_TRUE(connection.handshake()) << connection.failure_text();
  EXPECT_EQ(SSL_version(connection.server()), TLS1_2_VERSION);
  EXPECT_STREQ(SSL_get_cipher_name(connection.server()), "ECDHE-ECDSA-AES128-GCM-SHA256");
}

TEST_F(Handshake, completes_at_tls12_with_ecdhe_chacha20_poly1305) {
  InMemoryConnection connection =
      connect({.max_version = TLS1_2_VERSION, .tls12_ciphers = "ECDHE-ECDSA-CHACHA20-POLY1305"});
  ASSERT_TRUE(connection.handshake()) << connection.failure_text();
  EXPECT_STREQ(SSL_get_cipher_name(connection.server()), "ECDHE-ECDSA-CHACHA20-POLY1305");
}

TEST_F(Handshake, server_preference_decides_between_suites_both_sides_have) {
  // Client prefers AES-256; the server's list puts AES-128 first.
  InMemoryConnection connection = connect({.max_version = TLS1_2_VERSION,
                                           .tls12_ciphers = "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256"});
  ASSERT_TRUE(connection.handshake()) << connection.failure_text();
  EXPECT_STREQ(SSL_get_cipher_name(connection.server()), "ECDHE-ECDSA-AES128-GCM-SHA256");
}

TEST_F(Handshake, a_client_that_puts_chacha20_first_gets_it) {
  InMemoryConnection connection = connect({.max_version = TLS1_2_VERSION,
                                           .tls12_ciphers = "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256"});
  ASSERT_TRUE(connection.handshake()) << connection.failure_text();
  EXPECT_STREQ(SSL_get_cipher_name(connection.server()), "ECDHE-ECDSA-CHACHA20-POLY1305");
}

TEST_F(Handshake, refuses_a_client_capped_at_tls11) {
  InMemoryConnection connection =
      connect({.min_version = TLS1_VERSION, .max_version = TLS1_1_VERSION, .legacy = true});
  EXPECT_FALSE(connection.handshake());
  EXPECT_EQ(connection.server_failure(), SSL_R_UNSUPPORTED_PROTOCOL) << connection.failure_text();
}

TEST_F(Handshake, refuses_cbc_sha1_suites_at_tls12) {
  InMemoryConnection connection = connect(
      {.max_version = TLS1_2_VERSION, .tls12_ciphers = "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA", .legacy = true});
  EXPECT_FALSE(connection.handshake());
  EXPECT_EQ(connection.server_failure(), SSL_R_NO_SHARED_CIPHER) << connection.failure_text();
}

TEST_F(Handshake, refuses_groups_other_than_x25519_p256_p384) {
  InMemoryConnection connection = connect({.groups = "P-521:ffdhe2048"});
  EXPECT_FALSE(connection.handshake());
  EXPECT_NE(connection.server_failure(), 0) << connection.failure_text();
}

TEST_F(Handshake, accepts_each_of_x25519_p256_p384) {
  for (const char* group : {"X25519", "P-256", "P-384"}) {
    InMemoryConnection connection = connect({.groups = group});
    EXPECT_TRUE(connection.handshake()) << group << ": " << connection.failure_text();
  }
}

TEST_F(Handshake, does_not_ask_the_client_for_a_certificate) {
  for (const int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    InMemoryConnection connection = connect({.max_version = version});
    ASSERT_TRUE(connection.handshake()) << connection.failure_text();
    EXPECT_FALSE(connection.client_was_asked_for_a_certificate()) << version;
  }
}

TEST_F(Handshake, refuses_renegotiation) {
  InMemoryConnection connection = connect({.max_version = TLS1_2_VERSION});
  ASSERT_TRUE(connection.handshake()) << connection.failure_text();
  EXPECT_NE(SSL_get_options(connection.server()) & SSL_OP_NO_RENEGOTIATION, 0u);
  // The client asks; the server must not start a second handshake.
  ASSERT_EQ(SSL_renegotiate(connection.client()), 1);
  SSL_do_handshake(connection.client());
  char byte;
  EXPECT_LE(SSL_read(connection.server(), &byte, 1), 0);
  EXPECT_EQ(SSL_renegotiate_pending(connection.server()), 0);
  EXPECT_FALSE(SSL_in_init(connection.server()));
  ERR_clear_error();
}

TEST_F(Handshake, uses_no_compression) {
  InMemoryConnection connection = connect({.max_version = TLS1_2_VERSION});
  ASSERT_TRUE(connection.handshake()) << connection.failure_text();
  EXPECT_EQ(SSL_get_current_compression(connection.server()), nullptr);
  EXPECT_NE(SSL_get_options(connection.server()) & SSL_OP_NO_COMPRESSION, 0u);
}

TEST_F(Handshake, describe_reports_tls13_protocol_cipher_and_bits) {
  InMemoryConnection connection = connect({.server_name = "mx.example.net"});
  ASSERT_TRUE(connection.handshake()) << connection.failure_text();
  const TlsInfo info = describe(connection.server());
  EXPECT_EQ(info.protocol, "TLSv1.3");
  EXPECT_EQ(info.cipher, "TLS_AES_256_GCM_SHA384");
  EXPECT_EQ(info.bits, 256);
  EXPECT_EQ(info.sni, "mx.example.net");
}

TEST_F(Handshake, describe_reports_tls12_protocol_cipher_and_bits_without_sni) {
  InMemoryConnection connection =
      connect({.max_version = TLS1_2_VERSION, .tls12_ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256"});
  ASSERT_TRUE(connection.handshake()) << connection.failure_text();
  const TlsInfo info = describe(connection.server());
  EXPECT_EQ(info.protocol, "TLSv1.2");
  EXPECT_EQ(info.cipher, "ECDHE-ECDSA-AES128-GCM-SHA256");
  EXPECT_EQ(info.bits, 128);
  EXPECT_EQ(info.sni, "");
}

}  // namespace
}  // namespace petrel::tls
