// The DNS side of `petrel mx`: every lookup of the report (MX, MTA-STS TXT,
// each host's A/AAAA and TLSA, each address's PTR and the PTR names'
// forward lookups) started as soon as the answer it depends on is in, all
// concurrently on one io_context with the project's UnboundResolver.
// Asio stays in the .cpp.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "cli/mx_report.hpp"

namespace petrel::cli {

enum class MxDnssec {
  automatic,  // validate with the root trust anchor when there is one, unless --resolver is given
  on,         // validate (the resolver must pass DNSSEC records on)
  off,
};

struct MxLookupOptions {
  std::string resolver;  // "ADDR:PORT"; "" for /etc/resolv.conf
  MxDnssec dnssec = MxDnssec::automatic;
  // DS or DNSKEY lines to validate with instead of the root anchor; with
  // it, `automatic` validates through `resolver` too (a lab's signed zones).
  std::string trust_anchor_file;
  std::chrono::milliseconds timeout{5'000};  // per query
};

// Looks `query` up (a domain, in U-labels or A-labels, or an address whose
// domain part is taken). Always returns a report: DNS failures are in its
// answers. Throws std::runtime_error when the resolver cannot start (a bad
// --resolver, --dnssec on without a trust anchor).
MxReport look_up_mx(std::string_view query, const MxLookupOptions& options);

}  // namespace petrel::cli
