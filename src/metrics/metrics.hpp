// Prometheus metrics (text exposition format 0.0.4): counters, gauges and
// histograms, with or without labels, kept in atomics so that the SMTP
// threads, the queue and the delivery thread count without a lock on the
// hot path. A family may name one label whose values are unbounded (the
// site): past max_values distinct values, the others are folded into
// "other", so a thousand sites never become a thousand series. Rendering
// is pure: registry().expose() returns the text that GET /metrics serves.
//
// Families are created once (static objects in metrics/petrel_metrics.hpp),
// and scrape-time gauges (queue depth, sites) are filled by collectors.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace petrel::metrics {

class Counter {
 public:
  void inc(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void add(double v) { value_.fetch_add(v, std::memory_order_relaxed); }
  void sub(double v) { value_.fetch_sub(v, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);  // upper bounds; +Inf is implied
  Histogram() : Histogram(seconds_bounds()) {}
  // From half a millisecond to a minute: latencies of disks and servers.
  static std::vector<double> seconds_bounds() {
    return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
  }
  void observe(double v);
  const std::vector<double>& bounds() const { return bounds_; }
  // Cumulative counts per bound (then +Inf), the sum and the count, read
  // together well enough for a scrape (each is atomic on its own).
  std::vector<std::uint64_t> cumulative() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }
  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_.size() + 1
  std::atomic<double> sum_{0};
  std::atomic<std::uint64_t> count_{0};
};

enum class Type { counter, gauge, histogram };

// One metric name with its help text and label names; its series by label
// values. Series are never removed (a counter must not go back).
template <typename Metric>
class Family {
 public:
  using Make = std::function<std::unique_ptr<Metric>()>;
  Family(std::string name, std::string help, std::vector<std::string> label_names, Make make = nullptr);
  // Values of the label `label` beyond the first max_values are "other".
  void fold(const std::string& label, std::size_t max_values);
  // The series of these label values (as many as label names), made on
  // first use.
  Metric& with(const std::vector<std::string>& values);
  Metric& operator()() { return with({}); }
  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  // A copy of the series list for a scrape: label values -> metric.
  std::vector<std::pair<std::vector<std::string>, const Metric*>> series() const;

 private:
  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  Make make_;
  std::size_t fold_at_ = 0;  // index into label_names_; == size(): none
  std::size_t max_values_ = 0;
  mutable std::mutex mutex_;
  std::map<std::vector<std::string>, std::unique_ptr<Metric>> series_;
  std::map<std::string, bool> folded_values_;  // values of the folded label kept as themselves
};

// The text of one scrape, built family by family.
class Exposition {
 public:
  void family(std::string_view name, std::string_view help, Type type);
  // One sample: name{labels} value. Labels as (name, value) pairs.
  void sample(std::string_view name, const std::vector<std::pair<std::string, std::string>>& labels, double value);
  void histogram(std::string_view name, const std::vector<std::pair<std::string, std::string>>& labels,
                 const Histogram& h);
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

class Registry {
 public:
  void add(Family<Counter>& family);
  void add(Family<Gauge>& family);
  void add(Family<Histogram>& family);
  // Called at each scrape, after the families, to write computed ones.
  using Collector = std::function<void(Exposition&)>;
  std::size_t add_collector(Collector collector);  // returns a handle for remove_collector
  void remove_collector(std::size_t handle);
  std::string expose() const;

 private:
  mutable std::mutex mutex_;
  std::vector<Family<Counter>*> counters_;
  std::vector<Family<Gauge>*> gauges_;
  std::vector<Family<Histogram>*> histograms_;
  std::map<std::size_t, Collector> collectors_;
  std::size_t next_handle_ = 1;
};

Registry& registry();

// Prometheus label value escaping: backslash, double quote, newline.
std::string escape_label(std::string_view value);
// A sample value: integers without a fraction, +Inf/-Inf/NaN spelled out.
std::string format_value(double value);

}  // namespace petrel::metrics
