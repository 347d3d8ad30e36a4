#include "dmarc/evaluate.hpp"

#include <algorithm>

namespace petrel::dmarc {
namespace {

std::string normalized(std::string_view domain) {
  if (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
  std::string out(domain);
  std::transform(out.begin(), out.end(), out.begin(), [](char c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; });
  return out;
}

// §3.1: strict is the same name; relaxed, the same organizational domain.
bool aligned(std::string_view identifier, const std::string& from_domain, Alignment mode, const PublicSuffixList& psl) {
  const std::string id = normalized(identifier);
  if (id.empty()) return false;
  if (mode == Alignment::strict) return id == from_domain;
  return psl.organizational_domain(id) == psl.organizational_domain(from_domain);
}

// §6.3 pct=: a failing message left out gets the next policy down.
Policy less_strict(Policy policy) { return policy == Policy::reject ? Policy::quarantine : Policy::none; }

// p= for the domain itself, sp= for a subdomain under an organizational
// record, np= for a subdomain that does not exist (RFC 9091 §4.1).
Policy published_policy(const Record& record, bool subdomain, bool exists) {
  if (!subdomain) return record.policy;
  const Policy sp = record.subdomain_policy.value_or(record.policy);
  return exists ? sp : record.nonexistent_policy.value_or(sp);
}

std::string pass_reason(const Decision& d, const std::string& dkim_domain, const std::string& spf_domain) {
  std::string reason = "aligned";
  if (d.dkim_aligned) reason += " DKIM d=" + dkim_domain;
  if (d.dkim_aligned && d.spf_aligned) reason += " and";
  if (d.spf_aligned) reason += " SPF " + spf_domain;
  return reason;
}

}  // namespace

std::string_view to_string(Result result) {
  switch (result) {
    case Result::none: return "none";
    case Result::pass: return "pass";
    case Result::fail: return "fail";
    case Result::temperror: return "temperror";
    case Result::permerror: return "permerror";
  }
  return "?";
}

std::vector<std::string> record_names(std::string_view from_domain, const PublicSuffixList& psl) {
  const std::string domain = normalized(from_domain);
  if (domain.empty()) return {};
  std::vector<std::string> names{"_dmarc." + domain};
  if (const std::string org = psl.organizational_domain(domain); org != domain) names.push_back("_dmarc." + org);
  return names;
}

Decision evaluate(const Input& input, const Record* record, bool record_from_org_domain, const PublicSuffixList& psl) {
  Decision d;
  const std::string from = normalized(input.from_domain);
  if (!record) {
    d.reason = "no DMARC record for " + from;
    return d;
  }
  d.record_domain = record_from_org_domain ? psl.organizational_domain(from) : from;
  const auto dkim = std::find_if(input.dkim_pass_domains.begin(), input.dkim_pass_domains.end(),
                                 [&](const std::string& domain) { return aligned(domain, from, record->dkim_alignment, psl); });
  d.dkim_aligned = dkim != input.dkim_pass_domains.end();
  // §4.2: SPF counts only when it passed, for an aligned domain.
  d.spf_aligned = input.spf == spf::Result::pass && aligned(input.spf_domain, from, record->spf_alignment, psl);
  d.published_policy = published_policy(*record, record_from_org_domain && d.record_domain != from, input.from_domain_exists);
  d.policy = d.published_policy;
  if (d.dkim_aligned || d.spf_aligned) {
    d.result = Result::pass;
    d.reason = pass_reason(d, d.dkim_aligned ? normalized(*dkim) : "", normalized(input.spf_domain));
    return d;
  }
  d.result = Result::fail;
  d.reason = "SPF and DKIM not aligned with " + from;
  if (d.published_policy != Policy::none && input.sample >= record->percent) {
    d.sampled_out = true;
    d.policy = less_strict(d.published_policy);
  }
  return d;
}

Decision temperror(std::string_view record_name, std::string_view error) {
  Decision d;
  d.result = Result::temperror;
  std::string_view domain = record_name;
  if (domain.starts_with("_dmarc.")) domain.remove_prefix(7);
  d.record_domain = std::string(domain);
  d.reason = "DNS lookup of TXT " + std::string(record_name) + " failed";
  if (!error.empty()) d.reason += " (" + std::string(error) + ")";
  return d;
}

}  // namespace petrel::dmarc
