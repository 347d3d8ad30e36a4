#include "authres/authres.hpp"

#include <algorithm>

#include "smtp/header_field.hpp"

namespace petrel::authres {
namespace {

constexpr std::string_view kTspecials = "()<>@,;:\\\"/[]?=";  // RFC 2045 §5.1

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return c > ' ' && c < 127 && kTspecials.find(c) == std::string_view::npos;
  });
}

bool is_atext(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

bool is_dot_atom(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.' || s.find("..") != std::string_view::npos) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c == '.' || is_atext(c); });
}

// §2.2 pvalue: a value, or [local-part "@"] domain-name.
bool is_plain_pvalue(std::string_view s) {
  if (is_token(s)) return true;
  const std::size_t at = s.rfind('@');
  if (at == std::string_view::npos) return false;
  return (at == 0 || is_dot_atom(s.substr(0, at))) && is_dot_atom(s.substr(at + 1));
}

// Text from outside (an SPF explanation, an address) on one line: a line
// break becomes a space, other control characters go.
void append_text(std::string& out, char c) {
  if (c == '\n') out += ' ';
  else if (static_cast<unsigned char>(c) >= ' ' && c != 127) out += c;
}

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    append_text(out, c);
  }
  return out + "\"";
}

std::string comment(std::string_view s) {
  std::string out = "(";
  for (char c : s) {
    if (c == '(' || c == ')' || c == '\\') out += '\\';
    append_text(out, c);
  }
  return out + ")";
}

// Skips WSP, folding and comments (CFWS).
std::size_t skip_cfws(std::string_view s, std::size_t i) {
  int depth = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (depth > 0 && c == '\\') {
      i += 2;
      continue;
    }
    if (c == '(') ++depth;
    else if (c == ')' && depth > 0) --depth;
    else if (depth == 0 && c != ' ' && c != '\t' && c != '\r' && c != '\n') break;
    ++i;
  }
  return i;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](char c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; });
  return s;
}

}  // namespace

std::string header_field(std::string_view authserv_id, const std::vector<MethodResult>& results) {
  std::string out = "Authentication-Results: " + std::string(authserv_id) + ";";
  if (results.empty()) return out + " none\r\n";
  for (std::size_t i = 0; i < results.size(); ++i) {
    const MethodResult& r = results[i];
    out += "\r\n\t" + r.method + "=" + r.result;
    if (!r.comment.empty()) out += " " + comment(r.comment);
    for (const Property& p : r.properties) {
      out += " " + p.type + "." + p.name + "=" + (is_plain_pvalue(p.value) ? p.value : quoted(p.value));
    }
    if (i + 1 < results.size()) out += ";";
  }
  return out + "\r\n";
}

std::string authserv_id(std::string_view field) {
  const std::size_t colon = field.find(':');
  if (colon == std::string_view::npos) return {};
  const std::string_view value = field.substr(colon + 1);
  std::size_t i = skip_cfws(value, 0);
  std::string id;
  if (i < value.size() && value[i] == '"') {
    for (++i; i < value.size() && value[i] != '"'; ++i) {
      if (value[i] == '\\' && i + 1 < value.size()) ++i;
      id += value[i];
    }
    return lower(id);
  }
  while (i < value.size() && value[i] != ';' && value[i] != '(' && value[i] != ' ' && value[i] != '\t' &&
         value[i] != '\r' && value[i] != '\n') {
    id += value[i++];
  }
  return lower(id);
}

std::size_t remove_forged(std::string& content, std::string_view id) {
  const std::string ours = lower(std::string(id));
  return smtp::remove_fields(content, [&ours](std::string_view field) {
    return smtp::is_field(field, "Authentication-Results") && authserv_id(field) == ours;
  });
}

}  // namespace petrel::authres
