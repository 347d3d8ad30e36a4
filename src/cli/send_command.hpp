// `petrel send`: one message to one server (or the MX of the first
// recipient's domain), the dialogue shown as it happens, exit status by
// outcome. docs/petrel-send.md is its manual.
#pragma once

#include <CLI/CLI.hpp>

namespace petrel::cli {

// Adds the `send` subcommand to app; its callback sets exit_code.
void add_send_command(CLI::App& app, int& exit_code);

}  // namespace petrel::cli
