// Sessions in all and per client IP (max_sessions, max_sessions_per_ip).
// Shared by every I/O thread.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace petrel::server {

class ConnectionLimiter {
 public:
  enum class Verdict { admitted, too_many_total, too_many_from_ip };

  ConnectionLimiter(std::size_t max_total, std::size_t max_per_ip) : max_total_(max_total), max_per_ip_(max_per_ip) {}

  // On admitted the caller must call release(ip) when the session ends.
  Verdict acquire(const std::string& ip);
  void release(const std::string& ip);
  std::size_t active() const;

 private:
  mutable std::mutex mutex_;
  std::size_t max_total_;
  std::size_t max_per_ip_;
  std::size_t total_ = 0;
  std::unordered_map<std::string, std::size_t> per_ip_;
};

}  // namespace petrel::server
