#include "auth_checks/verdict.hpp"

#include "authres/authres.hpp"
#include "smtp/reply_codes.hpp"

namespace petrel::auth_checks {
namespace {

authres::MethodResult spf_result(const Results& r) {
  authres::MethodResult m{"spf", std::string(spf::to_string(r.spf.result)), r.spf.reason, {}};
  if (r.spf_of_helo) {
    m.properties.push_back({"smtp", "helo", r.spf_identity});
  } else {
    m.properties.push_back({"smtp", "mailfrom", r.spf_identity});
  }
  return m;
}

authres::MethodResult dkim_result(const dkim::SignatureResult& s) {
  authres::MethodResult m{"dkim", std::string(dkim::to_string(s.result)), s.reason, {}};
  if (s.testing) m.comment += ", key in testing mode (t=y)";
  if (!s.domain.empty()) {
    m.properties.push_back({"header", "d", s.domain});
    m.properties.push_back({"header", "s", s.selector});
    m.properties.push_back({"header", "a", s.algorithm});
    if (!s.b_prefix.empty()) m.properties.push_back({"header", "b", s.b_prefix});  // RFC 6008
  }
  return m;
}

std::string_view policy_word(dmarc::Policy p) {
  switch (p) {
    case dmarc::Policy::reject: return "reject";
    case dmarc::Policy::quarantine: return "quarantine";
    default: return "none";
  }
}

authres::MethodResult dmarc_result(const Results& r) {
  if (!r.dmarc) return {"dmarc", "permerror", "no single From domain to judge", {}};
  const dmarc::Decision& d = *r.dmarc;
  std::string comment = d.reason;
  if (d.result == dmarc::Result::pass || d.result == dmarc::Result::fail) {
    comment = "p=" + std::string(policy_word(d.published_policy)) + (d.sampled_out ? ", pct= left it out" : "") +
              (comment.empty() ? "" : "; " + comment);
  }
  return {"dmarc", std::string(dmarc::to_string(d.result)), comment, {{"header", "from", r.from_domain}}};
}

authres::MethodResult arc_result(const Results& r) {
  return {"arc", std::string(arc::to_string(r.arc.result)), r.arc.result == arc::Result::none ? "" : r.arc.reason, {}};
}

// What the domain owner asked for, when it applies: the decision's policy
// is already one step milder for a message pct= left out (RFC 7489 §6.6.4).
dmarc::Policy applied_policy(const dmarc::Decision& d) {
  return d.result == dmarc::Result::fail ? d.policy : dmarc::Policy::none;
}

// Text from a DNS record (exp=) made fit for a reply line: printable
// ASCII, at most 200 octets.
std::string reply_safe(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (out.size() >= 200) break;
    out += c >= ' ' && c < 127 ? c : '?';
  }
  return out;
}

}  // namespace

Verdict decide(const Results& results, const Policy& policy) {
  std::vector<authres::MethodResult> methods;
  methods.push_back(spf_result(results));
  if (results.dkim.empty()) {
    methods.push_back({"dkim", "none", "no signature", {}});
  } else {
    for (const auto& s : results.dkim) methods.push_back(dkim_result(s));
  }
  methods.push_back(dmarc_result(results));
  methods.push_back(arc_result(results));

  Verdict v;
  v.header = authres::header_field(policy.authserv_id, methods);
  for (const auto& m : methods) {
    v.summary += (v.summary.empty() ? "" : " ") + m.method + "=" + m.result;
    v.results.emplace_back(m.method, m.result);
  }

  const dmarc::Policy dmarc_policy = results.dmarc ? applied_policy(*results.dmarc) : dmarc::Policy::none;
  if (policy.dmarc_enforce && dmarc_policy == dmarc::Policy::reject) {
    v.action = Action::reject;
    v.refused_by = "dmarc";
    v.reply = smtp::Reply(smtp::codes::k550DmarcReject,
                          "Rejected by the DMARC policy of " + results.dmarc->record_domain + " (" +
                              results.dmarc->reason + ")");
  } else if (policy.reject_spf_fail && results.spf.result == spf::Result::fail) {
    v.action = Action::reject;
    v.refused_by = "spf";
    v.reply = smtp::Reply(smtp::codes::k550SpfFail, "SPF check failed for " + results.spf_identity +
                                                        (results.spf.explanation.empty() ? "" : ": " + reply_safe(results.spf.explanation)));
  } else if (policy.dmarc_enforce && dmarc_policy == dmarc::Policy::quarantine) {
    v.action = Action::quarantine;
  }
  return v;
}

}  // namespace petrel::auth_checks
