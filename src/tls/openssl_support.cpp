#include "tls/openssl_support.hpp"

#include <openssl/err.h>

namespace petrel::tls::detail {

std::string take_openssl_error() {
  const unsigned long oldest = ERR_get_error();
  ERR_clear_error();
  if (oldest == 0) return "unknown OpenSSL error";
  char text[256];
  ERR_error_string_n(oldest, text, sizeof text);
  return text;
}

}  // namespace petrel::tls::detail
