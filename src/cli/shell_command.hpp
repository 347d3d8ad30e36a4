// `petrel shell HOST[:PORT]`: an interactive SMTP console (docs/petrel-shell.md).
#pragma once

#include <CLI/CLI.hpp>

namespace petrel::cli {

// Adds the `shell` subcommand to app; its callback sets exit_code.
void add_shell_command(CLI::App& app, int& exit_code);

}  // namespace petrel::cli
