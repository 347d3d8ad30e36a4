#include "api/metrics_handler.hpp"

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <vector>

#include "metrics/metrics.hpp"
#include "queue/queue_manager.hpp"

namespace petrel::api {
namespace {

using metrics::Exposition;
using metrics::Type;

// The spool's files (RocksDB's tables, logs and manifest), in octets.
double directory_bytes(const std::string& dir) {
  std::error_code ec;
  double total = 0;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code size_ec;
    if (it->is_regular_file(size_ec)) {
      const auto size = it->file_size(size_ec);
      if (!size_ec) total += static_cast<double>(size);
    }
  }
  return total;
}

void queue_families(Exposition& out, const queue::QueueStats& stats, const std::vector<queue::SiteView>& sites) {
  std::size_t ready = 0;
  for (const auto& s : sites) ready += s.ready;
  const std::size_t scheduled = stats.scheduled - std::min(stats.scheduled, stats.parked);
  out.family("petrel_queue_messages",
             "Messages in the queue by state: scheduled (waiting for their next attempt), ready (in a site's "
             "ready queue), in_flight (being attempted), held (by an operator), suspended (their campaign or tenant is).",
             Type::gauge);
  out.sample("petrel_queue_messages", {{"state", "scheduled"}}, static_cast<double>(scheduled));
  out.sample("petrel_queue_messages", {{"state", "ready"}}, static_cast<double>(ready));
  out.sample("petrel_queue_messages", {{"state", "in_flight"}},
             static_cast<double>(stats.active - std::min(stats.active, ready)));
  out.sample("petrel_queue_messages", {{"state", "held"}}, static_cast<double>(stats.held));
  out.sample("petrel_queue_messages", {{"state", "suspended"}}, static_cast<double>(stats.parked));
}

// The busiest max_sites sites by name, the others summed as "other".
void site_families(Exposition& out, std::vector<queue::SiteView> sites, std::size_t max_sites) {
  out.family("petrel_site_connections", "SMTP connections open now to each site (\"other\": the sites past the cap).",
             Type::gauge);
  std::sort(sites.begin(), sites.end(), [](const auto& a, const auto& b) {
    return a.connections != b.connections ? a.connections > b.connections : a.site < b.site;
  });
  double other = 0;
  for (std::size_t i = 0; i < sites.size(); ++i) {
    if (i < max_sites) {
      out.sample("petrel_site_connections", {{"site", sites[i].site}}, static_cast<double>(sites[i].connections));
    } else {
      other += static_cast<double>(sites[i].connections);
    }
  }
  if (sites.size() > max_sites) out.sample("petrel_site_connections", {{"site", "other"}}, other);
}

}  // namespace

MetricsCollector::MetricsCollector(queue::QueueManager& queue, std::string spool_dir, std::size_t max_sites) {
  handle_ = metrics::registry().add_collector([&queue, spool_dir = std::move(spool_dir), max_sites](Exposition& out) {
    const auto stats = queue.stats();
    const auto sites = queue.sites();
    queue_families(out, stats, sites);
    site_families(out, sites, max_sites);
    out.family("petrel_spool_bytes", "Octets the spool's files take on disk.", Type::gauge);
    out.sample("petrel_spool_bytes", {}, directory_bytes(spool_dir));
  });
}

MetricsCollector::~MetricsCollector() { metrics::registry().remove_collector(handle_); }

http::Response metrics_response() {
  http::Response r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = metrics::registry().expose();
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

}  // namespace petrel::api
