// This node's link to the cluster's Redis for what is not delivery: the
// shared suppression list (suppress_sync.hpp) and the answers to `petrel
// cluster status` (every node's heartbeat). Its own thread and io_context,
// so neither a slow Redis nor a long resync ever touches the threads that
// serve SMTP, HTTP or deliveries.
#pragma once

#include <utility>  // Boost 1.74's Asio needs std::exchange declared first

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "cluster/redis_client.hpp"
#include "cluster/suppress_sync.hpp"

namespace petrel::spool {
class Spool;
}

namespace petrel::cluster {

struct NodeLinkOptions {
  std::string node_name;
  RedisOptions redis;
  std::optional<SuppressSyncOptions> suppression;  // nullopt: the list stays this node's own
};

class NodeLink {
 public:
  NodeLink(NodeLinkOptions options, spool::Spool& spool);
  ~NodeLink();  // stops the thread
  NodeLink(const NodeLink&) = delete;
  NodeLink& operator=(const NodeLink&) = delete;

  void start();
  void stop();
  // The SuppressionList's change observer (any thread).
  void local_changes(const std::vector<suppress::Change>& changes);
  // What `petrel cluster status` shows (cluster_status.hpp): from any
  // thread, waiting at most `timeout` for Redis.
  nlohmann::json status(std::chrono::milliseconds timeout);

 private:
  NodeLinkOptions options_;
  boost::asio::io_context io_;  // first: outlives the clients and the sync
  RedisClient writer_;
  std::unique_ptr<RedisClient> reader_;  // only for the suppression list
  std::unique_ptr<SuppressSync> sync_;
  std::thread thread_;
};

}  // namespace petrel::cluster
