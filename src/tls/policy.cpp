#include <openssl/err.h>
#include <openssl/ssl.h>

#include "tls/context_setup.hpp"
#include "tls/openssl_support.hpp"

namespace petrel::tls::detail {
namespace {

// Mozilla "intermediate" groups; testssl flags nothing here, and every
// TLS 1.2+ client has at least P-256.
constexpr const char* kGroups = "X25519:P-256:P-384";

// The same for every certificate's context, so that a session resumes even
// when SNI moved its first handshake to another context (SSL_set_SSL_CTX
// keeps the session cache of the context the handshake started on).
constexpr unsigned char kSessionIdContext[] = "petrel-smtp";

[[noreturn]] void fail_setting(const char* name, const std::string& value) {
  throw TlsError(std::string(name) + " \"" + value + "\": " + take_openssl_error());
}

}  // namespace

void apply_server_policy(SSL_CTX* ctx, const ServerTlsSettings& settings) {
  ERR_clear_error();
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) fail_setting("min_proto_version", "TLSv1.2");
  SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE
                               // ...but let a client that puts ChaCha20 first
                               // (no AES hardware) have it.
                               | SSL_OP_PRIORITIZE_CHACHA | SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  // OpenSSL accepts a list in which some names are unknown; it fails only
  // when nothing usable is left.
  if (SSL_CTX_set_cipher_list(ctx, settings.tls12_ciphers.c_str()) != 1)
    fail_setting("tls12_ciphers", settings.tls12_ciphers);
  if (SSL_CTX_set_ciphersuites(ctx, settings.tls13_ciphersuites.c_str()) != 1)
    fail_setting("tls13_ciphersuites", settings.tls13_ciphersuites);
  if (SSL_CTX_set1_groups_list(ctx, kGroups) != 1) fail_setting("groups", kGroups);

  // No CertificateRequest: MTA peers rarely have a client certificate, and
  // asking makes some of them abort.
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);

  // Resumption both ways: a server-side cache for session IDs, and session
  // tickets (on by default) under OpenSSL's default ticket keys. Both are
  // per context, so after a reload old sessions get a full handshake.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
  if (SSL_CTX_set_session_id_context(ctx, kSessionIdContext, sizeof kSessionIdContext - 1) != 1)
    fail_setting("session_id_context", reinterpret_cast<const char*>(kSessionIdContext));
}

}  // namespace petrel::tls::detail
