// Domain names in DKIM: what a d= or s= may be, and the domain of a
// message's From field, which decides the keys that sign it.
#include "dkim/canonicalize.hpp"
#include "dkim/signer.hpp"
#include "dkim/tag_list.hpp"

namespace petrel::dkim {
namespace {

// The first mailbox of an address list (RFC 5322 §3.4) with its comments
// and quoted strings blanked out, so that neither hides a '<', '@' or ','.
std::string first_mailbox(std::string_view value) {
  std::string plain;
  int comment = 0;  // nesting depth
  bool quoted = false;
  bool angle = false;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (quoted || comment > 0) {
      if (c == '\\') ++i;  // quoted-pair
      else if (quoted && c == '"') quoted = false;
      else if (comment > 0 && c == '(') ++comment;
      else if (comment > 0 && c == ')') --comment;
      continue;
    }
    if (c == '"' || c == '(') {
      quoted = c == '"';
      comment = c == '(' ? 1 : 0;
      plain += ' ';
      continue;
    }
    if (c == ',' && !angle) break;
    if (c == '<') angle = true;
    if (c == '>') angle = false;
    plain += c;
  }
  return plain;
}

// "Joe <joe@Example.COM.>" -> "example.com"; "" without a domain name.
std::string mailbox_domain(std::string_view value) {
  const std::string plain = first_mailbox(value);
  std::string_view address = plain;
  if (const std::size_t open = address.find('<'); open != std::string_view::npos) {
    address.remove_prefix(open + 1);
    address = address.substr(0, address.find('>'));
  }
  const std::size_t at = address.rfind('@');
  if (at == std::string_view::npos) return {};
  std::string_view domain = trim_wsp(address.substr(at + 1));
  if (domain.ends_with('.')) domain.remove_suffix(1);
  if (!valid_dns_name(domain)) return {};  // a domain literal, U-labels, junk
  return ascii_lower(domain);
}

}  // namespace

bool valid_dns_name(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  std::size_t label = 0;
  for (const char c : name) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok || ++label > 63) return false;
  }
  return label > 0;
}

std::string from_domain(std::string_view message) {
  const SplitMessage split = split_message(message);
  const HeaderField* from = nullptr;
  for (const HeaderField& field : split.fields) {
    if (!equal_ignoring_case(field.name, "from")) continue;
    if (from) return {};  // two From fields: whose domain would it be?
    from = &field;
  }
  if (!from) return {};
  return mailbox_domain(from->value());
}

}  // namespace petrel::dkim
