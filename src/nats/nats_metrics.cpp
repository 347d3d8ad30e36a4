#include "nats/nats_metrics.hpp"

#include <string>

namespace petrel::nats {
namespace {

template <typename Metric>
Metric& one(const char* name, const char* help) {
  auto* family = new metrics::Family<Metric>(name, help, {});
  metrics::registry().add(*family);
  return (*family)();
}

}  // namespace

metrics::Gauge& connected_gauge() {
  static metrics::Gauge& g = one<metrics::Gauge>("petrel_nats_connected", "1 while connected to NATS, else 0.");
  return g;
}

metrics::Gauge& pending_gauge() {
  static metrics::Gauge& g = one<metrics::Gauge>(
      "petrel_nats_pending_events", "Events in the outbox that JetStream has not acked yet.");
  return g;
}

metrics::Counter& published_counter() {
  static metrics::Counter& c =
      one<metrics::Counter>("petrel_nats_published_total", "Events published to NATS JetStream and acked by it.");
  return c;
}

metrics::Counter& publish_errors_counter() {
  static metrics::Counter& c = one<metrics::Counter>(
      "petrel_nats_publish_errors_total",
      "Events a publish did not get acked (NATS away, JetStream refused or slow); they are published again.");
  return c;
}

void register_nats_metrics() {
  connected_gauge();
  pending_gauge();
  published_counter();
  publish_errors_counter();
}

}  // namespace petrel::nats
