// petreld's command-line flags: each overrides one configuration key
// (docs/config.md lists them side by side).
#include "petreld/flags.hpp"

#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

namespace petrel::petreld {
namespace {

using config::Config;

void add_delivery_flags(CLI::App& app, Overrides& o) {
  app.add_option("--resolver", o.resolver, "DNS server to ask (default: /etc/resolv.conf)")->type_name("ADDR:PORT");
  app.add_option("--trust-anchor-file", o.trust_anchor_file,
                 "DNSSEC trust anchor (DS or DNSKEY lines): validate answers, even through --resolver, for DANE")
      ->type_name("FILE");
  app.add_option("--relayhost", o.relayhost, "Send all non-local mail through this smarthost")
      ->type_name("[HOST]:PORT");
  app.add_option("--transport", o.transports,
                 "Route a domain without DNS: DOMAIN=smtp:[HOST]:PORT, DOMAIN=lmtp:unix:/PATH, DOMAIN=local; "
                 "repeatable")
      ->type_name("DOMAIN=ROUTE");
  app.add_option("--retry-intervals", o.retry_intervals, "Waits between delivery attempts, the last repeating")
      ->type_name("1s,2s,5s");
  app.add_option("--max-queue-lifetime", o.max_queue_lifetime, "Bounce what is not delivered by then (default 5d)")
      ->type_name("DURATION");
  app.add_option("--admin", o.admin, "Queue control channel (default unix:./var/admin.sock)")
      ->type_name("unix:PATH|ADDR:PORT");
  app.add_option("--http-listen", o.http_listen, "HTTP listener of the injection API and unsubscribe links; repeatable")
      ->type_name("ADDR:PORT");
  app.add_option("--api-tokens-file", o.api_tokens_file, "API tokens, one name:token[:tenant] per line (mode 0600)")
      ->type_name("FILE");
  app.add_option("--events-file", o.events_file, "The event log: one JSON line per event ([events] file)")
      ->type_name("FILE");
  auto* on = app.add_flag("--auth-checks", o.auth_checks, "Check SPF, DKIM, DMARC and ARC on inbound mail (the default)");
  app.add_flag("--no-auth-checks", o.no_auth_checks, "Do not check SPF, DKIM, DMARC nor ARC ([auth_checks] enabled)")
      ->excludes(on);
}

std::chrono::milliseconds duration_flag(const std::string& flag, const std::string& text) {
  std::chrono::milliseconds d{0};
  if (!petrel::config::parse_duration(text, d) || d.count() <= 0) {
    throw petrel::config::ConfigError(flag, 0, "expected a duration such as 30s or 5m, got '" + text + "'");
  }
  return d;
}

void apply_delivery(const Overrides& o, Config& c) {
  using petrel::config::ConfigError;
  if (o.resolver) c.remote.resolver = *o.resolver;
  if (o.trust_anchor_file) {
    if (::access(o.trust_anchor_file->c_str(), R_OK) != 0) {
      throw ConfigError("--trust-anchor-file", 0, "cannot read " + *o.trust_anchor_file + ": " + std::strerror(errno));
    }
    c.remote.trust_anchor_file = *o.trust_anchor_file;
  }
  if (o.relayhost) c.remote.relayhost = *o.relayhost;
  if (o.admin) c.remote.admin = *o.admin;
  if (!o.http_listen.empty()) c.http.listen = o.http_listen;
  if (o.api_tokens_file) c.http.api_tokens_file = *o.api_tokens_file;
  if (o.events_file) c.events.file = *o.events_file;
  if (o.auth_checks) c.auth_checks.enabled = true;
  if (o.no_auth_checks) c.auth_checks.enabled = false;
  if (o.max_queue_lifetime) c.remote.max_queue_lifetime = duration_flag("--max-queue-lifetime", *o.max_queue_lifetime);
  if (o.retry_intervals) {
    c.retry_intervals.clear();
    std::string_view rest = *o.retry_intervals;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      c.retry_intervals.push_back(duration_flag("--retry-intervals", std::string(rest.substr(0, comma))));
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    }
  }
  if (!o.transports.empty()) c.remote.transports.clear();
  for (const std::string& t : o.transports) {
    const auto eq = t.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw ConfigError("--transport", 0, "expected DOMAIN=ROUTE such as example.org=smtp:[127.0.0.2]:25, got '" + t + "'");
    }
    std::string domain = t.substr(0, eq);
    for (char& ch : domain) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    c.remote.transports.emplace_back(domain, t.substr(eq + 1));
  }
}

void add_security_flags(CLI::App& app, Overrides& o) {
  app.add_option("--tls-cert", o.tls_cert, "PEM certificate chain: enables STARTTLS on every plain listener")
      ->type_name("FILE");
  app.add_option("--tls-key", o.tls_key, "PEM private key of --tls-cert")->type_name("FILE");
  app.add_option("--listen-submission", o.listen_submission,
                 "Submission listener (port 587 rules: AUTH before MAIL); repeatable")
      ->type_name("ADDR:PORT");
  app.add_option("--listen-smtps", o.listen_smtps, "Implicit-TLS submission listener (port 465); repeatable")
      ->type_name("ADDR:PORT");
  app.add_option("--listen-odmr", o.listen_odmr,
                 "On-Demand Mail Relay listener (RFC 2645, port 366: AUTH, then ATRN); repeatable")
      ->type_name("ADDR:PORT");
  app.add_option("--listen-odmrs", o.listen_odmrs, "ODMR listener over implicit TLS; repeatable")
      ->type_name("ADDR:PORT");
  app.add_option("--proxy-protocol", o.proxy_protocol,
                 "Listener (one of the listen addresses) that expects a PROXY protocol v1/v2 header from a load "
                 "balancer first; repeatable")
      ->type_name("ADDR:PORT");
  app.add_option("--passwd-file", o.passwd_file, "Users for AUTH, in Dovecot's passwd-file format")->type_name("FILE");
  app.add_option("--trusted-network", o.trusted_networks, "Clients that may relay without AUTH; repeatable")
      ->type_name("CIDR");
  app.add_option("--auth-failure-delay", o.auth_failure_delay, "Delay of the first 535 reply, doubling (default 1s)")
      ->type_name("DURATION");
  app.add_option("--auth-lockout-failures", o.auth_lockout_failures, "AUTH failures from one IP before 421 (default 10)")
      ->type_name("N");
  app.add_option("--auth-lockout-window", o.auth_lockout_window, "Window in which failures are counted (default 10m)")
      ->type_name("DURATION");
  app.add_option("--rate-connections-per-minute", o.rate_connections, "Connections per client IP per minute (0: off)")
      ->type_name("N");
  app.add_option("--rate-messages-per-hour", o.rate_messages, "Messages per authenticated user per hour (0: off)")
      ->type_name("N");
  app.add_flag("--self-signed-cert", o.self_signed,
               "Trials only: when the --tls-cert/--tls-key files do not exist, create a self-signed pair for "
               "--hostname there first");
  app.add_option("--user", o.user, "Started as root: run as this user once the ports are bound")->type_name("NAME");
  app.add_option("--hash-password", o.hash_password,
                 "Read a password on stdin, print its passwd-file hash and exit. SCHEME: CRYPT (yescrypt), "
                 "BLF-CRYPT, SHA512-CRYPT, ARGON2ID or SCRAM-SHA-256")
      ->type_name("SCHEME")
      ->expected(0, 1)
      ->default_str("CRYPT");
}

bool zero_duration(const std::string& text) { return text == "0" || text == "0s" || text == "0ms"; }

void apply_security(const Overrides& o, Config& c) {
  using petrel::config::ConfigError;
  if (o.tls_cert) c.tls.certificate.cert = *o.tls_cert;
  if (o.tls_key) c.tls.certificate.key = *o.tls_key;
  if (!o.listen_submission.empty()) c.listen_submission = o.listen_submission;
  if (!o.listen_smtps.empty()) c.listen_smtps = o.listen_smtps;
  if (!o.listen_odmr.empty()) c.listen_odmr = o.listen_odmr;
  if (!o.listen_odmrs.empty()) c.listen_odmrs = o.listen_odmrs;
  if (!o.proxy_protocol.empty()) {
    c.proxy.listeners = o.proxy_protocol;
    c.proxy.line = 0;
  }
  if (o.passwd_file) c.auth.passwd_file = *o.passwd_file;
  if (!o.trusted_networks.empty()) c.trusted_networks = o.trusted_networks;
  if (o.auth_failure_delay) {
    if (zero_duration(*o.auth_failure_delay)) {
      c.auth.failure_delay = std::chrono::milliseconds(0);
    } else if (!petrel::config::parse_duration(*o.auth_failure_delay, c.auth.failure_delay)) {
      throw ConfigError("--auth-failure-delay", 0, "expected a duration such as 1s, got '" + *o.auth_failure_delay + "'");
    }
  }
  if (o.auth_lockout_window && !petrel::config::parse_duration(*o.auth_lockout_window, c.auth.lockout_window)) {
    throw ConfigError("--auth-lockout-window", 0, "expected a duration such as 10m, got '" + *o.auth_lockout_window + "'");
  }
  if (o.auth_lockout_failures) c.auth.lockout_failures = *o.auth_lockout_failures;
  if (o.rate_connections) c.rate.connections_per_minute = *o.rate_connections;
  if (o.rate_messages) c.rate.messages_per_hour = *o.rate_messages;
  if (o.user) c.user = *o.user;
}

// The files the configuration names are part of it: a certificate or
// passwd-file that does not load is a configuration error (exit 2), found

}  // namespace

void add_flags(CLI::App& app, Overrides& o) {
  app.add_option("-c,--config", o.config_file, "TOML configuration file (default: the embedded defaults)");
  app.add_option("--listen", o.listen, "Listen on ADDR:PORT ([v6]:PORT for IPv6); repeatable")->type_name("ADDR:PORT");
  app.add_option("--spool", o.spool, "Spool directory")->type_name("DIR");
  app.add_option("--spool-min-free", o.spool_min_free, "Refuse mail (452 4.3.1) below this free space (default 128M)")
      ->type_name("BYTES");
  app.add_option("--local-domain", o.local_domains, "A domain delivered locally; repeatable")->type_name("DOMAIN");
  app.add_option("--maildir", o.maildir, "Local delivery root: user@domain goes to DIR/domain/user/")->type_name("DIR");
  app.add_option("--hostname", o.hostname, "Name in the greeting and Received: headers")->type_name("NAME");
  app.add_option("--max-message-size", o.max_message_size, "Largest message accepted (52428800, 50M, 1G)")
      ->type_name("BYTES");
  app.add_option("--max-recipients", o.max_recipients, "Recipients per message (default 1000)")->type_name("N");
  app.add_option("--max-sessions", o.max_sessions, "Concurrent sessions in all (default 1000)")->type_name("N");
  app.add_option("--max-sessions-per-ip", o.max_sessions_per_ip, "Concurrent sessions per client IP (default 50)")
      ->type_name("N");
  app.add_option("--max-errors", o.max_errors, "Errors per session before 421 and close (default 20)")->type_name("N");
  app.add_option("--command-timeout", o.command_timeout, "Wait for a command (default 5m)")->type_name("DURATION");
  app.add_option("--data-timeout", o.data_timeout, "Wait for each block of DATA (default 3m)")->type_name("DURATION");
  app.add_option("--bare-line-endings", o.bare_line_endings, "Bare CR/LF in DATA: reject (default) or normalize")
      ->check(CLI::IsMember({"reject", "normalize"}));
  app.add_option("--threads", o.threads, "I/O threads (default: one per core but one, at least one)")->type_name("N");
  app.add_option("--log-level", o.log_level, "trace, debug, info, warn or error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  app.add_flag("--check-config", o.check_config, "Load and check the configuration, then exit");
  add_security_flags(app, o);
  add_delivery_flags(app, o);
}

void apply(const Overrides& o, Config& c) {
  using petrel::config::ConfigError;
  if (!o.listen.empty()) c.listen = o.listen;
  if (!o.local_domains.empty()) c.local_domains = o.local_domains;
  if (o.spool) c.spool_dir = *o.spool;
  if (o.maildir) c.maildir = *o.maildir;
  if (o.hostname) c.hostname = *o.hostname;
  if (o.log_level) c.log_level = *o.log_level;
  if (o.bare_line_endings) {
    c.session.bare_line_endings = *o.bare_line_endings == "normalize" ? petrel::smtp::BareLineEndingPolicy::normalize
                                                                      : petrel::smtp::BareLineEndingPolicy::reject;
  }
  if (o.max_message_size && !petrel::config::parse_size(*o.max_message_size, c.session.limits.max_message_size)) {
    throw ConfigError("--max-message-size", 0, "expected a size such as 52428800 or 50M, got '" + *o.max_message_size + "'");
  }
  if (o.spool_min_free && !petrel::config::parse_size(*o.spool_min_free, c.spool_min_free)) {
    throw ConfigError("--spool-min-free", 0, "expected a size such as 128M, got '" + *o.spool_min_free + "'");
  }
  if (o.command_timeout && !petrel::config::parse_duration(*o.command_timeout, c.session.limits.command_timeout)) {
    throw ConfigError("--command-timeout", 0, "expected a duration such as 300s or 5m, got '" + *o.command_timeout + "'");
  }
  if (o.data_timeout && !petrel::config::parse_duration(*o.data_timeout, c.session.limits.data_timeout)) {
    throw ConfigError("--data-timeout", 0, "expected a duration such as 180s or 3m, got '" + *o.data_timeout + "'");
  }
  if (o.max_recipients) c.session.limits.max_recipients = *o.max_recipients;
  if (o.max_sessions) c.max_sessions = *o.max_sessions;
  if (o.max_sessions_per_ip) c.max_sessions_per_ip = *o.max_sessions_per_ip;
  if (o.max_errors) c.session.limits.max_errors = *o.max_errors;
  if (o.threads) c.threads = *o.threads;
  apply_security(o, c);
  apply_delivery(o, c);
  c.session.hostname = c.hostname;
}

// Started as root with a user configured: the spool and Maildirs become
// the user's before anything opens them. Without a user, root is kept, with

}  // namespace petrel::petreld
