// The command lines and message bytes an SMTP client writes: MAIL and RCPT
// with their ESMTP parameters, AUTH's base64, and DATA's dot-stuffing.
// Pure functions; the client session decides when to send what.
#pragma once

#include <string>
#include <string_view>

#include "smtp/capabilities.hpp"
#include "smtp/envelope.hpp"

namespace petrel::smtp {

// "MAIL FROM:<a@b> SIZE=123 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=x\r\n":
// each parameter only when the server offered its extension.
std::string mail_command(const Path& reverse_path, const MailParams& params, std::uint64_t size,
                         const Capabilities& caps);
// "RCPT TO:<b@c> NOTIFY=FAILURE ORCPT=rfc822;b@c\r\n" (DSN parameters only
// when the server offered DSN, RFC 3461 §4).
std::string rcpt_command(const Recipient& recipient, const Capabilities& caps);

// RFC 3461 §4: octets outside "!".."~", "+" and "=" become "+XX".
std::string xtext_encode(std::string_view in);
std::string base64_encode(std::string_view in);

// Appends `content` as DATA sends it (RFC 5321 §4.5.2): a line starting with
// "." gets another; a CR or LF not in a CRLF pair becomes CRLF (RFC 5321
// §2.3.8); the last line gets its CRLF if it lacks one; then ".\r\n".
void append_dot_stuffed(std::string_view content, std::string& out);

// True when `s` has an octet above 127.
bool has_eight_bit(std::string_view s);

}  // namespace petrel::smtp
