// ESMTP parameters of MAIL FROM and RCPT TO (RFC 5321 §4.1.2, RFC 1870,
// RFC 6152, RFC 3030, RFC 6531, RFC 3461).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "smtp/envelope.hpp"
#include "smtp/reply.hpp"

namespace petrel::smtp {

struct ParamContext {
  bool esmtp = true;                   // the client said EHLO, not HELO
  std::uint64_t max_message_size = 0;  // for SIZE= (RFC 1870 §6)
  bool auth_offered = false;           // AUTH= is a parameter only where AUTH is (RFC 4954 §5)
  bool tls = false;                    // the session is encrypted: REQUIRETLS is a parameter (RFC 8689 §4)
};

// `text` is what follows the path: " SIZE=123 BODY=8BITMIME". nullopt on
// success; otherwise the reply that refuses the command.
std::optional<Reply> parse_mail_params(std::string_view text, const ParamContext& ctx, MailParams& out);
std::optional<Reply> parse_rcpt_params(std::string_view text, const ParamContext& ctx, Recipient& out);

// RFC 3461 §4: "+" HEXCHAR HEXCHAR encodes an octet. False on bad syntax.
bool xtext_decode(std::string_view in, std::string& out);

}  // namespace petrel::smtp
