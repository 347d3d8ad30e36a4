#include "cluster/redis_url.hpp"

#include <charconv>

namespace petrel::cluster {
namespace {

bool parse_number(std::string_view text, std::uint64_t max, std::uint64_t& out) {
  if (text.empty() || text.size() > 10) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && out <= max;
}

bool valid_host(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  for (char c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '.' || c == ':' || c == '_';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::optional<RedisUrl> parse_redis_url(std::string_view text, std::string& error) {
  RedisUrl url;
  std::string_view rest;
  if (text.starts_with("rediss://")) {
    url.tls = true;
    rest = text.substr(9);
  } else if (text.starts_with("redis://")) {
    rest = text.substr(8);
  } else {
    error = "a URL such as \"redis://127.0.0.1:6379\", \"redis://:password@host:6379/0\" or \"rediss://host:6380\"";
    return std::nullopt;
  }
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    std::uint64_t db = 0;
    if (!parse_number(rest.substr(slash + 1), 1'000'000, db)) {
      error = "the database after '/' must be a number such as 0";
      return std::nullopt;
    }
    url.db = static_cast<unsigned>(db);
    rest = rest.substr(0, slash);
  }
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    // "user:password" (Redis 6 ACL users are not supported: "default" only) or ":password".
    const auto colon = userinfo.find(':');
    if (colon == std::string_view::npos || (colon != 0 && userinfo.substr(0, colon) != "default")) {
      error = "the password is written \":password@\" before the host";
      return std::nullopt;
    }
    url.password = std::string(userinfo.substr(colon + 1));
  }
  std::string_view host = rest;
  std::string_view port;
  if (rest.starts_with('[')) {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) {
      error = "an IPv6 address is written in brackets, such as redis://[::1]:6379";
      return std::nullopt;
    }
    host = rest.substr(1, close - 1);
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        error = "expected ':PORT' after the IPv6 address";
        return std::nullopt;
      }
      port = after.substr(1);
    }
  } else if (const auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (!valid_host(host)) {
    error = "a host name or address is missing or malformed";
    return std::nullopt;
  }
  url.host = std::string(host);
  if (!port.empty() || rest.ends_with(':')) {
    std::uint64_t n = 0;
    if (!parse_number(port, 65535, n) || n == 0) {
      error = "the port must be a number from 1 to 65535";
      return std::nullopt;
    }
    url.port = static_cast<std::uint16_t>(n);
  }
  return url;
}

std::string redacted(const RedisUrl& url) {
  const bool v6 = url.host.find(':') != std::string::npos;
  std::string s = url.tls ? "rediss://" : "redis://";
  if (!url.password.empty()) s += ":***@";
  s += v6 ? "[" + url.host + "]" : url.host;
  s += ":" + std::to_string(url.port);
  if (url.db != 0) s += "/" + std::to_string(url.db);
  return s;
}

}  // namespace petrel::cluster
