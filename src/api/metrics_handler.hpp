// GET /metrics (docs/metrics.md): the Prometheus text of every family in
// metrics::registry(), plus what is computed at each scrape: the queue by
// state, connections per site, the spool's size on disk.
#pragma once

#include <cstddef>
#include <string>

#include "http/message.hpp"

namespace petrel::queue {
class QueueManager;
}

namespace petrel::api {

class MetricsCollector {
 public:
  // Registers the scrape-time families; max_sites as [http] metrics_max_sites.
  MetricsCollector(queue::QueueManager& queue, std::string spool_dir, std::size_t max_sites);
  ~MetricsCollector();
  MetricsCollector(const MetricsCollector&) = delete;
  MetricsCollector& operator=(const MetricsCollector&) = delete;

 private:
  std::size_t handle_;
};

http::Response metrics_response();

}  // namespace petrel::api
