#include "server/local_recipient_policy.hpp"

#include <algorithm>
#include <cctype>

#include "smtp/reply_codes.hpp"

namespace petrel::server {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return c < 0x80 ? static_cast<char>(std::tolower(c)) : static_cast<char>(c);
  });
  return out;
}

}  // namespace

delivery::LocalRouting local_routing(const config::Config& config) {
  delivery::LocalRouting routing;
  for (const auto& d : config.local_domains) routing.local_domains.push_back(smtp::normalize_domain(d));
  routing.maildir_root = config.maildir;
  routing.recipient_delimiter = config.recipient_delimiter;
  return routing;
}

LocalRecipientPolicy::LocalRecipientPolicy(const config::Config& config)
    : routing_(local_routing(config)),
      reject_unknown_(config.unknown_local_recipient == config::UnknownLocalRecipient::reject) {
  for (const auto& u : config.local_users) users_.insert(lower(u));
}

std::optional<smtp::Reply> LocalRecipientPolicy::check_recipient(const smtp::Address& rcpt) const {
  namespace codes = smtp::codes;
  // RFC 5321 §4.5.1: postmaster is always accepted, with or without a domain.
  const bool postmaster = lower(rcpt.local_part) == "postmaster";
  if (rcpt.domain.empty()) {
    if (postmaster) return std::nullopt;
    return smtp::Reply(codes::k501BadRecipientSyntax, "Bad recipient address: a domain is required");
  }
  const std::string domain = smtp::normalize_domain(rcpt.domain);
  if (!delivery::is_local_domain(routing_, domain)) {
    return smtp::Reply(codes::k554RelayDenied, "<" + rcpt.str() + ">: Relay access denied");
  }
  if (postmaster || !reject_unknown_) return std::nullopt;
  const std::string name = lower(delivery::mailbox_name(routing_, rcpt.local_part));
  if (users_.count(name) || users_.count(name + "@" + domain)) return std::nullopt;
  return smtp::Reply(codes::k550NoSuchUser, "<" + rcpt.str() + ">: Recipient address rejected: user unknown");
}

}  // namespace petrel::server
