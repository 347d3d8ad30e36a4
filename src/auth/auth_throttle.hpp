// Brute-force defence for AUTH, per client address: a delay before each
// failure reply that doubles with consecutive failures, and a lockout after
// too many failures in a window. Shared by every session; thread-safe.
// The clock is passed in so that tests need not sleep.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace petrel::auth {

struct ThrottleSettings {
  // Delay before the reply to the first failure; doubles for each
  // consecutive failure after it, up to max_failure_delay.
  std::chrono::milliseconds failure_delay{std::chrono::seconds(1)};
  std::chrono::milliseconds max_failure_delay{std::chrono::seconds(8)};
  // lockout_failures failures within lockout_window lock the address out
  // for lockout_duration.
  unsigned lockout_failures = 10;
  std::chrono::seconds lockout_window{std::chrono::minutes(10)};
  std::chrono::seconds lockout_duration{std::chrono::minutes(10)};
  // Addresses remembered at most; the least recently seen is forgotten
  // first, so a flood of addresses cannot exhaust memory.
  std::size_t max_tracked_addresses = 65536;
};

class AuthThrottle {
 public:
  using Clock = std::chrono::steady_clock;

  explicit AuthThrottle(ThrottleSettings settings = {});

  // When the address is locked out at `now`: the end of the lockout.
  std::optional<Clock::time_point> locked_until(std::string_view client_address, Clock::time_point now);

  // Records an exchange's outcome; returns the delay to apply before the
  // reply (zero on success). A success resets the consecutive-failure count
  // but neither an active lockout nor the failures counted towards one.
  std::chrono::milliseconds record(std::string_view client_address, bool success, Clock::time_point now);

  std::size_t tracked_addresses() const;

 private:
  struct Entry {
    std::string key;
    unsigned consecutive_failures = 0;
    std::deque<Clock::time_point> recent_failures;  // within lockout_window, oldest first
    std::optional<Clock::time_point> locked_until;
  };
  using Lru = std::list<Entry>;  // most recently seen first

  Entry& touch(std::string_view client_address);
  void forget_old_failures(Entry& entry, Clock::time_point now) const;
  std::chrono::milliseconds failure_delay(unsigned consecutive) const;

  const ThrottleSettings settings_;
  mutable std::mutex mutex_;
  Lru entries_;
  std::unordered_map<std::string_view, Lru::iterator> index_;  // keys point into entries_
};

// The key an address is throttled under: IPv6 addresses by their /64, since
// one host usually has a whole /64 to pick source addresses from.
std::string throttle_key(std::string_view client_address);

}  // namespace petrel::auth
