// `petrel probe`'s output: a report for people (colour only on a terminal)
// and one JSON document for scripts (schema in docs/probe-json.md).
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "cli/probe_findings.hpp"
#include "cli/probe_observations.hpp"

namespace petrel::cli {

struct ReportOptions {
  bool verbose = false;  // the whole transcript of each host
};

void print_text_report(const ProbeObservation& probe, const std::vector<Finding>& findings, int exit_status,
                       const ReportOptions& options, std::FILE* out = stdout);

// The JSON document, as text (one line, ending in a newline).
std::string json_report(const ProbeObservation& probe, const std::vector<Finding>& findings, int exit_status);

}  // namespace petrel::cli
