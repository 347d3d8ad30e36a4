// MAIL FROM and RCPT TO decisions from the configuration:
// - local domains are accepted from anyone (known users only, if so
//   configured); any other domain only from a client that may relay (RFC
//   5321 §3.6.2: no open relay), and an address that routes mail onward
//   (user%other@local, "user@other"@local) counts as another domain;
// - an address of a virtual alias domain is accepted from anyone when an
//   alias resolves it, and an alias (aliases file or virtual table,
//   docs/aliases.md) is expanded here, at reception, into the recipients
//   the envelope keeps (Postfix's cleanup does the same);
// - ODMR domains ([odmr] domains, RFC 2645) are accepted from anyone too:
//   this server is their MX, and holds their mail for ATRN;
// - an authenticated user sends only as an address the user owns (RFC 6409
//   §6.1) and at most so many messages an hour.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>

#include "aliases/alias_files.hpp"
#include "config/config.hpp"
#include "delivery/local_routing.hpp"
#include "server/rate_limiter.hpp"
#include "smtp/envelope_policy.hpp"

namespace petrel::server {

// The local domains (normalized), Maildir root and delimiter of the
// configuration: one place for what reception and delivery both need.
delivery::LocalRouting local_routing(const config::Config& config);

class MailPolicy final : public smtp::EnvelopePolicy {
 public:
  explicit MailPolicy(const config::Config& config);
  std::optional<smtp::Reply> check_sender(const smtp::Path& reverse_path, const smtp::ClientIdentity& client) override;
  std::optional<smtp::Reply> check_recipient(const smtp::Address& rcpt,
                                             const smtp::ClientIdentity& client) const override;
  smtp::RecipientExpansion expand_recipient(const smtp::Recipient& rcpt, const smtp::ClientIdentity& client,
                                            std::size_t in_envelope) const override;
  // SIGHUP: reads the alias files again; on an error the tables in use
  // stay (and the error is logged). True when the new tables are in use.
  bool reload_aliases();
  smtp::Reply start_queue_run(std::string_view domain, const smtp::ClientIdentity& client) override;
  const delivery::LocalRouting& routing() const { return routing_; }
  // What ETRN calls: tries now what waits for a domain, returns how many.
  void set_queue_runner(std::function<std::size_t(std::string_view)> runner) { queue_runner_ = std::move(runner); }
  // Recipients the server consumes itself (unsubscribe+TOKEN@, the
  // complaints address): accepted from anyone, as a local address would be.
  void set_sink(std::function<bool(const smtp::Address&)> accepts) { sink_accepts_ = std::move(accepts); }
  bool is_sink(const smtp::Address& rcpt) const { return sink_accepts_ && sink_accepts_(rcpt); }

 private:
  bool owns(std::string_view user, const smtp::Path& reverse_path) const;
  std::shared_ptr<const aliases::Tables> alias_tables() const;
  std::optional<smtp::Reply> check_unexpanded(const smtp::Address& rcpt, bool local) const;

  delivery::LocalRouting routing_;
  bool reject_unknown_;
  std::unordered_set<std::string> users_;  // "name" or "name@domain", lower case
  std::unordered_set<std::string> odmr_domains_;  // A-label, lower case
  config::SenderLoginMatch sender_login_match_;
  RateLimiter messages_per_user_;
  std::function<std::size_t(std::string_view)> queue_runner_;
  std::function<bool(const smtp::Address&)> sink_accepts_;
  aliases::Files alias_files_;
  aliases::Limits alias_limits_;
  mutable std::mutex aliases_mutex_;  // guards the pointer; the tables are immutable
  std::shared_ptr<const aliases::Tables> aliases_;
};

}  // namespace petrel::server
