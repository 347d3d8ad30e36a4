// A site's health: down after failures in a row, a back-off that doubles
// while it stays down, and one probe connection that brings it back.
#include <gtest/gtest.h>

#include "shaping/shaping.hpp"

namespace petrel::shaping {
namespace {

using namespace std::chrono_literals;
using State = SiteHealth::State;

const Clock::time_point t0 = Clock::time_point(1000h);

HealthOptions test_options() {
  HealthOptions options;
  options.failures_before_down = 3;
  options.initial_backoff = 1min;
  options.max_backoff = 1h;
  options.jitter = 0.2;
  return options;
}

// Fails the site `n` times at `now` with no jitter.
void fail(SiteHealth& health, int n, Clock::time_point now) {
  for (int i = 0; i < n; ++i) health.connection_failed(now, 0.0);
}

TEST(SiteHealth, StartsUpAndMayConnect) {
  SiteHealth health;
  EXPECT_EQ(health.state(t0), State::up);
  EXPECT_TRUE(health.may_connect(t0, 0));
  EXPECT_TRUE(health.may_connect(t0, 1000));  // limits are not its business
  EXPECT_EQ(health.consecutive_failures(), 0u);
}

TEST(SiteHealth, StaysUpBelowTheFailureThreshold) {
  SiteHealth health(test_options());
  fail(health, 2, t0);
  EXPECT_EQ(health.state(t0), State::up);
  EXPECT_TRUE(health.may_connect(t0, 0));
  EXPECT_EQ(health.consecutive_failures(), 2u);
}

TEST(SiteHealth, ASuccessResetsTheCount) {
  SiteHealth health(test_options());
  fail(health, 2, t0);
  health.connection_succeeded();
  fail(health, 2, t0);
  EXPECT_EQ(health.state(t0), State::up);
  EXPECT_EQ(health.consecutive_failures(), 2u);
}

TEST(SiteHealth, GoesDownForTheInitialBackoff) {
  SiteHealth health(test_options());
  fail(health, 3, t0);
  EXPECT_EQ(health.state(t0), State::down);
  EXPECT_EQ(health.down_until(), t0 + 1min);
  EXPECT_FALSE(health.may_connect(t0, 0));
  EXPECT_FALSE(health.may_connect(t0 + 59s, 0));
}

TEST(SiteHealth, JitterStretchesTheBackoff) {
  SiteHealth health(test_options());
  fail(health, 2, t0);
  health.connection_failed(t0, 0.5);  // 0.5 of 20 %: 10 % longer
  EXPECT_EQ(health.down_until(), t0 + 66s);
}

TEST(SiteHealth, OneProbeWhenTheBackoffEnds) {
  SiteHealth health(test_options());
  fail(health, 3, t0);
  const Clock::time_point end = t0 + 1min;
  EXPECT_EQ(health.state(end), State::probing);
  EXPECT_TRUE(health.may_connect(end, 0));   // the probe
  EXPECT_FALSE(health.may_connect(end, 1));  // nothing else while it runs
  EXPECT_FALSE(health.may_connect(end + 1h, 1));
  EXPECT_EQ(health.state(end), State::probing);
}

TEST(SiteHealth, ProbeSuccessBringsTheSiteUp) {
  SiteHealth health(test_options());
  fail(health, 3, t0);
  ASSERT_TRUE(health.may_connect(t0 + 1min, 0));
  health.connection_succeeded();
  EXPECT_EQ(health.state(t0 + 1min), State::up);
  EXPECT_EQ(health.consecutive_failures(), 0u);
  EXPECT_TRUE(health.may_connect(t0 + 1min, 0));
  EXPECT_TRUE(health.may_connect(t0 + 1min, 1));
  // And the back-off starts over: the next time down is 1 minute again.
  fail(health, 3, t0 + 2min);
  EXPECT_EQ(health.down_until(), t0 + 3min);
}

TEST(SiteHealth, ProbeFailureDoublesTheBackoff) {
  SiteHealth health(test_options());
  fail(health, 3, t0);
  Clock::time_point now = t0 + 1min;
  for (auto expected : {2min, 4min, 8min, 16min, 32min, 60min, 60min}) {
    ASSERT_TRUE(health.may_connect(now, 0));
    health.connection_failed(now, 0.0);
    EXPECT_EQ(health.state(now), State::down);
    EXPECT_EQ(health.down_until(), now + expected);
    EXPECT_FALSE(health.may_connect(now, 0));
    now = health.down_until();
  }
}

TEST(SiteHealth, BackoffIsCappedJitterIncluded) {
  SiteHealth health(test_options());
  fail(health, 3, t0);
  Clock::time_point now = t0;
  for (int i = 0; i < 20; ++i) {
    now = health.down_until();
    ASSERT_TRUE(health.may_connect(now, 0));
    health.connection_failed(now, 0.99);
    EXPECT_LE(health.down_until() - now, 1h);
  }
  EXPECT_EQ(health.down_until() - now, 1h);
}

TEST(SiteHealth, FailuresOfConnectionsOpenedBeforeTheSiteWentDownDoNotExtendIt) {
  SiteHealth health(test_options());
  fail(health, 3, t0);
  fail(health, 10, t0 + 10s);  // stragglers, not probes
  EXPECT_EQ(health.down_until(), t0 + 1min);
  EXPECT_EQ(health.consecutive_failures(), 13u);
  ASSERT_TRUE(health.may_connect(t0 + 1min, 0));
  health.connection_failed(t0 + 1min, 0.0);
  EXPECT_EQ(health.down_until(), t0 + 3min);  // doubled once, by the probe
}

TEST(SiteHealth, InitialBackoffAboveTheCapIsCapped) {
  HealthOptions options = test_options();
  options.initial_backoff = 2h;
  SiteHealth health(options);
  fail(health, 3, t0);
  EXPECT_EQ(health.down_until(), t0 + 1h);
}

}  // namespace
}  // namespace petrel::shaping
