// Fuzzes the MTA-STS parsers (src/mtasts/policy.cpp): the policy file an
// HTTPS server hands us and the _mta-sts TXT record, both from strangers.
//
// Input: one settings octet (bit 0: also read the rest as a TXT record),
// then the text.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "mtasts/policy.hpp"

using namespace petrel;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t settings = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);

  std::string error;
  const auto policy = mtasts::parse_policy(text, error);
  FUZZ_CHECK(policy.has_value() == error.empty());
  if (policy) {
    FUZZ_CHECK(policy->max_age >= std::chrono::seconds(0) && policy->max_age <= mtasts::kMaxAge);
    FUZZ_CHECK(policy->mode == mtasts::Policy::Mode::none || !policy->mx.empty());
    for (const auto& mx : policy->mx) {
      FUZZ_CHECK(!mx.empty());
      // A plain pattern matches itself, in any case.
      if (!mx.starts_with("*.") && mx.back() != '.') FUZZ_CHECK(mtasts::mx_matches(*policy, mx));
    }
    std::string again_error;
    const auto again = mtasts::parse_policy(text, again_error);
    FUZZ_CHECK(again && again->mx == policy->mx && again->mode == policy->mode);
  }
  if (settings & 1) {
    dns::TxtAnswer answer;
    answer.outcome = dns::Outcome::ok;
    answer.records.push_back(dns::TxtRecord{{std::string(text)}});
    const auto record = mtasts::parse_sts_record(answer);
    FUZZ_CHECK((record.state == mtasts::StsRecord::State::published) == !record.id.empty());
    FUZZ_CHECK(record.id.size() <= 32);
  }
  return 0;
}
