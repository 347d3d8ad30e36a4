// `petrel suppress list|add|remove|import|export`: the suppression list of a
// running petreld, through its admin channel (docs/suppression.md).
#pragma once

#include <CLI/CLI.hpp>

namespace petrel::cli {

void add_suppress_command(CLI::App& app, int& exit_code);

}  // namespace petrel::cli
