#include "tls/server_tls.hpp"

#include <openssl/ssl.h>

#include "tls/context_set.hpp"

namespace petrel::tls {

ServerTls::ServerTls(ServerTlsSettings settings)
    : settings_(std::move(settings)), current_(detail::build_contexts(settings_)) {}

std::optional<std::string> ServerTls::reload() {
  // Built outside the lock: reading files must not stall new connections.
  std::shared_ptr<boost::asio::ssl::context> fresh;
  try {
    fresh = detail::build_contexts(settings_);
  } catch (const TlsError& e) {
    return e.what();
  }
  std::lock_guard lock(mutex_);
  // `fresh` now holds the old set; it is released after the lock, and dies
  // with the last connection that still uses it.
  current_.swap(fresh);
  return std::nullopt;
}

std::shared_ptr<boost::asio::ssl::context> ServerTls::context() const {
  std::lock_guard lock(mutex_);
  return current_;
}

TlsInfo describe(const ssl_st* ssl) {
  TlsInfo info;
  info.protocol = SSL_get_version(ssl);
  if (const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl)) {
    info.cipher = SSL_CIPHER_get_name(cipher);
    info.bits = SSL_CIPHER_get_bits(cipher, nullptr);
  }
  if (const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) info.sni = name;
  return info;
}

}  // namespace petrel::tls
