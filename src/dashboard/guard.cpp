#include "dashboard/guard.hpp"

#include <algorithm>
#include <cctype>

namespace petrel::dashboard {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string cookie_attributes(bool secure) {
  return std::string("; Path=/; HttpOnly; SameSite=Strict") + (secure ? "; Secure" : "");
}

}  // namespace

std::optional<std::string> cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const auto semi = header.find(';');
    const std::string_view pair = trim(header.substr(0, semi));
    const auto eq = pair.find('=');
    if (eq != std::string_view::npos && trim(pair.substr(0, eq)) == name) {
      std::string_view value = trim(pair.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
      return std::string(value);
    }
    if (semi == std::string_view::npos) break;
    header.remove_prefix(semi + 1);
  }
  return std::nullopt;
}

bool same_origin(const http::Request& request) {
  // Host names are case-insensitive; the scheme is the listener's own.
  const std::string own = lower((request.tls ? "https://" : "http://") + request.host);
  if (!request.origin.empty()) return !request.host.empty() && lower(request.origin) == own;
  if (!request.referer.empty()) {
    const std::string referer = lower(request.referer);
    return !request.host.empty() && (referer == own || referer.starts_with(own + "/"));
  }
  return true;
}

std::string session_cookie(std::string_view id, bool secure, std::chrono::seconds max_age) {
  return std::string(kSessionCookie) + "=" + std::string(id) + "; Max-Age=" + std::to_string(max_age.count()) +
         cookie_attributes(secure);
}

std::string cleared_cookie(bool secure) {
  return std::string(kSessionCookie) + "=; Max-Age=0" + cookie_attributes(secure);
}

}  // namespace petrel::dashboard
