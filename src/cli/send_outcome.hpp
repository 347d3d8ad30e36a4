// The pure parts of `petrel send` around the SMTP client: where to send
// (--server HOST[:PORT]), what the server's last reply says (its queue
// ID), and what the exit status is for the recipients' outcomes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/client_session.hpp"

namespace petrel::cli {

struct ServerSpec {
  std::string host;  // a name or an IP literal, without brackets
  std::uint16_t port = 0;  // 0: not given
};

// "mx.example.org", "mx.example.org:587", "192.0.2.1:25", "[2001:db8::1]:25"
// or a bare IPv6 literal; nullopt when it is none of them.
std::optional<ServerSpec> parse_server(std::string_view text);

// The queue ID in a reply to the end of data, or "" when there is none
// that can be recognised: "250 2.0.0 Ok: queued as 4XyZ1" (Postfix,
// petreld), "250 OK id=1rXyZ-000123-AB" (Exim), "250 2.0.0 41HCdE1c012345
// Message accepted for delivery" (Sendmail).
std::string queue_id_from(const smtp::ServerReply& reply);

// A reply as the server sent it, one line each: "250-SIZE 52428800",
// "250 2.0.0 Ok" (the enhanced code on every line, as RFC 2034 §4 sends it).
std::vector<std::string> reply_lines(const smtp::ServerReply& reply);

// The exit status of `petrel send` (docs/petrel-send.md).
enum class SendStatus {
  accepted = 0,        // every recipient accepted
  partly_refused = 1,  // some recipients refused (4xx or 5xx), the others accepted
  rejected = 2,        // nothing accepted: MAIL or DATA refused, every recipient refused,
                       // or the message refused before sending (too big for the server)
  not_sent = 3,        // no connection, greeting/EHLO refused, TLS or AUTH failed, connection lost
};

// `mail_sent`: a MAIL command went out (the transcript said so). Without
// it, recipients deferred are the connection's failure, not the server's
// answer to this message.
SendStatus classify(const std::vector<smtp::RecipientResult>& recipients, bool mail_sent);

std::string_view to_string(SendStatus status);        // "accepted", "partly_refused", ...
std::string_view to_string(smtp::DeliveryOutcome o);  // "accepted", "deferred", "refused"

}  // namespace petrel::cli
