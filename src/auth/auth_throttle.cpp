#include "auth/auth_throttle.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace petrel::auth {

std::string throttle_key(std::string_view client_address) {
  std::array<unsigned char, 16> addr{};
  std::string text(client_address);
  if (inet_pton(AF_INET6, text.c_str(), addr.data()) != 1) return text;
  // ::ffff:a.b.c.d is an IPv4 client on a dual-stack socket: one host.
  constexpr std::array<unsigned char, 12> kMappedPrefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::equal(kMappedPrefix.begin(), kMappedPrefix.end(), addr.begin())) {
    std::array<char, INET_ADDRSTRLEN> v4{};
    inet_ntop(AF_INET, addr.data() + 12, v4.data(), v4.size());
    return v4.data();
  }
  std::fill(addr.begin() + 8, addr.end(), 0);
  std::array<char, INET6_ADDRSTRLEN> v6{};
  inet_ntop(AF_INET6, addr.data(), v6.data(), v6.size());
  return std::string(v6.data()) + "/64";
}

AuthThrottle::AuthThrottle(ThrottleSettings settings) : settings_(settings) {}

std::optional<AuthThrottle::Clock::time_point> AuthThrottle::locked_until(std::string_view client_address,
                                                                          Clock::time_point now) {
  std::lock_guard lock(mutex_);
  const auto it = index_.find(throttle_key(client_address));
  if (it == index_.end()) return std::nullopt;
  Entry& entry = *it->second;
  if (entry.locked_until && now >= *entry.locked_until) entry.locked_until.reset();
  return entry.locked_until;
}

std::chrono::milliseconds AuthThrottle::record(std::string_view client_address, bool success, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  Entry& entry = touch(client_address);
  forget_old_failures(entry, now);
  if (success) {
    entry.consecutive_failures = 0;
    // Nothing left to remember: free the slot for another address.
    if (entry.recent_failures.empty() && !entry.locked_until) {
      index_.erase(entry.key);
      entries_.pop_front();  // touch() put it first
    }
    return std::chrono::milliseconds::zero();
  }
  ++entry.consecutive_failures;
  entry.recent_failures.push_back(now);
  if (entry.recent_failures.size() >= settings_.lockout_failures) {
    entry.locked_until = now + settings_.lockout_duration;
    // Counting starts afresh after a lockout, so the next one needs as
    // many new failures as the first did.
    entry.recent_failures.clear();
  }
  return failure_delay(entry.consecutive_failures);
}

std::size_t AuthThrottle::tracked_addresses() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

AuthThrottle::Entry& AuthThrottle::touch(std::string_view client_address) {
  const std::string key = throttle_key(client_address);
  if (const auto it = index_.find(key); it != index_.end()) {
    entries_.splice(entries_.begin(), entries_, it->second);
    return entries_.front();
  }
  if (entries_.size() >= std::max<std::size_t>(settings_.max_tracked_addresses, 1)) {
    index_.erase(entries_.back().key);
    entries_.pop_back();
  }
  entries_.push_front(Entry{key});
  // The map's key views the string inside the list node, which never moves.
  index_.emplace(entries_.front().key, entries_.begin());
  return entries_.front();
}

void AuthThrottle::forget_old_failures(Entry& entry, Clock::time_point now) const {
  auto& failures = entry.recent_failures;
  while (!failures.empty() && now - failures.front() >= settings_.lockout_window) failures.pop_front();
  if (entry.locked_until && now >= *entry.locked_until) entry.locked_until.reset();
  // A quiet window (or a served lockout) ends a run of failures: a user who
  // mistyped yesterday starts again at the shortest delay.
  if (failures.empty() && !entry.locked_until) entry.consecutive_failures = 0;
}

std::chrono::milliseconds AuthThrottle::failure_delay(unsigned consecutive) const {
  auto delay = settings_.failure_delay;
  for (unsigned i = 1; i < consecutive && delay < settings_.max_failure_delay; ++i) delay *= 2;
  return std::min(delay, settings_.max_failure_delay);
}

}  // namespace petrel::auth
