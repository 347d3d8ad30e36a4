#include "server/mail_policy.hpp"

#include <algorithm>
#include <cctype>

#include "smtp/reply_codes.hpp"
#include "util/idn.hpp"

namespace petrel::server {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return c < 0x80 ? static_cast<char>(std::tolower(c)) : static_cast<char>(c);
  });
  return out;
}

// '@' (in a quoted local part), '%' (the "percent hack") and '!' (UUCP bang
// paths) make some MTAs forward to another host: such a recipient is
// relaying even when its domain is ours (Postfix treats them the same way).
bool routes_onward(std::string_view local_part) {
  return local_part.find_first_of("@%!") != std::string_view::npos;
}

smtp::Reply relay_denied(const smtp::Address& rcpt) {
  return smtp::Reply(smtp::codes::k554RelayDenied, "<" + rcpt.str() + ">: Relay access denied");
}

}  // namespace

delivery::LocalRouting local_routing(const config::Config& config) {
  delivery::LocalRouting routing;
  for (const auto& d : config.local_domains) routing.local_domains.push_back(util::ascii_domain(d));
  routing.maildir_root = config.maildir;
  routing.recipient_delimiter = config.recipient_delimiter;
  routing.quarantine_folder = config.auth_checks.quarantine_folder;
  return routing;
}

MailPolicy::MailPolicy(const config::Config& config)
    : routing_(local_routing(config)),
      reject_unknown_(config.unknown_local_recipient == config::UnknownLocalRecipient::reject),
      sender_login_match_(config.submission.sender_login_match),
      messages_per_user_(config.rate.messages_per_hour, std::chrono::hours(1)) {
  for (const auto& u : config.local_users) users_.insert(lower(u));
  for (const auto& [user, domains] : config.odmr.domains) {
    for (const auto& d : domains) odmr_domains_.insert(util::ascii_domain(d));
  }
}

bool MailPolicy::owns(std::string_view user, const smtp::Path& reverse_path) const {
  if (sender_login_match_ == config::SenderLoginMatch::any) return true;
  if (reverse_path.is_null()) return true;  // bounces carry no sender to own
  const smtp::Address& sender = *reverse_path.mailbox;
  const auto at = user.rfind('@');
  if (sender_login_match_ == config::SenderLoginMatch::domain) {
    return at != std::string_view::npos && smtp::normalize_domain(user.substr(at + 1)) == smtp::normalize_domain(sender.domain);
  }
  // exact: local parts compared without case, as the login was typed.
  return at != std::string_view::npos && lower(user.substr(0, at)) == lower(sender.local_part) &&
         smtp::normalize_domain(user.substr(at + 1)) == smtp::normalize_domain(sender.domain);
}

std::optional<smtp::Reply> MailPolicy::check_sender(const smtp::Path& reverse_path,
                                                    const smtp::ClientIdentity& client) {
  namespace codes = smtp::codes;
  if (client.auth_user.empty()) return std::nullopt;
  if (!owns(client.auth_user, reverse_path)) {
    return smtp::Reply(codes::k553SenderNotOwned,
                       reverse_path.str() + ": Sender address rejected: not owned by user " + std::string(client.auth_user));
  }
  if (!client.trusted_network && !messages_per_user_.admit(client.auth_user)) {
    return smtp::Reply(codes::k451MessageRateExceeded, "Message rate limit exceeded, try again later");
  }
  return std::nullopt;
}

// RFC 1985: only clients that may relay may make us run the queue (it is
// their mail that waits), as Postfix limits ETRN to its fast-flush domains.
smtp::Reply MailPolicy::start_queue_run(std::string_view domain, const smtp::ClientIdentity& client) {
  namespace codes = smtp::codes;
  const std::string node(domain);
  if (!client.may_relay()) return smtp::Reply(codes::k459NodeNotAllowed, "Node " + node + " not allowed: not a trusted client");
  if (!queue_runner_) return smtp::EnvelopePolicy::start_queue_run(domain, client);
  const std::size_t started = queue_runner_(domain);
  if (started == 0) return smtp::Reply(codes::k251NoMessagesWaiting, "OK no messages waiting for node " + node);
  return smtp::Reply(codes::k250QueueStarted, "OK queuing for node " + node + " started");
}

std::optional<smtp::Reply> MailPolicy::check_recipient(const smtp::Address& rcpt,
                                                       const smtp::ClientIdentity& client) const {
  namespace codes = smtp::codes;
  // RFC 5321 §4.5.1: postmaster is always accepted, with or without a domain.
  const bool postmaster = lower(rcpt.local_part) == "postmaster";
  if (rcpt.domain.empty()) {
    if (postmaster) return std::nullopt;
    return smtp::Reply(codes::k501BadRecipientSyntax, "Bad recipient address: a domain is required");
  }
  if (is_sink(rcpt)) return std::nullopt;
  const std::string domain = util::ascii_domain(rcpt.domain);
  const bool local = delivery::is_local_domain(routing_, domain);
  if (odmr_domains_.count(domain)) {
    // Held for its customer's ATRN: one mailbox per domain, so an address
    // that routes onward is another domain's.
    if (!client.may_relay() && routes_onward(rcpt.local_part)) return relay_denied(rcpt);
    return std::nullopt;
  }
  if (!client.may_relay() && (!local || routes_onward(rcpt.local_part))) return relay_denied(rcpt);
  if (!local) return std::nullopt;
  if (postmaster || !reject_unknown_) return std::nullopt;
  const std::string name = lower(delivery::mailbox_name(routing_, rcpt.local_part));
  if (users_.count(name) || users_.count(name + "@" + domain)) return std::nullopt;
  return smtp::Reply(codes::k550NoSuchUser, "<" + rcpt.str() + ">: Recipient address rejected: user unknown");
}

}  // namespace petrel::server
