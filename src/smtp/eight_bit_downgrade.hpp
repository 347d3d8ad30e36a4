// RFC 6152 §3: 8-bit MIME content for a server that does not offer
// 8BITMIME may be converted to 7 bits rather than bounced, as Postfix
// does. Each MIME leaf part with 8-bit octets is re-encoded
// (quoted-printable for text/*, base64 for the rest) and its
// Content-Transfer-Encoding header replaced; multipart/* parts and
// message/rfc822 bodies are walked (RFC 2046), their own headers kept.
// No I/O: the SMTP client calls it when the server's EHLO lacks 8BITMIME.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace petrel::smtp {

// The message (headers and body, CRLF lines, not dot-stuffed) in 7 bits,
// or nullopt when it cannot be converted faithfully: 8-bit octets in a
// header (that needs SMTPUTF8, RFC 6532), in a multipart preamble or
// epilogue, in content already declared quoted-printable or base64, or
// MIME nested deeper than kMaxMimeDepth.
std::optional<std::string> downgrade_to_seven_bit(std::string_view message);

inline constexpr int kMaxMimeDepth = 32;

}  // namespace petrel::smtp
