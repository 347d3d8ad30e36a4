#include "server/connection_limiter.hpp"

namespace petrel::server {

ConnectionLimiter::Verdict ConnectionLimiter::acquire(const std::string& ip) {
  std::lock_guard lock(mutex_);
  if (total_ >= max_total_) return Verdict::too_many_total;
  auto& count = per_ip_[ip];
  if (count >= max_per_ip_) {
    if (count == 0) per_ip_.erase(ip);
    return Verdict::too_many_from_ip;
  }
  ++count;
  ++total_;
  return Verdict::admitted;
}

bool ConnectionLimiter::reserve() {
  std::lock_guard lock(mutex_);
  if (total_ >= max_total_) return false;
  ++total_;
  return true;
}

ConnectionLimiter::Verdict ConnectionLimiter::claim(const std::string& ip) {
  std::lock_guard lock(mutex_);
  auto& count = per_ip_[ip];
  if (count >= max_per_ip_) {
    if (count == 0) per_ip_.erase(ip);
    --total_;
    return Verdict::too_many_from_ip;
  }
  ++count;
  return Verdict::admitted;
}

void ConnectionLimiter::cancel() {
  std::lock_guard lock(mutex_);
  --total_;
}

void ConnectionLimiter::release(const std::string& ip) {
  std::lock_guard lock(mutex_);
  auto it = per_ip_.find(ip);
  if (it == per_ip_.end()) return;
  --total_;
  if (--it->second == 0) per_ip_.erase(it);
}

std::size_t ConnectionLimiter::active() const {
  std::lock_guard lock(mutex_);
  return total_;
}

}  // namespace petrel::server
