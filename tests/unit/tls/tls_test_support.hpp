// Helpers for the TLS tests: a temporary directory, and a client and a server
// SSL joined by an in-memory BIO pair, so a whole handshake runs in one
// thread without sockets.
#pragma once

#include <stdlib.h>

#include <openssl/ssl.h>

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "../spool/temp_dir.hpp"
#include "tls/self_signed.hpp"
#include "tls/server_tls.hpp"

namespace petrel::tls::testing {

using petrel::testing::TempDir;

// <stem>.crt and <stem>.key in dir, self-signed for host and extra_names.
inline CertificateFiles make_certificate(const TempDir& dir, const std::string& stem, const std::string& host,
                                         std::vector<std::string> extra_names = {}) {
  CertificateFiles files{dir / (stem + ".crt"), dir / (stem + ".key")};
  write_self_signed(files.cert_file, files.key_file, host, std::move(extra_names));
  return files;
}

template <auto Free>
struct OpensslFree {
  template <class T>
  void operator()(T* p) const {
    Free(p);
  }
};
using SslPtr = std::unique_ptr<SSL, OpensslFree<SSL_free>>;
using SslCtxPtr = std::unique_ptr<SSL_CTX, OpensslFree<SSL_CTX_free>>;
using SessionPtr = std::unique_ptr<SSL_SESSION, OpensslFree<SSL_SESSION_free>>;

struct ClientOptions {
  int min_version = 0;        // 0: OpenSSL's default
  int max_version = 0;        // 0: OpenSSL's default
  std::string tls12_ciphers;  // empty: OpenSSL's default
  std::string groups;         // empty: OpenSSL's default
  std::string server_name;    // empty: no SNI
  SSL_SESSION* resume = nullptr;
  bool no_tickets = false;    // resume by session ID instead
  bool legacy = false;        // security level 0, so the client really offers TLS 1.0/1.1 and SHA-1 suites
};

// The client verifies nothing; tests look at what it received instead.
class InMemoryConnection {
 public:
  explicit InMemoryConnection(boost::asio::ssl::context& server_context, const ClientOptions& options = {});

  // Runs both sides until both finished (true) or either failed (false).
  bool handshake();
  // Sends close_notify both ways. Without it, freeing an SSL marks its
  // session not resumable: the server drops it from its cache, the client
  // will not offer it.
  void close();
  // Lets the client read what came after the handshake (TLS 1.3 tickets) and
  // returns its session for resumption.
  SessionPtr client_session();

  SSL* client() const { return client_.get(); }
  SSL* server() const { return server_.get(); }
  // OpenSSL's reason code for a failed server side, 0 if it did not fail.
  int server_failure() const { return server_failure_; }
  const std::string& failure_text() const { return failure_text_; }
  bool client_was_asked_for_a_certificate() const { return asked_for_certificate_; }
  // The DNS subjectAltNames of the certificate the server presented.
  std::vector<std::string> server_certificate_names() const;

 private:
  static int on_certificate_request(SSL* ssl, X509**, EVP_PKEY**);
  bool step(SSL* ssl, bool& done, int* failure);

  SslCtxPtr client_context_;
  SslPtr client_;
  SslPtr server_;
  int server_failure_ = 0;
  int client_failure_ = 0;
  std::string failure_text_;
  bool asked_for_certificate_ = false;
};

}  // namespace petrel::tls::testing
