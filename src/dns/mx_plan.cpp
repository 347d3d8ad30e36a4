#include "dns/mx_plan.hpp"

#include <algorithm>
#include <cctype>

namespace petrel::dns {
namespace {

std::string lower(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (char c : name) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (out.size() > 1 && out.ends_with('.')) out.pop_back();
  return out;
}

bool is_local(std::string_view host, const PlanOptions& options) {
  const std::string name = lower(host);
  return std::any_of(options.local_names.begin(), options.local_names.end(),
                     [&](const std::string& local) { return lower(local) == name; });
}

DeliveryPlan verdict(Verdict v, std::string reason) {
  DeliveryPlan plan;
  plan.verdict = v;
  plan.reason = std::move(reason);
  return plan;
}

std::string dns_error(const AddressAnswer& answer) {
  return answer.error.empty() ? std::string(to_string(answer.outcome)) : answer.error;
}

// Sorted by preference, equal preferences in random order (RFC 5321 §5.1).
void order_by_preference(std::vector<MxHost>& hosts, std::mt19937_64& rng) {
  std::stable_sort(hosts.begin(), hosts.end(),
                   [](const MxHost& x, const MxHost& y) { return x.preference < y.preference; });
  for (auto first = hosts.begin(); first != hosts.end();) {
    const auto last = std::find_if(first, hosts.end(),
                                   [&](const MxHost& h) { return h.preference != first->preference; });
    std::shuffle(first, last, rng);
    first = last;
  }
}

// RFC 5321 §5.1: if this server is an MX, only better ones may be used.
void drop_self_and_worse(MxHosts& result, const PlanOptions& options) {
  const auto self = std::find_if(result.hosts.begin(), result.hosts.end(),
                                 [&](const MxHost& h) { return is_local(h.name, options); });
  if (self == result.hosts.end()) return;
  const std::uint16_t own_preference = self->preference;
  result.notes.push_back("this server (" + self->name + ") is an MX at preference " + std::to_string(own_preference) +
                         ": dropped it and every MX not better");
  std::erase_if(result.hosts, [&](const MxHost& h) { return h.preference >= own_preference; });
}

}  // namespace

std::string_view to_string(Verdict v) {
  switch (v) {
    case Verdict::deliver: return "deliver";
    case Verdict::null_mx: return "null MX";
    case Verdict::no_such_domain: return "no such domain";
    case Verdict::unroutable: return "unroutable";
    case Verdict::routing_loop: return "routing loop";
    case Verdict::temporary_failure: return "temporary DNS failure";
  }
  return "?";
}

bool wants_ipv4(const PlanOptions& options) { return options.order != AddressOrder::ipv6_only; }
bool wants_ipv6(const PlanOptions& options) { return options.order != AddressOrder::ipv4_only; }

MxHosts mx_hosts(std::string_view domain, const MxAnswer& mx, const PlanOptions& options, std::mt19937_64& rng) {
  MxHosts result;
  result.mx_dnssec = mx.dnssec;
  const std::string name = lower(domain);
  const auto decide = [&](Verdict v, std::string reason) {
    result.verdict = verdict(v, std::move(reason));
    result.verdict->mx_dnssec = mx.dnssec;
    result.verdict->notes = result.notes;
    return result;
  };

  switch (mx.outcome) {
    case Outcome::nxdomain:
      return decide(Verdict::no_such_domain, "domain " + name + " does not exist");
    case Outcome::temporary_failure:
      return decide(Verdict::temporary_failure,
                    "MX lookup for " + name + " failed: " + (mx.error.empty() ? "no answer" : mx.error));
    case Outcome::nodata:
      // RFC 5321 §5.1: no MX records, the domain itself at preference 0.
      if (is_local(name, options)) {
        return decide(Verdict::routing_loop, "domain " + name + " has no MX and names this server");
      }
      result.implicit_mx = true;
      result.hosts.push_back({0, name});
      return result;
    case Outcome::ok:
      break;
  }

  // RFC 7505 §3: a single MX with an empty target ("."): no mail, ever.
  if (mx.records.size() == 1 && mx.records.front().host == ".") {
    return decide(Verdict::null_mx, "domain " + name + " does not accept mail (null MX)");
  }

  for (const auto& record : mx.records) {
    const std::string host = lower(record.host);
    if (host == ".") {
      result.notes.push_back("MX \".\" among other MX records skipped");
      continue;
    }
    if (IpAddress::parse(host)) {
      result.notes.push_back("MX " + host + " is an IP address, not a host name: skipped");
      continue;
    }
    const auto listed = std::find_if(result.hosts.begin(), result.hosts.end(),
                                     [&](const MxHost& h) { return h.name == host; });
    if (listed != result.hosts.end()) {
      listed->preference = std::min(listed->preference, record.preference);  // a host listed twice
      continue;
    }
    result.hosts.push_back({record.preference, host});
  }
  const bool had_hosts = !result.hosts.empty();
  order_by_preference(result.hosts, rng);
  drop_self_and_worse(result, options);

  if (result.hosts.empty()) {
    if (had_hosts) return decide(Verdict::routing_loop, "the best MX for " + name + " is this server");
    return decide(Verdict::unroutable, "no usable MX host for " + name);
  }
  if (result.hosts.size() > options.max_hosts) {
    result.notes.push_back(std::to_string(result.hosts.size() - options.max_hosts) + " MX hosts beyond the first " +
                           std::to_string(options.max_hosts) + " ignored");
    result.hosts.resize(options.max_hosts);
  }
  return result;
}

DeliveryPlan plan_addresses(const MxHosts& hosts, const AddressLookup& lookup, const PlanOptions& options) {
  if (hosts.verdict) return *hosts.verdict;

  DeliveryPlan plan;
  plan.implicit_mx = hosts.implicit_mx;
  plan.mx_dnssec = hosts.mx_dnssec;
  plan.notes = hosts.notes;
  for (const auto& host : hosts.hosts) plan.mx_hosts.push_back(host.name);
  bool temporary = false;
  std::string last_error;

  for (const auto& host : hosts.hosts) {
    if (plan.candidates.size() >= options.max_addresses) break;
    const HostAddresses answers = lookup(host.name);

    std::vector<const AddressAnswer*> families;
    if (options.order == AddressOrder::ipv6_first || options.order == AddressOrder::ipv6_only) {
      families.push_back(&answers.aaaa);
    }
    if (options.order != AddressOrder::ipv6_only) families.push_back(&answers.a);
    if (options.order == AddressOrder::ipv4_first) families.push_back(&answers.aaaa);

    std::size_t added = 0;
    bool host_temporary = false;
    for (const AddressAnswer* answer : families) {
      if (answer->outcome == Outcome::temporary_failure) {
        host_temporary = true;
        last_error = "address lookup for " + host.name + " failed: " + dns_error(*answer);
      }
      for (const auto& address : answer->records) {
        if (plan.candidates.size() >= options.max_addresses) break;
        const bool duplicate = std::any_of(plan.candidates.begin(), plan.candidates.end(),
                                           [&](const Candidate& c) { return c.address == address; });
        if (duplicate) continue;
        plan.candidates.push_back({host.name, host.preference, address, answer->canonical_name, answer->dnssec});
        ++added;
      }
    }
    if (added == 0) {
      temporary = temporary || host_temporary;
      plan.notes.push_back("MX " + host.name + ": no address" +
                           (host_temporary ? " (lookup failed temporarily)" : ""));
    }
  }

  if (!plan.candidates.empty()) {
    plan.verdict = Verdict::deliver;
    return plan;
  }
  if (temporary) {
    plan.verdict = Verdict::temporary_failure;
    plan.reason = last_error;
  } else {
    plan.verdict = Verdict::unroutable;
    plan.reason = hosts.implicit_mx ? "domain " + hosts.hosts.front().name + " has no MX and no address"
                                    : "no MX host has an address";
  }
  return plan;
}

DeliveryPlan plan_delivery(std::string_view domain, const MxAnswer& mx, const AddressLookup& lookup,
                           const PlanOptions& options, std::mt19937_64& rng) {
  return plan_addresses(mx_hosts(domain, mx, options, rng), lookup, options);
}

}  // namespace petrel::dns
