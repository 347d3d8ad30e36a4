#include "server/mail_policy.hpp"

#include <spdlog/spdlog.h>

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

aliases::Files alias_files(const config::Config& config) {
  return {config.aliases.aliases_file, config.aliases.virtual_file, config.aliases.allow_commands};
}

bool is_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// RFC 3461 §4.2: the address the client named, kept for the DSNs of what
// it expands to (RFC 6533 §3 for a UTF-8 address).
std::string original_recipient(const smtp::Recipient& rcpt) {
  if (!rcpt.orcpt.empty()) return rcpt.orcpt;
  const std::string address = rcpt.forward_path.str();
  return (is_ascii(address) ? "rfc822;" : "utf-8;") + address;
}

std::vector<smtp::Recipient> recipients_of(const aliases::Expansion& x, const smtp::Recipient& rcpt) {
  std::vector<smtp::Recipient> out;
  out.reserve(x.recipients.size());
  for (const aliases::Final& f : x.recipients) {
    smtp::Recipient r;
    r.forward_path = f.address;
    r.notify = rcpt.notify;
    r.orcpt = original_recipient(rcpt);
    r.via_alias = f.via;
    if (f.kind == aliases::Target::Kind::command) r.alias_target = "|" + f.target;
    if (f.kind == aliases::Target::Kind::file) r.alias_target = f.target;
    out.push_back(std::move(r));
  }
  return out;
}

// Logs what the alias files say is wrong; the tables hold what loaded.
void log_problems(const aliases::Loaded& loaded) {
  for (const auto& p : loaded.errors) spdlog::error("aliases: {}", p.str());
  for (const auto& p : loaded.refused) spdlog::warn("aliases: {} (mail to it is refused)", p.str());
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
  alias_files_ = alias_files(config);
  alias_limits_ = {config.aliases.max_depth, config.aliases.max_recipients, config.aliases.allow_commands};
  aliases::Loaded loaded = aliases::load(alias_files_);
  log_problems(loaded);
  aliases_ = std::move(loaded.tables);
  for (const auto& [user, domains] : config.odmr.domains) {
    for (const auto& d : domains) odmr_domains_.insert(util::ascii_domain(d));
  }
}

bool MailPolicy::reload_aliases() {
  if (alias_files_.aliases.empty() && alias_files_.virtual_aliases.empty()) return false;
  aliases::Loaded loaded = aliases::load(alias_files_);
  log_problems(loaded);
  if (!loaded.errors.empty()) {
    spdlog::error("reload: aliases kept as they were ({} error(s))", loaded.errors.size());
    return false;
  }
  {
    std::lock_guard lock(aliases_mutex_);
    aliases_ = std::move(loaded.tables);
  }
  spdlog::info("reload: aliases reloaded");
  return true;
}

std::shared_ptr<const aliases::Tables> MailPolicy::alias_tables() const {
  std::lock_guard lock(aliases_mutex_);
  return aliases_;
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
  return expand_recipient({rcpt, smtp::notify_unspecified, "", "", ""}, client, 0).refusal;
}

smtp::RecipientExpansion MailPolicy::expand_recipient(const smtp::Recipient& recipient,
                                                      const smtp::ClientIdentity& client,
                                                      std::size_t in_envelope) const {
  namespace codes = smtp::codes;
  const smtp::Address& rcpt = recipient.forward_path;
  // RFC 5321 §4.5.1: postmaster is always accepted, with or without a domain.
  const bool postmaster = lower(rcpt.local_part) == "postmaster";
  if (rcpt.domain.empty() && !postmaster) {
    return {smtp::Reply(codes::k501BadRecipientSyntax, "Bad recipient address: a domain is required"), {}};
  }
  if (is_sink(rcpt)) return {std::nullopt, {recipient}};
  const std::string domain = util::ascii_domain(rcpt.domain);
  if (odmr_domains_.count(domain)) {
    // Held for its customer's ATRN (RFC 2645): this server is its MX, so it
    // is accepted from anyone; one mailbox per domain, so an address that
    // routes onward is another domain's. No alias applies to it.
    if (!client.may_relay() && routes_onward(rcpt.local_part)) return {relay_denied(rcpt), {}};
    return {std::nullopt, {recipient}};
  }
  const auto tables = alias_tables();
  const bool local = rcpt.domain.empty() || delivery::is_local_domain(routing_, domain);
  // An alias domain is ours as a local domain is: no relaying is needed,
  // and its aliases name the only places its mail may go.
  const bool ours = local || aliases::is_virtual_domain(*tables, routing_, domain);
  if (!client.may_relay() && (!ours || routes_onward(rcpt.local_part))) return {relay_denied(rcpt), {}};

  const aliases::Expansion x = aliases::expand(*tables, routing_, alias_limits_, rcpt);
  const std::string refused = "<" + rcpt.str() + ">: Recipient address rejected: ";
  switch (x.result) {
    case aliases::Expansion::Result::unchanged:
      if (auto refusal = check_unexpanded(rcpt, local && !postmaster)) return {std::move(refusal), {}};
      return {std::nullopt, {recipient}};
    case aliases::Expansion::Result::unknown:
      return {smtp::Reply(codes::k550NoSuchUser, refused + "user unknown in virtual alias table"), {}};
    case aliases::Expansion::Result::failed:
      spdlog::warn("aliases: <{}>: {}", rcpt.str(), x.error);
      return {smtp::Reply(codes::k550NoSuchUser, refused + x.error), {}};
    case aliases::Expansion::Result::expanded:
      break;
  }
  // The envelope stays bounded: past the limit the client sends the rest
  // in another transaction (RFC 5321 §4.5.3.1.10's 452 handling).
  if (in_envelope > 0 && in_envelope + x.recipients.size() > alias_limits_.max_recipients) {
    return {smtp::Reply(codes::k452TooManyRecipients, "Too many recipients after alias expansion"), {}};
  }
  return {std::nullopt, recipients_of(x, recipient)};
}

// A recipient no alias applies to: a local one must be a known user when
// unknown_recipient = reject.
std::optional<smtp::Reply> MailPolicy::check_unexpanded(const smtp::Address& rcpt, bool local) const {
  if (!local || !reject_unknown_) return std::nullopt;
  const std::string domain = util::ascii_domain(rcpt.domain);
  const std::string name = lower(delivery::mailbox_name(routing_, rcpt.local_part));
  if (users_.count(name) || users_.count(name + "@" + domain)) return std::nullopt;
  return smtp::Reply(smtp::codes::k550NoSuchUser, "<" + rcpt.str() + ">: Recipient address rejected: user unknown");
}

}  // namespace petrel::server
