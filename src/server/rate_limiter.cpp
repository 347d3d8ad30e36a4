#include "server/rate_limiter.hpp"

namespace petrel::server {

RateLimiter::RateLimiter(std::size_t limit, Clock::duration window, std::size_t max_keys)
    : limit_(limit), window_(window), max_keys_(max_keys) {}

bool RateLimiter::admit(std::string_view key, Clock::time_point now) {
  if (limit_ == 0) return true;
  std::lock_guard lock(mutex_);
  auto it = events_.find(std::string(key));
  if (it == events_.end()) {
    if (events_.size() >= max_keys_) forget_idle(now);
    // Still full of keys that are all busy: admitting beats remembering; a
    // flood from that many addresses is for the session limits to stop.
    if (events_.size() >= max_keys_) return true;
    it = events_.emplace(std::string(key), std::deque<Clock::time_point>{}).first;
  }
  auto& times = it->second;
  while (!times.empty() && now - times.front() >= window_) times.pop_front();
  if (times.size() >= limit_) return false;
  times.push_back(now);
  return true;
}

void RateLimiter::forget_idle(Clock::time_point now) {
  for (auto it = events_.begin(); it != events_.end();) {
    auto& times = it->second;
    while (!times.empty() && now - times.front() >= window_) times.pop_front();
    it = times.empty() ? events_.erase(it) : std::next(it);
  }
}

std::size_t RateLimiter::tracked_keys() const {
  std::lock_guard lock(mutex_);
  return events_.size();
}

}  // namespace petrel::server
