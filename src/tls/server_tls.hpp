// The server's TLS contexts, for STARTTLS (RFC 3207) on ports 25 and 587 and
// implicit TLS on 465 (RFC 8314). Internal to the server: it exposes Asio's
// ssl::context, so only code that already depends on Asio includes it.
#pragma once

#include <utility>  // Boost 1.74's Asio needs std::exchange declared first

#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace petrel::tls {

// PEM files. cert_file holds the leaf first, then the intermediates.
struct CertificateFiles {
  std::string cert_file;
  std::string key_file;
};

struct ServerTlsSettings {
  // The first is the default; the others are chosen by the client's SNI.
  std::vector<CertificateFiles> certificates;

  // TLS 1.2: Mozilla's "intermediate" list without the DHE suites, i.e. ECDHE
  // with AES-GCM or ChaCha20-Poly1305 only: forward secrecy and AEAD for
  // every suite, so no static RSA key exchange and no CBC (Lucky13, SHA-1
  // MACs). DHE is left out because it needs its own parameters and testssl
  // flags weak ones; a client that has TLS 1.2 but no ECDHE is very rare.
  // Costs little on port 25: a sender that cannot negotiate falls back to
  // plaintext or another MX (opportunistic TLS).
  std::string tls12_ciphers =
      "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
      "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
      "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
  // TLS 1.3: OpenSSL's default, written out. All three are AEAD suites.
  std::string tls13_ciphersuites = "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256";
};

// A start-up or reload failure; the message names the file (or setting) and
// OpenSSL's reason.
class TlsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Owns the SSL contexts: one per certificate, all configured the same way.
// Thread-safe: context() and reload() may be called from any thread.
class ServerTls {
 public:
  // Loads every certificate and key; throws TlsError.
  explicit ServerTls(ServerTlsSettings settings);

  // Re-reads the files (SIGHUP). On success new connections get the new
  // context while existing sessions keep theirs; on failure the old context
  // stays and the error is returned.
  std::optional<std::string> reload();

  // The context to build a new connection's ssl::stream from. Keep the
  // pointer for as long as that stream lives: SNI switches a handshake to
  // certificates it owns.
  std::shared_ptr<boost::asio::ssl::context> context() const;

 private:
  const ServerTlsSettings settings_;
  mutable std::mutex mutex_;
  std::shared_ptr<boost::asio::ssl::context> current_;
};

// What was negotiated, for logs and the Received header (RFC 5321 4.4).
struct TlsInfo {
  std::string protocol;  // "TLSv1.3"
  std::string cipher;    // OpenSSL's name: "TLS_AES_256_GCM_SHA384", "ECDHE-RSA-AES128-GCM-SHA256"
  int bits = 0;          // symmetric key bits: 256
  std::string sni;       // as the client sent it, empty if none; not sanitised
};

// Call after the handshake completed.
TlsInfo describe(const ssl_st* ssl);

// Throws TlsError unless `ca_file` holds at least one PEM certificate that
// OpenSSL can use as a trust anchor (checked at start, not at first use).
void check_ca_file(const std::string& ca_file);

}  // namespace petrel::tls
