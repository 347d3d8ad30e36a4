// The two halves of configuring one certificate's SSL_CTX. Internal to
// src/tls/.
#pragma once

#include <openssl/ssl.h>

#include "tls/server_tls.hpp"

namespace petrel::tls::detail {

// Protocol versions, suites, groups, options and session resumption: the
// same for every certificate. Throws TlsError naming a bad setting.
void apply_server_policy(SSL_CTX* ctx, const ServerTlsSettings& settings);

// The chain from files.cert_file and the key from files.key_file, checked
// against each other. Throws TlsError naming the file and OpenSSL's reason.
void load_certificate(SSL_CTX* ctx, const CertificateFiles& files);

}  // namespace petrel::tls::detail
