// petreld's command-line flags and how they override the configuration.
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace petrel::petreld {

// What the command line said; unset options leave the configuration alone.
struct Overrides {
  std::string config_file;
  std::vector<std::string> listen;
  std::vector<std::string> local_domains;
  std::optional<std::string> spool, maildir, hostname, log_level, bare_line_endings;
  std::optional<std::string> max_message_size, command_timeout, data_timeout, spool_min_free;
  std::optional<std::size_t> max_recipients, max_sessions, max_sessions_per_ip, max_errors;
  std::optional<unsigned> threads;
  bool check_config = false;
  // Issue 4: TLS, AUTH, relay, submission.
  std::optional<std::string> tls_cert, tls_key, passwd_file, user, hash_password;
  std::vector<std::string> listen_submission, listen_smtps, listen_odmr, listen_odmrs, trusted_networks;
  std::vector<std::string> proxy_protocol;  // listeners behind a balancer (docs/cluster.md)
  std::optional<std::string> auth_failure_delay, auth_lockout_window;
  std::optional<std::size_t> auth_lockout_failures, rate_connections, rate_messages;
  bool self_signed = false;
  // Issue 5: delivery to other servers.
  std::optional<std::string> resolver, trust_anchor_file, relayhost, retry_intervals, max_queue_lifetime, admin;
  std::vector<std::string> transports;
  // Issue 12: the HTTP listener.
  std::vector<std::string> http_listen;
  std::optional<std::string> api_tokens_file;
  std::optional<std::string> events_file;
  // Issue 14: the inbound SPF/DKIM/DMARC/ARC checks.
  bool auth_checks = false, no_auth_checks = false;
};

void add_flags(CLI::App& app, Overrides& o);
// Flags win over the file; each goes through the same checks as the file.
// Throws config::ConfigError naming the flag.
void apply(const Overrides& o, config::Config& c);

}  // namespace petrel::petreld
