// A session's report as JSON (docs/petrel-catch.md documents the schema):
// the grader's findings with what the I/O layer knows besides.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "catch/grader.hpp"
#include "catch/script_hook.hpp"

namespace petrel::catcher {

struct SessionFacts {
  std::string client;        // "127.0.0.1:40312"
  std::string started;       // RFC 3339, UTC: "2026-12-07T11:25:56Z"
  std::uint64_t duration_ms = 0;
  std::string close_reason;  // the server session's: "QUIT", "client closed", "timeout"
  // The Maildir file (relative to the Maildir: "new/...") of each message
  // the server accepted, in order; messages it refused have none.
  std::vector<std::string> files;
  // What --script injected, in order; empty without a script.
  std::vector<ScriptedAction> scripted;
};

// The report, one JSON object with a trailing newline.
std::string json_report(const Grader& grader, const SessionFacts& facts);

}  // namespace petrel::catcher
