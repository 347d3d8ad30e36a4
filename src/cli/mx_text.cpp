// print_mx_report(): the human side of `petrel mx` — a table of MX hosts,
// addresses and reverse names, then TLSA, MTA-STS, DNSSEC and the verdict
// in words.
#include <string>
#include <vector>

#include "cli/mx_report.hpp"
#include "cli/terminal.hpp"

namespace petrel::cli {
namespace {

std::string joined(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (const auto& part : parts) {
    if (!out.empty()) out += separator;
    out += part;
  }
  return out;
}

std::string error_of(const std::string& error) { return error.empty() ? "no answer" : error; }

std::string reverse_cell(const MxAddress& a, std::FILE* out) {
  switch (reverse_status(a)) {
    case Rdns::confirmed: return joined(a.ptr.records, ", ") + " " + paint("(forward-confirmed)", Colour::green, out);
    case Rdns::unconfirmed:
      return joined(a.ptr.records, ", ") + " " + paint("(does not resolve back to this address)", Colour::yellow, out);
    case Rdns::no_ptr: return paint("no PTR record", Colour::yellow, out);
    case Rdns::unknown:
      if (!a.ptr.ok()) return paint("PTR lookup failed: " + error_of(a.ptr.error), Colour::yellow, out);
      return joined(a.ptr.records, ", ") + " " + paint("(forward lookup failed)", Colour::yellow, out);
  }
  return {};
}

std::string dnssec_cell(dns::Dnssec status, std::FILE* out) {
  const Colour colour = status == dns::Dnssec::secure  ? Colour::green
                        : status == dns::Dnssec::bogus ? Colour::red
                                                       : Colour::none;
  return paint(dns::to_string(status), colour, out);
}

void print_heading(const MxReport& r, std::FILE* out) {
  std::string title = r.domain;
  if (r.query != r.domain) title += " (" + r.query + ")";
  std::fprintf(out, "%s\n", paint(title, Colour::bold, out).c_str());
  const std::string dnssec = r.validating ? ", DNSSEC " + std::string(dns::to_string(r.mx.dnssec)) : std::string();
  switch (r.mx.outcome) {
    case dns::Outcome::ok:
      std::fprintf(out, "%zu MX record%s%s\n", r.mx.records.size(), r.mx.records.size() == 1 ? "" : "s",
                   dnssec.c_str());
      break;
    case dns::Outcome::nodata:
      std::fprintf(out, "no MX records%s: the domain's own address receives its mail (implicit MX, RFC 5321 §5.1)\n",
                   dnssec.c_str());
      break;
    case dns::Outcome::nxdomain:
    case dns::Outcome::temporary_failure:
      break;  // the verdict at the end says it
  }
}

void print_hosts(const MxReport& r, bool implicit, std::FILE* out) {
  std::vector<std::string> header = {"PREF", "MX HOST", "ADDRESS", "REVERSE DNS (PTR)"};
  if (r.validating) header.push_back("DNSSEC");
  Table table(header);
  // A null MX, or MX records none of which is a host name: shown as they are.
  if (r.hosts.empty()) {
    for (const auto& record : r.mx.records) {
      const std::string what = record.host == "." ? "null MX: accepts no mail" : "not a host name";
      table.add_row({std::to_string(record.preference), record.host, "-", paint(what, Colour::yellow, out)});
    }
  }
  for (const auto& h : r.hosts) {
    const std::string pref = implicit ? "implicit" : std::to_string(h.preference);
    if (h.addresses.empty()) {
      const bool failed = h.a.outcome == dns::Outcome::temporary_failure ||
                          h.aaaa.outcome == dns::Outcome::temporary_failure;
      table.add_row({pref, h.name, "-", paint(host_problem(h), failed ? Colour::red : Colour::yellow, out)});
      continue;
    }
    for (std::size_t i = 0; i < h.addresses.size(); ++i) {
      const MxAddress& a = h.addresses[i];
      std::vector<std::string> row = {i == 0 ? pref : "", i == 0 ? h.name : "", a.address.str(), reverse_cell(a, out)};
      if (r.validating) row.push_back(dnssec_cell(a.address.is_v6() ? h.aaaa.dnssec : h.a.dnssec, out));
      table.add_row(std::move(row));
    }
  }
  if (!table.empty()) table.print(out);
}

std::string tlsa_line(const dns::TlsaRecord& t) {
  std::string data = tlsa_data_hex(t);
  if (data.size() > 24) data = data.substr(0, 24) + "...";
  return std::to_string(t.usage) + " " + std::to_string(t.selector) + " " + std::to_string(t.matching_type) + " " +
         data + " (" + tlsa_meaning(t) + ")";
}

// DANE (RFC 7672 §2.2) uses TLSA records only from a DNSSEC-secure answer.
std::string tlsa_trust(const MxReport& r, const dns::TlsaAnswer& tlsa, std::FILE* out) {
  if (!r.validating) return paint("DNSSEC not checked; DANE needs it secure", Colour::dim, out);
  if (tlsa.dnssec == dns::Dnssec::secure) return paint("DNSSEC secure: DANE applies", Colour::green, out);
  return paint("not DNSSEC-secure: senders ignore it (RFC 7672)", Colour::yellow, out);
}

void print_tlsa(const MxReport& r, std::FILE* out) {
  bool any = false;
  for (const auto& h : r.hosts) {
    const std::string name = "_25._tcp." + h.name;
    if (h.tlsa.outcome == dns::Outcome::temporary_failure) {
      std::fprintf(out, "TLSA     %s: %s\n", name.c_str(),
                   paint("lookup failed (" + error_of(h.tlsa.error) + ")", Colour::yellow, out).c_str());
      any = true;
    }
    if (!h.tlsa.ok()) continue;
    any = true;
    for (const auto& t : h.tlsa.records) std::fprintf(out, "TLSA     %s: %s\n", name.c_str(), tlsa_line(t).c_str());
    std::fprintf(out, "         %s\n", tlsa_trust(r, h.tlsa, out).c_str());
  }
  if (!any && !r.hosts.empty()) std::fprintf(out, "TLSA     none published (no DANE)\n");
}

void print_mta_sts(const MxReport& r, std::FILE* out) {
  const MtaSts sts = mta_sts_record(r.mta_sts);
  switch (sts.state) {
    case MtaSts::State::none: std::fprintf(out, "MTA-STS  none published\n"); return;
    case MtaSts::State::published:
      std::fprintf(out, "MTA-STS  %s (policy id %s; the policy at https://mta-sts.%s/.well-known/mta-sts.txt "
                        "is not fetched)\n",
                   sts.record.c_str(), sts.id.c_str(), r.domain.c_str());
      return;
    case MtaSts::State::invalid:
      std::fprintf(out, "MTA-STS  %s\n         %s\n", sts.record.c_str(),
                   paint("invalid: " + sts.problem, Colour::yellow, out).c_str());
      return;
    case MtaSts::State::unknown:
      std::fprintf(out, "MTA-STS  %s\n", paint("lookup failed (" + sts.problem + ")", Colour::yellow, out).c_str());
      return;
  }
}

std::vector<std::string> host_notes(const MxReport& r) {
  std::vector<std::string> notes;
  for (const auto& h : r.hosts) {
    const std::string& canonical = !h.a.canonical_name.empty() ? h.a.canonical_name : h.aaaa.canonical_name;
    if (canonical.empty()) continue;
    // RFC 2181 §10.3: an MX must name a host, not an alias.
    notes.push_back(h.name + " is an alias (CNAME) of " + canonical +
                    "; RFC 2181 §10.3 forbids that in MX records, though senders follow it");
  }
  return notes;
}

}  // namespace

void print_mx_report(const MxReport& r, std::FILE* out) {
  const dns::DeliveryPlan plan = mx_verdict(r);
  print_heading(r, out);
  const bool looked_up = r.mx.ok() || r.mx.outcome == dns::Outcome::nodata;
  if (looked_up) {
    print_hosts(r, plan.implicit_mx || r.mx.outcome == dns::Outcome::nodata, out);
    std::fprintf(out, "\n");
    print_tlsa(r, out);
    print_mta_sts(r, out);
    std::fprintf(out, "DNSSEC   %s\n",
                 r.validating ? "validated against the root trust anchor"
                              : "not validated (statuses unproven; see --dnssec)");
  }
  // The MX records skipped; hosts without an address are in the table.
  std::vector<std::string> notes = mx_targets(r.domain, r.mx).notes;
  for (auto& note : host_notes(r)) notes.push_back(std::move(note));
  for (const auto& note : notes) std::fprintf(out, "%s\n", paint("note: " + note, Colour::dim, out).c_str());

  const int status = mx_exit_status(plan);
  const Colour colour = status == kMxFound ? Colour::green : status == kMxNoMail ? Colour::yellow : Colour::red;
  std::fprintf(out, "\n%s\n", paint(mx_summary(r, plan), colour, out).c_str());
}

}  // namespace petrel::cli
