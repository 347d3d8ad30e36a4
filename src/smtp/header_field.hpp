// RFC 5322 header field names, matched as mail readers do.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace petrel::smtp {

// Whether the header line (or a field with its folded lines) is the field
// `name`: case-insensitive, and "Date :" too (obsolete syntax, RFC 5322
// §4.5, which readers still honour). The value starts after the first ':'.
bool is_field(std::string_view line, std::string_view name);

// Removes from `content`'s header section (CRLF lines, up to the empty
// line) every field, with its folded lines and CRLF, for which `drop`
// says yes; returns how many it removed. The body is never looked at.
std::size_t remove_fields(std::string& content, const std::function<bool(std::string_view field)>& drop);

}  // namespace petrel::smtp
