// A returning client skips the full handshake: by ticket or by session ID.
#include <gtest/gtest.h>

#include "tls_test_support.hpp"

namespace petrel::tls {
namespace {

using testing::ClientOptions;
using testing::InMemoryConnection;
using testing::SessionPtr;

class Resumption : public ::testing::Test {
 protected:
  testing::TempDir dir;
  ServerTls tls{ServerTlsSettings{{testing::make_certificate(dir, "mx", "mx.example.net"),
                                   testing::make_certificate(dir, "org", "mail.example.org")}}};

  // First connection with `options`; the session it leaves behind.
  SessionPtr first_session(const ClientOptions& options) {
    InMemoryConnection first(*tls.context(), options);
    if (!first.handshake()) {
      ADD_FAILURE() << first.failure_text();
      return nullptr;
    }
    EXPECT_FALSE(SSL_session_reused(first.server()));
    SessionPtr session = first.client_session();
    first.close();
    return session;
  }

  // A second connection offering `session`: was it resumed on both sides?
  bool resumes(ClientOptions options, SSL_SESSION* session) {
    options.resume = session;
    InMemoryConnection second(*tls.context(), options);
    if (!second.handshake()) {
      ADD_FAILURE() << second.failure_text();
      return false;
    }
    return SSL_session_reused(second.client()) == 1 && SSL_session_reused(second.server()) == 1;
  }
};

TEST_F(Resumption, tls13_resumes_with_a_session_ticket) {
  const SessionPtr session = first_session({});
  ASSERT_NE(session, nullptr);
  EXPECT_TRUE(SSL_SESSION_is_resumable(session.get()));
  EXPECT_TRUE(resumes({}, session.get()));
}

TEST_F(Resumption, tls12_resumes_with_a_session_ticket) {
  const ClientOptions options{.max_version = TLS1_2_VERSION};
  const SessionPtr session = first_session(options);
  ASSERT_NE(session, nullptr);
  EXPECT_TRUE(SSL_SESSION_has_ticket(session.get()));
  EXPECT_TRUE(resumes(options, session.get()));
}

TEST_F(Resumption, tls12_resumes_from_the_server_session_cache) {
  const ClientOptions options{.max_version = TLS1_2_VERSION, .no_tickets = true};
  const SessionPtr session = first_session(options);
  ASSERT_NE(session, nullptr);
  EXPECT_FALSE(SSL_SESSION_has_ticket(session.get()));
  EXPECT_TRUE(resumes(options, session.get()));
}

TEST_F(Resumption, resumes_on_a_certificate_chosen_by_sni) {
  for (const int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    const ClientOptions options{.max_version = version, .server_name = "mail.example.org"};
    const SessionPtr session = first_session(options);
    ASSERT_NE(session, nullptr);
    EXPECT_TRUE(resumes(options, session.get())) << version;
  }
}

TEST_F(Resumption, sessions_from_before_a_reload_get_a_full_handshake) {
  const SessionPtr session = first_session({});
  ASSERT_NE(session, nullptr);
  ASSERT_EQ(tls.reload(), std::nullopt);
  EXPECT_FALSE(resumes({}, session.get()));
}

}  // namespace
}  // namespace petrel::tls
