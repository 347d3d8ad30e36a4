// `petrel dkim keygen|check|sign`: make a DKIM key and the DNS record that
// publishes it, check what a domain publishes (and that it is the public
// half of a key file), sign a message to try a key (docs/dkim.md).
#pragma once

#include <CLI/CLI.hpp>

namespace petrel::cli {

// Adds the `dkim` subcommand to app; its callbacks set exit_code.
void add_dkim_command(CLI::App& app, int& exit_code);

}  // namespace petrel::cli
