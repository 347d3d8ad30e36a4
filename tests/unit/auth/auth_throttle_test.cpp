// The brute-force defence: delays, lockouts and their expiry, on a clock the
// tests move by hand.
#include <gtest/gtest.h>

#include <string>

#include "auth/auth_throttle.hpp"

namespace petrel::auth {
namespace {

using namespace std::chrono_literals;
using Clock = AuthThrottle::Clock;

const Clock::time_point t0 = Clock::time_point() + 1000h;

TEST(AuthThrottle, DelayDoublesPerConsecutiveFailureUpToEightSeconds) {
  AuthThrottle throttle;
  EXPECT_EQ(throttle.record("192.0.2.1", false, t0), 1s);
  EXPECT_EQ(throttle.record("192.0.2.1", false, t0 + 1s), 2s);
  EXPECT_EQ(throttle.record("192.0.2.1", false, t0 + 2s), 4s);
  EXPECT_EQ(throttle.record("192.0.2.1", false, t0 + 3s), 8s);
  EXPECT_EQ(throttle.record("192.0.2.1", false, t0 + 4s), 8s);
}

TEST(AuthThrottle, SuccessHasNoDelayAndResetsTheDoubling) {
  AuthThrottle throttle;
  throttle.record("192.0.2.1", false, t0);
  throttle.record("192.0.2.1", false, t0 + 1s);
  EXPECT_EQ(throttle.record("192.0.2.1", true, t0 + 2s), 0ms);
  EXPECT_EQ(throttle.record("192.0.2.1", false, t0 + 3s), 1s);
}

TEST(AuthThrottle, QuietWindowResetsTheDoubling) {
  AuthThrottle throttle;
  throttle.record("192.0.2.1", false, t0);
  throttle.record("192.0.2.1", false, t0 + 1s);
  EXPECT_EQ(throttle.record("192.0.2.1", false, t0 + 1s + 10min), 1s);
}

TEST(AuthThrottle, TenFailuresInTenMinutesLockOutForTenMinutes) {
  AuthThrottle throttle;
  for (int i = 0; i < 9; ++i) throttle.record("192.0.2.1", false, t0 + i * 30s);
  EXPECT_EQ(throttle.locked_until("192.0.2.1", t0 + 5min), std::nullopt);
  throttle.record("192.0.2.1", false, t0 + 5min);
  EXPECT_EQ(throttle.locked_until("192.0.2.1", t0 + 5min), t0 + 15min);
}

TEST(AuthThrottle, FailuresSpreadWiderThanTheWindowDoNotLockOut) {
  AuthThrottle throttle;
  for (int i = 0; i < 20; ++i) throttle.record("192.0.2.1", false, t0 + i * 2min);
  EXPECT_EQ(throttle.locked_until("192.0.2.1", t0 + 40min), std::nullopt);
}

TEST(AuthThrottle, LockoutExpires) {
  AuthThrottle throttle;
  for (int i = 0; i < 10; ++i) throttle.record("192.0.2.1", false, t0);
  EXPECT_TRUE(throttle.locked_until("192.0.2.1", t0 + 10min - 1ms));
  EXPECT_EQ(throttle.locked_until("192.0.2.1", t0 + 10min), std::nullopt);
  // Afterwards it takes ten new failures to lock out again.
  EXPECT_EQ(throttle.record("192.0.2.1", false, t0 + 11min), 1s);
  EXPECT_EQ(throttle.locked_until("192.0.2.1", t0 + 11min), std::nullopt);
}

TEST(AuthThrottle, SuccessDoesNotLiftALockout) {
  AuthThrottle throttle;
  for (int i = 0; i < 10; ++i) throttle.record("192.0.2.1", false, t0);
  throttle.record("192.0.2.1", true, t0 + 1s);
  EXPECT_EQ(throttle.locked_until("192.0.2.1", t0 + 2s), t0 + 10min);
}

TEST(AuthThrottle, SuccessDoesNotForgetFailuresTowardsALockout) {
  AuthThrottle throttle;
  for (int i = 0; i < 9; ++i) throttle.record("192.0.2.1", false, t0);
  throttle.record("192.0.2.1", true, t0 + 1s);
  throttle.record("192.0.2.1", false, t0 + 2s);
  EXPECT_TRUE(throttle.locked_until("192.0.2.1", t0 + 2s));
}

TEST(AuthThrottle, AddressesAreIndependent) {
  AuthThrottle throttle;
  for (int i = 0; i < 10; ++i) throttle.record("192.0.2.1", false, t0);
  EXPECT_TRUE(throttle.locked_until("192.0.2.1", t0));
  EXPECT_EQ(throttle.locked_until("192.0.2.2", t0), std::nullopt);
  EXPECT_EQ(throttle.record("192.0.2.2", false, t0), 1s);
}

TEST(AuthThrottle, SettingsAreHonoured) {
  AuthThrottle throttle(ThrottleSettings{.failure_delay = 100ms,
                                         .max_failure_delay = 300ms,
                                         .lockout_failures = 3,
                                         .lockout_window = 1min,
                                         .lockout_duration = 2min});
  EXPECT_EQ(throttle.record("192.0.2.1", false, t0), 100ms);
  EXPECT_EQ(throttle.record("192.0.2.1", false, t0), 200ms);
  EXPECT_EQ(throttle.record("192.0.2.1", false, t0), 300ms);
  EXPECT_EQ(throttle.locked_until("192.0.2.1", t0), t0 + 2min);
}

TEST(AuthThrottle, ForgetsTheLeastRecentlySeenAddressWhenFull) {
  AuthThrottle throttle(ThrottleSettings{.max_tracked_addresses = 3});
  for (const char* ip : {"192.0.2.1", "192.0.2.2", "192.0.2.3"}) {
    throttle.record(ip, false, t0);
    throttle.record(ip, false, t0);
  }
  throttle.record("192.0.2.1", false, t0);  // .1 is now the most recent, .2 the least
  throttle.record("192.0.2.4", false, t0);
  EXPECT_EQ(throttle.tracked_addresses(), 3u);
  EXPECT_EQ(throttle.record("192.0.2.2", false, t0), 1s);  // forgotten: starts again
  EXPECT_EQ(throttle.record("192.0.2.1", false, t0), 8s);  // remembered: 4th failure
}

TEST(AuthThrottle, MemoryStaysBoundedUnderAFloodOfAddresses) {
  AuthThrottle throttle(ThrottleSettings{.max_tracked_addresses = 100});
  for (int i = 0; i < 10000; ++i) throttle.record("10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256), false, t0);
  EXPECT_EQ(throttle.tracked_addresses(), 100u);
}

TEST(AuthThrottle, CleanSuccessIsNotRemembered) {
  AuthThrottle throttle;
  throttle.record("192.0.2.1", true, t0);
  EXPECT_EQ(throttle.tracked_addresses(), 0u);
}

TEST(AuthThrottle, IPv6AddressesShareTheirSlash64) {
  AuthThrottle throttle;
  for (int i = 0; i < 10; ++i) throttle.record("2001:db8:1:2::" + std::to_string(i + 1), false, t0);
  EXPECT_TRUE(throttle.locked_until("2001:db8:1:2:ffff::9", t0));
  EXPECT_EQ(throttle.locked_until("2001:db8:1:3::1", t0), std::nullopt);
}

TEST(AuthThrottle, MappedIPv4IsTheSameClientAsIPv4) {
  EXPECT_EQ(throttle_key("::ffff:192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(throttle_key("192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(throttle_key("2001:db8::1"), "2001:db8::/64");
  EXPECT_EQ(throttle_key("not an address"), "not an address");
}

}  // namespace
}  // namespace petrel::auth
