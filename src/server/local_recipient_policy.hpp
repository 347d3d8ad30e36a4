// RCPT TO decisions from the configuration: local domains are accepted
// (known users only, if so configured); anything else is relaying, which
// is refused until authenticated relaying exists.
#pragma once

#include <string>
#include <unordered_set>

#include "config/config.hpp"
#include "delivery/local_routing.hpp"
#include "smtp/recipient_policy.hpp"

namespace petrel::server {

// The local domains (normalized), Maildir root and delimiter of the
// configuration: one place for what reception and delivery both need.
delivery::LocalRouting local_routing(const config::Config& config);

class LocalRecipientPolicy final : public smtp::RecipientPolicy {
 public:
  explicit LocalRecipientPolicy(const config::Config& config);
  std::optional<smtp::Reply> check_recipient(const smtp::Address& rcpt) const override;
  const delivery::LocalRouting& routing() const { return routing_; }

 private:
  delivery::LocalRouting routing_;
  bool reject_unknown_;
  std::unordered_set<std::string> users_;  // "name" or "name@domain", lower case
};

}  // namespace petrel::server
