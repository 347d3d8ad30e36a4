// RFC 5322 header field names, matched as mail readers do.
#pragma once

#include <string_view>

namespace petrel::smtp {

// Whether the header line (or a field with its folded lines) is the field
// `name`: case-insensitive, and "Date :" too (obsolete syntax, RFC 5322
// §4.5, which readers still honour). The value starts after the first ':'.
bool is_field(std::string_view line, std::string_view name);

}  // namespace petrel::smtp
