// The NATS publisher's metrics (docs/metrics.md), made and registered on
// first use; register_nats_metrics() lists them all at once.
#pragma once

#include "metrics/metrics.hpp"

namespace petrel::nats {

metrics::Gauge& connected_gauge();            // petrel_nats_connected: 1 connected, 0 not
metrics::Gauge& pending_gauge();              // petrel_nats_pending_events: in the outbox, not acked by JetStream
metrics::Counter& published_counter();        // petrel_nats_published_total: events acked by JetStream
metrics::Counter& publish_errors_counter();   // petrel_nats_publish_errors_total: events a try did not get acked
void register_nats_metrics();

}  // namespace petrel::nats
