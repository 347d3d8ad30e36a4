// Where one recipient of a queued message goes (its Maildir, an alias's
// command or file, another server), and the small pieces local delivery
// and the remote jobs share. Internal to src/queue/.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "delivery/local_routing.hpp"
#include "delivery/route.hpp"
#include "queue/queue_manager.hpp"
#include "smtp/envelope.hpp"
#include "spool/spooled_message.hpp"

namespace petrel::queue::detail {

// Where one recipient goes: its Maildir, an alias's command or file,
// another server, or nowhere yet.
struct Destination {
  std::optional<std::string> mailbox;     // local
  std::optional<delivery::Route> route;   // remote: nullopt with remote = the domain's MX
  bool remote = false;
  bool alias_target = false;              // a command or file (docs/aliases.md)
  bool odmr = false;                      // remote, held for its client's ATRN (RFC 2645)
  std::string domain;                     // A-label form
};

Destination destination_of(const QueueOptions& options, const smtp::Address& rcpt);
Destination destination_of(const QueueOptions& options, const smtp::Recipient& rcpt);

// The domain's own TLS policy, else its closest ".parent" entry.
std::optional<smtp::TlsPolicy> tls_policy_for(const QueueOptions& options, std::string_view domain);

// Return-Path: and Delivered-To: for a local delivery, CR and LF removed.
std::string delivery_header(const smtp::Envelope& e, const smtp::Address& rcpt, const delivery::LocalRouting& routing);

// Only the envelope: what an active message keeps when its content stays in the spool.
std::shared_ptr<const spool::SpooledMessage> envelope_only(const spool::SpooledMessage& m);

}  // namespace petrel::queue::detail
