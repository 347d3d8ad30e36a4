// Choosing the certificate by the name the client asked for (RFC 6066 3).
#include <gtest/gtest.h>

#include "tls_test_support.hpp"

namespace petrel::tls {
namespace {

using testing::InMemoryConnection;

class Sni : public ::testing::Test {
 protected:
  testing::TempDir dir;

  std::vector<std::string> names_seen_for(ServerTls& tls, const std::string& server_name) {
    InMemoryConnection connection(*tls.context(), {.server_name = server_name});
    if (!connection.handshake()) {
      ADD_FAILURE() << server_name << ": " << connection.failure_text();
      return {};
    }
    return connection.server_certificate_names();
  }
};

std::vector<std::string> first_name(std::vector<std::string> names) {
  if (names.size() > 1) names.resize(1);
  return names;
}

TEST_F(Sni, picks_the_certificate_matching_the_name) {
  ServerTls tls(ServerTlsSettings{{
      testing::make_certificate(dir, "default", "mx.example.net"),
      testing::make_certificate(dir, "org", "mail.example.org", {"smtp.example.org"}),
  }});
  EXPECT_EQ(names_seen_for(tls, "mail.example.org"), (std::vector<std::string>{"mail.example.org", "smtp.example.org"}));
  EXPECT_EQ(first_name(names_seen_for(tls, "smtp.example.org")), std::vector<std::string>{"mail.example.org"});
  EXPECT_EQ(first_name(names_seen_for(tls, "MAIL.Example.ORG")), std::vector<std::string>{"mail.example.org"});
}

TEST_F(Sni, matches_wildcard_names) {
  ServerTls tls(ServerTlsSettings{{
      testing::make_certificate(dir, "default", "mx.example.net"),
      testing::make_certificate(dir, "wild", "*.example.com"),
  }});
  EXPECT_EQ(names_seen_for(tls, "relay.example.com"), std::vector<std::string>{"*.example.com"});
  // A wildcard covers one label only.
  EXPECT_EQ(names_seen_for(tls, "a.b.example.com"), std::vector<std::string>{"mx.example.net"});
}

TEST_F(Sni, unknown_or_absent_name_gets_the_default) {
  ServerTls tls(ServerTlsSettings{{
      testing::make_certificate(dir, "default", "mx.example.net"),
      testing::make_certificate(dir, "org", "mail.example.org"),
  }});
  EXPECT_EQ(names_seen_for(tls, "unknown.example.test"), std::vector<std::string>{"mx.example.net"});
  EXPECT_EQ(names_seen_for(tls, ""), std::vector<std::string>{"mx.example.net"});
}

TEST_F(Sni, an_exact_name_beats_a_wildcard_default) {
  ServerTls tls(ServerTlsSettings{{
      testing::make_certificate(dir, "default", "*.example.com"),
      testing::make_certificate(dir, "mx", "mx.example.com"),
  }});
  EXPECT_EQ(names_seen_for(tls, "mx.example.com"), std::vector<std::string>{"mx.example.com"});
  EXPECT_EQ(names_seen_for(tls, "other.example.com"), std::vector<std::string>{"*.example.com"});
}

TEST_F(Sni, switched_handshake_has_the_same_policy_and_reports_the_name) {
  ServerTls tls(ServerTlsSettings{{
      testing::make_certificate(dir, "default", "mx.example.net"),
      testing::make_certificate(dir, "org", "mail.example.org"),
  }});
  InMemoryConnection refused(*tls.context(), {.min_version = TLS1_VERSION,
                                              .max_version = TLS1_1_VERSION,
                                              .server_name = "mail.example.org",
                                              .legacy = true});
  EXPECT_FALSE(refused.handshake());

  InMemoryConnection connection(*tls.context(), {.server_name = "mail.example.org"});
  ASSERT_TRUE(connection.handshake()) << connection.failure_text();
  EXPECT_EQ(connection.server_certificate_names(), std::vector<std::string>{"mail.example.org"});
  EXPECT_FALSE(connection.client_was_asked_for_a_certificate());
  EXPECT_EQ(describe(connection.server()).sni, "mail.example.org");
  EXPECT_EQ(describe(connection.server()).cipher, "TLS_AES_256_GCM_SHA384");
}

}  // namespace
}  // namespace petrel::tls
