#include "dashboard/sessions.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

namespace petrel::dashboard {
namespace {

std::string hex(const unsigned char* data, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out += kDigits[data[i] >> 4];
    out += kDigits[data[i] & 0xf];
  }
  return out;
}

std::string digest(std::string_view id) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(id.data()), id.size(), d);
  return hex(d, sizeof d);
}

}  // namespace

std::string random_hex(std::size_t octets) {
  std::vector<unsigned char> bytes(octets);
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    throw std::runtime_error("the random number generator failed (RAND_bytes)");
  }
  return hex(bytes.data(), bytes.size());
}

bool same(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Session Sessions::open(const std::string& caller, std::int64_t now_ms) {
  Session s{random_hex(32), random_hex(32), caller, now_ms + lifetime_.count()};
  std::lock_guard lock(mutex_);
  drop_expired(now_ms);
  if (max_ == 0) return s;  // nothing is kept: find() never succeeds
  if (by_digest_.size() >= max_) {
    const auto first = std::min_element(by_digest_.begin(), by_digest_.end(), [](const auto& a, const auto& b) {
      return a.second.expires_ms < b.second.expires_ms;
    });
    by_digest_.erase(first);
  }
  by_digest_.emplace(digest(s.id), s);
  return s;
}

std::optional<Session> Sessions::find(std::string_view id, std::int64_t now_ms) {
  if (id.empty()) return std::nullopt;
  const std::string key = digest(id);
  std::lock_guard lock(mutex_);
  const auto it = by_digest_.find(key);
  if (it == by_digest_.end() || !same(it->second.id, id)) return std::nullopt;
  if (it->second.expires_ms <= now_ms) {
    by_digest_.erase(it);
    return std::nullopt;
  }
  return it->second;
}

void Sessions::close(std::string_view id) {
  const std::string key = digest(id);
  std::lock_guard lock(mutex_);
  const auto it = by_digest_.find(key);
  if (it != by_digest_.end() && same(it->second.id, id)) by_digest_.erase(it);
}

std::size_t Sessions::size() const {
  std::lock_guard lock(mutex_);
  return by_digest_.size();
}

void Sessions::drop_expired(std::int64_t now_ms) {
  std::erase_if(by_digest_, [now_ms](const auto& entry) { return entry.second.expires_ms <= now_ms; });
}

}  // namespace petrel::dashboard
