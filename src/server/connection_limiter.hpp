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
  // A PROXY protocol listener learns its client's address only from the
  // header: the connection takes one of max_sessions as it is accepted
  // (reserve: false when there is none), and counts against its client's
  // max_sessions_per_ip once the header has named it (claim). A claim
  // refused gives the place back; an admitted one ends with release(ip).
  // A reserved place whose header never comes is given back by cancel().
  bool reserve();
  Verdict claim(const std::string& ip);
  void cancel();
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
