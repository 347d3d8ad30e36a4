// Prometheus metrics (metrics.hpp): families, the "other" fold of an
// unbounded label, histograms, and the text exposition format 0.0.4.
// promtool checks a whole scrape in tests/integration/test_metrics.py.
#include "metrics/metrics.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <thread>

namespace petrel::metrics {
namespace {

TEST(Metrics, ACounterWithoutLabelsIsExposedAtZeroFromTheStart) {
  Registry r;
  Family<Counter> c("t_total", "Things.", {});
  r.add(c);
  EXPECT_EQ(r.expose(), "# HELP t_total Things.\n# TYPE t_total counter\nt_total 0\n");
  c().inc(3);
  EXPECT_NE(r.expose().find("t_total 3\n"), std::string::npos);
}

TEST(Metrics, LabelledSeriesAppearOnFirstUseInLabelOrder) {
  Registry r;
  Family<Counter> c("d_total", "D.", {"result", "site"});
  r.add(c);
  c.with({"delivered", "b"}).inc();
  c.with({"delivered", "a"}).inc(2);
  const std::string text = r.expose();
  const auto a = text.find("d_total{result=\"delivered\",site=\"a\"} 2\n");
  const auto b = text.find("d_total{result=\"delivered\",site=\"b\"} 1\n");
  ASSERT_NE(a, std::string::npos) << text;
  ASSERT_NE(b, std::string::npos) << text;
  EXPECT_LT(a, b);
}

TEST(Metrics, LabelValuesAreEscaped) {
  EXPECT_EQ(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  Registry r;
  Family<Gauge> g("g", "G.", {"name"});
  r.add(g);
  g.with({"x\"y"}).set(1);
  EXPECT_NE(r.expose().find("g{name=\"x\\\"y\"} 1\n"), std::string::npos);
}

TEST(Metrics, SitesPastTheCapAreFoldedIntoOther) {
  Family<Counter> c("d_total", "D.", {"result", "site"});
  c.fold("site", 2);
  c.with({"delivered", "s1"}).inc();
  c.with({"deferred", "s1"}).inc();  // a known site: any result
  c.with({"delivered", "s2"}).inc();
  c.with({"delivered", "s3"}).inc();
  c.with({"delivered", "s4"}).inc();
  c.with({"deferred", "s4"}).inc();
  std::map<std::vector<std::string>, std::uint64_t> seen;
  for (const auto& [labels, counter] : c.series()) seen[labels] = counter->value();
  EXPECT_EQ(seen.size(), 5u);
  EXPECT_EQ((seen[{"delivered", "other"}]), 2u);
  EXPECT_EQ((seen[{"deferred", "other"}]), 1u);
  EXPECT_EQ((seen[{"deferred", "s1"}]), 1u);
}

TEST(Metrics, AHistogramHasCumulativeBucketsSumAndCount) {
  Registry r;
  Family<Histogram> h("h_seconds", "H.", {}, [] { return std::make_unique<Histogram>(std::vector<double>{0.1, 1}); });
  r.add(h);
  h().observe(0.05);
  h().observe(0.1);  // le is inclusive
  h().observe(0.5);
  h().observe(7);
  const std::string text = r.expose();
  EXPECT_NE(text.find("# TYPE h_seconds histogram\n"), std::string::npos);
  EXPECT_NE(text.find("h_seconds_bucket{le=\"0.1\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("h_seconds_bucket{le=\"1\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("h_seconds_bucket{le=\"+Inf\"} 4\n"), std::string::npos) << text;
  EXPECT_NE(text.find("h_seconds_sum 7.65\n"), std::string::npos) << text;
  EXPECT_NE(text.find("h_seconds_count 4\n"), std::string::npos) << text;
}

TEST(Metrics, ValuesAreFormattedAsPrometheusReadsThem) {
  EXPECT_EQ(format_value(3), "3");
  EXPECT_EQ(format_value(0.25), "0.25");
  EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_value(std::nan("")), "NaN");
}

TEST(Metrics, CollectorsWriteComputedFamiliesAtEachScrape) {
  Registry r;
  int depth = 5;
  const auto handle = r.add_collector([&](Exposition& out) {
    out.family("q", "Queue.", Type::gauge);
    out.sample("q", {{"state", "scheduled"}}, depth);
  });
  EXPECT_NE(r.expose().find("q{state=\"scheduled\"} 5\n"), std::string::npos);
  depth = 7;
  EXPECT_NE(r.expose().find("q{state=\"scheduled\"} 7\n"), std::string::npos);
  r.remove_collector(handle);
  EXPECT_EQ(r.expose(), "");
}

TEST(Metrics, CountsFromManyThreadsAddUp) {
  Family<Counter> c("c_total", "C.", {"t"});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10000; ++i) c.with({t % 2 ? "odd" : "even"}).inc();
    });
  }
  for (auto& t : threads) t.join();
  std::uint64_t total = 0;
  for (const auto& [labels, counter] : c.series()) total += counter->value();
  EXPECT_EQ(total, 40000u);
}

}  // namespace
}  // namespace petrel::metrics
