// What petrel-sendmail does with a message once it has it (from stdin or
// from the -bs dialogue): envelope checked and completed, header fields
// added, then left in the maildrop for petreld.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pickup/maildrop_format.hpp"
#include "sendmail/options.hpp"

namespace petrel::config {
struct Config;
}

namespace petrel::sendmail {

// Who runs petrel-sendmail (getuid(), getpwuid()).
struct Identity {
  uid_t uid = 0;
  std::string login;
  std::string gecos_name;  // the passwd entry's full name, for From:
  bool privileged = false; // root, or petreld's own user
};

// What the configuration says about local submission.
struct Settings {
  std::string maildrop;
  std::string hostname;
  std::string domain;  // unqualified addresses get "@domain"; the default sender's domain
  std::vector<std::string> sender_domains;
  pickup::SenderRule senders = pickup::SenderRule::any;
  std::uint64_t max_message_size = 0;
  std::size_t max_recipients = 0;
};

Settings settings_from(const config::Config& config);

// "bob" becomes "bob@domain"; "<a@b>" loses its brackets. nullopt when it
// is not a mailbox.
std::optional<smtp::Address> qualified(std::string text, const std::string& domain);

struct Outcome {
  int exit_code = 0;      // sysexits.h
  std::string message;    // for stderr when exit_code != 0; the file's name otherwise
};

// The envelope sender for -f (or none given), checked against the rule.
// exit_code EX_DATAERR (not an address) or EX_NOPERM (not allowed).
Outcome envelope_sender(const std::optional<std::string>& requested, const Settings& s, const Identity& who,
                        smtp::Path& sender);

// Completes the header (From:, Date:, Message-ID:), removes Bcc:, and
// drops the message. EX_TEMPFAIL when the maildrop cannot take it.
Outcome submit(const smtp::Path& sender, std::vector<smtp::Address> recipients, const std::string& content,
               const std::string& full_name, const Settings& s, const Identity& who);

// -bm: the message on stdin.
Outcome deliver_from_stdin(const Request& request, const Settings& s, const Identity& who);

}  // namespace petrel::sendmail
