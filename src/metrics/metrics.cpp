#include "metrics/metrics.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace petrel::metrics {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<std::uint64_t>[bounds_.size() + 1]) {
  std::sort(bounds_.begin(), bounds_.end());
  for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::observe(double v) {
  const auto at = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
  buckets_[at].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<std::uint64_t> Histogram::cumulative() const {
  std::vector<std::uint64_t> out(bounds_.size() + 1);
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    out[i] = running;
  }
  return out;
}

template <typename Metric>
Family<Metric>::Family(std::string name, std::string help, std::vector<std::string> label_names, Make make)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      make_(make ? std::move(make) : Make([] { return std::make_unique<Metric>(); })),
      fold_at_(label_names_.size()) {
  if (label_names_.empty()) series_[{}] = make_();  // shown as 0 from the start
}

template <typename Metric>
void Family<Metric>::fold(const std::string& label, std::size_t max_values) {
  std::lock_guard lock(mutex_);
  fold_at_ = static_cast<std::size_t>(std::find(label_names_.begin(), label_names_.end(), label) - label_names_.begin());
  max_values_ = max_values;
}

template <typename Metric>
Metric& Family<Metric>::with(const std::vector<std::string>& values) {
  std::lock_guard lock(mutex_);
  if (auto found = series_.find(values); found != series_.end()) return *found->second;
  std::vector<std::string> key = values;
  key.resize(label_names_.size());
  if (fold_at_ < key.size() && !folded_values_.count(key[fold_at_])) {
    if (folded_values_.size() < max_values_) {
      folded_values_[key[fold_at_]] = true;
    } else {
      key[fold_at_] = "other";
    }
  }
  auto& slot = series_[key];
  if (!slot) slot = make_();
  return *slot;
}

template <typename Metric>
std::vector<std::pair<std::vector<std::string>, const Metric*>> Family<Metric>::series() const {
  std::lock_guard lock(mutex_);
  std::vector<std::pair<std::vector<std::string>, const Metric*>> out;
  out.reserve(series_.size());
  for (const auto& [labels, metric] : series_) out.emplace_back(labels, metric.get());
  return out;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

namespace {

// Backslash and newline escaped, and the double quote too in a label value
// (a HELP text keeps it as it is): the exposition format's two rules.
std::string escape(std::string_view value, bool quote) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string escape_label(std::string_view value) { return escape(value, true); }

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 1e15) return fmt::format("{}", static_cast<long long>(value));
  return fmt::format("{}", value);
}

namespace {

const char* type_name(Type type) {
  switch (type) {
    case Type::counter: return "counter";
    case Type::gauge: return "gauge";
    case Type::histogram: return "histogram";
  }
  return "untyped";
}

std::string label_text(const std::vector<std::pair<std::string, std::string>>& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (i) out += ',';
    out += labels[i].first;
    out += "=\"";
    out += escape_label(labels[i].second);
    out += '"';
  }
  out += '}';
  return out;
}

template <typename Metric>
std::vector<std::pair<std::string, std::string>> labels_of(const Family<Metric>& family,
                                                           const std::vector<std::string>& values) {
  std::vector<std::pair<std::string, std::string>> out;
  for (std::size_t i = 0; i < family.label_names().size() && i < values.size(); ++i) {
    out.emplace_back(family.label_names()[i], values[i]);
  }
  return out;
}

}  // namespace

void Exposition::family(std::string_view name, std::string_view help, Type type) {
  text_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, escape(help, false), name, type_name(type));
}

void Exposition::sample(std::string_view name, const std::vector<std::pair<std::string, std::string>>& labels,
                        double value) {
  text_ += fmt::format("{}{} {}\n", name, label_text(labels), format_value(value));
}

void Exposition::histogram(std::string_view name, const std::vector<std::pair<std::string, std::string>>& labels,
                           const Histogram& h) {
  const auto counts = h.cumulative();
  auto with_le = labels;
  with_le.emplace_back("le", "");
  for (std::size_t i = 0; i < counts.size(); ++i) {
    with_le.back().second = i < h.bounds().size() ? format_value(h.bounds()[i]) : "+Inf";
    sample(std::string(name) + "_bucket", with_le, static_cast<double>(counts[i]));
  }
  // The count is the +Inf bucket's, so the two always agree.
  sample(std::string(name) + "_sum", labels, h.sum());
  sample(std::string(name) + "_count", labels, static_cast<double>(counts.back()));
}

void Registry::add(Family<Counter>& family) {
  std::lock_guard lock(mutex_);
  counters_.push_back(&family);
}

void Registry::add(Family<Gauge>& family) {
  std::lock_guard lock(mutex_);
  gauges_.push_back(&family);
}

void Registry::add(Family<Histogram>& family) {
  std::lock_guard lock(mutex_);
  histograms_.push_back(&family);
}

std::size_t Registry::add_collector(Collector collector) {
  std::lock_guard lock(mutex_);
  collectors_[next_handle_] = std::move(collector);
  return next_handle_++;
}

void Registry::remove_collector(std::size_t handle) {
  std::lock_guard lock(mutex_);
  collectors_.erase(handle);
}

std::string Registry::expose() const {
  std::lock_guard lock(mutex_);
  Exposition out;
  for (const auto* f : counters_) {
    out.family(f->name(), f->help(), Type::counter);
    for (const auto& [values, c] : f->series()) {
      out.sample(f->name(), labels_of(*f, values), static_cast<double>(c->value()));
    }
  }
  for (const auto* f : gauges_) {
    out.family(f->name(), f->help(), Type::gauge);
    for (const auto& [values, g] : f->series()) out.sample(f->name(), labels_of(*f, values), g->value());
  }
  for (const auto* f : histograms_) {
    out.family(f->name(), f->help(), Type::histogram);
    for (const auto& [values, h] : f->series()) out.histogram(f->name(), labels_of(*f, values), *h);
  }
  for (const auto& [handle, collect] : collectors_) collect(out);
  return out.text();
}

Registry& registry() {
  static Registry r;
  return r;
}

}  // namespace petrel::metrics
