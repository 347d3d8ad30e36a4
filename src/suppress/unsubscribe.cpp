#include "suppress/unsubscribe.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <future>
#include <stdexcept>

#include "spool/queue_id.hpp"
#include "spool/spool.hpp"

namespace petrel::suppress {
namespace {

constexpr std::size_t kQueueIdLength = 16;
constexpr std::size_t kMacChars = 26;  // 130 bits of the 256
constexpr std::string_view kBase32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

std::string base32(const unsigned char* data, std::size_t n, std::size_t chars) {
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (std::size_t i = 0; i < n && out.size() < chars; ++i) {
    buffer = (buffer << 8) | data[i];
    bits += 8;
    while (bits >= 5 && out.size() < chars) {
      out += kBase32[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}

}  // namespace

std::string UnsubscribeTokens::mac(std::string_view queue_id, const Subscription& who) const {
  // Length-prefixed fields: no two different tuples give the same input.
  std::string input;
  for (const std::string_view field : {queue_id, std::string_view(who.recipient), std::string_view(who.campaign),
                                       std::string_view(who.tenant)}) {
    input += std::to_string(field.size()) + ":" + std::string(field);
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()), reinterpret_cast<const unsigned char*>(input.data()),
       input.size(), digest, &length);
  return base32(digest, length, kMacChars);
}

std::string UnsubscribeTokens::make(std::string_view queue_id, const Subscription& who) const {
  return std::string(queue_id) + mac(queue_id, who);
}

std::optional<std::string> UnsubscribeTokens::queue_id_of(std::string_view token) {
  if (token.size() != kQueueIdLength + kMacChars) return std::nullopt;
  const std::string id(token.substr(0, kQueueIdLength));
  if (!spool::is_valid_queue_id(id)) return std::nullopt;
  return id;
}

bool UnsubscribeTokens::verify(std::string_view token, const Subscription& who) const {
  const auto id = queue_id_of(token);
  if (!id) return false;
  const std::string expected = mac(*id, who);
  return CRYPTO_memcmp(expected.data(), token.data() + kQueueIdLength, kMacChars) == 0;
}

std::string subscription_key(std::string_view queue_id) { return "u/" + std::string(queue_id); }

std::string subscription_value(const Subscription& who) {
  // "a": when, for the sweep that deletes links past their lifetime.
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  return nlohmann::json{{"r", who.recipient}, {"c", who.campaign}, {"t", who.tenant}, {"a", now.count()}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::optional<Subscription> parse_subscription(std::string_view value) {
  const auto j = nlohmann::json::parse(value, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  return Subscription{j.value("r", ""), j.value("c", ""), j.value("t", "")};
}

std::string unsubscribe_secret(spool::Spool& spool) {
  constexpr std::string_view kKey = "k/unsubscribe";
  std::string secret;
  std::error_code ec;
  if (spool.read_record(kKey, secret, ec) && secret.size() >= 32) return secret;
  if (ec) throw std::runtime_error("cannot read the unsubscribe secret from the spool: " + ec.message());
  secret.resize(32);
  if (RAND_bytes(reinterpret_cast<unsigned char*>(secret.data()), 32) != 1) {
    throw std::runtime_error("no random numbers for the unsubscribe secret");
  }
  std::promise<std::error_code> stored;
  spool.store_group({}, {{std::string(kKey), secret}}, [&stored](std::error_code e) { stored.set_value(e); });
  if (const auto e = stored.get_future().get()) {
    throw std::runtime_error("cannot store the unsubscribe secret in the spool: " + e.message());
  }
  return secret;
}

}  // namespace petrel::suppress
