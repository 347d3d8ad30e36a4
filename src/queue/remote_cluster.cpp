// A path's rates and connection limit: each kept here (its throttle, its
// count of connections), or, with scope = "cluster", shared with the
// other nodes through the Redis of [cluster] (src/cluster/,
// docs/cluster.md). The pump and the connections ask these, never the
// throttles directly.
#include "queue/remote_internal.hpp"

#include <boost/asio/post.hpp>

namespace petrel::queue {

using Kind = cluster::Cluster::Kind;

void RemoteQueue::Impl::start_cluster() {
  if (!options.cluster) return;
  // The heartbeat's "queue": the remote jobs this node holds (waiting in
  // ready queues), asked on this thread.
  if (!options.cluster->queue_size) {
    options.cluster->queue_size = [this] {
      std::size_t n = 0;
      for (const auto& [name, site] : sites) n += site->ready_count + site->connections;
      return n;
    };
  }
  cluster = std::make_unique<cluster::Cluster>(io, *options.cluster);
  // Cells or a lease came (or the node fell back to its share): the
  // site's jobs may go.
  cluster->on_ready([this](const std::string& name) {
    if (auto found = sites.find(name); found != sites.end()) pump(*found->second);
  });
  boost::asio::post(io, [this] { cluster->start(); });
}

std::chrono::nanoseconds RemoteQueue::Impl::message_wait(Site& site, detail::Path& p, Clock::time_point now) {
  if (!cluster || !p.limits.cluster.max_message_rate) return p.message_rate.wait(now);
  return cluster->wait(Kind::message, site.name, p.shared_message_source, p.limits.max_message_rate,
                       std::max<std::size_t>(1, site.ready_count), now);
}

bool RemoteQueue::Impl::take_message(Site& site, detail::Path& p, Clock::time_point now) {
  if (!cluster || !p.limits.cluster.max_message_rate) return p.message_rate.acquire(now).count() == 0;
  return cluster->take(Kind::message, site.name, p.shared_message_source, p.limits.max_message_rate, now);
}

std::chrono::nanoseconds RemoteQueue::Impl::connection_wait(Site& site, detail::Path& p, Clock::time_point now) {
  if (!cluster || !p.limits.cluster.max_connection_rate) return p.connection_rate.wait(now);
  return cluster->wait(Kind::connection, site.name, p.shared_connection_source, p.limits.max_connection_rate, 1, now);
}

void RemoteQueue::Impl::take_connection(Site& site, detail::Path& p, Clock::time_point now) {
  if (cluster && p.limits.cluster.connection_limit) cluster->connected(site.name, p.shared_limit_source);
  if (!cluster || !p.limits.cluster.max_connection_rate) {
    p.connection_rate.acquire(now);
    return;
  }
  cluster->take(Kind::connection, site.name, p.shared_connection_source, p.limits.max_connection_rate, now);
}

// The path's own limit was checked by the caller; a shared one needs a
// lease from Redis as well.
bool RemoteQueue::Impl::connection_free(Site& site, detail::Path& p, Clock::time_point now) {
  if (!cluster || !p.limits.cluster.connection_limit) return true;
  return cluster->may_connect(site.name, p.shared_limit_source, p.limits.connection_limit, now);
}

void RemoteQueue::Impl::connection_ended(Site& site, detail::Path& p) {
  if (cluster && p.limits.cluster.connection_limit) cluster->disconnected(site.name, p.shared_limit_source);
}

}  // namespace petrel::queue
