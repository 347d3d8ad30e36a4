// DATA's line rules for content that arrives without dot-stuffing: BDAT
// with a 7BIT or 8BITMIME body (RFC 3030 §3 leaves such content RFC 5322
// text). Without this, a bare LF could ride in by BDAT and become a
// smuggling payload when the message is relayed with DATA.
#pragma once

#include <string>

#include "smtp/dot_reader.hpp"

namespace petrel::smtp {

// Checks every line of `content`; under the normalize policy a bare CR or LF
// is rewritten to CRLF in place. max_line counts the CRLF; 0 = no limit.
DotReader::Verdict check_text_lines(std::string& content, std::size_t max_line, BareLineEndingPolicy policy);

}  // namespace petrel::smtp
