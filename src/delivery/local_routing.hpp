// Which Maildir a local recipient's mail goes to.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "smtp/address.hpp"

namespace petrel::delivery {

struct LocalRouting {
  std::vector<std::string> local_domains;  // normalized (lower case, no trailing dot)
  std::string maildir_root;                // DIR: mail for user@domain goes to DIR/domain/user/
  std::string recipient_delimiter;         // e.g. "+": user+tag goes to user; empty: off
  // Maildir++ folder ("Junk": MAILBOX/.Junk/) for mail marked
  // "X-Spam-Flag: YES" (DMARC quarantine, docs/auth-checks.md); "": the inbox.
  std::string quarantine_folder;
};

bool is_local_domain(const LocalRouting& r, std::string_view domain);

// The mailbox directory for a local recipient, or nullopt if the recipient is
// not in a local domain. The bare "Postmaster" (no domain) goes to the first
// local domain. The local part is lower-cased, the delimiter extension cut,
// and any octet that is unsafe in a file name ('/', a leading '.', control
// characters, ...) is %XX-escaped, so no address can escape the root.
std::optional<std::string> mailbox_directory(const LocalRouting& r, const smtp::Address& rcpt);

// Where `content` goes in `mailbox`: its quarantine folder when the message
// is marked as spam and a folder is configured, else the mailbox itself.
std::string folder_for(const LocalRouting& r, const std::string& mailbox, std::string_view content);

// The user part used for lookups ("alice" for "Alice+tag@example.org").
std::string mailbox_name(const LocalRouting& r, std::string_view local_part);

}  // namespace petrel::delivery
