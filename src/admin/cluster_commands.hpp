// The admin channel's cluster request (petrel cluster status):
//   {"command": "cluster-status"}
// answered by petreld from Redis (every node's heartbeat) and its own
// links, so the CLI needs no Redis credentials. docs/admin.md has the
// protocol, docs/cluster.md what the fields mean.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <optional>

namespace petrel::admin {

// Process-wide, set by petreld when it runs with [cluster] (nullptr: not
// in a cluster). Called on the admin channel's thread; it may wait for
// Redis, briefly.
using ClusterStatus = std::function<nlohmann::json()>;
void set_cluster_status(ClusterStatus status);

// The reply to a cluster-* request; nullopt for any other command.
std::optional<nlohmann::json> handle_cluster(const nlohmann::json& request);

}  // namespace petrel::admin
