// `petrel catch`: an SMTP server for tests that keeps every message in a
// Maildir and grades how the client spoke (docs/petrel-catch.md).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

namespace petrel::cli {

// What --offer chose. esmtp false: "none", a plain RFC 821 server.
struct CatchOffer {
  bool esmtp = true;
  std::vector<std::string> keywords;  // upper case
};

// The keywords catch can offer, in EHLO order; the default offer is all.
const std::vector<std::string>& catch_keywords();

// "pipelining,SIZE" or "none" or "" (all). nullopt and `error` set when a
// keyword is unknown.
std::optional<CatchOffer> parse_offer(std::string_view text, std::string& error);

// Adds the `catch` subcommand to app; its callback sets exit_code.
void add_catch_command(CLI::App& app, int& exit_code);

}  // namespace petrel::cli
