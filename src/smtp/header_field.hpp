// RFC 5322 header fields, matched as mail readers do: finding, reading and
// removing fields of a message's header section, without I/O.
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

// Calls `visit` with each field of `content`'s header section (CRLF lines,
// up to the empty line), with its folded lines and final CRLF, top to
// bottom; stops early when `visit` returns false. The body is never read.
void for_each_field(std::string_view content, const std::function<bool(std::string_view field)>& visit);

// The value of a field (after the first ':') without the white space and
// line breaks around it.
std::string_view trimmed_value(std::string_view field);

// Whether the header section has the field `name` with the value `value`,
// both in any case: "TLS-Required: No" (RFC 8689 §5), "X-Spam-Flag: YES".
bool has_field_value(std::string_view content, std::string_view name, std::string_view value);

// Whether the header section has "TLS-Required: No" (RFC 8689 §5).
inline bool tls_required_no(std::string_view content) { return has_field_value(content, "TLS-Required", "No"); }

// Removes from `content`'s header section every field, with its folded
// lines and CRLF, for which `drop` says yes; returns how many it removed.
std::size_t remove_fields(std::string& content, const std::function<bool(std::string_view field)>& drop);

}  // namespace petrel::smtp
