// What a server said it can do in its EHLO (or LHLO) reply: the service
// extensions an SMTP client cares about (RFC 5321 §4.1.1.1). Shared by the
// client session and `petrel probe`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/reply_reader.hpp"

namespace petrel::smtp {

struct Capabilities {
  bool esmtp = false;                  // EHLO (or LHLO) was answered 250; false after HELO
  std::string server_name;             // first word of the EHLO reply
  std::optional<std::uint64_t> size;   // SIZE (RFC 1870); 0: offered without a fixed limit
  bool pipelining = false;             // RFC 2920
  bool eight_bit_mime = false;         // RFC 6152
  bool smtputf8 = false;               // RFC 6531
  bool chunking = false;               // RFC 3030 BDAT
  bool binary_mime = false;            // RFC 3030 BODY=BINARYMIME
  bool dsn = false;                    // RFC 3461
  bool starttls = false;               // RFC 3207
  bool enhanced_status_codes = false;  // RFC 2034
  bool requiretls = false;             // RFC 8689 (offered after STARTTLS only)
  bool atrn = false;                   // RFC 2645 (an ODMR server)
  std::vector<std::string> auth;       // RFC 4954 mechanisms, upper case
  std::vector<std::string> keywords;   // every extension line as sent, for display

  bool offers_auth(std::string_view mechanism) const;
};

// From a positive reply to EHLO/LHLO: lines after the first are
// "KEYWORD [params]", keywords case-insensitive.
Capabilities parse_capabilities(const ServerReply& ehlo_reply);

}  // namespace petrel::smtp
