// `petrel probe`'s verdicts: pure functions from what was observed
// (probe_observations.hpp) to graded findings, plain-language lines for
// EHLO extensions, advice for a failed connection, and the exit status.
// No I/O, so every rule has a unit test.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cli/probe_observations.hpp"

namespace petrel::cli {

enum class Grade { pass, info, warn, fail };
std::string_view to_string(Grade grade);

struct Finding {
  std::string id;     // stable, for scripts: "open_relay", "starttls", ... (docs/probe-json.md)
  Grade grade = Grade::info;
  std::string host;   // "mx.example.org[192.0.2.1]:25"; empty for the whole target
  std::string title;  // one plain-language line
  std::string detail; // what was seen, or what to do; may be empty
};

// Exit statuses (docs/petrel-probe.md).
inline constexpr int kExitAllPass = 0;
inline constexpr int kExitWarnings = 1;
inline constexpr int kExitFailures = 2;
inline constexpr int kExitNoConnection = 3;  // no host answered at all (or nothing to probe)

// "SIZE 52428800" -> "accepts messages up to 50 MiB"; "" for a keyword not known here.
std::string explain_extension(std::string_view ehlo_line);

// "50 MiB", "1.5 KiB", "999 octets".
std::string human_size(std::uint64_t octets);

// What a failed connect or greeting means, in words, with what to try.
std::string connect_advice(NetError error, std::uint16_t port);
std::string greeting_advice(const HostObservation& host);

// The server said something, even a refusal: the probe got through.
bool answered(const HostObservation& host);
// It greeted with 220: the dialogue could go on.
bool usable(const HostObservation& host);

// "mx.example.org[192.0.2.1]:25"
std::string host_label(const HostObservation& host);

// The host name a 220 greeting or EHLO reply starts with ("" if none).
std::string first_word(const smtp::ServerReply& reply);

// Findings for one host. `now` (Unix time) is for certificate expiry;
// `others_answered`: a failure to connect here is a warning when another
// MX host took the connection, a failure otherwise.
std::vector<Finding> grade_host(const HostObservation& host, std::int64_t now, bool others_answered);

// Every finding of the probe: DNS first, then each host's.
std::vector<Finding> grade(const ProbeObservation& probe, std::int64_t now);

int exit_status(const ProbeObservation& probe, const std::vector<Finding>& findings);

}  // namespace petrel::cli
