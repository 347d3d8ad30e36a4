// RFC 5322 header field names, matched as mail readers do.
#pragma once

#include <string_view>

namespace petrel::smtp {

// Whether the header line (or a field with its folded lines) is the field
// `name`: case-insensitive, and "Date :" too (obsolete syntax, RFC 5322
// §4.5, which readers still honour). The value starts after the first ':'.
bool is_field(std::string_view line, std::string_view name);

// Whether the header section of `content` (CRLF lines) has the field
// "TLS-Required: No" (RFC 8689 §5; name and value in any case, value
// trimmed and unfolded).
bool tls_required_no(std::string_view content);

}  // namespace petrel::smtp
