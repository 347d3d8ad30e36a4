// Mailbox addresses and SMTP paths (RFC 5321 §4.1.2), parsed without I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace petrel::smtp {

// A mailbox: local-part@domain. The local part is kept as received (quoted
// form included) because RFC 5321 §2.4 makes it case-sensitive for the
// receiving host; the domain is kept as received and compared lower-cased.
struct Address {
  std::string local_part;
  std::string domain;  // empty only for the special RCPT TO:<Postmaster>

  std::string str() const;  // "local@domain" (or "Postmaster")
  bool operator==(const Address&) const = default;
};

// A reverse-path (MAIL FROM) may be the null path "<>"; a forward-path never is.
struct Path {
  std::optional<Address> mailbox;  // nullopt: the null path <>
  bool is_null() const { return !mailbox; }
  std::string str() const;  // "<local@domain>" or "<>"
};

enum class AddressError {
  none,
  missing_brackets,   // "<" without ">" or the reverse
  empty,              // "<>" where a mailbox is required
  bad_local_part,
  local_part_too_long,  // RFC 5321 §4.5.3.1.1: 64 octets
  bad_domain,
  domain_too_long,      // RFC 5321 §4.5.3.1.2: 255 octets
  path_too_long,        // RFC 5321 §4.5.3.1.3: 256 octets
  non_ascii,            // UTF-8 without SMTPUTF8 (RFC 6531 §3.5)
  trailing_garbage,
};

// Words for the 501 reply that says what is wrong.
std::string_view describe(AddressError e);

struct PathParse {
  Path path;
  AddressError error = AddressError::none;
  std::size_t consumed = 0;  // octets of the input taken by the path
};

// Parses a path at the start of `text` (after "MAIL FROM:" / "RCPT TO:").
// Accepts "<mailbox>", "<>" when allow_null, a source route "<@a,@b:mailbox>"
// (RFC 5321 §4.1.2: accepted and ignored), and, as Postfix does, a bare
// mailbox without brackets. Stops at the first space after the path.
PathParse parse_path(std::string_view text, bool allow_null, bool utf8_allowed);

// The special case of RFC 5321 §4.1.1.3: "<Postmaster>" with no domain.
bool is_bare_postmaster(const Path& p);

// Domain comparison is case-insensitive for ASCII and ignores one trailing dot.
std::string normalize_domain(std::string_view domain);

}  // namespace petrel::smtp
