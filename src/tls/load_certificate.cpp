#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "tls/context_setup.hpp"
#include "tls/openssl_support.hpp"

namespace petrel::tls::detail {
namespace {

[[noreturn]] void fail_file(const std::string& file, const char* what) {
  throw TlsError(file + ": " + what + ": " + take_openssl_error());
}

// Never prompt on the terminal for a passphrase (OpenSSL's default
// callback would): an encrypted key is an error.
int no_passphrase(char*, int, int, void*) { return 0; }

PkeyPtr read_private_key(const std::string& key_file) {
  BioPtr in(BIO_new_file(key_file.c_str(), "r"));
  if (!in) fail_file(key_file, "cannot open private key");
  PkeyPtr key(PEM_read_bio_PrivateKey(in.get(), nullptr, no_passphrase, nullptr));
  if (!key) fail_file(key_file, "no unencrypted PEM private key");
  return key;
}

}  // namespace

void load_certificate(SSL_CTX* ctx, const CertificateFiles& files) {
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(ctx, files.cert_file.c_str()) != 1)
    fail_file(files.cert_file, "cannot load certificate chain");
  const PkeyPtr key = read_private_key(files.key_file);
  // Checked here first so that the common mistake gets a plain message.
  if (X509_check_private_key(SSL_CTX_get0_certificate(ctx), key.get()) != 1) {
    ERR_clear_error();
    throw TlsError(files.key_file + " does not match " + files.cert_file);
  }
  if (SSL_CTX_use_PrivateKey(ctx, key.get()) != 1 || SSL_CTX_check_private_key(ctx) != 1)
    fail_file(files.key_file, "cannot use private key");
}

}  // namespace petrel::tls::detail

namespace petrel::tls {

void check_ca_file(const std::string& ca_file) {
  ERR_clear_error();
  std::unique_ptr<SSL_CTX, detail::OpensslFree<SSL_CTX_free>> ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx || SSL_CTX_load_verify_locations(ctx.get(), ca_file.c_str(), nullptr) != 1) {
    throw TlsError(ca_file + ": cannot load CA certificates: " + detail::take_openssl_error());
  }
}

}  // namespace petrel::tls
