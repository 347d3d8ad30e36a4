// The dashboard's counts (stats.hpp), driven by a clock the test moves:
// per-minute buckets that roll over, the queue depth, campaigns bounded
// by recency, the rings of recent bounces and suppressions.
#include <gtest/gtest.h>

#include "dashboard/stats.hpp"

namespace petrel::dashboard {
namespace {

using events::Event;
using events::Type;

constexpr std::int64_t kMinute = 60'000;
constexpr std::int64_t kT0 = 1'800'000'000'000;  // a whole minute, in 2027

Event event(Type type, std::int64_t at_ms, std::string campaign = "", std::string bounce_class = "") {
  Event e;
  e.type = type;
  e.timestamp_ms = at_ms;
  e.queue_id = "Q1";
  e.campaign = std::move(campaign);
  e.bounce_class = std::move(bounce_class);
  return e;
}

TEST(MinuteSeries, CountsEachTypeInTheMinuteItHappened) {
  MinuteSeries s;
  s.count(event(Type::Reception, kT0 + 1));
  s.count(event(Type::Reception, kT0 + 59'999));
  s.count(event(Type::Delivery, kT0 + kMinute));
  s.count(event(Type::TransientFailure, kT0 + kMinute));
  s.count(event(Type::Bounce, kT0 + kMinute));
  s.count(event(Type::Expiration, kT0 + kMinute));
  s.count(event(Type::AdminAction, kT0 + kMinute));  // not traffic
  const auto hour = s.last_hour(kT0 + kMinute + 5);
  ASSERT_EQ(hour.size(), 60u);
  EXPECT_EQ(hour.back().start_ms, kT0 + kMinute);
  EXPECT_EQ(hour[58].received, 2u);
  EXPECT_EQ(hour.back().received, 0u);
  EXPECT_EQ(hour.back().delivered, 1u);
  EXPECT_EQ(hour.back().deferred, 1u);
  EXPECT_EQ(hour.back().bounced, 2u);  // a bounce and an expiry: failed for good
}

TEST(MinuteSeries, AnHourLaterTheOldMinutesAreGoneNotAddedTo) {
  MinuteSeries s;
  s.count(event(Type::Reception, kT0));
  s.count(event(Type::Reception, kT0 + 60 * kMinute));  // the same slot, an hour on
  const auto hour = s.last_hour(kT0 + 60 * kMinute);
  EXPECT_EQ(hour.front().start_ms, kT0 + kMinute);
  EXPECT_EQ(hour.back().received, 1u);
  std::uint64_t total = 0;
  for (const auto& m : hour) total += m.received;
  EXPECT_EQ(total, 1u);
  // Nothing new for two hours: the hour shown is all zeros.
  for (const auto& m : s.last_hour(kT0 + 180 * kMinute)) EXPECT_EQ(m.received, 0u);
}

TEST(MinuteSeries, AnEventOlderThanTheHourDoesNotTakeANewerMinutesSlot) {
  MinuteSeries s;
  s.count(event(Type::Delivery, kT0 + 61 * kMinute));
  s.count(event(Type::Delivery, kT0 + kMinute));  // 60 minutes late: same slot
  EXPECT_EQ(s.last_hour(kT0 + 61 * kMinute).back().delivered, 1u);
}

TEST(MinuteSeries, QueueDepthIsTheMinutesLastSampleAndUnknownWithout) {
  MinuteSeries s;
  s.sample_depth(10, kT0 + 1000);
  s.sample_depth(12, kT0 + 50'000);
  const auto hour = s.last_hour(kT0 + 2 * kMinute);
  EXPECT_EQ(hour[57].depth, std::optional<std::size_t>(12));
  EXPECT_FALSE(hour[58].depth.has_value());
  EXPECT_FALSE(hour.back().depth.has_value());
}

TEST(Flow, FlowingStalledOrIdleFromTheLastFiveMinutes) {
  MinuteSeries s;
  EXPECT_EQ(flow(s.last_hour(kT0), 0), Flow::idle);
  EXPECT_EQ(flow(s.last_hour(kT0), 3), Flow::stalled);
  s.count(event(Type::Delivery, kT0));
  EXPECT_EQ(flow(s.last_hour(kT0 + 4 * kMinute), 3), Flow::flowing);
  EXPECT_EQ(flow(s.last_hour(kT0 + 5 * kMinute), 3), Flow::stalled);
  EXPECT_EQ(flow_name(Flow::flowing), "flowing");
}

TEST(Campaigns, CountsOutcomesAndBouncesByClass) {
  Campaigns c(10);
  c.count(event(Type::Reception, kT0, "dec"));
  c.count(event(Type::Delivery, kT0, "dec"));
  c.count(event(Type::Bounce, kT0, "dec", "invalid-recipient"));
  c.count(event(Type::Bounce, kT0, "dec", ""));
  c.count(event(Type::Expiration, kT0, "dec"));
  c.count(event(Type::Unsubscribe, kT0, "dec"));
  c.count(event(Type::Complaint, kT0 + 5, "dec"));
  c.count(event(Type::Delivery, kT0, ""));  // no campaign: not counted
  const auto all = c.most_recent_first();
  ASSERT_EQ(all.size(), 1u);
  const auto& dec = all[0];
  EXPECT_EQ(dec.sent, 1u);
  EXPECT_EQ(dec.delivered, 1u);
  EXPECT_EQ(dec.bounced, 3u);
  EXPECT_EQ(dec.bounced_by_class.at("invalid-recipient"), 1u);
  EXPECT_EQ(dec.bounced_by_class.at("unclassified"), 1u);
  EXPECT_EQ(dec.bounced_by_class.at("expired"), 1u);
  EXPECT_EQ(dec.unsubscribed, 1u);
  EXPECT_EQ(dec.complained, 1u);
  EXPECT_EQ(dec.last_ms, kT0 + 5);
}

TEST(Campaigns, PastTheBoundTheLeastRecentlyActiveIsDropped) {
  Campaigns c(2);
  c.count(event(Type::Reception, kT0, "a"));
  c.count(event(Type::Reception, kT0, "b"));
  c.count(event(Type::Delivery, kT0, "a"));  // a is active again: b is now the oldest
  c.count(event(Type::Reception, kT0, "c"));
  const auto all = c.most_recent_first();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].name, "c");
  EXPECT_EQ(all[1].name, "a");
  EXPECT_EQ(all[1].delivered, 1u);
}

TEST(Stats, KeepsTheLastBouncesAndSuppressionsNewestFirst) {
  Stats s({.max_campaigns = 10, .recent = 2, .history = 3});
  for (int i = 0; i < 3; ++i) {
    auto e = event(Type::Bounce, kT0 + i);
    e.recipient = "r" + std::to_string(i) + "@example.org";
    s.record(e);
  }
  s.record(event(Type::Unsubscribe, kT0));
  s.record(event(Type::Delivery, kT0));
  const auto bounces = s.recent_bounces();
  ASSERT_EQ(bounces.size(), 2u);
  EXPECT_EQ(bounces[0].recipient, "r2@example.org");
  EXPECT_EQ(bounces[1].recipient, "r1@example.org");
  EXPECT_EQ(s.recent_suppressions().size(), 1u);
  // A message's history: the last `history` events with its queue ID.
  const auto h = s.history("Q1");
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h.back().type, Type::Delivery);
  EXPECT_TRUE(s.history("OTHER").empty());
}

}  // namespace
}  // namespace petrel::dashboard
