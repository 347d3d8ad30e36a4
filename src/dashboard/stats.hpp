// What the dashboard counts, fed by the events bus: mail per minute over
// the last hour, the queue's depth, per-campaign totals and the last
// bounces and suppressions. Pure logic, no I/O and no clock of its own:
// every call says what time it is, so tests drive it minute by minute.
// Memory is bounded whatever the traffic (60 minutes, max_campaigns
// campaigns, `recent` events of each kind). Thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <limits>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "events/event.hpp"

namespace petrel::dashboard {

// One minute of traffic: recipients unless said otherwise.
struct Minute {
  std::int64_t start_ms = 0;  // unix milliseconds, a multiple of 60000
  std::uint64_t received = 0;   // messages accepted
  std::uint64_t delivered = 0;
  std::uint64_t deferred = 0;   // TransientFailure: tried again later
  std::uint64_t bounced = 0;    // Bounce and Expiration: failed for good
  std::optional<std::size_t> depth;  // messages queued at the minute's last sample
};

// The last 60 minutes, one slot each, reused as the clock moves on.
class MinuteSeries {
 public:
  static constexpr std::size_t kMinutes = 60;
  void count(const events::Event& event);  // at the event's timestamp
  void sample_depth(std::size_t depth, std::int64_t now_ms);
  // The 60 minutes ending with the one holding now_ms, oldest first;
  // minutes nothing happened in are zeros (depth unknown).
  std::vector<Minute> last_hour(std::int64_t now_ms) const;

 private:
  // The slot of that minute, cleared if it held an older one; null for a
  // minute older than the hour kept.
  Minute* slot(std::int64_t at_ms);
  std::vector<Minute> slots_ = std::vector<Minute>(kMinutes);
  std::int64_t newest_minute_ = std::numeric_limits<std::int64_t>::min() / 2;
};

// Whether mail flows, as the header says it: something was delivered in
// the last 5 minutes (flowing); mail waits and nothing was (stalled);
// nothing waits and nothing was (idle).
enum class Flow { idle, flowing, stalled };
Flow flow(const std::vector<Minute>& last_hour, std::size_t queued);
std::string_view flow_name(Flow flow);

struct CampaignCounts {
  std::string name;
  std::uint64_t sent = 0;  // messages accepted (Reception)
  std::uint64_t delivered = 0, deferred = 0, bounced = 0, unsubscribed = 0, complained = 0;
  std::map<std::string, std::uint64_t> bounced_by_class;  // "" is counted as "unclassified"
  std::int64_t last_ms = 0;  // the latest event's time
};

// Totals per campaign; past max_campaigns, the least recently active one
// is dropped.
class Campaigns {
 public:
  explicit Campaigns(std::size_t max_campaigns) : max_(max_campaigns) {}
  void count(const events::Event& event);  // events without a campaign are ignored
  std::vector<CampaignCounts> most_recent_first() const;
  std::size_t size() const { return index_.size(); }

 private:
  std::size_t max_;
  std::list<CampaignCounts> recency_;  // most recent first
  std::unordered_map<std::string, std::list<CampaignCounts>::iterator> index_;
};

struct StatsOptions {
  std::size_t max_campaigns = 1000;
  std::size_t recent = 500;   // bounces and suppressions kept, each
  std::size_t history = 5000;  // events kept for messages' histories
};

// Everything above under one mutex, as the bus's subscriber sees it.
class Stats {
 public:
  explicit Stats(StatsOptions options = {});
  void record(const events::Event& event);  // the bus's subscriber: quick
  void sample_depth(std::size_t depth, std::int64_t now_ms);

  std::vector<Minute> last_hour(std::int64_t now_ms) const;
  std::vector<CampaignCounts> campaigns() const;
  // Newest first.
  std::vector<events::Event> recent_bounces() const;        // Bounce and Expiration
  std::vector<events::Event> recent_suppressions() const;   // Suppression, Unsubscribe, Complaint
  // The events of one queue ID still among the last `history`, oldest first.
  std::vector<events::Event> history(const std::string& queue_id) const;

 private:
  static void push(std::deque<events::Event>& ring, const events::Event& event, std::size_t bound);
  StatsOptions options_;
  mutable std::mutex mutex_;
  MinuteSeries series_;
  Campaigns campaigns_;
  std::deque<events::Event> bounces_, suppressions_, history_;
};

}  // namespace petrel::dashboard
