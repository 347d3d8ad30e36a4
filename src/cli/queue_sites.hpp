// `petrel queue sites|suspend|resume`: the destinations of a running
// petreld (sites: the MX sets its mail goes to), their state and traffic,
// and holding one back by hand.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json_fwd.hpp>

#include <functional>
#include <optional>
#include <string>

namespace petrel::cli {

// ask: sends one admin request and returns the reply (throws on "ok": false).
void add_site_commands(CLI::App& queue, int& exit_code, std::function<nlohmann::json(const nlohmann::json&)> ask,
                       std::function<bool()> json_output);

// "90s", "15m", "2h", "1d" (a bare number is seconds) to seconds; nullopt if malformed.
std::optional<long long> parse_for(const std::string& text);

}  // namespace petrel::cli
