// The GCRA throttle, driven by a simulated clock: it lets through what the
// rate says, no more, and says how long to wait.
#include <gtest/gtest.h>

#include <map>

#include "shaping/shaping.hpp"

namespace petrel::shaping {
namespace {

using namespace std::chrono_literals;
using std::chrono::nanoseconds;

// An arbitrary start, far from the clock's epoch.
const Clock::time_point t0 = Clock::time_point(1000h);

// Cells passed in each whole second of `duration` when a sender asks every
// `step` (and never waits less than what acquire() says).
std::map<long, std::uint64_t> cells_per_second(Throttle& throttle, nanoseconds step, nanoseconds duration) {
  std::map<long, std::uint64_t> per_second;
  for (Clock::time_point now = t0; now < t0 + duration;) {
    const nanoseconds wait = throttle.acquire(now);
    if (wait.count() == 0) {
      ++per_second[static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(now - t0).count())];
      continue;  // asks again at once: a sender with a backlog
    }
    now += std::max(wait, step);
  }
  return per_second;
}

TEST(Throttle, DefaultIsUnlimited) {
  Throttle throttle;
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(throttle.acquire(t0), 0ns);
  EXPECT_TRUE(throttle.rate().unlimited());
}

TEST(Throttle, UnlimitedRateNeverWaits) {
  Throttle throttle(Rate{}, 5);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(throttle.acquire(t0), 0ns);
}

TEST(Throttle, FiftyPerSecondOverSixtySimulatedSeconds) {
  Throttle throttle(Rate{50, 1s});
  const auto per_second = cells_per_second(throttle, 1ms, 60s);
  std::uint64_t total = 0;
  for (const auto& [second, cells] : per_second) {
    EXPECT_LE(cells, 50u + 1) << "second " << second;  // within one cell of the window's share
    EXPECT_GE(cells, 49u) << "second " << second;
    total += cells;
  }
  EXPECT_LE(total, 50u * 60 + 1);
  EXPECT_GE(total, 50u * 60 - 1);
}

TEST(Throttle, SlidingWindowsNeverExceedRatePlusBurst) {
  constexpr std::uint64_t burst = 5;
  Throttle throttle(Rate{50, 1s}, burst);
  std::vector<Clock::time_point> passed;
  for (Clock::time_point now = t0; now < t0 + 60s;) {
    if (throttle.acquire(now).count() == 0) {
      passed.push_back(now);
    } else {
      now += 3ms;
    }
  }
  // Any one-second window, wherever it starts.
  for (std::size_t first = 0, last = 0; first < passed.size(); ++first) {
    while (last < passed.size() && passed[last] < passed[first] + 1s) ++last;
    ASSERT_LE(last - first, 50 + burst) << "window starting at cell " << first;
  }
  EXPECT_LE(passed.size(), 50u * 60 + burst);
  EXPECT_GE(passed.size(), 50u * 60 - 1);
}

TEST(Throttle, RateThatDoesNotDivideTheSecondIsNotExceeded) {
  Throttle throttle(Rate{7, 1s});
  const auto per_second = cells_per_second(throttle, 1ms, 60s);
  std::uint64_t total = 0;
  for (const auto& [second, cells] : per_second) total += cells;
  EXPECT_LE(total, 7u * 60 + 1);
  EXPECT_GE(total, 7u * 60 - 1);
}

TEST(Throttle, PerMinuteRate) {
  Throttle throttle(Rate{10, 1min});
  const auto per_second = cells_per_second(throttle, 100ms, 10min);
  std::uint64_t total = 0;
  for (const auto& [second, cells] : per_second) total += cells;
  EXPECT_EQ(total, 100u);
}

TEST(Throttle, SaysHowLongToWaitAndTakesNothingMeanwhile) {
  Throttle throttle(Rate{50, 1s});
  EXPECT_EQ(throttle.acquire(t0), 0ns);
  EXPECT_EQ(throttle.wait(t0), 20ms);
  EXPECT_EQ(throttle.acquire(t0), 20ms);
  EXPECT_EQ(throttle.acquire(t0 + 5ms), 15ms);  // the refusals took nothing
  EXPECT_EQ(throttle.wait(t0 + 20ms), 0ns);
  EXPECT_EQ(throttle.acquire(t0 + 20ms), 0ns);
}

TEST(Throttle, BurstPassesAtOnceThenSpaces) {
  Throttle throttle(Rate{10, 1s}, 3);
  EXPECT_EQ(throttle.acquire(t0), 0ns);
  EXPECT_EQ(throttle.acquire(t0), 0ns);
  EXPECT_EQ(throttle.acquire(t0), 0ns);
  EXPECT_EQ(throttle.acquire(t0), 100ms);
  EXPECT_EQ(throttle.acquire(t0 + 100ms), 0ns);
  EXPECT_EQ(throttle.acquire(t0 + 100ms), 100ms);
}

TEST(Throttle, BurstOfZeroIsOne) {
  Throttle throttle(Rate{10, 1s}, 0);
  EXPECT_EQ(throttle.acquire(t0), 0ns);
  EXPECT_EQ(throttle.acquire(t0), 100ms);
}

TEST(Throttle, IdleTimeIsNotSavedUpBeyondTheBurst) {
  Throttle throttle(Rate{10, 1s}, 2);
  EXPECT_EQ(throttle.acquire(t0), 0ns);
  const Clock::time_point later = t0 + 1h;
  EXPECT_EQ(throttle.acquire(later), 0ns);
  EXPECT_EQ(throttle.acquire(later), 0ns);
  EXPECT_GT(throttle.acquire(later), 0ns);
}

TEST(Throttle, WaitDoesNotTake) {
  Throttle throttle(Rate{1, 1h});
  EXPECT_EQ(throttle.wait(t0), 0ns);
  EXPECT_EQ(throttle.wait(t0), 0ns);
  EXPECT_EQ(throttle.acquire(t0), 0ns);
  EXPECT_EQ(throttle.wait(t0 + 30min), 30min);
}

TEST(Throttle, StartsFromAnyClockValue) {
  Throttle throttle(Rate{1, 1s});
  EXPECT_EQ(throttle.acquire(Clock::time_point{}), 0ns);
  EXPECT_EQ(throttle.acquire(Clock::time_point{} + 500ms), 500ms);
}

TEST(Throttle, FasterThanANanosecondStillPasses) {
  Throttle throttle(Rate{18446744073709551615ull, 1s});
  EXPECT_EQ(throttle.acquire(t0), 0ns);
  EXPECT_EQ(throttle.acquire(t0), 1ns);
  EXPECT_EQ(throttle.acquire(t0 + 1ns), 0ns);
}

}  // namespace
}  // namespace petrel::shaping
