// The dashboard's login sessions: kept in memory (a restart logs everyone
// out), each with an expiry and a CSRF token of its own, at most
// max_sessions at once. IDs and CSRF tokens are 32 random octets from
// OpenSSL's RAND_bytes, as 64 hex digits. Sessions are found by the
// SHA-256 of their ID and the ID is then compared in constant time, so
// neither the lookup nor the comparison tells an attacker how much of a
// guess was right. No clock of its own: callers say what time it is.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace petrel::dashboard {

struct Session {
  std::string id;      // the cookie's value
  std::string csrf;    // sent back in X-CSRF-Token on every change
  std::string caller;  // the API token's name, for logs and the page
  std::int64_t expires_ms = 0;
};

class Sessions {
 public:
  Sessions(std::chrono::milliseconds lifetime, std::size_t max_sessions) : lifetime_(lifetime), max_(max_sessions) {}

  // A new session; when max_sessions are open, the one that expires first
  // is dropped to make room. Throws std::runtime_error if the random
  // generator fails (then nothing is safe to hand out).
  Session open(const std::string& caller, std::int64_t now_ms);
  // The live session with this ID, or nullopt (unknown or expired).
  std::optional<Session> find(std::string_view id, std::int64_t now_ms);
  void close(std::string_view id);
  std::size_t size() const;

 private:
  void drop_expired(std::int64_t now_ms);  // under mutex_
  std::chrono::milliseconds lifetime_;
  std::size_t max_;
  mutable std::mutex mutex_;
  std::map<std::string, Session> by_digest_;  // key: SHA-256 of the ID, hex
};

// 2 * octets hex digits from RAND_bytes; throws std::runtime_error on failure.
std::string random_hex(std::size_t octets);
// Constant-time equality of two strings (their lengths are not secret).
bool same(std::string_view a, std::string_view b);

}  // namespace petrel::dashboard
