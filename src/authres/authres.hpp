// The Authentication-Results header field (RFC 8601): written from the
// checks' results, and read just enough to remove the fields that claim to
// come from us (§5: a forged one must not survive). No I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace petrel::authres {

struct Property {
  std::string type;   // "smtp", "header", "policy"
  std::string name;   // "mailfrom", "d", "from"
  std::string value;  // written as is when it is a token or an address, quoted otherwise
};

struct MethodResult {
  std::string method;   // "spf", "dkim", "dmarc", "arc"
  std::string result;   // "pass", "fail", ...
  std::string comment;  // written in parentheses after the result; "" for none
  std::vector<Property> properties;
};

// "Authentication-Results: ID;\r\n\tspf=pass (...) smtp.mailfrom=a@b;\r\n..."
// ending in CRLF, one method per line; "ID; none" when `results` is empty.
std::string header_field(std::string_view authserv_id, const std::vector<MethodResult>& results);

// The authserv-id of a field (name, colon and value, folded or not), or
// "" when there is none to read.
std::string authserv_id(std::string_view field);

// Removes the Authentication-Results fields of `content`'s header whose
// authserv-id is `id`, ignoring case; returns how many.
std::size_t remove_forged(std::string& content, std::string_view id);

}  // namespace petrel::authres
