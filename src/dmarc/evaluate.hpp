// DMARC (RFC 7489): which record to ask for, and the verdict on a message
// from its SPF and DKIM results and that record. Pure: the caller looks up
// the TXT records and draws the random number for pct=.
//
//   for (name : dmarc::record_names(from_domain, psl)) { lookup TXT name; stop at a record }
//   dmarc::evaluate(input, record ? &*record : nullptr, found_at_org_domain, psl)
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "dmarc/org_domain.hpp"
#include "dmarc/record.hpp"
#include "spf/evaluator.hpp"

namespace petrel::dmarc {

enum class Result { none, pass, fail, temperror, permerror };
std::string_view to_string(Result result);  // as RFC 8601 writes them

struct Input {
  std::string from_domain;  // RFC5322.From domain, lower-case
  spf::Result spf = spf::Result::none;
  std::string spf_domain;   // the domain SPF checked (MAIL FROM domain, or HELO when MAIL FROM was <>)
  std::vector<std::string> dkim_pass_domains;  // d= of every signature that verified (dkim=pass)
  int sample = 0;           // a random draw in 0..99 for pct= (§6.6.4): sampled in when below pct
  bool from_domain_exists = true;  // false when the From domain is NXDOMAIN: np= may apply (RFC 9091)
};

// The TXT names to ask, in order (§6.6.3): "_dmarc.<from_domain>", then
// "_dmarc.<organizational domain>" if that differs and the first had no
// record. A temporary failure on either stops the search (temperror()).
std::vector<std::string> record_names(std::string_view from_domain, const PublicSuffixList& psl);

struct Decision {
  Result result = Result::none;
  Policy policy = Policy::none;            // what to apply: the published one, less strict when sampled out
  Policy published_policy = Policy::none;  // p=, sp= for a subdomain, np= for a nonexistent one
  bool sampled_out = false;                // pct= left this failing message out (§6.6.4)
  std::string record_domain;               // where the record was found, without "_dmarc."
  std::string reason;                      // "aligned DKIM d=example.org", "SPF and DKIM not aligned"
  bool spf_aligned = false;
  bool dkim_aligned = false;
};

// The verdict. `record` is null when no DMARC record was found (none);
// `record_from_org_domain` says it came from the second name.
Decision evaluate(const Input& input, const Record* record, bool record_from_org_domain, const PublicSuffixList& psl);

// When looking the record up failed temporarily: dmarc=temperror, and the
// caller decides (a 451, or accepting as if there were no record).
Decision temperror(std::string_view record_name, std::string_view error);

}  // namespace petrel::dmarc
