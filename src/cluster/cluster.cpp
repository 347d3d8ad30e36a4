// The cluster's shared limits, heartbeat and fallback (docs/cluster.md).
#include "cluster/cluster.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <ctime>

#include "cluster/cluster_metrics.hpp"
#include "cluster/scripts.hpp"

namespace petrel::cluster {
namespace asio = boost::asio;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;

namespace {

constexpr std::string_view kPrefix = "petrel:";
// Unused pools and lease books are forgotten after this long.
constexpr auto kIdle = std::chrono::minutes(10);
// A lease refused (the limit is reached cluster-wide) is asked for again after this.
constexpr milliseconds kLeaseRetry{250};

std::int64_t unix_ms() {
  return std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string kind_name(Cluster::Kind kind) { return kind == Cluster::Kind::message ? "msg" : "conn"; }

}  // namespace

Cluster::Cluster(asio::io_context& io, ClusterOptions options)
    : io_(io),
      options_(std::move(options)),
      redis_(io, options_.redis),
      gcra_(std::string(scripts::kGcra)),
      lease_acquire_(std::string(scripts::kLeaseAcquire)),
      lease_renew_(std::string(scripts::kLeaseRenew)),
      heartbeat_(std::string(scripts::kHeartbeat)),
      timer_(io) {
  metrics::register_all();
  redis_.on_state([this](bool up) {
    if (up) heartbeat();  // rejoins at once when Redis answers
  });
}

Cluster::~Cluster() { *alive_ = false; }

void Cluster::start() {
  redis_.start();
  tick();
}

std::string Cluster::key_of(const std::string& site, const std::string& source) {
  return source.empty() ? site : site + "|" + source;
}

Cluster::Shared& Cluster::shared(Kind kind, const std::string& site, const std::string& source) {
  auto [it, added] = shared_.try_emplace(kind_name(kind) + ":" + key_of(site, source));
  if (added) it->second.site = site;
  return it->second;
}

shaping::Throttle& Cluster::local(Shared& s, shaping::Rate rate) {
  const shaping::Rate share = fallback_share(rate, live_nodes_);
  if (!(share == s.local_rate)) {
    s.local_rate = share;
    s.local = shaping::Throttle(share);
  }
  return s.local;
}

constexpr nanoseconds kInFlightPoll = std::chrono::milliseconds(2);

nanoseconds Cluster::wait(Kind kind, const std::string& site, const std::string& source, shaping::Rate rate,
                          std::size_t wanted, Clock::time_point now) {
  if (rate.unlimited()) return nanoseconds(0);
  Shared& s = shared(kind, site, source);
  s.rate = rate;
  s.pool.touch(now);
  if (fallback_) return local(s, rate).wait(now);
  ask(kind, key_of(site, source), s, rate, wanted, now);
  const nanoseconds w = s.pool.wait(now);
  if (w != TokenPool::kNoCell) return w;
  // None held. Asked: look again shortly (a connection paced between
  // messages sleeps this long; the answer comes in about a round trip,
  // and a failed one is over within redis_timeout). Told to wait (none
  // within the horizon): until then, when the next caller asks again.
  if (s.pool.in_flight()) return std::min<nanoseconds>(kInFlightPoll, options_.redis.timeout);
  return std::max<nanoseconds>(s.pool.until_ask(now), std::chrono::milliseconds(1));
}

bool Cluster::take(Kind kind, const std::string& site, const std::string& source, shaping::Rate rate,
                   Clock::time_point now) {
  if (rate.unlimited()) return true;
  Shared& s = shared(kind, site, source);
  if (fallback_) return local(s, rate).acquire(now).count() == 0;
  const bool taken = s.pool.take(now);
  ask(kind, key_of(site, source), s, rate, 1, now);
  return taken;
}

// Asks Redis for a batch of cells when the pool runs low.
void Cluster::ask(Kind kind, const std::string& key, Shared& s, shaping::Rate rate, std::size_t wanted,
                  Clock::time_point now) {
  const GcraRequest r = gcra_request(rate, options_.token_batch, wanted);
  if (!s.pool.should_ask(now, std::chrono::microseconds(r.horizon_us / 2), r.wanted)) return;
  s.pool.asked();
  const std::string name = kind_name(kind) + ":" + key;
  std::weak_ptr<bool> alive = alive_;
  redis_.eval(gcra_, {std::string(kPrefix) + "gcra:" + name},
              {std::to_string(r.interval_us), std::to_string(r.tolerance_us), std::to_string(r.wanted),
               std::to_string(r.horizon_us)},
              "rate", [this, alive, name](const RedisReply& reply) {
                if (alive.expired()) return;
                auto it = shared_.find(name);
                if (it == shared_.end()) return;
                Shared& s = it->second;
                const auto now = Clock::now();
                if (reply.failed() || reply.elements.size() != 3) {
                  s.pool.failed(now, milliseconds(100));
                  fall_back(reply.failed() ? reply.text : "unexpected answer to the rate script");
                } else {
                  s.pool.granted({reply.elements[0].integer, reply.elements[1].integer, reply.elements[2].integer},
                                 now);
                }
                wake(s.site);
              });
}

bool Cluster::may_connect(const std::string& site, const std::string& source, std::size_t limit,
                          Clock::time_point now) {
  const std::string key = key_of(site, source);
  auto [it, added] = leases_.try_emplace(key, Leases{site, LeaseBook(options_.node_name), 0});
  Leases& l = it->second;
  l.limit = limit;
  if (fallback_) return l.open < fallback_share(limit, live_nodes_);
  if (l.book.spare(l.open)) return true;
  if (l.book.may_ask(now)) ask_lease(key, l, limit);
  return false;
}

void Cluster::ask_lease(const std::string& key, Leases& l, std::size_t limit) {
  const std::string id = l.book.ask();
  std::weak_ptr<bool> alive = alive_;
  redis_.eval(lease_acquire_, {std::string(kPrefix) + "lease:" + key},
              {id, std::to_string(limit), std::to_string(options_.lease_ttl.count())}, "lease",
              [this, alive, key, id](const RedisReply& reply) {
                if (alive.expired()) return;
                auto it = leases_.find(key);
                if (it == leases_.end()) return;
                Leases& l = it->second;
                if (reply.failed()) {
                  l.book.refused(Clock::now(), milliseconds(100));
                  fall_back(reply.text);
                  return wake(l.site);
                }
                if (reply.integer == 1) {
                  l.book.acquired(id);
                  return wake(l.site);
                }
                l.book.refused(Clock::now(), kLeaseRetry);  // full: try again soon
                wake_after(l.site, kLeaseRetry);
              });
}

void Cluster::connected(const std::string& site, const std::string& source) {
  auto it = leases_.find(key_of(site, source));
  if (it != leases_.end()) ++it->second.open;
}

void Cluster::disconnected(const std::string& site, const std::string& source) {
  const std::string key = key_of(site, source);
  auto it = leases_.find(key);
  if (it == leases_.end()) return;
  Leases& l = it->second;
  // Its lease stays held, spare, for the next connection: given back at
  // the next tick if none has taken it (a round trip saved per connection).
  if (l.open > 0) --l.open;
}

void Cluster::wake(const std::string& site) {
  if (ready_) ready_(site);
}

void Cluster::wake_after(const std::string& site, milliseconds delay) {
  auto timer = std::make_shared<asio::steady_timer>(io_, delay);
  std::weak_ptr<bool> alive = alive_;
  timer->async_wait([this, alive, timer, site](const boost::system::error_code& ec) {
    if (!ec && !alive.expired()) wake(site);
  });
}

void Cluster::tick() {
  heartbeat();
  release_spare_leases();
  const auto now = Clock::now();
  if (now >= next_renewal_) {
    renew_leases();
    next_renewal_ = now + options_.lease_ttl / 3;
  }
  std::erase_if(shared_, [&](auto& entry) {
    return !entry.second.pool.in_flight() && now - entry.second.pool.last_used() > kIdle;
  });
  std::erase_if(leases_, [](auto& entry) {
    return entry.second.open == 0 && entry.second.book.held().empty() && !entry.second.book.pending();
  });
  timer_.expires_after(options_.heartbeat_interval);
  std::weak_ptr<bool> alive = alive_;
  timer_.async_wait([this, alive](const boost::system::error_code& ec) {
    if (!ec && !alive.expired()) tick();
  });
}

void Cluster::heartbeat() {
  nlohmann::json beat = {{"node", options_.node_name},
                         {"version", options_.version},
                         {"heartbeat_ms", unix_ms()},
                         {"queue", options_.queue_size ? options_.queue_size() : 0},
                         {"fallback", fallback_},
                         {"live_nodes", live_nodes_},
                         {"limits", limits_in_use()}};
  std::weak_ptr<bool> alive = alive_;
  redis_.eval(heartbeat_, {std::string(kPrefix) + "node:" + options_.node_name, std::string(kPrefix) + "nodes"},
              {options_.node_name, beat.dump(), std::to_string(options_.heartbeat_ttl.count())}, "heartbeat",
              [this, alive](const RedisReply& reply) {
                if (alive.expired()) return;
                if (reply.failed() || reply.type != RedisReply::Type::integer) {
                  return fall_back(reply.failed() ? reply.text : "unexpected answer to the heartbeat");
                }
                live_nodes_ = static_cast<std::size_t>(std::max<std::int64_t>(1, reply.integer));
                metrics::live_nodes()().set(static_cast<double>(live_nodes_));
                rejoin();
              });
}

// The cluster limits this node has used lately, each with the share it
// keeps to itself while Redis is away (petrel cluster status shows them):
// {"site", "source" (when per source), "kind", "limit", "share"}. At most
// kMaxLimitsShown, so that the heartbeat stays small with many sites.
nlohmann::json Cluster::limits_in_use() const {
  constexpr std::size_t kMaxLimitsShown = 32;
  nlohmann::json out = nlohmann::json::array();
  // `key` is key_of(site, source): the site's name (which may hold '|'
  // itself), then "|SOURCE" for a limit set per source.
  auto row = [&out](std::string_view key, const std::string& site, std::string kind, std::string limit,
                    std::string share) {
    if (out.size() == kMaxLimitsShown) return;
    nlohmann::json r = {{"site", site}, {"kind", std::move(kind)}, {"limit", std::move(limit)}, {"share", std::move(share)}};
    if (key.size() > site.size() + 1) r["source"] = std::string(key.substr(site.size() + 1));
    out.push_back(std::move(r));
  };
  for (const auto& [name, s] : shared_) {
    if (s.rate.unlimited()) continue;
    const bool message = name.starts_with(kind_name(Kind::message) + ":");
    const std::string_view key = std::string_view(name).substr(name.find(':') + 1);  // after "msg:" / "conn:"
    row(key, s.site, message ? "max_message_rate" : "max_connection_rate", shaping::to_string(s.rate),
        shaping::to_string(fallback_share(s.rate, live_nodes_)));
  }
  for (const auto& [key, l] : leases_) {
    if (l.limit == 0) continue;
    row(key, l.site, "connection_limit", std::to_string(l.limit), std::to_string(fallback_share(l.limit, live_nodes_)));
  }
  return out;
}

// Leases held and not used by a connection since the last tick are given
// back (ZREM, one request per limit).
void Cluster::release_spare_leases() {
  for (auto& [key, l] : leases_) {
    const std::size_t spare = l.book.held().size() > l.open ? l.book.held().size() - l.open : 0;
    const std::size_t idle = std::min(spare, l.spare_since_tick);
    l.spare_since_tick = spare - idle;
    if (idle == 0) continue;
    std::vector<std::string> args{"ZREM", std::string(kPrefix) + "lease:" + key};
    for (std::size_t i = 0; i < idle; ++i) args.push_back(l.book.release());
    if (!fallback_) redis_.command(std::move(args), "lease", [](const RedisReply&) {});
  }
}

// Every lease held is renewed (re-added after a fallback: Redis may have
// let it expire meanwhile), one request per limit.
void Cluster::renew_leases() {
  if (fallback_) return;
  for (auto& [key, l] : leases_) {
    if (l.book.held().empty()) continue;
    std::vector<std::string> args{std::to_string(options_.lease_ttl.count())};
    args.insert(args.end(), l.book.held().begin(), l.book.held().end());
    redis_.eval(lease_renew_, {std::string(kPrefix) + "lease:" + key}, std::move(args), "lease",
                [](const RedisReply&) {});
  }
}

void Cluster::fall_back(const std::string& why) {
  if (fallback_) return;
  fallback_ = true;
  metrics::fallback()().set(1);
  metrics::fallbacks()().inc();
  spdlog::warn("cluster: Redis unreachable or slow ({}): each cluster limit falls back to this node's share, 1/{}",
               why, live_nodes_);
  for (auto& [key, s] : shared_) wake(s.site);
}

void Cluster::rejoin() {
  if (!fallback_) return;
  fallback_ = false;
  metrics::fallback()().set(0);
  spdlog::info("cluster: Redis answers again: the cluster limits are shared again ({} live nodes)", live_nodes_);
  next_renewal_ = {};  // leases are re-added at the next tick
  for (auto& [key, s] : shared_) {
    s.local_rate = {};
    wake(s.site);
  }
}

}  // namespace petrel::cluster
