// Rates as [shaping] writes them: "500/min", "1,000/h", "0".
#include <gtest/gtest.h>

#include "shaping/shaping.hpp"

namespace petrel::shaping {
namespace {

using namespace std::chrono_literals;

TEST(ParseRate, EveryUnitName) {
  for (const char* text : {"50/s", "50/sec", "50/second"}) EXPECT_EQ(parse_rate(text), (Rate{50, 1s})) << text;
  for (const char* text : {"50/m", "50/min", "50/minute"}) EXPECT_EQ(parse_rate(text), (Rate{50, 1min})) << text;
  for (const char* text : {"50/h", "50/hr", "50/hour"}) EXPECT_EQ(parse_rate(text), (Rate{50, 1h})) << text;
  for (const char* text : {"50/d", "50/day"}) EXPECT_EQ(parse_rate(text), (Rate{50, 24h})) << text;
}

TEST(ParseRate, ZeroIsUnlimitedWhateverItsUnit) {
  for (const char* text : {"0", "0/s", "0/min", "0/day", "000"}) {
    ASSERT_TRUE(parse_rate(text)) << text;
    EXPECT_TRUE(parse_rate(text)->unlimited()) << text;
    EXPECT_EQ(parse_rate(text), Rate{}) << text;
  }
}

TEST(ParseRate, DigitsMayBeGrouped) {
  EXPECT_EQ(parse_rate("1,000/h"), (Rate{1000, 1h}));
  EXPECT_EQ(parse_rate("10_000/d"), (Rate{10000, 24h}));
  EXPECT_EQ(parse_rate("1,000,000/d"), (Rate{1000000, 24h}));
}

TEST(ParseRate, RejectsGarbage) {
  for (const char* text : {"",      "/s",    "50",    "50/",   "50/x",   "50/S",   "50/Min", "50/seconds",
                           "50 /s", "50/ s", " 50/s", "50/s ", "-5/s",   "+5/s",   "5.5/s",  "five/s",
                           "5/s/s", "5/2s",  ",5/s",  "5,/s",  "5,,0/s", "1__0/s", "0x10/s", "50/min,"}) {
    EXPECT_FALSE(parse_rate(text)) << '"' << text << '"';
  }
}

TEST(ParseRate, RejectsOverflow) {
  EXPECT_EQ(parse_rate("18446744073709551615/s"), (Rate{18446744073709551615ull, 1s}));
  EXPECT_FALSE(parse_rate("18446744073709551616/s"));
  EXPECT_FALSE(parse_rate("99999999999999999999999/h"));
}

TEST(RateToString, IsCanonical) {
  EXPECT_EQ(to_string(Rate{}), "0");
  EXPECT_EQ(to_string(Rate{500, 1min}), "500/min");
  EXPECT_EQ(to_string(Rate{50, 1s}), "50/s");
  EXPECT_EQ(to_string(Rate{10, 1h}), "10/h");
  EXPECT_EQ(to_string(Rate{2, 24h}), "2/d");
  EXPECT_EQ(to_string(Rate{60, 1min}), "60/min");  // its own unit, not "1/s"
}

TEST(RateToString, RoundTripsThroughParse) {
  for (const char* text : {"0", "500/min", "50/s", "10/h", "2/d", "1/s", "18446744073709551615/d"}) {
    const auto rate = parse_rate(text);
    ASSERT_TRUE(rate) << text;
    EXPECT_EQ(to_string(*rate), text);
    EXPECT_EQ(parse_rate(to_string(*rate)), rate);
  }
  EXPECT_EQ(to_string(*parse_rate("1,000/hour")), "1000/h");
  EXPECT_EQ(to_string(*parse_rate("7/second")), "7/s");
}

TEST(RateToString, OddPeriodMadeInCodeStillReadsBack) {
  EXPECT_EQ(to_string(Rate{10, 2s}), "5/s");
  EXPECT_EQ(to_string(Rate{1, 2s}), "30/min");
  EXPECT_EQ(to_string(Rate{7, 3ms}), "140000/min");
  EXPECT_EQ(to_string(Rate{7, 3001ms}), "7/3001ms");  // no whole count over any unit: for the log only
}

}  // namespace
}  // namespace petrel::shaping
