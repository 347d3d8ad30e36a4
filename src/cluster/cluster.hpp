// A node's membership of a cluster (docs/cluster.md): the limits with
// scope = "cluster" kept in Redis (one GCRA per site, or per site and
// source when a source's block sets the limit; connection leases with a
// TTL), the node's heartbeat, and the fallback to a local share of each
// limit while Redis is away. Runs on the io_context of the delivery
// thread, which calls it; nothing here blocks.
#pragma once

#include <utility>  // Boost 1.74's Asio needs std::exchange declared first

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json_fwd.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "cluster/accounting.hpp"
#include "cluster/redis_client.hpp"
#include "shaping/shaping.hpp"

namespace petrel::cluster {

struct ClusterOptions {
  std::string node_name;
  RedisOptions redis;
  std::size_t token_batch = 20;  // cells asked for at a time
  std::chrono::milliseconds heartbeat_interval{1000};
  std::chrono::milliseconds heartbeat_ttl{5000};
  std::chrono::milliseconds lease_ttl{10000};
  std::string version;
  std::function<std::size_t()> queue_size;  // for the heartbeat (any thread may be asked)
};

class Cluster {
 public:
  enum class Kind { message, connection };  // max_message_rate, max_connection_rate

  Cluster(boost::asio::io_context& io, ClusterOptions options);
  ~Cluster();
  void start();

  // A rate the cluster shares: `source` "" for the site's, else the
  // source's own. wait(): 0 if a cell may be spent now, else how long
  // until one may (asking Redis for more when few are held; `wanted`: the
  // jobs that wait). take(): spends one.
  std::chrono::nanoseconds wait(Kind kind, const std::string& site, const std::string& source, shaping::Rate rate,
                                std::size_t wanted, Clock::time_point now);
  bool take(Kind kind, const std::string& site, const std::string& source, shaping::Rate rate, Clock::time_point now);

  // connection_limit shared by the cluster: whether one more connection
  // may open now (a lease is held for it; else one is asked for, and
  // on_ready says when it came). connected()/disconnected() as they open and end.
  bool may_connect(const std::string& site, const std::string& source, std::size_t limit, Clock::time_point now);
  void connected(const std::string& site, const std::string& source);
  void disconnected(const std::string& site, const std::string& source);

  // Cells or a lease came for a site (or the node fell back): pump it.
  void on_ready(std::function<void(const std::string& site)> f) { ready_ = std::move(f); }

  bool fallback() const { return fallback_; }
  std::size_t live_nodes() const { return live_nodes_; }
  std::uint64_t round_trips() const { return redis_.round_trips(); }

 private:
  struct Shared {
    std::string site;
    shaping::Rate rate;  // the whole limit, as last asked for (the heartbeat shows it)
    TokenPool pool;
    shaping::Rate local_rate;   // the fallback share its local throttle was made for
    shaping::Throttle local;
  };
  struct Leases {
    std::string site;
    LeaseBook book;
    std::size_t open = 0;
    std::size_t limit = 0;  // the whole connection_limit, as last asked for
    std::size_t spare_since_tick = 0;  // leases spare at the last tick
  };
  static std::string key_of(const std::string& site, const std::string& source);
  Shared& shared(Kind kind, const std::string& site, const std::string& source);
  shaping::Throttle& local(Shared& s, shaping::Rate rate);
  void ask(Kind kind, const std::string& key, Shared& s, shaping::Rate rate, std::size_t wanted, Clock::time_point now);
  void ask_lease(const std::string& key, Leases& l, std::size_t limit);
  void wake(const std::string& site);
  void wake_after(const std::string& site, std::chrono::milliseconds delay);
  void tick();
  void heartbeat();
  nlohmann::json limits_in_use() const;  // for the heartbeat
  void renew_leases();
  void release_spare_leases();
  void fall_back(const std::string& why);
  void rejoin();

  boost::asio::io_context& io_;
  ClusterOptions options_;
  RedisClient redis_;
  RedisScript gcra_, lease_acquire_, lease_renew_, heartbeat_;
  std::map<std::string, Shared> shared_;  // by "msg:KEY" / "conn:KEY"
  std::map<std::string, Leases> leases_;  // by KEY
  bool fallback_ = false;
  std::size_t live_nodes_ = 1;
  Clock::time_point next_renewal_{};
  boost::asio::steady_timer timer_;
  std::function<void(const std::string&)> ready_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // for callbacks that outlive it
};

}  // namespace petrel::cluster
