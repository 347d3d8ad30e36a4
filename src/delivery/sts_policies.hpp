// The MTA-STS policies (RFC 8461) of the domains this server delivers to:
// found through the _mta-sts TXT record, fetched over HTTPS, kept for
// their max_age and fetched anew when the record's id changes (§3.3, §5.1).
// Lookups for a domain already being fetched wait for that fetch.
// For the delivery thread: not thread-safe, callbacks on io's thread.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "dns/resolver.hpp"
#include "mtasts/fetch.hpp"
#include "mtasts/policy.hpp"

namespace petrel::delivery {

class StsPolicies {
 public:
  using Done = std::function<void(std::optional<mtasts::Policy>)>;

  StsPolicies(boost::asio::io_context& io, dns::Resolver& resolver, mtasts::FetchOptions options);

  // The domain's policy in force, or nullopt when it has none (or none
  // could be had and none is cached: §3.3, deliver as without MTA-STS).
  void find(const std::string& domain, Done done);

 private:
  struct Cached {
    mtasts::Policy policy;
    std::chrono::steady_clock::time_point expires;
  };

  void on_record(const std::string& domain, const mtasts::StsRecord& record);
  void fetch(const std::string& domain, const std::string& id, const std::vector<dns::IpAddress>& addresses);
  void fetched(const std::string& domain, const std::string& id, const mtasts::FetchResult& result);
  std::optional<mtasts::Policy> cached(const std::string& domain) const;
  void remember(const std::string& domain, const mtasts::Policy& policy);
  void finish(const std::string& domain, const std::optional<mtasts::Policy>& policy);

  static constexpr std::size_t kMaxCached = 20'000;

  boost::asio::io_context& io_;
  dns::Resolver& resolver_;
  mtasts::FetchOptions options_;
  std::map<std::string, Cached> cache_;
  std::map<std::string, std::vector<Done>> waiting_;  // lookups in progress
};

}  // namespace petrel::delivery
