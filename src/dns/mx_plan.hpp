// Where mail for a domain goes: RFC 5321 §5.1 (MX, implicit MX, preference
// order, equal preferences shuffled) and RFC 7505 (null MX), as pure
// functions over DNS answers, so every rule is tested without a resolver.
// resolve_destination() (dns/destination.hpp) feeds them from a Resolver.
//
// Two steps, because the second needs lookups the first asks for:
//   mx_hosts()        MX answer -> the hosts to look up, or a verdict
//   plan_addresses()  those hosts' A/AAAA answers -> candidates, or a verdict
// plan_delivery() does both with a lookup function, for tests and callers
// that already hold the answers.
//
// Choices beyond the RFCs:
// - An MX target that is an IP address ("10 192.0.2.1") is not a host name
//   (RFC 5321 §5.1 wants names); it is skipped without a lookup, noted.
// - An MX target that is a CNAME is followed (the resolver does it) and
//   used; the candidate keeps the MX name and notes the canonical one.
// - A single MX "." is a null MX whatever its preference; a "." among other
//   MX records is skipped as a host that cannot receive mail.
// - Addresses: per host, IPv6 before IPv4 by default (AddressOrder), each
//   family in the order the server returned; an address already planned
//   for a better host is not repeated.
// - MX hosts with no address are skipped. When none is left: a temporary
//   failure if any of their lookups failed temporarily, else unroutable.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "dns/records.hpp"

namespace petrel::dns {

// The reply each verdict calls for is given beside it (RFC 3463 codes).
enum class Verdict {
  deliver,            // try `candidates` in order
  null_mx,            // 556 5.1.10 (RFC 7505 §3, RFC 7504)
  no_such_domain,     // 550 5.1.2 bad destination system address (NXDOMAIN)
  unroutable,         // 550 5.4.4 unable to route: no MX host has an address
  routing_loop,       // 550 5.4.6 the best MX is this server (RFC 5321 §5.1)
  temporary_failure,  // 451 4.4.3 directory server failure (SERVFAIL, timeout)
};

std::string_view to_string(Verdict verdict);

enum class AddressOrder { ipv6_first, ipv4_first, ipv4_only, ipv6_only };

struct PlanOptions {
  AddressOrder order = AddressOrder::ipv6_first;
  std::size_t max_hosts = 10;      // MX hosts looked up, best first
  std::size_t max_addresses = 20;  // candidates in a plan
  // This server's own names: an MX naming one of them, and every MX of
  // equal or worse preference, is dropped (RFC 5321 §5.1).
  std::vector<std::string> local_names;
};

struct Candidate {
  std::string host;  // the MX target, or the domain itself for an implicit MX
  std::uint16_t preference = 0;
  IpAddress address;
  std::string canonical_host;  // set when `host` is a CNAME
  Dnssec address_dnssec = Dnssec::insecure;  // of the A/AAAA answer, for DANE (RFC 7672 §2.2.2)
};

struct DeliveryPlan {
  Verdict verdict = Verdict::temporary_failure;
  std::vector<Candidate> candidates;  // non-empty exactly when verdict is deliver
  bool implicit_mx = false;           // the domain had no MX records
  Dnssec mx_dnssec = Dnssec::insecure;  // of the MX answer, for DANE (RFC 7672 §2.2.1)
  std::string reason;                 // why, for the log and a DSN; empty for deliver
  std::vector<std::string> notes;     // hosts skipped and why
  // Every MX host name of the domain, as the MX records give them (or the
  // domain itself for an implicit MX), whether or not it has an address:
  // what makes the domain's site (KumoMTA's "MX rollup").
  std::vector<std::string> mx_hosts;
};

struct MxHost {
  std::uint16_t preference = 0;
  std::string name;
};

// Step one's result: either `verdict` is set, or `hosts` (non-empty) are to
// be looked up, best first.
struct MxHosts {
  std::optional<DeliveryPlan> verdict;
  std::vector<MxHost> hosts;
  bool implicit_mx = false;
  Dnssec mx_dnssec = Dnssec::insecure;
  std::vector<std::string> notes;
};

// A host's A and AAAA answers. A family the plan does not use (ipv4_only)
// may be left as a default Answer; it is not looked at.
struct HostAddresses {
  AddressAnswer a;
  AddressAnswer aaaa;
};

using AddressLookup = std::function<HostAddresses(std::string_view host)>;

// `domain` is an A-label domain name (not an address literal).
MxHosts mx_hosts(std::string_view domain, const MxAnswer& mx, const PlanOptions& options, std::mt19937_64& rng);

DeliveryPlan plan_addresses(const MxHosts& hosts, const AddressLookup& lookup, const PlanOptions& options);

DeliveryPlan plan_delivery(std::string_view domain, const MxAnswer& mx, const AddressLookup& lookup,
                           const PlanOptions& options, std::mt19937_64& rng);

// Whether the plan needs a family's lookups at all.
bool wants_ipv4(const PlanOptions& options);
bool wants_ipv6(const PlanOptions& options);

}  // namespace petrel::dns
