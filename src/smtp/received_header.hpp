// The trace header a receiving server prepends (RFC 5321 §4.4).
#pragma once

#include <ctime>
#include <string>
#include <string_view>

#include "smtp/envelope.hpp"

namespace petrel::smtp {

// "Received: from HELO ([ADDR])\r\n\t[(using TLS)\r\n\t]by HOST (Petrel) with PROTO id QID\r\n\tfor <RCPT>; DATE\r\n"
// ("for" only with a single recipient, so the header does not list Bcc's;
// the TLS line as Postfix writes it, so existing parsers read it).
std::string received_header(const Envelope& envelope, std::string_view hostname, std::string_view queue_id,
                            std::time_t when);

// RFC 5322 §3.3 date-time in UTC: "Mon, 23 Nov 2026 01:02:03 +0000".
std::string rfc5322_date(std::time_t when);

}  // namespace petrel::smtp
