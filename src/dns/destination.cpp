#include "dns/destination.hpp"

#include <map>
#include <memory>
#include <string>

namespace petrel::dns {
namespace {

std::mt19937_64& shuffle_rng() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng;
}

// One resolution in flight, shared by the callbacks of its lookups (all on
// the resolver's thread, so no locking).
struct Resolution : std::enable_shared_from_this<Resolution> {
  Resolution(Resolver& r, std::string_view d, PlanOptions o, Callback<DeliveryPlan> cb)
      : resolver(r), domain(d), options(std::move(o)), done(std::move(cb)) {}

  void start() {
    resolver.lookup_mx(domain, [self = shared_from_this()](const MxAnswer& mx) { self->on_mx(mx); });
  }

  void on_mx(const MxAnswer& mx) {
    hosts = mx_hosts(domain, mx, options, shuffle_rng());
    if (hosts.verdict) {
      done(*hosts.verdict);
      return;
    }
    // Count every lookup before starting any, so that none can finish the
    // resolution early.
    for (const auto& host : hosts.hosts) {
      addresses[host.name];  // also default (unused) answers for a family not wanted
      outstanding += (wants_ipv4(options) ? 1 : 0) + (wants_ipv6(options) ? 1 : 0);
    }
    for (const auto& host : hosts.hosts) {
      const std::string name = host.name;
      if (wants_ipv6(options)) {
        resolver.lookup_aaaa(name, [self = shared_from_this(), name](AddressAnswer answer) {
          self->addresses[name].aaaa = std::move(answer);
          self->lookup_done();
        });
      }
      if (wants_ipv4(options)) {
        resolver.lookup_a(name, [self = shared_from_this(), name](AddressAnswer answer) {
          self->addresses[name].a = std::move(answer);
          self->lookup_done();
        });
      }
    }
  }

  void lookup_done() {
    if (--outstanding > 0) return;
    const auto lookup = [this](std::string_view host) { return addresses.at(std::string(host)); };
    done(plan_addresses(hosts, lookup, options));
  }

  Resolver& resolver;
  std::string domain;
  PlanOptions options;
  Callback<DeliveryPlan> done;
  MxHosts hosts;
  std::map<std::string, HostAddresses> addresses;
  std::size_t outstanding = 0;
};

}  // namespace

void resolve_destination(Resolver& resolver, std::string_view domain, PlanOptions options,
                         Callback<DeliveryPlan> done) {
  std::make_shared<Resolution>(resolver, domain, std::move(options), std::move(done))->start();
}

}  // namespace petrel::dns
