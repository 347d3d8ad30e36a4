// `petrel events failed`: the webhook batches petreld set aside (a 4xx
// other than 408 and 429, or not delivered within max_age), through its
// admin channel (docs/events.md).
#pragma once

#include <CLI/CLI.hpp>

namespace petrel::cli {

void add_events_command(CLI::App& app, int& exit_code);

}  // namespace petrel::cli
