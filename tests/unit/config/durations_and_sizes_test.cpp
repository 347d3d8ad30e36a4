// parse_duration and parse_size: the units, their edges, and what they refuse.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>

#include "config/config.hpp"

namespace petrel::config {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

milliseconds duration(std::string_view text) {
  milliseconds d{-1};
  EXPECT_TRUE(parse_duration(text, d)) << text;
  return d;
}

bool duration_rejected(std::string_view text) {
  milliseconds d{1234};
  const bool ok = parse_duration(text, d);
  EXPECT_EQ(d, milliseconds{1234}) << "output must be untouched on failure: " << text;
  return !ok;
}

std::uint64_t size(std::string_view text) {
  std::uint64_t s = 0;
  EXPECT_TRUE(parse_size(text, s)) << text;
  return s;
}

bool size_rejected(std::string_view text) {
  std::uint64_t s = 77;
  const bool ok = parse_size(text, s);
  EXPECT_EQ(s, 77u) << "output must be untouched on failure: " << text;
  return !ok;
}

TEST(ParseDuration, ReadsEachUnit) {
  EXPECT_EQ(duration("1500ms"), 1500ms);
  EXPECT_EQ(duration("300s"), 300s);
  EXPECT_EQ(duration("5m"), 5min);
  EXPECT_EQ(duration("2h"), 2h);
  EXPECT_EQ(duration("1d"), 24h);
}

TEST(ParseDuration, BareNumberIsSeconds) {
  EXPECT_EQ(duration("30"), 30s);
  EXPECT_EQ(duration("0"), 0ms);
}

TEST(ParseDuration, MillisecondsAreNotMinutes) { EXPECT_EQ(duration("1ms"), 1ms); }

TEST(ParseDuration, ZeroIsSyntacticallyFine) { EXPECT_EQ(duration("0s"), 0ms); }

TEST(ParseDuration, RejectsNegativeSignsAndFractions) {
  EXPECT_TRUE(duration_rejected("-5s"));
  EXPECT_TRUE(duration_rejected("+5s"));
  EXPECT_TRUE(duration_rejected("1.5h"));
}

TEST(ParseDuration, RejectsGarbage) {
  for (std::string_view bad :
       {"", "s", "ms", "abc", "5x", "5 s", " 5s", "5s ", "5S", "5min", "5sec", "1h30m", "0x10"}) {
    EXPECT_TRUE(duration_rejected(bad)) << bad;
  }
}

TEST(ParseDuration, RejectsOverflow) {
  EXPECT_TRUE(duration_rejected("99999999999999999999"));  // > uint64
  EXPECT_TRUE(duration_rejected("9223372036854775807s"));  // ms would overflow
  EXPECT_TRUE(duration_rejected("106751991167301d"));      // just over int64 ms
  EXPECT_EQ(duration("9223372036854775807ms"), milliseconds::max());
}

TEST(ParseSize, BareNumberIsBytes) {
  EXPECT_EQ(size("52428800"), 52428800u);
  EXPECT_EQ(size("0"), 0u);
  EXPECT_EQ(size("1024B"), 1024u);
}

TEST(ParseSize, SuffixesArePowersOf1024) {
  EXPECT_EQ(size("1K"), 1024u);
  EXPECT_EQ(size("50M"), 50ull * 1024 * 1024);
  EXPECT_EQ(size("1G"), 1024ull * 1024 * 1024);
}

TEST(ParseSize, AcceptsBAndIBSpellings) {
  EXPECT_EQ(size("50MiB"), 50ull << 20);
  EXPECT_EQ(size("50MB"), 50ull << 20);
  EXPECT_EQ(size("64KiB"), 64ull << 10);
  EXPECT_EQ(size("2GB"), 2ull << 30);
  EXPECT_EQ(size("10m"), 10ull << 20);
  EXPECT_EQ(size("10mib"), 10ull << 20);
}

TEST(ParseSize, RejectsGarbage) {
  for (std::string_view bad : {"", "M", "MiB", "50X", "50 M", " 50M", "50M ", "5.5M", "50Mi", "50iB", "50BB", "1T",
                               "50MiBs", "0x400", "1e6"}) {
    EXPECT_TRUE(size_rejected(bad)) << bad;
  }
}

TEST(ParseSize, RejectsNegatives) {
  EXPECT_TRUE(size_rejected("-1"));
  EXPECT_TRUE(size_rejected("-50M"));
}

TEST(ParseSize, RejectsOverflow) {
  EXPECT_EQ(size("18446744073709551615"), UINT64_MAX);
  EXPECT_TRUE(size_rejected("18446744073709551616"));
  EXPECT_TRUE(size_rejected("17179869184G"));  // 2^34 GiB = 2^64 bytes
  EXPECT_EQ(size("17179869183G"), 17179869183ull << 30);
}

}  // namespace
}  // namespace petrel::config
