// Which limits a site gets: the levels of [shaping] overlaid in order, and
// the provider a set of MX hosts belongs to.
#include <algorithm>

#include "shaping/host_name.hpp"
#include "shaping/shaping.hpp"

namespace petrel::shaping {
namespace {

using detail::normalize_host;

template <typename T>
void take(std::optional<T>& into, const std::optional<T>& over) {
  if (over) into = over;
}

template <typename T>
void take(T& into, const std::optional<T>& over) {
  if (over) into = *over;
}

// A suffix with a leading dot (".yahoodns.net") is matched as written; one
// without ("yahoodns.net") matches that name and the names under it, never
// "notyahoodns.net".
bool ends_with_suffix(std::string_view host, std::string_view suffix) {
  if (suffix.empty()) return false;
  if (suffix.front() == '.') return host.size() > suffix.size() && host.ends_with(suffix);
  if (host == suffix) return true;
  return host.size() > suffix.size() && host.ends_with(suffix) && host[host.size() - suffix.size() - 1] == '.';
}

bool belongs_to(const Provider& provider, const std::vector<std::string>& hosts) {
  return std::all_of(hosts.begin(), hosts.end(), [&](const std::string& host) {
    return std::any_of(provider.mx_suffix.begin(), provider.mx_suffix.end(),
                       [&](const std::string& suffix) { return ends_with_suffix(host, normalize_host(suffix)); });
  });
}

}  // namespace

void Limits::overlay(const Limits& over) {
  if (over.connection_limit) cluster.connection_limit = over.cluster.connection_limit;
  if (over.max_connection_rate) cluster.max_connection_rate = over.cluster.max_connection_rate;
  if (over.max_message_rate) cluster.max_message_rate = over.cluster.max_message_rate;
  take(connection_limit, over.connection_limit);
  take(max_connection_rate, over.max_connection_rate);
  take(max_deliveries_per_connection, over.max_deliveries_per_connection);
  take(max_message_rate, over.max_message_rate);
}

EffectiveLimits apply(EffectiveLimits base, const Limits& over) {
  if (over.connection_limit) base.cluster.connection_limit = over.cluster.connection_limit;
  if (over.max_connection_rate) base.cluster.max_connection_rate = over.cluster.max_connection_rate;
  if (over.max_message_rate) base.cluster.max_message_rate = over.cluster.max_message_rate;
  take(base.connection_limit, over.connection_limit);
  take(base.max_connection_rate, over.max_connection_rate);
  take(base.max_deliveries_per_connection, over.max_deliveries_per_connection);
  take(base.max_message_rate, over.max_message_rate);
  return base;
}

const Provider* provider_of(const Config& config, const std::vector<std::string>& mx_hosts) {
  if (mx_hosts.empty()) return nullptr;
  std::vector<std::string> hosts;
  hosts.reserve(mx_hosts.size());
  for (const std::string& host : mx_hosts) hosts.push_back(normalize_host(host));
  for (const Provider& provider : config.providers) {
    if (belongs_to(provider, hosts)) return &provider;
  }
  return nullptr;
}

EffectiveLimits limits_for(const Config& config, const Provider* provider, const std::vector<std::string>& site_domains,
                           std::string_view source) {
  Limits levels = config.defaults;
  if (provider) levels.overlay(provider->limits);
  std::vector<std::string> domains;
  domains.reserve(site_domains.size());
  for (const std::string& domain : site_domains) domains.push_back(normalize_host(domain));
  std::sort(domains.begin(), domains.end());
  for (const std::string& domain : domains) {
    if (auto block = config.domains.find(domain); block != config.domains.end()) levels.overlay(block->second);
  }
  if (!source.empty()) {
    if (auto block = config.sources.find(std::string(source)); block != config.sources.end()) {
      levels.overlay(block->second);
    }
  }
  return apply(EffectiveLimits{}, levels);
}

}  // namespace petrel::shaping
