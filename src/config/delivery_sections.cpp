// The keys of [delivery], [dns] and [admin]: how mail leaves this server.
// docs/config.md is the reference.
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "config/reading.hpp"
#include "delivery/route.hpp"

namespace petrel::config::detail {
namespace {

using std::chrono::milliseconds;

bool valid_route(std::string_view s) {
  std::string error;
  return delivery::parse_route(s, error).has_value();
}

bool valid_relayhost(std::string_view s) {
  std::string error;
  return s.empty() || delivery::parse_relayhost(s, error).has_value();
}

bool valid_tls_policy(std::string_view s) { return s == "none" || s == "may" || s == "encrypt" || s == "verify"; }

// "127.0.0.1:5353", "[::1]:53", or "" for /etc/resolv.conf.
bool valid_resolver(std::string_view s) { return s.empty() || valid_listen(s); }

// "unix:/path" or a loopback "127.0.0.1:PORT" / "[::1]:PORT" (the admin
// channel is for this machine only).
bool valid_admin(std::string_view s) {
  if (s.empty()) return true;
  if (s.substr(0, 5) == "unix:") return s.size() > 5;
  return valid_listen(s) && (s.substr(0, 4) == "127." || s.substr(0, 5) == "[::1]" || s.substr(0, 9) == "localhost");
}

// Zero allowed: "0s" turns the delay warning off.
milliseconds read_optional_duration(const Field& f) {
  if (auto i = f.value.as_integer(); i && i->get() == 0) return milliseconds(0);
  if (auto s = f.value.as_string(); s && (s->get() == "0" || s->get() == "0s")) return milliseconds(0);
  return read_duration(f, f.value);
}

// A table keyed by domain (".example.org": its subdomains) whose values
// pass `valid`: the transport map and the TLS policies.
std::vector<std::pair<std::string, std::string>> read_domain_table(const Field& f, std::string_view example,
                                                                   bool (*valid)(std::string_view),
                                                                   std::string_view expected) {
  auto table = f.value.as_table();
  if (!table) f.fail("a table { \"example.org\" = " + std::string(example) + ", ... }");
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [key, value] : *table) {
    std::string domain(key.str());
    const bool subdomains = !domain.empty() && domain.front() == '.';
    if (!valid_domain(subdomains ? std::string_view(domain).substr(1) : std::string_view(domain))) {
      f.fail(value, "keyed by domains (\".example.org\" for its subdomains)");
    }
    out.emplace_back(normalize_domain(domain), read_string(f, value, valid, expected));
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> read_transports(const Field& f) {
  return read_domain_table(f, "\"smtp:[mx.example.org]:25\"", valid_route,
                           "a route: local, smtp:[HOST]:PORT, smtp:HOST, lmtp:unix:/PATH or lmtp:HOST:PORT");
}

std::vector<std::pair<std::string, std::string>> read_tls_policies(const Field& f) {
  return read_domain_table(f, "\"encrypt\"", valid_tls_policy, "one of \"none\", \"may\", \"encrypt\", \"verify\"");
}

const Key kDeliveryKeys[] = {
    {"retry_intervals",
     [](const Field& f, Config& c) {
       c.retry_intervals = read_array<milliseconds>(f, "durations such as \"30s\" or \"5m\"", false,
                                                    [&](const toml::node& n) { return read_duration(f, n); });
     }},
    {"relayhost",
     [](const Field& f, Config& c) {
       c.remote.relayhost = read_string(f, f.value, valid_relayhost, "\"[host]:port\", \"[host]\" or \"host\"");
     }},
    {"relayhost_user", [](const Field& f, Config& c) { c.remote.relayhost_user = read_path(f); }},
    {"relayhost_password_file", [](const Field& f, Config& c) { c.remote.relayhost_password_file = read_path(f); }},
    {"tls_ca_file", [](const Field& f, Config& c) { c.remote.tls_ca_file = read_path(f); }},
    {"mta_sts", [](const Field& f, Config& c) { c.remote.mta_sts = read_bool(f); }},
    {"dane", [](const Field& f, Config& c) { c.remote.dane = read_bool(f); }},
    {"transport", [](const Field& f, Config& c) { c.remote.transports = read_transports(f); }},
    {"max_queue_lifetime", [](const Field& f, Config& c) { c.remote.max_queue_lifetime = read_duration(f, f.value); }},
    {"delay_warning", [](const Field& f, Config& c) { c.remote.delay_warning = read_optional_duration(f); }},
    {"double_bounce", [](const Field& f, Config& c) { c.remote.double_bounce = read_path(f); }},
    {"tls",
     [](const Field& f, Config& c) {
       c.remote.tls = read_string(f, f.value, valid_tls_policy, "one of \"none\", \"may\", \"encrypt\", \"verify\"");
     }},
    {"tls_policy", [](const Field& f, Config& c) { c.remote.tls_policies = read_tls_policies(f); }},
    // Aliases of [shaping.default] connection_limit and
    // max_deliveries_per_connection; [shaping] is read after this section,
    // so a value set there wins.
    {"destination_concurrency",
     [](const Field& f, Config& c) {
       c.remote.destination_concurrency = read_count(f, 1, 1000);
       c.shaping.defaults.connection_limit = c.remote.destination_concurrency;
     }},
    {"messages_per_connection",
     [](const Field& f, Config& c) {
       c.remote.messages_per_connection = read_count(f, 1);
       c.shaping.defaults.max_deliveries_per_connection = c.remote.messages_per_connection;
     }},
    {"connect_timeout", [](const Field& f, Config& c) { c.remote.connect_timeout = read_duration(f, f.value); }},
};

const Key kDnsKeys[] = {
    {"resolver",
     [](const Field& f, Config& c) {
       c.remote.resolver = read_string(f, f.value, valid_resolver, "\"ADDR:PORT\" such as \"127.0.0.1:53\", or \"\"");
     }},
    {"trust_anchor_file",
     [](const Field& f, Config& c) {
       c.remote.trust_anchor_file = read_path(f);
       // libunbound reads it at the first lookup; a mistake is better said here.
       if (::access(c.remote.trust_anchor_file.c_str(), R_OK) != 0) {
         f.fail("a readable file of DS or DNSKEY records (" + c.remote.trust_anchor_file + ": " +
                std::strerror(errno) + ")");
       }
     }},
};

const Key kAdminKeys[] = {
    {"listen",
     [](const Field& f, Config& c) {
       c.remote.admin = read_string(f, f.value, valid_admin, "\"unix:PATH\" or a loopback \"127.0.0.1:PORT\"");
     }},
};

}  // namespace

std::span<const Key> delivery_keys() { return kDeliveryKeys; }
std::span<const Key> dns_keys() { return kDnsKeys; }
std::span<const Key> admin_keys() { return kAdminKeys; }

void validate_delivery(const Config& c, const std::string& name) {
  auto fail = [&](const std::string& message) { throw ConfigError(name, 0, message); };
  if (c.retry_intervals.empty()) fail("[delivery] retry_intervals must not be empty");
  for (milliseconds d : c.retry_intervals) {
    if (d.count() <= 0) fail("[delivery] retry_intervals entries must be > 0");
  }
  const RemoteDeliveryConfig& r = c.remote;
  if (!valid_relayhost(r.relayhost)) fail("[delivery] relayhost must be \"[host]:port\", got \"" + r.relayhost + "\"");
  for (const auto& [domain, route] : r.transports) {
    std::string error;
    if (!delivery::parse_route(route, error)) {
      std::string message = "[delivery] transport for ";
      message += domain;
      message += ": ";
      message += error;
      fail(message);
    }
  }
  if (!r.relayhost_user.empty() && r.relayhost_password_file.empty()) {
    fail("[delivery] relayhost_user needs relayhost_password_file");
  }
  if (r.max_queue_lifetime.count() <= 0) fail("[delivery] max_queue_lifetime must be > 0");
  if (!valid_tls_policy(r.tls)) fail("[delivery] tls must be none, may, encrypt or verify, got \"" + r.tls + "\"");
  if (!valid_resolver(r.resolver)) fail("[dns] resolver must be \"ADDR:PORT\", got \"" + r.resolver + "\"");
  if (!valid_admin(r.admin)) fail("[admin] listen must be \"unix:PATH\" or a loopback ADDR:PORT, got \"" + r.admin + "\"");
}

}  // namespace petrel::config::detail
