// `petrel probe DOMAIN|HOST[:PORT]`: tests a mail server the way one would
// by hand with nslookup and telnet, and grades what it finds
// (docs/petrel-probe.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

namespace petrel::cli {

// What TARGET names: a mail domain (probe its MX hosts) or one host.
struct ProbeTarget {
  bool domain = false;
  std::string name;                   // domain, host name or IP literal (no brackets)
  std::optional<std::uint16_t> port;  // from HOST:PORT
};

// "example.org" and "user@example.org" are domains; "mx.example.org:25",
// "192.0.2.1", "[2001:db8::1]:587" are hosts. nullopt when malformed.
std::optional<ProbeTarget> parse_probe_target(std::string_view text);

// Adds the `probe` subcommand to app; its callback sets exit_code.
void add_probe_command(CLI::App& app, int& exit_code);

}  // namespace petrel::cli
