// The keys of the sections that decide who may do what: [tls], [auth],
// [relay], [submission] and [rate]. docs/config.md is the reference.
#include <algorithm>
#include <set>

#include "config/reading.hpp"
#include "util/cidr.hpp"

namespace petrel::config::detail {
namespace {

bool valid_cidr(std::string_view s) { return util::Cidr::parse(s).has_value(); }

[[noreturn]] void fail_at(const std::string& name, const std::string& message) { throw ConfigError(name, 0, message); }

bool valid_mechanism(std::string_view s) {
  return s == "PLAIN" || s == "LOGIN" || s == "SCRAM-SHA-256" || s == "CRAM-MD5";
}

// A duration that may be zero ("0s" turns a delay off).
std::chrono::milliseconds read_delay(const Field& f) {
  if (auto i = f.value.as_integer(); i && i->get() == 0) return std::chrono::milliseconds(0);
  if (auto s = f.value.as_string(); s && (s->get() == "0" || s->get() == "0s" || s->get() == "0ms")) {
    return std::chrono::milliseconds(0);
  }
  return read_duration(f, f.value);
}

CertificateFiles read_certificate_table(const Field& f, const toml::node& n) {
  constexpr std::string_view expected = "a table { cert = \"FILE\", key = \"FILE\" }";
  auto t = n.as_table();
  if (!t || t->size() != 2) f.fail(n, expected);
  auto cert = t->get_as<std::string>("cert");
  auto key = t->get_as<std::string>("key");
  if (!cert || !key || cert->get().empty() || key->get().empty()) f.fail(n, expected);
  return {cert->get(), key->get()};
}

const Key kTlsKeys[] = {
    {"cert", [](const Field& f, Config& c) { c.tls.certificate.cert = read_path(f); }},
    {"key", [](const Field& f, Config& c) { c.tls.certificate.key = read_path(f); }},
    {"sni",
     [](const Field& f, Config& c) {
       c.tls.sni = read_array<CertificateFiles>(f, "tables { cert = \"FILE\", key = \"FILE\" }", true,
                                                [&](const toml::node& n) { return read_certificate_table(f, n); });
     }},
    {"handshake_timeout", [](const Field& f, Config& c) { c.tls.handshake_timeout = read_duration(f, f.value); }},
};

const Key kAuthKeys[] = {
    {"passwd_file", [](const Field& f, Config& c) { c.auth.passwd_file = read_path(f); }},
    {"mechanisms",
     [](const Field& f, Config& c) {
       c.auth.mechanisms = read_array<std::string>(f, "mechanism names", false, [&](const toml::node& n) {
         return read_string(f, n, valid_mechanism, "one of \"PLAIN\", \"LOGIN\", \"SCRAM-SHA-256\", \"CRAM-MD5\"");
       });
     }},
    {"allow_without_tls", [](const Field& f, Config& c) { c.auth.allow_without_tls = read_listen_list(f); }},
    {"failure_delay", [](const Field& f, Config& c) { c.auth.failure_delay = read_delay(f); }},
    {"max_failure_delay", [](const Field& f, Config& c) { c.auth.max_failure_delay = read_delay(f); }},
    {"lockout_failures", [](const Field& f, Config& c) { c.auth.lockout_failures = read_count(f, 1); }},
    {"lockout_window", [](const Field& f, Config& c) { c.auth.lockout_window = read_duration(f, f.value); }},
    {"lockout_duration", [](const Field& f, Config& c) { c.auth.lockout_duration = read_duration(f, f.value); }},
};

const Key kRelayKeys[] = {
    {"trusted_networks", [](const Field& f, Config& c) { c.trusted_networks = read_cidr_list(f); }},
};

// Every listener a proxy key names must be one of the listen keys'.
void validate_proxy(const Config& c, const std::string& name, const std::set<std::string>& bound) {
  for (const std::string& l : c.proxy.listeners) {
    if (!bound.count(l)) {
      throw ConfigError(name, c.proxy.line,
                        "[server] proxy_protocol names \"" + l + "\", which is not an address of a listen key in [server]");
    }
  }
  for (const std::string& n : c.proxy.trusted) {
    if (!valid_cidr(n)) fail_at(name, "[server] proxy_trusted entries must be networks such as \"10.0.0.0/8\", got \"" + n + "\"");
  }
  if (c.proxy.header_timeout.count() <= 0) fail_at(name, "[timeouts] proxy_header must be > 0");
}

constexpr std::string_view kSenderLoginMatch[] = {"exact", "domain", "any"};

const Key kSubmissionKeys[] = {
    {"sender_login_match",
     [](const Field& f, Config& c) {
       c.submission.sender_login_match = static_cast<SenderLoginMatch>(read_choice(f, kSenderLoginMatch));
     }},
    {"add_missing_headers", [](const Field& f, Config& c) { c.submission.add_missing_headers = read_bool(f); }},
};

const Key kRateKeys[] = {
    {"connections_per_minute", [](const Field& f, Config& c) { c.rate.connections_per_minute = read_count(f, 0); }},
    {"messages_per_hour", [](const Field& f, Config& c) { c.rate.messages_per_hour = read_count(f, 0); }},
};

}  // namespace

std::vector<std::string> read_cidr_list(const Field& f) {
  return read_array<std::string>(f, "CIDR networks", true, [&](const toml::node& n) {
    return read_string(f, n, valid_cidr, "a network such as \"192.0.2.0/24\", \"2001:db8::/32\" or an address");
  });
}

std::span<const Key> tls_keys() { return kTlsKeys; }
std::span<const Key> auth_keys() { return kAuthKeys; }
std::span<const Key> relay_keys() { return kRelayKeys; }
std::span<const Key> submission_keys() { return kSubmissionKeys; }
std::span<const Key> rate_keys() { return kRateKeys; }

void validate_security(const Config& c, const std::string& name) {
  auto fail = [&](const std::string& message) { throw ConfigError(name, 0, message); };
  for (const auto* list : {&c.listen_submission, &c.listen_smtps, &c.listen_odmr, &c.listen_odmrs,
                           &c.auth.allow_without_tls}) {
    for (const std::string& l : *list) {
      if (!valid_listen(l)) fail("listen addresses must be \"ADDR:PORT\", got \"" + l + "\"");
    }
  }
  if (c.tls.certificate.cert.empty() != c.tls.certificate.key.empty()) {
    fail("[tls] cert and key go together: set both or neither");
  }
  if (!c.tls.enabled() && !c.listen_smtps.empty()) fail("[server] listen_smtps needs a certificate: set [tls] cert and key");
  if (!c.tls.enabled() && !c.listen_odmrs.empty()) fail("[server] listen_odmrs needs a certificate: set [tls] cert and key");
  if (!c.tls.enabled() && !c.tls.sni.empty()) fail("[tls] sni needs a default certificate: set [tls] cert and key");
  for (const std::string& n : c.trusted_networks) {
    if (!valid_cidr(n)) fail("[relay] trusted_networks entries must be networks such as \"192.0.2.0/24\", got \"" + n + "\"");
  }
  if (!c.listen_submission.empty() && c.auth.passwd_file.empty() && c.trusted_networks.empty()) {
    fail("[server] listen_submission needs users to authenticate: set [auth] passwd_file");
  }
  for (const std::string& l : c.auth.allow_without_tls) {
    const bool known = std::count(c.listen.begin(), c.listen.end(), l) + std::count(c.listen_submission.begin(),
                                                                                     c.listen_submission.end(), l);
    if (!known) fail("[auth] allow_without_tls names \"" + l + "\", which is not a plain or submission listener");
  }
  std::set<std::string> bound;
  for (const auto* list : {&c.listen, &c.listen_submission, &c.listen_smtps, &c.listen_odmr, &c.listen_odmrs}) {
    for (const std::string& l : *list) {
      if (!bound.insert(l).second) fail("\"" + l + "\" is named by more than one listen key in [server]");
    }
  }
  validate_proxy(c, name, bound);
  if (c.auth.mechanisms.empty()) fail("[auth] mechanisms must not be empty");
  if (c.auth.lockout_failures < 1) fail("[auth] lockout_failures must be ≥ 1");
  validate_odmr(c, name);
}

}  // namespace petrel::config::detail
