// Resolver over libunbound, driven by a Boost.Asio io_context without
// blocking it: libunbound resolves in its own thread and signals finished
// queries on a pipe (ub_fd), which the io_context watches; when it becomes
// readable, ub_process() delivers the answers. Every query is bounded by
// its own timer (a timed-out query is cancelled in libunbound).
//
// Caching is libunbound's own: answers are reused for their TTL, in caches
// bounded in bytes (cache_bytes), evicted least recently used. There is no
// second cache in front of it.
//
// Use one UnboundResolver from the thread that runs its io_context. Asio
// stays out of this header: only io_context is named, by a declaration.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "dns/resolver.hpp"

namespace boost::asio {
class io_context;
}

namespace petrel::dns {

enum class DnssecMode {
  off,
  // On when trust_anchor_file exists, off otherwise (the default).
  if_trust_anchor,
  // On; the resolver fails to start without the trust anchor.
  on,
};

struct ResolverOptions {
  // "127.0.0.1:5353", "[::1]:53", "192.0.2.53" (port 53): every query goes
  // to this server (forwarding, recursion desired). Empty: the servers of
  // /etc/resolv.conf, or full recursion from the root if it lists none.
  std::string upstream;

  // Validating against a forwarder that does not pass DNSSEC records on
  // (dnsmasq without --proxy-dnssec, for one) makes every answer bogus.
  DnssecMode dnssec = DnssecMode::if_trust_anchor;
  // Root trust anchor (Debian's dns-root-data); read once, no RFC 5011
  // updates.
  std::string trust_anchor_file = "/usr/share/dns/root.key";

  // Zones libunbound answers itself by default (RFC 6761 test. and
  // invalid., RFC 6303 private reverse zones such as 10.in-addr.arpa.) that
  // should be asked upstream instead, e.g. {"test."} for a test zone
  // served by dnsmasq.
  std::vector<std::string> zones_from_upstream;
  // Validating, the zones above are taken as unsigned (domain-insecure),
  // as a root trust anchor would find them bogus. False when
  // trust_anchor_file is a test or lab anchor that covers them (a signed
  // test. zone on loopback): then they are validated like any other.
  bool upstream_zones_insecure = true;

  // A lookup not answered by then ends as Outcome::temporary_failure.
  std::chrono::milliseconds query_timeout{10'000};

  // libunbound's message and RRset caches together (1/3 and 2/3).
  std::size_t cache_bytes = 12u << 20;
  std::chrono::seconds max_ttl{86'400};           // cap on how long any answer is kept
  std::chrono::seconds max_negative_ttl{3'600};   // cap for NXDOMAIN / NODATA
};

// The options petreld's resolvers start from: `upstream` ([dns] resolver,
// "" for /etc/resolv.conf) is asked about everything, the RFC 6761 test
// zones included, without DNSSEC (a forwarder such as dnsmasq does not pass
// signatures on) unless `trust_anchor_file` ([dns] trust_anchor_file)
// names the operator's anchor, which validates even through the forwarder.
ResolverOptions petreld_options(const std::string& upstream, const std::string& trust_anchor_file);

class UnboundResolver final : public Resolver {
 public:
  // Throws std::runtime_error when libunbound rejects the options (a bad
  // upstream, a missing trust anchor with DnssecMode::on).
  UnboundResolver(boost::asio::io_context& io, ResolverOptions options);
  ~UnboundResolver() override;
  UnboundResolver(const UnboundResolver&) = delete;
  UnboundResolver& operator=(const UnboundResolver&) = delete;

  void lookup_mx(std::string_view domain, Callback<MxAnswer> done) override;
  void lookup_a(std::string_view host, Callback<AddressAnswer> done) override;
  void lookup_aaaa(std::string_view host, Callback<AddressAnswer> done) override;
  void lookup_tlsa(std::string_view name, Callback<TlsaAnswer> done) override;
  void lookup_txt(std::string_view name, Callback<TxtAnswer> done) override;
  void lookup_ptr(const IpAddress& address, Callback<PtrAnswer> done) override;

  bool validating() const;          // whether DNSSEC validation is on
  std::size_t outstanding() const;  // lookups not yet answered

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;  // shared with the handlers, which hold it weakly
};

}  // namespace petrel::dns
