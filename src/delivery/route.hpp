// Where mail for a domain goes when it is not looked up in the DNS: the
// relayhost (smarthost) and the transport map, in Postfix's notation.
//   local                 this server's Maildirs
//   smtp:[host]:port      SMTP to that host, no MX lookup (brackets, as in Postfix)
//   smtp:host:port        SMTP to the MX hosts of `host` (its A/AAAA if it has none)
//   lmtp:unix:/path       LMTP (RFC 2033) over a UNIX socket, e.g. Dovecot's
//   lmtp:host:port        LMTP over TCP
//   odmr                  held until the client that may fetch the domain
//                         connects and says ATRN (RFC 2645, docs/odmr.md)
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace petrel::delivery {

struct Route {
  enum class Kind { local, smtp, lmtp, odmr };
  Kind kind = Kind::local;
  std::string host;        // smtp and lmtp over TCP
  std::uint16_t port = 25;
  bool mx_lookup = false;  // smtp:host without brackets
  std::string unix_path;   // lmtp:unix:/path

  std::string str() const;  // back in the notation above
};

// "smtp:[mx.example.org]:25" and the other forms above. On bad syntax,
// nullopt and `error` says what is wrong.
std::optional<Route> parse_route(std::string_view text, std::string& error);
// A relayhost: "[host]:port", "[host]", "host:port" or "host" (SMTP; the
// unbracketed forms look up MX records, as Postfix's relayhost does).
std::optional<Route> parse_relayhost(std::string_view text, std::string& error);

struct RoutingTable {
  // Keys are domains in A-label form, lower case; ".example.org" also
  // matches every subdomain of example.org.
  std::map<std::string, Route> transports;
  std::optional<Route> relayhost;  // for every non-local domain the map does not name
};

// The route for a recipient domain: the transport map first (exact, then
// the closest ".parent" entry), then local domains, then the relayhost;
// nullopt means "look up the domain's MX records".
std::optional<Route> route_for(const RoutingTable& table, std::string_view ascii_domain, bool local);

}  // namespace petrel::delivery
