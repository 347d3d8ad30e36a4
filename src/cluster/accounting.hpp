// The node's side of the limits a cluster shares, without I/O: the cells
// (GCRA) taken from Redis a batch at a time and spent here, the share of
// a limit a node keeps to itself while Redis is away, and the connection
// leases it holds. Time is passed in; cluster.cpp does the talking.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "shaping/shaping.hpp"

namespace petrel::cluster {

using Clock = std::chrono::steady_clock;

// What the GCRA script is asked (all in microseconds of Redis' clock): the
// rate's interval (rounded up: never faster than the rate), a tolerance of
// 0 (a burst of one cell, as the local throttle has), how many cells are
// wanted, and how far ahead they may be granted (the horizon: the batch's
// worth of the rate, at most a second). At least the cells of 50 ms are
// asked for, even with fewer jobs waiting: at a high rate those are cheap
// to leave unspent, and asking for one at a time would cost a round trip
// per message.
struct GcraRequest {
  std::int64_t interval_us = 0;
  std::int64_t tolerance_us = 0;
  std::uint64_t wanted = 0;
  std::int64_t horizon_us = 0;
  bool operator==(const GcraRequest&) const = default;
};
GcraRequest gcra_request(shaping::Rate rate, std::size_t batch, std::size_t wanted);

// The script's answer: `granted` cells, the first due `first_offset_us`
// from Redis' now (≤ 0: due already), then one per `interval_us`. With
// none granted, `first_offset_us` says when the next would be due.
struct Grant {
  std::int64_t granted = 0;
  std::int64_t first_offset_us = 0;
  std::int64_t interval_us = 0;
};

// The cells of one shared rate that this node holds, each with the time
// it is due. A cell not spent within a grace after it was due (one
// interval, within 20..100 ms) is dropped: spent late, it would add to
// the cells other nodes spend on time.
class TokenPool {
 public:
  static constexpr auto kNoCell = std::chrono::nanoseconds::max();

  // The answer came back at `received` (the cells count from then: a late
  // answer only makes them later, never earlier).
  void granted(const Grant& grant, Clock::time_point received);
  void failed(Clock::time_point now, std::chrono::nanoseconds retry);  // no answer: ask again after `retry`
  // 0: a cell may be spent now; else how long until the first held one is
  // due; kNoCell when none is held.
  std::chrono::nanoseconds wait(Clock::time_point now);
  bool take(Clock::time_point now);  // spends a due cell, if one is
  std::size_t held(Clock::time_point now);
  // Whether to ask Redis now: nothing asked yet, not told to wait, fewer
  // than half of `wanted` held, and the cells held run out within `lead`
  // (half the horizon: asking sooner would only take cells from the
  // other nodes' next answers).
  bool should_ask(Clock::time_point now, std::chrono::nanoseconds lead, std::size_t wanted);
  // How long Redis said to wait before asking again (it granted none
  // within the horizon); 0 when a request may go now or one is in flight.
  std::chrono::nanoseconds until_ask(Clock::time_point now) const;
  void asked() { in_flight_ = true; }
  bool in_flight() const { return in_flight_; }
  void clear() { cells_.clear(); }
  Clock::time_point last_used() const { return last_used_; }
  void touch(Clock::time_point now) { last_used_ = now; }

 private:
  void expire(Clock::time_point now);

  std::chrono::nanoseconds grace_{std::chrono::milliseconds(100)};
  std::deque<Clock::time_point> cells_;  // due times, in order
  bool in_flight_ = false;
  Clock::time_point ask_after_{};
  Clock::time_point last_used_{};
};

// While Redis is away each node keeps to itself the limit divided by the
// nodes last seen alive (at least one): with N nodes, N shares make the
// whole limit.
shaping::Rate fallback_share(shaping::Rate rate, std::size_t live_nodes);
std::size_t fallback_share(std::size_t connection_limit, std::size_t live_nodes);

// The connection leases this node holds for one shared connection_limit:
// each open connection holds one; one more may open when a lease is held
// and not in use. Lease ids are "NODE:N", unique while the node runs.
class LeaseBook {
 public:
  explicit LeaseBook(std::string node) : node_(std::move(node)) {}
  bool spare(std::size_t open) const { return held_.size() > open; }
  // A new id to ask Redis for (the request is then pending).
  std::string ask();
  bool pending() const { return pending_; }
  void acquired(const std::string& id);  // Redis granted it
  void refused(Clock::time_point now, std::chrono::nanoseconds retry);  // full, or no answer
  bool may_ask(Clock::time_point now) const { return !pending_ && now >= ask_after_; }
  // A connection ended: the lease it held, to give back ("" when none held).
  std::string release();
  // Leases held beyond `open` connections, given back (their ids).
  std::vector<std::string> release_spare(std::size_t open);
  const std::vector<std::string>& held() const { return held_; }

 private:
  std::string node_;
  std::uint64_t next_ = 0;
  std::vector<std::string> held_;
  bool pending_ = false;
  Clock::time_point ask_after_{};
};

}  // namespace petrel::cluster
