// Base64 (RFC 4648 §4, with padding) for the tags of DKIM: bh= and b= of a
// signature, p= of a key record. Pure, so the record parser stays fuzzable
// without OpenSSL.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace petrel::dkim {

std::string base64_encode(std::string_view bytes);

// The bytes `text` encodes, or nullopt when it is not base64. Whitespace
// (SP, HTAB, CR, LF) anywhere is skipped: a tag value may be folded (RFC
// 6376 §3.2). Padding is optional, but a '=' is only allowed at the end.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace petrel::dkim
