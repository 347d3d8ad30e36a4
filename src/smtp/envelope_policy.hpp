// The decisions on MAIL FROM and RCPT TO, kept out of the protocol core so
// the core stays free of configuration, lookups and counters.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

#include "smtp/address.hpp"
#include "smtp/envelope.hpp"
#include "smtp/reply.hpp"

namespace petrel::smtp {

// Who the client is, as far as policy cares.
struct ClientIdentity {
  std::string_view address;     // IP literal
  bool trusted_network = false;  // in the configured trusted networks
  std::string_view auth_user;   // "" until AUTH succeeds

  // RFC 5321 §3.6.2 / RFC 6409: only known clients may have mail relayed.
  bool may_relay() const { return trusted_network || !auth_user.empty(); }
};

// What one accepted RCPT puts in the envelope: the recipient itself, or
// what its alias expands to (docs/aliases.md); or the refusal.
struct RecipientExpansion {
  std::optional<Reply> refusal;
  std::vector<Recipient> recipients;
};

class EnvelopePolicy {
 public:
  virtual ~EnvelopePolicy() = default;
  // nullopt accepts the sender; a reply refuses MAIL with it. Not const:
  // a policy may count what it admits (rate limits).
  virtual std::optional<Reply> check_sender(const Path& /*reverse_path*/, const ClientIdentity& /*client*/) {
    return std::nullopt;
  }
  // nullopt accepts the recipient; a reply rejects it with that reply.
  virtual std::optional<Reply> check_recipient(const Address& rcpt, const ClientIdentity& client) const = 0;
  // The recipients an RCPT stands for, given how many the envelope holds
  // already (so that a policy that expands can bound the total). The
  // default: check_recipient, and the recipient as it is.
  virtual RecipientExpansion expand_recipient(const Recipient& rcpt, const ClientIdentity& client,
                                              std::size_t in_envelope) const;
  // ETRN (RFC 1985): start delivering what waits for `domain`, as the client
  // gave it ("@domain": that domain and its subdomains); the reply to send.
  // The default has no queue to run.
  virtual Reply start_queue_run(std::string_view domain, const ClientIdentity& client);
};

}  // namespace petrel::smtp
