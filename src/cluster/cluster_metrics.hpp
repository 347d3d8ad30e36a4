// The metrics of the cluster component (docs/metrics.md), registered on
// first use.
#pragma once

#include "metrics/metrics.hpp"

namespace petrel::cluster::metrics {

using petrel::metrics::Counter;
using petrel::metrics::Family;
using petrel::metrics::Gauge;

Family<Counter>& redis_round_trips();  // petrel_redis_round_trips_total
Family<Counter>& redis_requests();     // petrel_redis_requests_total {purpose, result}
Family<Gauge>& fallback();             // petrel_cluster_fallback (0/1)
Family<Counter>& fallbacks();          // petrel_cluster_fallbacks_total
Family<Gauge>& live_nodes();           // petrel_cluster_live_nodes
void register_all();

}  // namespace petrel::cluster::metrics
