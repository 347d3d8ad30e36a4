#include "sendmail/submission.hpp"

#include <sysexits.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <random>

#include "config/config.hpp"
#include "sendmail/maildrop_writer.hpp"
#include "sendmail/message.hpp"

namespace petrel::sendmail {

Settings settings_from(const config::Config& config) {
  Settings s;
  s.maildrop = config::maildrop_dir(config);
  s.hostname = config.hostname;
  const auto& domains = config.local_domains;
  // The host name when mail for it stays here, else the first local domain
  // (petreld's local_domains do not include the host name by themselves).
  const bool hostname_is_local = std::find(domains.begin(), domains.end(), config.hostname) != domains.end();
  s.domain = hostname_is_local || domains.empty() ? config.hostname : domains.front();
  s.sender_domains = domains;
  s.sender_domains.push_back(config.hostname);
  s.senders = config.maildrop_own_senders ? pickup::SenderRule::own : pickup::SenderRule::any;
  s.max_message_size = config.session.limits.max_message_size;
  s.max_recipients = config.session.limits.max_recipients;
  return s;
}

std::optional<smtp::Address> qualified(std::string text, const std::string& domain) {
  if (text.size() >= 2 && text.front() == '<' && text.back() == '>') text = text.substr(1, text.size() - 2);
  if (text.empty()) return std::nullopt;
  if (text.find('@') == std::string::npos) text += "@" + domain;
  const std::string path = "<" + text + ">";
  const smtp::PathParse p = smtp::parse_path(path, false, true);
  if (p.error != smtp::AddressError::none || p.consumed != path.size() || p.path.is_null() ||
      p.path.mailbox->domain.empty()) {
    return std::nullopt;
  }
  return p.path.mailbox;
}

Outcome envelope_sender(const std::optional<std::string>& requested, const Settings& s, const Identity& who,
                        smtp::Path& sender) {
  if (!requested) {
    sender.mailbox = smtp::Address{who.login, s.domain};
  } else if (requested->empty() || *requested == "<>") {
    sender.mailbox.reset();
  } else {
    auto address = qualified(*requested, s.domain);
    if (!address) return {EX_DATAERR, "bad sender address: " + *requested};
    sender.mailbox = *address;
  }
  if (!pickup::sender_allowed(s.senders, sender, who.login, who.privileged, s.sender_domains)) {
    return {EX_NOPERM, "user " + who.login + " may not send as " + sender.str() + " ([spool] maildrop_senders = \"own\")"};
  }
  return {};
}

Outcome submit(const smtp::Path& sender, std::vector<smtp::Address> recipients, const std::string& content,
               const std::string& full_name, const Settings& s, const Identity& who) {
  // The same recipient twice is one delivery (as Postfix's cleanup does).
  std::vector<smtp::Address> unique;
  for (auto& r : recipients) {
    if (std::find(unique.begin(), unique.end(), r) == unique.end()) unique.push_back(std::move(r));
  }
  if (unique.empty()) return {EX_USAGE, "no recipients"};
  if (unique.size() > s.max_recipients) {
    return {EX_DATAERR, "too many recipients (the server takes " + std::to_string(s.max_recipients) + ")"};
  }
  Completion c;
  c.from_address = who.login + "@" + s.domain;
  c.full_name = full_name;
  c.hostname = s.hostname;
  c.now = std::time(nullptr);
  c.unique = (static_cast<std::uint64_t>(std::random_device{}()) << 32) | std::random_device{}();
  pickup::MaildropMessage m;
  m.sender = sender;
  m.recipients = std::move(unique);
  m.content = missing_header_fields(content, c) + without_bcc(content);
  if (m.content.size() > s.max_message_size) {
    return {EX_DATAERR, "the message is larger than the server accepts (" + std::to_string(s.max_message_size) + " octets)"};
  }
  std::string name, what;
  if (const auto ec = drop_message(s.maildrop, m, name, what)) return {EX_TEMPFAIL, what + ": " + ec.message()};
  return {EX_OK, name};
}

Outcome deliver_from_stdin(const Request& request, const Settings& s, const Identity& who) {
  smtp::Path sender;
  if (auto bad = envelope_sender(request.sender, s, who, sender); bad.exit_code != EX_OK) return bad;
  std::vector<smtp::Address> recipients;
  for (const auto& r : request.recipients) {
    auto address = qualified(r, s.domain);
    if (!address) return {EX_NOUSER, "bad recipient address: " + r};
    recipients.push_back(std::move(*address));
  }
  MessageReader reader(request.ignore_dots);
  char buf[65536];
  while (!reader.done()) {
    const ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return {EX_IOERR, std::string("cannot read the message: ") + std::strerror(errno)};
    if (n == 0) break;
    reader.feed(std::string_view(buf, static_cast<std::size_t>(n)));
    if (reader.size() > s.max_message_size) {
      return {EX_DATAERR, "the message is larger than the server accepts (" + std::to_string(s.max_message_size) + " octets)"};
    }
  }
  reader.finish();
  const std::string content = reader.take();
  if (request.extract_recipients) {
    for (const auto& r : header_recipients(content)) {
      auto address = qualified(r, s.domain);
      if (!address) return {EX_NOUSER, "bad recipient address in the message header: " + r};
      recipients.push_back(std::move(*address));
    }
  }
  if (recipients.empty()) return {EX_USAGE, "no recipients (none in To:, Cc: or Bcc: with -t)"};
  return submit(sender, std::move(recipients), content, request.full_name.value_or(who.gecos_name), s, who);
}

}  // namespace petrel::sendmail
