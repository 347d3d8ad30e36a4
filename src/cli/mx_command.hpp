// `petrel mx DOMAIN`: a domain's mail servers as the DNS gives them (MX
// with preference, addresses, reverse names, TLSA, MTA-STS, DNSSEC) and
// what a sender does with them, in words (docs/petrel-mx.md).
#pragma once

#include <CLI/CLI.hpp>

namespace petrel::cli {

// Adds the `mx` subcommand to app; its callback sets exit_code.
void add_mx_command(CLI::App& app, int& exit_code);

}  // namespace petrel::cli
