#include "delivery/sts_policies.hpp"

#include <spdlog/spdlog.h>

namespace petrel::delivery {

using Clock = std::chrono::steady_clock;

StsPolicies::StsPolicies(boost::asio::io_context& io, dns::Resolver& resolver, mtasts::FetchOptions options)
    : io_(io), resolver_(resolver), options_(std::move(options)) {}

void StsPolicies::find(const std::string& domain, Done done) {
  auto& waiters = waiting_[domain];
  waiters.push_back(std::move(done));
  if (waiters.size() > 1) return;  // a lookup is on its way
  resolver_.lookup_txt("_mta-sts." + domain, [this, domain](const dns::TxtAnswer& answer) {
    on_record(domain, mtasts::parse_sts_record(answer));
  });
}

void StsPolicies::on_record(const std::string& domain, const mtasts::StsRecord& record) {
  using State = mtasts::StsRecord::State;
  // §5.1: a policy unexpired in the cache stays in force while the record
  // is missing or cannot be read, and while its id is unchanged.
  if (record.state != State::published) return finish(domain, cached(domain));
  if (auto in_cache = cached(domain); in_cache && in_cache->id == record.id) return finish(domain, in_cache);
  const std::string host = "mta-sts." + domain;
  resolver_.lookup_a(host, [this, domain, id = record.id, host](const dns::AddressAnswer& a) {
    if (a.ok()) return fetch(domain, id, a.records);
    resolver_.lookup_aaaa(host, [this, domain, id, host](const dns::AddressAnswer& aaaa) {
      if (aaaa.ok()) return fetch(domain, id, aaaa.records);
      spdlog::warn("mta-sts domain={} policy not fetched: no address for {}", domain, host);
      finish(domain, cached(domain));
    });
  });
}

void StsPolicies::fetch(const std::string& domain, const std::string& id, const std::vector<dns::IpAddress>& addresses) {
  mtasts::fetch_policy(io_, domain, addresses.front().str(), options_,
                       [this, domain, id](const mtasts::FetchResult& result) { fetched(domain, id, result); });
}

void StsPolicies::fetched(const std::string& domain, const std::string& id, const mtasts::FetchResult& result) {
  std::string error = result.error;
  std::optional<mtasts::Policy> policy;
  if (result.body) policy = mtasts::parse_policy(*result.body, error);
  if (!policy) {
    // §3.3: without a policy (fetched or cached) mail goes as if the
    // domain had no MTA-STS; the domain's operator has to fix it.
    spdlog::warn("mta-sts domain={} id={} policy not fetched: {}", domain, id, error);
    return finish(domain, cached(domain));
  }
  policy->id = id;
  remember(domain, *policy);
  spdlog::info("mta-sts domain={} id={} mode={} mx={} max_age={}s", domain, id, mtasts::to_string(policy->mode),
               policy->mx.size(), policy->max_age.count());
  finish(domain, policy);
}

// Bounded: a bulk sender reaches many domains. Expired entries go first,
// then any one.
void StsPolicies::remember(const std::string& domain, const mtasts::Policy& policy) {
  if (cache_.size() >= kMaxCached && !cache_.count(domain)) {
    const auto now = Clock::now();
    std::erase_if(cache_, [now](const auto& entry) { return entry.second.expires <= now; });
    if (cache_.size() >= kMaxCached) cache_.erase(cache_.begin());
  }
  cache_[domain] = Cached{policy, Clock::now() + policy.max_age};
}

std::optional<mtasts::Policy> StsPolicies::cached(const std::string& domain) const {
  auto it = cache_.find(domain);
  if (it == cache_.end() || it->second.expires <= Clock::now()) return std::nullopt;
  return it->second.policy;
}

void StsPolicies::finish(const std::string& domain, const std::optional<mtasts::Policy>& policy) {
  auto waiters = std::move(waiting_[domain]);
  waiting_.erase(domain);
  for (auto& done : waiters) done(policy);
}

}  // namespace petrel::delivery
