// `petrel mx`: what the DNS says about a domain's mail servers, as plain
// data (MxReport, filled by mx_lookup.hpp) and the pure functions that judge
// and print it, so that every wording and every JSON field is unit-tested
// without a resolver.
//
// The judgement is petreld's own (dns/mx_plan.hpp: RFC 5321 §5.1 MX and
// implicit MX, RFC 7505 null MX), so `petrel mx` says what petreld would do.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dns/mx_plan.hpp"
#include "dns/records.hpp"
#include "mtasts/policy.hpp"

namespace petrel::cli {

// One name an address's PTR record gives, and the forward lookup of that
// name (A for an IPv4 address, AAAA for IPv6).
struct ReverseName {
  std::string name;
  dns::AddressAnswer forward;
};

struct MxAddress {
  dns::IpAddress address;
  dns::PtrAnswer ptr;
  std::vector<ReverseName> reverse;  // the PTR names looked up forward, in PTR order
};

struct MxHostReport {
  std::uint16_t preference = 0;
  std::string name;
  dns::AddressAnswer a;
  dns::AddressAnswer aaaa;
  std::vector<MxAddress> addresses;  // A records first, then AAAA, in answer order
  dns::TlsaAnswer tlsa;              // _25._tcp.NAME (RFC 7672 §2.2)
};

struct MxReport {
  std::string query;     // the domain as typed
  std::string domain;    // its A-label form, what was asked
  std::string resolver;  // "ADDR:PORT", or "" for /etc/resolv.conf
  bool validating = false;  // whether DNSSEC statuses mean anything
  dns::MxAnswer mx;
  std::vector<MxHostReport> hosts;  // as mx_targets() lists them
  dns::TxtAnswer mta_sts;           // _mta-sts.DOMAIN (RFC 8461 §3.1)
};

// The A-label domain `petrel mx` asks about: the part after the last '@'
// if there is one, IDNA-converted, lower case, without a trailing dot.
std::string mx_domain(std::string_view query);

// The hosts to look up for an MX answer, by preference and then by name
// (not shuffled: a report reads the same every time), with the notes and
// verdicts of dns::mx_hosts() (null MX, NXDOMAIN, implicit MX...).
dns::MxHosts mx_targets(std::string_view domain, const dns::MxAnswer& mx);

// What petreld would do with mail for the domain: dns::plan_addresses()
// over the report's answers.
dns::DeliveryPlan mx_verdict(const MxReport& report);

// The verdict in one sentence: "mail for D goes to X (preference 10)
// first", "D accepts no mail: it publishes a null MX (RFC 7505)", ...
std::string mx_summary(const MxReport& report, const dns::DeliveryPlan& plan);

// Why a host gets no mail ("this MX has no address; senders skip it"),
// or "" when it has an address.
std::string host_problem(const MxHostReport& host);

// Exit status of `petrel mx`.
constexpr int kMxFound = 0;         // MX hosts (or the implicit MX) with an address
constexpr int kMxNoMail = 1;        // null MX, or no MX host has an address
constexpr int kMxDnsFailure = 2;    // NXDOMAIN, or a temporary failure (SERVFAIL, timeout)
int mx_exit_status(const dns::DeliveryPlan& plan);

// Forward-confirmed reverse DNS of one address (FCrDNS, RFC 8601 §3's
// "iprev"): one of its PTR names resolves back to it.
enum class Rdns {
  confirmed,    // a PTR name's A/AAAA includes the address
  unconfirmed,  // PTR names, none of which leads back
  no_ptr,       // no PTR record (NXDOMAIN or NODATA)
  unknown,      // a lookup failed temporarily
};
Rdns reverse_status(const MxAddress& address);
std::string_view to_string(Rdns status);

// The MTA-STS TXT record (RFC 8461 §3.1), read as petreld reads it. The
// policy itself (https://mta-sts.DOMAIN/.well-known/mta-sts.txt) is not
// fetched here.
using MtaSts = mtasts::StsRecord;
inline MtaSts mta_sts_record(const dns::TxtAnswer& answer) { return mtasts::parse_sts_record(answer); }

// "3 1 1 (DANE-EE, SPKI, SHA2-256)": the RFC 7218 names of a TLSA record.
std::string tlsa_meaning(const dns::TlsaRecord& record);
// The record's certificate association data in lower-case hex.
std::string tlsa_data_hex(const dns::TlsaRecord& record);

// Human output (columns, colour when `stream` is a terminal without
// NO_COLOR) and the --json document (docs/petrel-mx.md).
void print_mx_report(const MxReport& report, std::FILE* stream);
std::string mx_report_json(const MxReport& report);

}  // namespace petrel::cli
