#include "tls_test_support.hpp"

#include <openssl/err.h>
#include <openssl/x509v3.h>

namespace petrel::tls::testing {
namespace {

void require(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test setup: ") + what);
}

}  // namespace

InMemoryConnection::InMemoryConnection(boost::asio::ssl::context& server_context, const ClientOptions& options)
    : client_context_(SSL_CTX_new(TLS_client_method())) {
  ERR_clear_error();
  SSL_CTX* ctx = client_context_.get();
  require(ctx != nullptr, "SSL_CTX_new");
  if (options.legacy) SSL_CTX_set_security_level(ctx, 0);
  if (options.min_version != 0) require(SSL_CTX_set_min_proto_version(ctx, options.min_version) == 1, "min version");
  if (options.max_version != 0) require(SSL_CTX_set_max_proto_version(ctx, options.max_version) == 1, "max version");
  if (!options.tls12_ciphers.empty())
    require(SSL_CTX_set_cipher_list(ctx, options.tls12_ciphers.c_str()) == 1, "cipher list");
  if (!options.groups.empty()) require(SSL_CTX_set1_groups_list(ctx, options.groups.c_str()) == 1, "groups");
  if (options.no_tickets) SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_client_cert_cb(ctx, on_certificate_request);

  client_.reset(SSL_new(ctx));
  server_.reset(SSL_new(server_context.native_handle()));
  require(client_ && server_, "SSL_new");
  SSL_set_app_data(client_.get(), this);
  if (!options.server_name.empty())
    require(SSL_set_tlsext_host_name(client_.get(), options.server_name.c_str()) == 1, "SNI");
  if (options.resume != nullptr) require(SSL_set_session(client_.get(), options.resume) == 1, "session");

  BIO* client_end = nullptr;
  BIO* server_end = nullptr;
  require(BIO_new_bio_pair(&client_end, 0, &server_end, 0) == 1, "BIO pair");
  SSL_set_bio(client_.get(), client_end, client_end);
  SSL_set_bio(server_.get(), server_end, server_end);
  SSL_set_connect_state(client_.get());
  SSL_set_accept_state(server_.get());
}

int InMemoryConnection::on_certificate_request(SSL* ssl, X509**, EVP_PKEY**) {
  static_cast<InMemoryConnection*>(SSL_get_app_data(ssl))->asked_for_certificate_ = true;
  return 0;  // no certificate
}

bool InMemoryConnection::step(SSL* ssl, bool& done, int* failure) {
  const int rc = SSL_do_handshake(ssl);
  if (rc == 1) {
    done = true;
    return true;
  }
  const int error = SSL_get_error(ssl, rc);
  if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) return true;
  const unsigned long code = ERR_peek_error();
  *failure = code == 0 ? -1 : ERR_GET_REASON(code);
  char text[256] = "no OpenSSL error";
  if (code != 0) ERR_error_string_n(code, text, sizeof text);
  failure_text_ = std::string(ssl == server() ? "server: " : "client: ") + text;
  ERR_clear_error();
  return false;
}

bool InMemoryConnection::handshake() {
  bool client_done = false;
  bool server_done = false;
  // A full TLS handshake is at most a few flights each way.
  for (int round = 0; round < 16 && !(client_done && server_done); ++round) {
    if (!client_done && !step(client(), client_done, &client_failure_)) return false;
    if (!server_done && !step(server(), server_done, &server_failure_)) return false;
  }
  return client_done && server_done;
}

void InMemoryConnection::close() {
  SSL_shutdown(client());
  SSL_shutdown(server());
  SSL_shutdown(client());
  ERR_clear_error();
}

SessionPtr InMemoryConnection::client_session() {
  char byte;
  SSL_read(client(), &byte, 1);  // nothing to read but the tickets: WANT_READ
  ERR_clear_error();
  return SessionPtr(SSL_get1_session(client()));
}

std::vector<std::string> InMemoryConnection::server_certificate_names() const {
  std::vector<std::string> names;
  X509* cert = SSL_get0_peer_certificate(client());
  if (cert == nullptr) return names;
  auto* general_names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; i < sk_GENERAL_NAME_num(general_names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(general_names, i);
    if (name->type != GEN_DNS) continue;
    const ASN1_STRING* text = name->d.dNSName;
    names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(text)), ASN1_STRING_length(text));
  }
  GENERAL_NAMES_free(general_names);
  return names;
}

}  // namespace petrel::tls::testing
