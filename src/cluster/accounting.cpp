// Cells, shares and leases: the arithmetic of docs/cluster.md.
#include "cluster/accounting.hpp"

#include <algorithm>

namespace petrel::cluster {

using std::chrono::microseconds;
using std::chrono::nanoseconds;

constexpr std::int64_t kMinHorizonUs = 20'000;

GcraRequest gcra_request(shaping::Rate rate, std::size_t batch, std::size_t wanted) {
  GcraRequest r;
  const auto period_us = static_cast<std::uint64_t>(std::chrono::duration_cast<microseconds>(rate.period).count());
  const std::uint64_t count = std::max<std::uint64_t>(1, rate.count);
  r.interval_us = static_cast<std::int64_t>(std::max<std::uint64_t>(1, period_us / count + (period_us % count != 0)));
  const std::uint64_t cheap = static_cast<std::uint64_t>(50'000 / r.interval_us);  // the cells of 50 ms
  r.wanted = std::clamp<std::uint64_t>(std::max<std::uint64_t>(wanted, cheap), 1, std::max<std::size_t>(1, batch));
  // The cells a batch spans, but never more than a second ahead (the
  // burst a cluster limit allows is at most a second's worth) and never
  // less than one interval (else a slow rate would grant nothing).
  // At a high rate a batch spans less than a round trip: nodes asking at
  // about the same time would find the next cells past a horizon that
  // short and get none. Reserving up to 20 ms ahead lets them queue
  // behind each other instead; the cells stay an interval apart, so the
  // rate holds whatever the horizon.
  const std::int64_t span = r.interval_us * static_cast<std::int64_t>(std::max<std::size_t>(1, batch) - 1);
  r.horizon_us = std::clamp<std::int64_t>(std::max<std::int64_t>(span, kMinHorizonUs), 0, 1'000'000);
  return r;
}

void TokenPool::granted(const Grant& grant, Clock::time_point received) {
  in_flight_ = false;
  const auto interval = microseconds(std::max<std::int64_t>(1, grant.interval_us));
  grace_ = std::clamp<nanoseconds>(interval, std::chrono::milliseconds(20), std::chrono::milliseconds(100));
  if (grant.granted <= 0) {
    // None within the horizon: ask again when the next would be due.
    ask_after_ = received + microseconds(std::max<std::int64_t>(grant.first_offset_us, 1000));
    return;
  }
  for (std::int64_t i = 0; i < grant.granted; ++i) {
    const std::int64_t offset = std::max<std::int64_t>(0, grant.first_offset_us + i * interval.count());
    const Clock::time_point due = received + microseconds(offset);
    // Cells of different answers interleave only if Redis' clock jumped back.
    cells_.insert(std::upper_bound(cells_.begin(), cells_.end(), due), due);
  }
}

void TokenPool::failed(Clock::time_point now, nanoseconds retry) {
  in_flight_ = false;
  ask_after_ = now + retry;
}

void TokenPool::expire(Clock::time_point now) {
  while (!cells_.empty() && cells_.front() + grace_ < now) cells_.pop_front();
}

nanoseconds TokenPool::wait(Clock::time_point now) {
  expire(now);
  if (cells_.empty()) return kNoCell;
  return cells_.front() <= now ? nanoseconds(0) : cells_.front() - now;
}

nanoseconds TokenPool::until_ask(Clock::time_point now) const {
  if (in_flight_ || now >= ask_after_) return nanoseconds(0);
  return ask_after_ - now;
}

bool TokenPool::take(Clock::time_point now) {
  last_used_ = now;
  if (wait(now).count() != 0) return false;
  cells_.pop_front();
  return true;
}

std::size_t TokenPool::held(Clock::time_point now) {
  expire(now);
  return cells_.size();
}

bool TokenPool::should_ask(Clock::time_point now, nanoseconds lead, std::size_t wanted) {
  if (in_flight_ || now < ask_after_) return false;
  expire(now);
  if (cells_.empty()) return true;
  return cells_.size() * 2 < wanted && cells_.back() < now + lead;
}

shaping::Rate fallback_share(shaping::Rate rate, std::size_t live_nodes) {
  if (rate.unlimited()) return rate;
  // count per (period × nodes): exact, with no rounding of the count.
  rate.period *= static_cast<std::int64_t>(std::max<std::size_t>(1, live_nodes));
  return rate;
}

std::size_t fallback_share(std::size_t connection_limit, std::size_t live_nodes) {
  return std::max<std::size_t>(1, connection_limit / std::max<std::size_t>(1, live_nodes));
}

std::string LeaseBook::ask() {
  pending_ = true;
  return node_ + ":" + std::to_string(++next_);
}

void LeaseBook::acquired(const std::string& id) {
  pending_ = false;
  held_.push_back(id);
}

void LeaseBook::refused(Clock::time_point now, nanoseconds retry) {
  pending_ = false;
  ask_after_ = now + retry;
}

std::string LeaseBook::release() {
  if (held_.empty()) return "";
  std::string id = std::move(held_.back());
  held_.pop_back();
  return id;
}

std::vector<std::string> LeaseBook::release_spare(std::size_t open) {
  std::vector<std::string> spare;
  while (held_.size() > open) spare.push_back(release());
  return spare;
}

}  // namespace petrel::cluster
