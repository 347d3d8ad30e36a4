// [cluster]: what several nodes share (docs/cluster.md): the node's name
// and where its events go (NATS JetStream).
#include <algorithm>

#include "config/reading.hpp"

namespace petrel::config::detail {
namespace {

bool valid_node_name(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.';
  });
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
       c.cluster.node_name = read_string(f, f.value, valid_node_name, "a name of letters, digits, '-', '_' and '.'");
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
  if (k.nats_tls_cert.empty() != k.nats_tls_key.empty()) {
    fail("[cluster] nats_tls_cert and nats_tls_key go together (a client certificate and its key)");
  }
}

}  // namespace petrel::config::detail
