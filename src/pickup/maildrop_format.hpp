// One file of the maildrop (docs/petrel-sendmail.md): the envelope and the
// message petrel-sendmail leaves for petreld to pick up. Encoded and decoded
// without I/O, so the decoder (fed whatever a local user put in a
// world-writable directory) is unit-tested and fuzzed.
//
//   petrel-maildrop 1\n
//   sender <alice@example.org>\n      ("<>": the null reverse-path)
//   rcpt <bob@example.net>\n          (one line per recipient, at least one)
//   size 1234\n                       (octets of the message that follows)
//   \n
//   <the message: CRLF line endings, not dot-stuffed, exactly size octets>
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/address.hpp"

namespace petrel::pickup {

struct MaildropMessage {
  smtp::Path sender;
  std::vector<smtp::Address> recipients;
  std::string content;
};

struct MaildropLimits {
  std::uint64_t max_content = 50ull << 20;  // the server's max message size
  std::size_t max_recipients = 1000;
};

std::string encode_maildrop(const MaildropMessage& message);

// nullopt with `error` saying what is wrong (for the log line of a file set
// aside): a bad header line, an address that does not parse, no recipient,
// too many, a size that does not match the octets that follow.
std::optional<MaildropMessage> decode_maildrop(std::string_view file, const MaildropLimits& limits,
                                               std::string& error);

// A name petrel-sendmail gives a finished file, and the only names petreld
// picks up: letters, digits, '-', '_' and '.', not starting with '.', at
// most 64 characters. Temporary files start with '.'.
bool valid_maildrop_name(std::string_view name);

}  // namespace petrel::pickup

namespace petrel::pickup {

// [spool] maildrop_senders: which envelope senders a local user may give.
enum class SenderRule {
  any,  // any sender, as Postfix's sendmail -f allows local users
  own,  // only LOGIN@DOMAIN for one of `domains`; root and petreld's user: any
};

// Whether `sender` may be used by the local user `login` (privileged:
// root or petreld's own user) under `rule`.
bool sender_allowed(SenderRule rule, const smtp::Path& sender, std::string_view login, bool privileged,
                    const std::vector<std::string>& domains);

}  // namespace petrel::pickup
