// MTA-STS (RFC 8461) without I/O: the _mta-sts TXT record, the policy file
// served at https://mta-sts.DOMAIN/.well-known/mta-sts.txt, and whether an
// MX host name matches the policy. The fetch is in mtasts/fetch.hpp; the
// delivery code decides what a policy does to a delivery.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dns/records.hpp"

namespace petrel::mtasts {

// The TXT record at _mta-sts.DOMAIN (RFC 8461 §3.1): exactly one record
// starting "v=STSv1", with an id of 1 to 32 letters and digits.
struct StsRecord {
  enum class State {
    none,       // no v=STSv1 record (or the name does not exist): no policy
    published,  // one valid record: `id` is set
    invalid,    // v=STSv1 records, but not exactly one valid one: treated as none
    unknown,    // the lookup failed (temporary): a cached policy still applies
  };
  State state = State::none;
  std::string record;   // the v=STSv1 record, its strings joined
  std::string id;       // when published
  std::string problem;  // why invalid / unknown
};
StsRecord parse_sts_record(const dns::TxtAnswer& answer);
std::string_view to_string(StsRecord::State state);

// The policy file (RFC 8461 §3.2).
struct Policy {
  enum class Mode { enforce, testing, none };
  Mode mode = Mode::none;
  std::vector<std::string> mx;  // "mail.example.com", "*.example.net", lower case
  std::chrono::seconds max_age{0};
  std::string id;               // of the TXT record it was fetched under (set by the caller)
};
std::string_view to_string(Policy::Mode mode);

// The policy in `body`, or nullopt with `error` saying why: a missing or
// wrong version, an unknown mode, no mx in enforce/testing mode, a
// missing or out-of-range max_age. Keys this version does not know are
// skipped (§3.2: for extensions).
std::optional<Policy> parse_policy(std::string_view body, std::string& error);

// §4.1: the MX host (no trailing dot, any case) is one the policy names,
// exactly or as the single left-most label of a "*." pattern.
bool mx_matches(const Policy& policy, std::string_view mx_host);

// The longest policy body accepted (§3.3 says 64 KiB at most).
inline constexpr std::size_t kMaxPolicyBytes = 64 * 1024;
// §3.2: max_age is at most 31557600 s (about a year).
inline constexpr std::chrono::seconds kMaxAge{31'557'600};

}  // namespace petrel::mtasts
