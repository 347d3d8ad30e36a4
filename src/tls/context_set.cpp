#include "tls/context_set.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cstring>
#include <vector>

#include "tls/context_setup.hpp"

namespace petrel::tls::detail {
namespace {

namespace ssl = boost::asio::ssl;

struct ContextSet {
  ssl::context primary{ssl::context::tls_server};  // the first certificate
  std::vector<ssl::context> by_name;               // the others
};

bool certificate_matches(ssl::context& ctx, const char* name, unsigned flags) {
  X509* cert = SSL_CTX_get0_certificate(ctx.native_handle());
  return X509_check_host(cert, name, std::strlen(name), flags, nullptr) == 1;
}

// An exact name beats a wildcard, and the default wins ties, so that
// "*.example.com" as default and "mx.example.com" as extra do what they say.
// Returns nullptr to keep the default.
SSL_CTX* context_for_name(ContextSet& set, const char* name) {
  for (const unsigned flags : {unsigned{X509_CHECK_FLAG_NO_WILDCARDS}, 0u}) {
    if (certificate_matches(set.primary, name, flags)) return nullptr;
    for (ssl::context& ctx : set.by_name) {
      if (certificate_matches(ctx, name, flags)) return ctx.native_handle();
    }
  }
  return nullptr;
}

// Always accepts the name: a sending MTA often asks for a name we do not
// have (or sends none), and the default certificate is the right answer.
int on_server_name(SSL* ssl, int* alert, void* arg) {
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (name == nullptr) return SSL_TLSEXT_ERR_OK;
  SSL_CTX* chosen = context_for_name(*static_cast<ContextSet*>(arg), name);
  if (chosen != nullptr && SSL_set_SSL_CTX(ssl, chosen) == nullptr) {
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  return SSL_TLSEXT_ERR_OK;
}

void configure(ssl::context& ctx, const ServerTlsSettings& settings, const CertificateFiles& files) {
  apply_server_policy(ctx.native_handle(), settings);
  load_certificate(ctx.native_handle(), files);
}

}  // namespace

std::shared_ptr<ssl::context> build_contexts(const ServerTlsSettings& settings) {
  if (settings.certificates.empty()) throw TlsError("no TLS certificate configured");
  auto set = std::make_shared<ContextSet>();
  configure(set->primary, settings, settings.certificates.front());
  set->by_name.reserve(settings.certificates.size() - 1);
  for (std::size_t i = 1; i < settings.certificates.size(); ++i) {
    configure(set->by_name.emplace_back(ssl::context::tls_server), settings, settings.certificates[i]);
  }
  SSL_CTX* primary = set->primary.native_handle();
  SSL_CTX_set_tlsext_servername_callback(primary, on_server_name);
  SSL_CTX_set_tlsext_servername_arg(primary, set.get());
  // Shares ownership of the whole set while pointing at the default.
  return std::shared_ptr<ssl::context>(set, &set->primary);
}

}  // namespace petrel::tls::detail
