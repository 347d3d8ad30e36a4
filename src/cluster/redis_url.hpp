// "redis://[:password@]host:port[/db]": where a node finds Redis. Pure
// parsing, no I/O (config checks it, the client connects by it).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace petrel::cluster {

struct RedisUrl {
  std::string host = "127.0.0.1";  // a name, an IPv4 address, or an IPv6 one (written [::1] in the URL)
  std::uint16_t port = 6379;
  std::string password;            // "": none (AUTH is not sent)
  unsigned db = 0;                 // SELECT db, when not 0
  bool tls = false;                // rediss://
  bool operator==(const RedisUrl&) const = default;
};

// nullopt with `error` saying why. "rediss://" is TLS, which the client
// adds itself (tls_tunnel.hpp): Debian 12's libhiredis 0.14 has none.
std::optional<RedisUrl> parse_redis_url(std::string_view text, std::string& error);

// The URL without its password, for the log.
std::string redacted(const RedisUrl& url);

}  // namespace petrel::cluster
