#include "cluster/cluster_metrics.hpp"

namespace petrel::cluster::metrics {
namespace {

template <typename Metric>
Family<Metric>& registered(Family<Metric>& family) {
  petrel::metrics::registry().add(family);
  return family;
}

}  // namespace

Family<Counter>& redis_round_trips() {
  static Family<Counter>& f = registered(*new Family<Counter>(
      "petrel_redis_round_trips_total", "Requests sent to Redis (each one a round trip), all purposes together.", {}));
  return f;
}

Family<Counter>& redis_requests() {
  static Family<Counter>& f = registered(*new Family<Counter>(
      "petrel_redis_requests_total",
      "Requests sent to Redis by purpose (rate, lease, heartbeat, connect) and result (ok, error, timeout).",
      {"purpose", "result"}));
  return f;
}

Family<Gauge>& fallback() {
  static Family<Gauge>& f = registered(*new Family<Gauge>(
      "petrel_cluster_fallback",
      "1 while Redis is unreachable or slow and this node keeps to its local share of each cluster limit.", {}));
  return f;
}

Family<Counter>& fallbacks() {
  static Family<Counter>& f = registered(*new Family<Counter>(
      "petrel_cluster_fallbacks_total", "Times this node fell back to its local share of the cluster limits.", {}));
  return f;
}

Family<Gauge>& live_nodes() {
  static Family<Gauge>& f = registered(*new Family<Gauge>(
      "petrel_cluster_live_nodes", "Nodes whose heartbeat Redis holds, as last seen (the fallback shares divide by it).",
      {}));
  return f;
}

void register_all() {
  redis_round_trips()();
  fallback()();
  fallbacks()();
  live_nodes()();
  redis_requests();
}

}  // namespace petrel::cluster::metrics
