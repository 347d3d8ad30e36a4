#include "cli/mx_report.hpp"

#include <algorithm>
#include <cctype>
#include <random>

#include <nlohmann/json.hpp>

#include "cli/terminal.hpp"
#include "util/idn.hpp"

namespace petrel::cli {
namespace {

using nlohmann::json;

std::string_view outcome_name(dns::Outcome outcome) {
  return outcome == dns::Outcome::temporary_failure ? "temporary_failure" : dns::to_string(outcome);
}

std::string_view verdict_name(dns::Verdict verdict) {
  switch (verdict) {
    case dns::Verdict::deliver: return "deliver";
    case dns::Verdict::null_mx: return "null_mx";
    case dns::Verdict::no_such_domain: return "no_such_domain";
    case dns::Verdict::unroutable: return "unroutable";
    case dns::Verdict::routing_loop: return "routing_loop";
    case dns::Verdict::temporary_failure: return "temporary_failure";
  }
  return "?";
}

template <class Record>
json answer_json(const dns::Answer<Record>& answer) {
  return {{"outcome", outcome_name(answer.outcome)},
          {"dnssec", dns::to_string(answer.dnssec)},
          {"ttl", answer.ttl.count()},
          {"error", answer.error}};
}

json address_json(const MxAddress& a) {
  json reverse = json::array();
  for (const auto& r : a.reverse) {
    reverse.push_back({{"name", r.name},
                       {"forward_confirmed", r.forward.ok() && std::find(r.forward.records.begin(),
                                                                         r.forward.records.end(),
                                                                         a.address) != r.forward.records.end()},
                       {"forward", answer_json(r.forward)}});
  }
  json ptr = answer_json(a.ptr);
  ptr["names"] = a.ptr.records;
  return {{"address", a.address.str()},
          {"family", a.address.is_v6() ? "ipv6" : "ipv4"},
          {"ptr", ptr},
          {"reverse", reverse},
          {"rdns", to_string(reverse_status(a))}};
}

json host_json(const MxHostReport& h) {
  json addresses = json::array();
  for (const auto& a : h.addresses) addresses.push_back(address_json(a));
  json tlsa = answer_json(h.tlsa);
  tlsa["name"] = "_25._tcp." + h.name;
  tlsa["records"] = json::array();
  for (const auto& t : h.tlsa.records) {
    tlsa["records"].push_back({{"usage", t.usage},
                               {"selector", t.selector},
                               {"matching_type", t.matching_type},
                               {"data", tlsa_data_hex(t)},
                               {"meaning", tlsa_meaning(t)}});
  }
  const std::string canonical = !h.a.canonical_name.empty() ? h.a.canonical_name : h.aaaa.canonical_name;
  return {{"preference", h.preference}, {"name", h.name},         {"canonical_name", canonical},
          {"a", answer_json(h.a)},      {"aaaa", answer_json(h.aaaa)}, {"addresses", addresses},
          {"problem", host_problem(h)}, {"tlsa", tlsa}};
}

}  // namespace

std::string mx_domain(std::string_view query) {
  if (const std::size_t at = query.rfind('@'); at != std::string_view::npos) query.remove_prefix(at + 1);
  return util::ascii_domain(query);
}

dns::MxHosts mx_targets(std::string_view domain, const dns::MxAnswer& mx) {
  std::mt19937_64 rng(0);  // mx_hosts shuffles equal preferences; sorted again below
  dns::MxHosts hosts = dns::mx_hosts(domain, mx, dns::PlanOptions{}, rng);
  std::stable_sort(hosts.hosts.begin(), hosts.hosts.end(), [](const dns::MxHost& x, const dns::MxHost& y) {
    return x.preference != y.preference ? x.preference < y.preference : x.name < y.name;
  });
  return hosts;
}

dns::DeliveryPlan mx_verdict(const MxReport& report) {
  const auto lookup = [&](std::string_view name) -> dns::HostAddresses {
    for (const auto& h : report.hosts) {
      if (h.name == name) return {h.a, h.aaaa};
    }
    return {};  // never looked up: counts as a temporary failure
  };
  return dns::plan_addresses(mx_targets(report.domain, report.mx), lookup, dns::PlanOptions{});
}

int mx_exit_status(const dns::DeliveryPlan& plan) {
  switch (plan.verdict) {
    case dns::Verdict::deliver: return kMxFound;
    case dns::Verdict::null_mx:
    case dns::Verdict::unroutable:
    case dns::Verdict::routing_loop: return kMxNoMail;
    case dns::Verdict::no_such_domain:
    case dns::Verdict::temporary_failure: return kMxDnsFailure;
  }
  return kMxDnsFailure;
}

Rdns reverse_status(const MxAddress& address) {
  if (address.ptr.outcome == dns::Outcome::temporary_failure) return Rdns::unknown;
  if (!address.ptr.ok()) return Rdns::no_ptr;
  bool failed = false;
  for (const auto& r : address.reverse) {
    const auto& found = r.forward.records;
    if (r.forward.ok() && std::find(found.begin(), found.end(), address.address) != found.end()) {
      return Rdns::confirmed;
    }
    failed = failed || r.forward.outcome == dns::Outcome::temporary_failure;
  }
  return failed ? Rdns::unknown : Rdns::unconfirmed;
}

std::string_view to_string(Rdns status) {
  switch (status) {
    case Rdns::confirmed: return "confirmed";
    case Rdns::unconfirmed: return "unconfirmed";
    case Rdns::no_ptr: return "no_ptr";
    case Rdns::unknown: return "unknown";
  }
  return "?";
}

std::string tlsa_data_hex(const dns::TlsaRecord& record) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string data;
  for (const std::uint8_t b : record.data) (data += kHex[b >> 4]) += kHex[b & 15];
  return data;
}

std::string tlsa_meaning(const dns::TlsaRecord& record) {
  // RFC 7218 §2 mnemonics.
  static constexpr std::string_view kUsage[] = {"PKIX-TA", "PKIX-EE", "DANE-TA", "DANE-EE"};
  static constexpr std::string_view kSelector[] = {"Cert", "SPKI"};
  static constexpr std::string_view kMatching[] = {"Full", "SHA2-256", "SHA2-512"};
  const auto name = [](auto& table, std::uint8_t value) {
    return value < std::size(table) ? std::string(table[value]) : "unassigned " + std::to_string(value);
  };
  return name(kUsage, record.usage) + ", " + name(kSelector, record.selector) + ", " +
         name(kMatching, record.matching_type);
}

std::string host_problem(const MxHostReport& host) {
  if (!host.addresses.empty()) return {};
  const auto failed = [](const dns::AddressAnswer& a) { return a.outcome == dns::Outcome::temporary_failure; };
  if (failed(host.a) || failed(host.aaaa)) {
    const std::string error = failed(host.a) ? host.a.error : host.aaaa.error;
    return "its address lookup failed (" + (error.empty() ? std::string("no answer") : error) +
           "); senders try again later";
  }
  if (host.a.outcome == dns::Outcome::nxdomain) return "this MX does not exist (NXDOMAIN); senders skip it";
  return "this MX has no address; senders skip it";
}

std::string mx_summary(const MxReport& report, const dns::DeliveryPlan& plan) {
  const std::string& d = report.domain;
  switch (plan.verdict) {
    case dns::Verdict::deliver: {
      const dns::Candidate& first = plan.candidates.front();
      if (plan.implicit_mx) {
        return d + " has no MX records: mail goes to the domain's own address " + first.address.str() +
               " (implicit MX, RFC 5321 §5.1)";
      }
      return "mail for " + d + " goes to " + first.host + " (preference " + std::to_string(first.preference) +
             ") first";
    }
    case dns::Verdict::null_mx: return d + " accepts no mail: it publishes a null MX (RFC 7505)";
    case dns::Verdict::no_such_domain: return "the domain " + d + " does not exist (NXDOMAIN)";
    case dns::Verdict::unroutable:
      return plan.implicit_mx ? d + " has no MX records and no address: it receives no mail"
                              : "no MX host of " + d + " has an address: no mail can be delivered";
    case dns::Verdict::routing_loop: return plan.reason;
    case dns::Verdict::temporary_failure:
      return "the DNS lookup failed temporarily (" + plan.reason + "): try again";
  }
  return plan.reason;
}

std::string mx_report_json(const MxReport& report) {
  const dns::DeliveryPlan plan = mx_verdict(report);
  const MtaSts sts = mta_sts_record(report.mta_sts);
  json mx = answer_json(report.mx);
  mx["records"] = json::array();
  for (const auto& r : report.mx.records) mx["records"].push_back({{"preference", r.preference}, {"host", r.host}});
  json hosts = json::array();
  for (const auto& h : report.hosts) hosts.push_back(host_json(h));
  json mta_sts = answer_json(report.mta_sts);
  mta_sts.update({{"name", "_mta-sts." + report.domain},
                  {"state", to_string(sts.state)},
                  {"record", sts.record},
                  {"id", sts.id},
                  {"problem", sts.problem}});
  const json doc = {{"query", report.query},
                    {"domain", report.domain},
                    {"resolver", report.resolver.empty() ? "system" : report.resolver},
                    {"dnssec_validation", report.validating},
                    {"verdict", verdict_name(plan.verdict)},
                    {"summary", mx_summary(report, plan)},
                    {"exit_status", mx_exit_status(plan)},
                    {"implicit_mx", plan.implicit_mx},
                    {"notes", plan.notes},
                    {"mx", mx},
                    {"hosts", hosts},
                    {"mta_sts", mta_sts}};
  // DNS data (TXT, PTR names) may hold any octets: replaced, not a thrown type_error.
  return doc.dump(2, ' ', false, json::error_handler_t::replace);
}

}  // namespace petrel::cli
