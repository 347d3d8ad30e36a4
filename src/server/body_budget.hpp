// The memory budget for message content held by receiving sessions
// ([limits] body_memory_budget), shared by every I/O thread.
#pragma once

#include <atomic>
#include <cstdint>

namespace petrel::server {

class BodyBudget {
 public:
  explicit BodyBudget(std::uint64_t limit) : limit_(limit) {}

  // Moves a session's share from `held` to `want` octets. Shrinking always
  // succeeds; growing fails (and `held` stays) when the total would pass
  // the limit.
  bool resize(std::uint64_t& held, std::uint64_t want) {
    if (want <= held) {
      used_.fetch_sub(held - want, std::memory_order_relaxed);
      held = want;
      return true;
    }
    const std::uint64_t more = want - held;
    std::uint64_t used = used_.load(std::memory_order_relaxed);
    do {
      if (used + more > limit_) return false;
    } while (!used_.compare_exchange_weak(used, used + more, std::memory_order_relaxed));
    held = want;
    return true;
  }

  std::uint64_t used() const { return used_.load(std::memory_order_relaxed); }
  std::uint64_t limit() const { return limit_; }

 private:
  const std::uint64_t limit_;
  std::atomic<std::uint64_t> used_{0};
};

}  // namespace petrel::server
