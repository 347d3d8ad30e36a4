#include "delivery/route.hpp"

#include <charconv>

namespace petrel::delivery {
namespace {

bool consume(std::string_view& s, std::string_view prefix) {
  if (s.substr(0, prefix.size()) != prefix) return false;
  s.remove_prefix(prefix.size());
  return true;
}

bool valid_host(std::string_view h) {
  if (h.empty() || h.size() > 253) return false;
  for (char c : h) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '.' || c == ':' || c == '_';
    if (!ok) return false;
  }
  return true;
}

// "host", "host:port", "[host]", "[host]:port", "[ipv6]:port".
bool parse_endpoint(std::string_view text, Route& r, std::string& error) {
  std::string_view port_text;
  if (consume(text, "[")) {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return error = "missing ']'", false;
    r.host = std::string(text.substr(0, close));
    r.mx_lookup = false;
    text.remove_prefix(close + 1);
    if (!text.empty() && !consume(text, ":")) return error = "expected ':PORT' after ']'", false;
    port_text = text;
  } else {
    const auto colon = text.rfind(':');
    r.host = std::string(text.substr(0, colon));
    r.mx_lookup = true;
    if (colon != std::string_view::npos) port_text = text.substr(colon + 1);
  }
  if (!valid_host(r.host)) return error = "bad host name '" + r.host + "'", false;
  if (!port_text.empty()) {
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 || port > 65535) {
      return error = "bad port '" + std::string(port_text) + "'", false;
    }
    r.port = static_cast<std::uint16_t>(port);
  }
  return true;
}

}  // namespace

std::string Route::str() const {
  switch (kind) {
    case Kind::local: return "local";
    case Kind::odmr: return "odmr";
    case Kind::lmtp:
      if (!unix_path.empty()) return "lmtp:unix:" + unix_path;
      return "lmtp:[" + host + "]:" + std::to_string(port);
    case Kind::smtp: break;
  }
  return "smtp:" + (mx_lookup ? host : "[" + host + "]") + ":" + std::to_string(port);
}

std::optional<Route> parse_route(std::string_view text, std::string& error) {
  Route r;
  if (text == "local") return r;
  if (text == "odmr") {
    r.kind = Route::Kind::odmr;
    return r;
  }
  if (consume(text, "smtp:")) {
    r.kind = Route::Kind::smtp;
    if (!parse_endpoint(text, r, error)) return std::nullopt;
    return r;
  }
  if (consume(text, "lmtp:")) {
    r.kind = Route::Kind::lmtp;
    if (consume(text, "unix:")) {
      if (text.empty() || text.front() != '/') return error = "lmtp:unix: needs an absolute socket path", std::nullopt;
      r.unix_path = std::string(text);
      return r;
    }
    r.port = 24;  // RFC 2033 has no port; 24 is the IANA "any private mail system"
    if (!parse_endpoint(text, r, error)) return std::nullopt;
    r.mx_lookup = false;  // LMTP goes to the named host, never an MX
    return r;
  }
  error = "expected local, odmr, smtp:[HOST]:PORT, smtp:HOST, lmtp:unix:/PATH or lmtp:HOST:PORT";
  return std::nullopt;
}

std::optional<Route> parse_relayhost(std::string_view text, std::string& error) {
  Route r;
  r.kind = Route::Kind::smtp;
  if (!parse_endpoint(text, r, error)) return std::nullopt;
  return r;
}

std::optional<Route> route_for(const RoutingTable& table, std::string_view domain, bool local) {
  if (auto exact = table.transports.find(std::string(domain)); exact != table.transports.end()) return exact->second;
  for (auto dot = domain.find('.'); dot != std::string_view::npos; dot = domain.find('.', dot + 1)) {
    if (auto parent = table.transports.find(std::string(domain.substr(dot))); parent != table.transports.end()) {
      return parent->second;
    }
  }
  if (local) return Route{};
  return table.relayhost;
}

}  // namespace petrel::delivery
