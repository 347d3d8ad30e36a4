#include "webhook/signature.hpp"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <charconv>

namespace petrel::webhook {

std::string signature(std::string_view secret, std::int64_t unix_time, std::string_view body) {
  const std::string t = std::to_string(unix_time);
  std::string signed_text;
  signed_text.reserve(t.size() + 1 + body.size());
  signed_text += t;
  signed_text += '.';
  signed_text += body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(signed_text.data()), signed_text.size(), mac, &length);
  std::string out = "t=" + t + ",v1=";
  for (unsigned int i = 0; i < length; ++i) out += fmt::format("{:02x}", mac[i]);
  return out;
}

bool verify(std::string_view header, std::string_view secret, std::string_view body, std::int64_t now,
            std::int64_t tolerance) {
  if (!header.starts_with("t=")) return false;
  const auto comma = header.find(",v1=");
  if (comma == std::string_view::npos) return false;
  std::int64_t t = 0;
  const auto digits = header.substr(2, comma - 2);
  const auto parsed = std::from_chars(digits.data(), digits.data() + digits.size(), t);
  if (parsed.ec != std::errc() || parsed.ptr != digits.data() + digits.size()) return false;
  if (t < now - tolerance || t > now + tolerance) return false;
  const std::string expected = signature(secret, t, body);
  // Compared in constant time.
  return expected.size() == header.size() && CRYPTO_memcmp(expected.data(), header.data(), header.size()) == 0;
}

}  // namespace petrel::webhook
