// [cluster]: this node's name, and the Redis that keeps the limits with
// scope = "cluster" (docs/cluster.md). docs/config.md.
#include <algorithm>

#include "cluster/redis_url.hpp"
#include "config/reading.hpp"

namespace petrel::config::detail {
namespace {

// A node's name goes into Redis keys and lease ids: no spaces, no ':'.
bool valid_node_name(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.';
  });
}

bool valid_redis_url(std::string_view s) {
  std::string error;
  return cluster::parse_redis_url(s, error).has_value();
}

std::chrono::milliseconds read_positive(const Field& f, std::chrono::milliseconds min, std::string_view expected) {
  const auto d = read_duration(f, f.value);
  if (d < min) f.fail(expected);
  return d;
}

const Key kClusterKeys[] = {
    {"node_name",
     [](const Field& f, Config& c) {
       c.cluster.node_name = read_string(f, f.value, valid_node_name, "a name of letters, digits, '-', '_' or '.'");
     }},
    {"redis",
     [](const Field& f, Config& c) {
       auto s = f.value.as_string();
       if (!s) f.fail("a URL such as \"redis://127.0.0.1:6379\"");
       std::string error;
       if (!cluster::parse_redis_url(s->get(), error)) f.fail(error);
       c.cluster.redis = read_string(f, f.value, valid_redis_url, "a URL such as \"redis://127.0.0.1:6379\"");
     }},
    {"redis_password", [](const Field& f, Config& c) { c.cluster.redis_password = read_string(f, f.value, non_empty, "a password"); }},
    {"redis_timeout",
     [](const Field& f, Config& c) {
       c.cluster.redis_timeout = read_positive(f, std::chrono::milliseconds(10), "a duration of at least 10ms");
     }},
    {"token_batch", [](const Field& f, Config& c) { c.cluster.token_batch = read_count(f, 1, 1000); }},
    {"heartbeat_interval",
     [](const Field& f, Config& c) {
       c.cluster.heartbeat_interval = read_positive(f, std::chrono::milliseconds(100), "a duration of at least 100ms");
     }},
    {"heartbeat_ttl",
     [](const Field& f, Config& c) {
       c.cluster.heartbeat_ttl = read_positive(f, std::chrono::milliseconds(500), "a duration of at least 500ms");
     }},
    {"shared_suppression", [](const Field& f, Config& c) { c.cluster.shared_suppression = read_bool(f); }},
    {"shared_suppression_log_length",
     [](const Field& f, Config& c) { c.cluster.shared_suppression_log_length = read_count(f, 1000, 100000000); }},
    {"shared_suppression_queue",
     [](const Field& f, Config& c) { c.cluster.shared_suppression_queue = read_count(f, 1, 10000000); }},
    {"lease_ttl",
     [](const Field& f, Config& c) {
       c.cluster.lease_ttl = read_positive(f, std::chrono::seconds(1), "a duration of at least 1s");
     }},
};

bool any_cluster_scope(const shaping::Limits& l) { return !(l.cluster == shaping::ClusterScope{}); }

// The first shaping block with scope = "cluster", for the error that
// says Redis is missing.
std::string cluster_scoped_block(const shaping::Config& s) {
  if (any_cluster_scope(s.defaults)) return "[shaping.default]";
  for (const auto& [name, l] : s.domains) {
    if (any_cluster_scope(l)) return "[shaping.domain.\"" + name + "\"]";
  }
  for (const auto& p : s.providers) {
    if (any_cluster_scope(p.limits)) return "[shaping.provider." + p.name + "]";
  }
  for (const auto& [name, l] : s.sources) {
    if (any_cluster_scope(l)) return "[shaping.source.\"" + name + "\"]";
  }
  return "";
}

}  // namespace

std::span<const Key> cluster_keys() { return kClusterKeys; }

void validate_cluster(const Config& c, const std::string& name) {
  const std::string block = cluster_scoped_block(c.shaping);
  if (!block.empty() && c.cluster.redis.empty()) {
    throw ConfigError(name, 0,
                      block + " has scope = \"cluster\", which needs Redis: set [cluster] redis = "
                              "\"redis://HOST:PORT\"");
  }
  if (c.cluster.shared_suppression.value_or(false) && c.cluster.redis.empty()) {
    throw ConfigError(name, 0, "[cluster] shared_suppression = true needs Redis: set [cluster] redis = \"redis://HOST:PORT\"");
  }
  if (c.cluster.heartbeat_ttl <= c.cluster.heartbeat_interval) {
    throw ConfigError(name, 0, "[cluster] heartbeat_ttl must be longer than heartbeat_interval");
  }
}

}  // namespace petrel::config::detail
