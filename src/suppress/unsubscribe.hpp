// One-click unsubscribe (RFC 8058, RFC 2369): the token in each message's
// List-Unsubscribe links, and the record that says whom it names.
//
// TOKEN = queue ID (16 characters) + 26 characters of base32 HMAC-SHA256,
// under the server's secret, of (queue ID, recipient, campaign, tenant).
// The recipient, campaign and tenant are kept in a record "u/<queue ID>"
// written with the message, so the token stays short enough for the
// mailto: local part (RFC 5321 §4.5.3.1.1: 64 octets) and cannot be forged
// or made to name anyone else. Pure but for the secret's storage.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace petrel::spool {
class Spool;
}

namespace petrel::suppress {

struct Subscription {
  std::string recipient;
  std::string campaign;
  std::string tenant;
};

class UnsubscribeTokens {
 public:
  explicit UnsubscribeTokens(std::string secret) : secret_(std::move(secret)) {}

  std::string make(std::string_view queue_id, const Subscription& who) const;
  // The queue ID a well-formed token names (its MAC unchecked), or nullopt.
  static std::optional<std::string> queue_id_of(std::string_view token);
  // Whether token was made for exactly these (constant-time comparison).
  bool verify(std::string_view token, const Subscription& who) const;

 private:
  std::string mac(std::string_view queue_id, const Subscription& who) const;
  std::string secret_;
};

// The server's secret: a 32-octet random record in the spool ("k/unsubscribe"),
// made on first use, so links stay valid across restarts. Throws on a spool error.
std::string unsubscribe_secret(spool::Spool& spool);

// The record "u/<queue ID>" for a message's recipient.
std::string subscription_key(std::string_view queue_id);
std::string subscription_value(const Subscription& who);
std::optional<Subscription> parse_subscription(std::string_view value);

}  // namespace petrel::suppress
