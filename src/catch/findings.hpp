// What petrel catch says about an SMTP client: findings with stable ids
// (docs/petrel-catch.md lists them) and a level each.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace petrel::catcher {

enum class Level { info, warn, fail };  // ordered: a verdict is the worst level found

std::string_view level_name(Level level);  // "info", "warn", "fail"

struct Finding {
  std::string id;    // kebab-case, stable: "bare-lf"
  Level level = Level::info;
  std::string text;  // the first occurrence, in words: "message 1, line 3 ends in a bare LF"
  std::uint32_t count = 1;
};

// The level of a known id; throws std::out_of_range for an unknown one (a
// programmer error: every id is in findings.cpp's catalogue).
Level level_of(std::string_view id);

// What a known id checks, said as the rule a client passes:
// "Lines end in CRLF, never a bare LF" for bare-lf.
std::string_view title_of(std::string_view id);

// Every id of a fault or lapse (not the facts), in the catalogue's order:
// the report card prints a PASS line for each one not found.
std::vector<std::string_view> graded_ids();

// Adds the finding, or counts it again when the id is there already (the
// text stays that of the first occurrence).
void add_finding(std::vector<Finding>& findings, std::string_view id, std::string text);

// The worst level among the findings, info when none.
Level verdict(const std::vector<Finding>& findings);

// The exit code of petrel catch --once: 0 no warn or fail, 1 warnings, 2 failures.
int exit_code(const std::vector<Finding>& findings);

}  // namespace petrel::catcher
