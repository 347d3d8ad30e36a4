#include "dashboard/stats.hpp"

#include <algorithm>
#include <limits>

namespace petrel::dashboard {
namespace {

constexpr std::int64_t kMinuteMs = 60'000;

std::int64_t minute_of(std::int64_t ms) { return ms >= 0 ? ms / kMinuteMs : (ms - kMinuteMs + 1) / kMinuteMs; }

std::size_t index_of(std::int64_t minute) {
  constexpr auto n = static_cast<std::int64_t>(MinuteSeries::kMinutes);
  return static_cast<std::size_t>(((minute % n) + n) % n);
}

bool is_permanent_failure(events::Type t) { return t == events::Type::Bounce || t == events::Type::Expiration; }

}  // namespace

Minute* MinuteSeries::slot(std::int64_t at_ms) {
  const std::int64_t minute = minute_of(at_ms);
  // An event from before the hour kept (a clock step back, a late
  // emitter) would take the slot of a newer minute: it is not counted.
  if (minute <= newest_minute_ - static_cast<std::int64_t>(kMinutes)) return nullptr;
  newest_minute_ = std::max(newest_minute_, minute);
  Minute& m = slots_[index_of(minute)];
  if (m.start_ms != minute * kMinuteMs) m = Minute{minute * kMinuteMs};
  return &m;
}

void MinuteSeries::count(const events::Event& event) {
  using events::Type;
  if (event.type != Type::Reception && event.type != Type::Delivery && event.type != Type::TransientFailure &&
      !is_permanent_failure(event.type)) {
    return;  // nothing that goes into a chart: do not clear a slot for it
  }
  Minute* m = slot(event.timestamp_ms);
  if (m == nullptr) return;
  switch (event.type) {
    case Type::Reception: ++m->received; break;
    case Type::Delivery: ++m->delivered; break;
    case Type::TransientFailure: ++m->deferred; break;
    default: ++m->bounced; break;
  }
}

void MinuteSeries::sample_depth(std::size_t depth, std::int64_t now_ms) {
  if (Minute* m = slot(now_ms)) m->depth = depth;
}

std::vector<Minute> MinuteSeries::last_hour(std::int64_t now_ms) const {
  std::vector<Minute> out;
  out.reserve(kMinutes);
  const std::int64_t last = minute_of(now_ms);
  for (std::int64_t minute = last - static_cast<std::int64_t>(kMinutes) + 1; minute <= last; ++minute) {
    const Minute& m = slots_[index_of(minute)];
    out.push_back(m.start_ms == minute * kMinuteMs ? m : Minute{minute * kMinuteMs});
  }
  return out;
}

Flow flow(const std::vector<Minute>& last_hour, std::size_t queued) {
  constexpr std::size_t kRecent = 5;
  std::uint64_t delivered = 0;
  for (std::size_t i = last_hour.size() > kRecent ? last_hour.size() - kRecent : 0; i < last_hour.size(); ++i) {
    delivered += last_hour[i].delivered;
  }
  if (delivered > 0) return Flow::flowing;
  return queued > 0 ? Flow::stalled : Flow::idle;
}

std::string_view flow_name(Flow flow) {
  switch (flow) {
    case Flow::flowing: return "flowing";
    case Flow::stalled: return "stalled";
    case Flow::idle: break;
  }
  return "idle";
}

void Campaigns::count(const events::Event& event) {
  if (event.campaign.empty() || max_ == 0) return;
  auto it = index_.find(event.campaign);
  if (it == index_.end()) {
    if (index_.size() >= max_) {
      index_.erase(recency_.back().name);
      recency_.pop_back();
    }
    recency_.push_front(CampaignCounts{event.campaign});
    it = index_.emplace(event.campaign, recency_.begin()).first;
  } else {
    recency_.splice(recency_.begin(), recency_, it->second);
  }
  CampaignCounts& c = *it->second;
  c.last_ms = std::max(c.last_ms, event.timestamp_ms);
  using events::Type;
  switch (event.type) {
    case Type::Reception: ++c.sent; break;
    case Type::Delivery: ++c.delivered; break;
    case Type::TransientFailure: ++c.deferred; break;
    case Type::Bounce:
    case Type::Expiration:
      ++c.bounced;
      ++c.bounced_by_class[event.type == Type::Expiration ? "expired"
                           : event.bounce_class.empty()    ? "unclassified"
                                                           : event.bounce_class];
      break;
    case Type::Unsubscribe: ++c.unsubscribed; break;
    case Type::Complaint: ++c.complained; break;
    default: break;
  }
}

std::vector<CampaignCounts> Campaigns::most_recent_first() const { return {recency_.begin(), recency_.end()}; }

Stats::Stats(StatsOptions options) : options_(options), campaigns_(options.max_campaigns) {}

void Stats::push(std::deque<events::Event>& ring, const events::Event& event, std::size_t bound) {
  if (bound == 0) return;
  if (ring.size() >= bound) ring.pop_front();
  ring.push_back(event);
}

void Stats::record(const events::Event& event) {
  using events::Type;
  std::lock_guard lock(mutex_);
  series_.count(event);
  campaigns_.count(event);
  if (is_permanent_failure(event.type)) push(bounces_, event, options_.recent);
  if (event.type == Type::Suppression || event.type == Type::Unsubscribe || event.type == Type::Complaint) {
    push(suppressions_, event, options_.recent);
  }
  if (!event.queue_id.empty()) push(history_, event, options_.history);
}

void Stats::sample_depth(std::size_t depth, std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  series_.sample_depth(depth, now_ms);
}

std::vector<Minute> Stats::last_hour(std::int64_t now_ms) const {
  std::lock_guard lock(mutex_);
  return series_.last_hour(now_ms);
}

std::vector<CampaignCounts> Stats::campaigns() const {
  std::lock_guard lock(mutex_);
  return campaigns_.most_recent_first();
}

std::vector<events::Event> Stats::recent_bounces() const {
  std::lock_guard lock(mutex_);
  return {bounces_.rbegin(), bounces_.rend()};
}

std::vector<events::Event> Stats::recent_suppressions() const {
  std::lock_guard lock(mutex_);
  return {suppressions_.rbegin(), suppressions_.rend()};
}

std::vector<events::Event> Stats::history(const std::string& queue_id) const {
  std::lock_guard lock(mutex_);
  std::vector<events::Event> out;
  for (const auto& e : history_) {
    if (e.queue_id == queue_id) out.push_back(e);
  }
  return out;
}

}  // namespace petrel::dashboard
