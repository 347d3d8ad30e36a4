#include "delivery/local_routing.hpp"

#include <algorithm>

#include "smtp/header_field.hpp"
#include "util/idn.hpp"

namespace petrel::delivery {
namespace {

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](char c) { return ascii_lower(c); });
  return out;
}

// A domain becomes a directory name: it must be one path component that is
// neither "." nor "..".
bool is_safe_domain(std::string_view domain) {
  return !domain.empty() && domain.front() != '.' && domain.find('/') == std::string_view::npos &&
         domain.find('\\') == std::string_view::npos && domain.find('\0') == std::string_view::npos;
}

// "\"a\\\"b\"" -> "a\"b": a quoted local part (RFC 5321 §4.1.2 Quoted-string)
// names the same mailbox as its unquoted form.
std::string unquoted(std::string_view local_part) {
  if (local_part.size() < 2 || local_part.front() != '"' || local_part.back() != '"') {
    return std::string(local_part);
  }
  local_part = local_part.substr(1, local_part.size() - 2);
  std::string out;
  out.reserve(local_part.size());
  for (std::size_t i = 0; i < local_part.size(); ++i) {
    if (local_part[i] == '\\' && i + 1 < local_part.size()) ++i;  // quoted-pair
    out.push_back(local_part[i]);
  }
  return out;
}

bool needs_escape(unsigned char c, bool first) {
  if (c < 0x20 || c == 0x7f) return true;  // control characters
  if (c == '/' || c == '\\' || c == '%') return true;
  return first && c == '.';  // no hidden names, and so never "." or ".."
}

// %XX-escapes every octet that is unsafe in one path component. Escaping '%'
// itself keeps the mapping one-to-one.
std::string escaped_file_name(std::string_view name) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(name.size());
  for (std::size_t i = 0; i < name.size(); ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (needs_escape(c, i == 0)) {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 0xf]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

bool is_bare_postmaster(const smtp::Address& a) {
  return a.domain.empty() && ascii_lower(a.local_part) == "postmaster";
}

std::string without_trailing_slashes(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

}  // namespace

bool is_local_domain(const LocalRouting& r, std::string_view domain) {
  const std::string d = util::ascii_domain(domain);
  if (!is_safe_domain(d)) return false;
  return std::find(r.local_domains.begin(), r.local_domains.end(), d) != r.local_domains.end();
}

std::string mailbox_name(const LocalRouting& r, std::string_view local_part) {
  std::string name = ascii_lower(unquoted(local_part));
  if (!r.recipient_delimiter.empty()) {
    // "+tag" alone keeps its name: cutting would leave nothing.
    const std::size_t at = name.find(r.recipient_delimiter);
    if (at != std::string::npos && at > 0) name.resize(at);
  }
  return name;
}

std::optional<std::string> mailbox_directory(const LocalRouting& r, const smtp::Address& rcpt) {
  if (r.maildir_root.empty()) return std::nullopt;  // would make the path relative to "/"
  std::string domain;
  if (is_bare_postmaster(rcpt)) {
    if (r.local_domains.empty()) return std::nullopt;
    domain = r.local_domains.front();
  } else {
    if (!is_local_domain(r, rcpt.domain)) return std::nullopt;
    domain = util::ascii_domain(rcpt.domain);
  }
  // Checked again for the configured first domain of the postmaster case.
  if (!is_safe_domain(domain)) return std::nullopt;

  const std::string name = mailbox_name(r, rcpt.local_part);
  // An empty name would be the domain directory itself.
  if (name.empty()) return std::nullopt;
  return without_trailing_slashes(r.maildir_root) + "/" + domain + "/" + escaped_file_name(name);
}

std::string folder_for(const LocalRouting& r, const std::string& mailbox, std::string_view content) {
  if (r.quarantine_folder.empty() || !smtp::has_field_value(content, "X-Spam-Flag", "YES")) return mailbox;
  return mailbox + "/." + r.quarantine_folder;
}

}  // namespace petrel::delivery
