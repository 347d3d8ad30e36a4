// [cluster]: what several nodes share (docs/cluster.md): the node's name,
// the Redis that keeps the limits with scope = "cluster", and where its
// events go (NATS JetStream). docs/config.md.
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

// One server of a NATS URL list: nats://[USER[:PASSWORD]@]HOST[:PORT], or
// tls://. libnats parses it; this only catches what is surely wrong.
bool valid_nats_server(std::string_view s) {
  std::string_view rest;
  if (s.starts_with("nats://")) {
    rest = s.substr(7);
  } else if (s.starts_with("tls://")) {
    rest = s.substr(6);
  } else {
    return false;
  }
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) rest = rest.substr(at + 1);
  return !rest.empty() && rest.find_first_of(" \t\r\n/\"") == std::string_view::npos;
}

bool valid_nats_urls(std::string_view s) {
  if (s.empty()) return false;
  for (std::size_t from = 0; from <= s.size();) {
    const auto comma = std::min(s.find(',', from), s.size());
    if (!valid_nats_server(s.substr(from, comma - from))) return false;
    from = comma + 1;
  }
  return true;
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
    {"redis_tls_ca", [](const Field& f, Config& c) { c.cluster.redis_tls_ca = read_path(f); }},
    {"redis_tls_cert", [](const Field& f, Config& c) { c.cluster.redis_tls_cert = read_path(f); }},
    {"redis_tls_key", [](const Field& f, Config& c) { c.cluster.redis_tls_key = read_path(f); }},
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
    {"nats",
     [](const Field& f, Config& c) {
       c.cluster.nats = read_string(f, f.value, valid_nats_urls,
                                    "a NATS URL such as \"nats://127.0.0.1:4222\" (nats:// or tls://, several "
                                    "separated by commas)");
     }},
    {"nats_creds", [](const Field& f, Config& c) { c.cluster.nats_creds = read_path(f); }},
    {"nats_token", [](const Field& f, Config& c) { c.cluster.nats_token = read_string(f, f.value, non_empty, "a token"); }},
    {"nats_tls_ca", [](const Field& f, Config& c) { c.cluster.nats_tls_ca = read_path(f); }},
    {"nats_tls_cert", [](const Field& f, Config& c) { c.cluster.nats_tls_cert = read_path(f); }},
    {"nats_tls_key", [](const Field& f, Config& c) { c.cluster.nats_tls_key = read_path(f); }},
    {"nats_max_in_flight", [](const Field& f, Config& c) { c.cluster.nats_max_in_flight = read_count(f, 1, 65536); }},
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
  const auto fail = [&](const std::string& message) { throw ConfigError(name, 0, message); };
  const ClusterConfig& k = c.cluster;
  if (k.nats.empty()) {
    for (const auto& [key, value] : {std::pair{"nats_creds", &k.nats_creds}, {"nats_token", &k.nats_token},
                                     {"nats_tls_ca", &k.nats_tls_ca}, {"nats_tls_cert", &k.nats_tls_cert},
                                     {"nats_tls_key", &k.nats_tls_key}}) {
      if (!value->empty()) fail(std::string("[cluster] ") + key + " is set but nats is not");
    }
  }
  if (!k.redis_tls_ca.empty() || !k.redis_tls_cert.empty() || !k.redis_tls_key.empty()) {
    if (!k.redis.starts_with("rediss://")) fail("[cluster] redis_tls_* are set but redis is not a rediss:// URL");
  }
  if (k.redis_tls_cert.empty() != k.redis_tls_key.empty()) {
    fail("[cluster] redis_tls_cert and redis_tls_key go together (a client certificate and its key)");
  }
  if (k.nats_tls_cert.empty() != k.nats_tls_key.empty()) {
    fail("[cluster] nats_tls_cert and nats_tls_key go together (a client certificate and its key)");
  }
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
