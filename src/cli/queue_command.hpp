// `petrel queue list|show|flush|hold|release|delete`: the queue of a
// running petreld, through its admin channel.
#pragma once

#include <CLI/CLI.hpp>

namespace petrel::cli {

// Adds the `queue` subcommand tree to app; its callbacks set exit_code.
void add_queue_command(CLI::App& app, int& exit_code);

}  // namespace petrel::cli
