// MIME content transfer encodings (RFC 2045 §6.7, §6.8) for what Petrel
// writes: the 8-bit downgrade of mail for servers without 8BITMIME
// (eight_bit_downgrade.hpp) and petrel send's messages. Pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace petrel::smtp {

// Base64 in lines of 76 characters, each ended by CRLF.
std::string base64_lines(std::string_view data);

// Quoted-printable of CRLF-lined text: the CRLFs stay hard line breaks,
// lines are at most 76 characters with soft breaks, and trailing blanks,
// '=', controls and octets over 126 are encoded.
std::string quoted_printable(std::string_view text);

// Base64 (RFC 4648 §4) back to octets, line breaks and blanks ignored;
// nullopt for any other character, bad padding or a cut-off group.
std::optional<std::string> decode_base64(std::string_view text);

}  // namespace petrel::smtp
