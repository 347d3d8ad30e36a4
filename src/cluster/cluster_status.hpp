// What `petrel cluster status` shows, without I/O: the nodes whose
// heartbeat Redis still holds (the heartbeat is written by cluster.cpp:
// petrel:node:<name>, a JSON object with a TTL, and petrel:nodes, the
// names scored by when they last beat on Redis' clock), and the health
// of the node's other links (NATS), which their components report here.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace petrel::cluster {

inline constexpr std::string_view kNodesKey = "petrel:nodes";
inline constexpr std::string_view kNodeKeyPrefix = "petrel:node:";

// One row per node still alive: {"name", "age_ms", "self", "heartbeat":
// the node's JSON}. `seen`: names with the time (ms, Redis' clock) of
// their last heartbeat; `beats`: GET petrel:node:<name> for each (nullopt
// once its TTL ran out: the node is gone). Sorted by name.
nlohmann::json node_rows(std::int64_t redis_now_ms, const std::vector<std::pair<std::string, std::int64_t>>& seen,
                         const std::vector<std::optional<std::string>>& beats, std::string_view self);

// A link's health, as its component reports it when cluster status asks:
// e.g. "nats" -> {"url": ..., "connected": true, "detail": "3 events not
// acked"}. health() calls them all. Register before the node serves, and
// clear (nullptr) before the component goes. Any thread.
void set_health_source(const std::string& link, std::function<nlohmann::json()> source);
nlohmann::json health();

}  // namespace petrel::cluster
