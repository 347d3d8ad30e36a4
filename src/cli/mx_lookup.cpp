#include "cli/mx_lookup.hpp"

#include <utility>  // Boost 1.74's Asio headers need std::exchange declared first

#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <functional>
#include <map>
#include <type_traits>

#include "dns/unbound_resolver.hpp"

namespace petrel::cli {
namespace {

// Bounds on what one report looks up, so that a domain with a hundred MX
// hosts or an address with a hundred PTR names stays a few dozen queries.
constexpr std::size_t kMaxAddressesPerHost = 8;
constexpr std::size_t kMaxPtrNames = 4;
// MX -> A/AAAA -> PTR -> forward: the longest chain of lookups that wait
// for each other, each bounded by the per-query timeout.
constexpr int kLookupStages = 4;

dns::ResolverOptions resolver_options(const MxLookupOptions& o) {
  dns::ResolverOptions r;
  r.upstream = o.resolver;
  r.query_timeout = o.timeout;
  if (!o.resolver.empty()) {
    // A chosen server (a lab DNS, dnsmasq in the tests) is asked about the
    // names libunbound would otherwise answer itself: the RFC 6761 test
    // zones and the RFC 6303 private and loopback reverse zones, where a
    // lab's PTR records live.
    r.zones_from_upstream = {"test.",          "invalid.",           "example.",
                             "127.in-addr.arpa.", "10.in-addr.arpa.", "168.192.in-addr.arpa.",
                             "254.169.in-addr.arpa.", "2.0.192.in-addr.arpa.", "d.f.ip6.arpa.",
                             "8.b.d.0.1.0.0.2.ip6.arpa."};
    for (int octet = 16; octet <= 31; ++octet) {
      r.zones_from_upstream.push_back(std::to_string(octet) + ".172.in-addr.arpa.");
    }
  }
  switch (o.dnssec) {
    // As petreld does (queue/remote_connections.cpp): a forwarder such as
    // dnsmasq rarely passes DNSSEC records on, and validating through it
    // would make every answer bogus.
    case MxDnssec::automatic:
      r.dnssec = o.resolver.empty() ? dns::DnssecMode::if_trust_anchor : dns::DnssecMode::off;
      break;
    case MxDnssec::on: r.dnssec = dns::DnssecMode::on; break;
    case MxDnssec::off: r.dnssec = dns::DnssecMode::off; break;
  }
  if (!o.trust_anchor_file.empty() && o.dnssec != MxDnssec::off) {
    r.trust_anchor_file = o.trust_anchor_file;
    r.dnssec = dns::DnssecMode::on;
    r.upstream_zones_insecure = false;  // the anchor covers the lab's zones
  }
  return r;
}

// Fills one MxReport. Single-threaded: every callback runs on the
// io_context's thread, and hosts/addresses/reverse names are addressed by
// index, their vectors sized before any lookup into them starts.
class Collector {
 public:
  Collector(dns::Resolver& resolver, MxReport& report) : resolver_(resolver), report_(report) {}

  void start() {
    track(&dns::Resolver::lookup_mx, report_.domain, [this](dns::MxAnswer answer) {
      report_.mx = std::move(answer);
      on_mx();
    });
    track(&dns::Resolver::lookup_txt, "_mta-sts." + report_.domain,
          [this](dns::TxtAnswer answer) { report_.mta_sts = std::move(answer); });
  }

  bool done() const { return pending_ == 0; }

 private:
  // Starts one lookup and counts it until its callback has run (the
  // callback may start more, which are counted before this one ends).
  template <class Answer, class Name>
  void track(void (dns::Resolver::*lookup)(Name, dns::Callback<Answer>), const auto& name,
             std::type_identity_t<std::function<void(Answer)>> done) {
    ++pending_;
    (resolver_.*lookup)(name, [this, done = std::move(done)](Answer answer) {
      done(std::move(answer));
      --pending_;
    });
  }

  void on_mx() {
    const dns::MxHosts targets = mx_targets(report_.domain, report_.mx);
    if (targets.verdict) return;  // null MX, NXDOMAIN, failure: nothing more to ask
    report_.hosts.resize(targets.hosts.size());
    for (std::size_t i = 0; i < targets.hosts.size(); ++i) {
      MxHostReport& host = report_.hosts[i];
      host.preference = targets.hosts[i].preference;
      host.name = targets.hosts[i].name;
      track(&dns::Resolver::lookup_a, host.name, [this, i](dns::AddressAnswer a) {
        report_.hosts[i].a = std::move(a);
        on_address_answer(i);
      });
      track(&dns::Resolver::lookup_aaaa, host.name, [this, i](dns::AddressAnswer a) {
        report_.hosts[i].aaaa = std::move(a);
        on_address_answer(i);
      });
      track(&dns::Resolver::lookup_tlsa, "_25._tcp." + host.name,
            [this, i](dns::TlsaAnswer t) { report_.hosts[i].tlsa = std::move(t); });
    }
  }

  // Once both of a host's address answers are in: the PTR of each address.
  void on_address_answer(std::size_t i) {
    if (++address_answers_[i] < 2) return;
    MxHostReport& host = report_.hosts[i];
    for (const auto* answer : {&host.a, &host.aaaa}) {
      for (const auto& address : answer->records) {
        if (host.addresses.size() == kMaxAddressesPerHost) break;
        host.addresses.push_back({address, {}, {}});
      }
    }
    for (std::size_t j = 0; j < host.addresses.size(); ++j) {
      ++pending_;  // lookup_ptr takes an IpAddress, not a name: counted by hand
      resolver_.lookup_ptr(host.addresses[j].address, [this, i, j](dns::PtrAnswer ptr) {
        report_.hosts[i].addresses[j].ptr = std::move(ptr);
        on_ptr(i, j);
        --pending_;
      });
    }
  }

  // Forward-confirms each PTR name: its A (or AAAA) should hold the address.
  void on_ptr(std::size_t i, std::size_t j) {
    MxAddress& address = report_.hosts[i].addresses[j];
    const std::size_t names = std::min(address.ptr.records.size(), kMaxPtrNames);
    address.reverse.resize(names);
    for (std::size_t k = 0; k < names; ++k) {
      address.reverse[k].name = address.ptr.records[k];
      auto store = [this, i, j, k](dns::AddressAnswer a) {
        report_.hosts[i].addresses[j].reverse[k].forward = std::move(a);
      };
      if (address.address.is_v6()) {
        track(&dns::Resolver::lookup_aaaa, address.reverse[k].name, std::move(store));
      } else {
        track(&dns::Resolver::lookup_a, address.reverse[k].name, std::move(store));
      }
    }
  }

  dns::Resolver& resolver_;
  MxReport& report_;
  std::size_t pending_ = 0;
  std::map<std::size_t, int> address_answers_;
};

}  // namespace

MxReport look_up_mx(std::string_view query, const MxLookupOptions& options) {
  MxReport report;
  report.query = std::string(query);
  report.domain = mx_domain(query);
  report.resolver = options.resolver;

  boost::asio::io_context io;
  dns::UnboundResolver resolver(io, resolver_options(options));
  report.validating = resolver.validating();

  Collector collector(resolver, report);
  collector.start();
  // Each query ends by its own timer; this bound is only a backstop.
  const auto deadline = std::chrono::steady_clock::now() + kLookupStages * options.timeout + std::chrono::seconds(2);
  while (!collector.done() && std::chrono::steady_clock::now() < deadline) {
    io.run_for(std::chrono::milliseconds(100));
    io.restart();
  }
  return report;
}

}  // namespace petrel::cli
