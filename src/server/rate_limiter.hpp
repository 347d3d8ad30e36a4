// Counts events per key (a client IP, a user) in a sliding window and says
// when a key has had its share: connections per minute, messages per hour.
// Thread-safe; memory is bounded by max_keys.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace petrel::server {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  // limit 0: unlimited (admit() is always true and nothing is kept).
  RateLimiter(std::size_t limit, Clock::duration window, std::size_t max_keys = 65536);

  // Counts one event for key at now and says whether it is within the limit.
  // An event over the limit is not counted, so a client that waits gets in.
  bool admit(std::string_view key, Clock::time_point now = Clock::now());

  std::size_t tracked_keys() const;

 private:
  void forget_idle(Clock::time_point now);

  const std::size_t limit_;
  const Clock::duration window_;
  const std::size_t max_keys_;
  mutable std::mutex mutex_;
  // Each key's admitted events in the window, oldest first: at most limit_.
  std::unordered_map<std::string, std::deque<Clock::time_point>> events_;
};

}  // namespace petrel::server
