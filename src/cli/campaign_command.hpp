// `petrel campaign send`: a recipient list (CSV) and a template to
// petreld's HTTP API in idempotent batches, or over SMTP to any server,
// with a progress bar, a state file to resume from, and a report of what
// became of every recipient. docs/campaign.md is its manual.
#pragma once

#include <CLI/CLI.hpp>

namespace petrel::cli {

// Adds `campaign` (and its `send`) to app; the callback sets exit_code.
void add_campaign_command(CLI::App& app, int& exit_code);

}  // namespace petrel::cli
