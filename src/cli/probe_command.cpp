// The command line and the DNS step of `petrel probe`; the dialogue with
// each host is probe_session's, the verdicts probe_findings'.
#include "cli/probe_command.hpp"

#include <utility>  // Boost 1.74's Asio needs std::exchange declared first

#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <iterator>

#include "cli/probe_findings.hpp"
#include "cli/probe_report.hpp"
#include "cli/probe_session.hpp"
#include "dns/destination.hpp"
#include "dns/tlsa.hpp"
#include "dns/unbound_resolver.hpp"

namespace petrel::cli {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::uint16_t kSmtps = 465;  // RFC 8314 §7.3: implicit TLS
constexpr int kExitUsage = 2;          // as CLI11's own usage errors

struct ProbeFlags {
  std::string target;
  std::uint16_t port = 25;
  bool port_given = false;
  bool all_mx = false;
  double timeout_s = 10;
  std::string helo;
  bool json = false;
  bool verbose = false;
  std::string ca_file;
  std::string resolver;
  std::string trust_anchor_file;
  bool implicit_tls = false;
  bool odmr = false;
  std::uint16_t odmr_port = 366;
};

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

dns::ResolverOptions resolver_options(const ProbeFlags& f) {
  dns::ResolverOptions r;
  r.upstream = f.resolver;
  r.query_timeout = std::chrono::milliseconds(static_cast<long>(f.timeout_s * 1000));
  if (!f.resolver.empty()) {
    // A given resolver (a lab DNS, the tests' dnsmasq) is asked about the
    // RFC 6761 names and loopback reverse names too, which libunbound would
    // otherwise answer itself; such forwarders rarely pass DNSSEC records on.
    r.zones_from_upstream = {"test.", "invalid.", "example.", "127.in-addr.arpa."};
    r.dnssec = dns::DnssecMode::off;
  }
  if (!f.trust_anchor_file.empty()) {  // a lab's or a test's signed zones, through --resolver too
    r.trust_anchor_file = f.trust_anchor_file;
    r.dnssec = dns::DnssecMode::on;
    r.upstream_zones_insecure = false;
  }
  return r;
}

// Runs the io_context until `done` is true; each lookup has its own timeout.
void run_until(boost::asio::io_context& io, const bool& done) {
  io.restart();
  while (!done && io.run_one() > 0) {
  }
}

void lookup_by_mx(dns::Resolver& resolver, boost::asio::io_context& io, ProbeObservation& probe, const ProbeFlags& f) {
  dns::PlanOptions plan_options;
  plan_options.order = dns::AddressOrder::ipv4_first;  // a probe from anywhere: IPv4 works more often
  bool done = false;
  dns::DeliveryPlan plan;
  dns::resolve_destination(resolver, probe.dns.domain, plan_options, [&](dns::DeliveryPlan p) {
    plan = std::move(p);
    done = true;
  });
  run_until(io, done);
  probe.dns.implicit_mx = plan.implicit_mx;
  probe.dns.notes = plan.notes;
  if (plan.verdict == dns::Verdict::null_mx) {
    probe.dns.null_mx = true;
    return;
  }
  if (plan.verdict != dns::Verdict::deliver) {
    probe.dns.failure = std::string(dns::to_string(plan.verdict)) + (plan.reason.empty() ? "" : ": " + plan.reason);
    return;
  }
  for (const auto& c : plan.candidates) {
    HostObservation h;
    h.host = c.host;
    h.address = c.address.str();
    h.preference = c.preference;
    h.port = f.port;
    // RFC 7672 §2.2.1, §2.2.2: DANE applies where the MX and address answers validated.
    h.dane.applies = plan.mx_dnssec == dns::Dnssec::secure && c.address_dnssec == dns::Dnssec::secure;
    probe.hosts.push_back(std::move(h));
  }
}

// The TLSA records of each host found by MX (RFC 7672 §2.2.3), when a
// validating resolver can say whether they are secure.
void lookup_tlsa(dns::UnboundResolver& resolver, boost::asio::io_context& io, ProbeObservation& probe) {
  if (!resolver.validating() || !probe.dns.by_mx) return;
  int pending = 0;
  bool done = probe.hosts.empty();
  for (auto& h : probe.hosts) {
    ++pending;
    h.dane.looked_up = true;
    resolver.lookup_tlsa("_" + std::to_string(h.port) + "._tcp." + h.host,
                         [&h, &pending, &done](const dns::TlsaAnswer& a) {
                           h.dane.tlsa = a;
                           if (h.dane.applies && a.ok() && a.dnssec == dns::Dnssec::secure) {
                             std::copy_if(a.records.begin(), a.records.end(), std::back_inserter(h.dane.usable),
                                          dns::dane_usable);
                           }
                           done = --pending == 0;
                         });
  }
  if (pending > 0) run_until(io, done);
}

void lookup_host(dns::Resolver& resolver, boost::asio::io_context& io, ProbeObservation& probe, const ProbeTarget& t,
                 std::uint16_t port) {
  std::vector<std::string> addresses;
  if (dns::IpAddress::parse(t.name)) {
    addresses.push_back(t.name);
  } else {
    int pending = 2;
    bool done = false;
    std::string failure;
    const auto collect = [&](const dns::AddressAnswer& a) {
      for (const auto& address : a.records) addresses.push_back(address.str());
      if (!a.ok() && !a.error.empty()) failure = a.error;
      done = --pending == 0;
    };
    resolver.lookup_a(t.name, collect);  // A first: see lookup_by_mx
    resolver.lookup_aaaa(t.name, collect);
    run_until(io, done);
    if (addresses.empty()) probe.dns.failure = "no address for " + t.name + (failure.empty() ? "" : " (" + failure + ")");
  }
  for (const auto& address : addresses) {
    HostObservation h;
    h.host = t.name;
    h.address = address;
    h.port = port;
    probe.hosts.push_back(std::move(h));
  }
}

void lookup_ptrs(dns::Resolver& resolver, boost::asio::io_context& io, ProbeObservation& probe) {
  int pending = 0;
  bool done = probe.hosts.empty();
  for (auto& h : probe.hosts) {
    const auto address = dns::IpAddress::parse(h.address);
    if (!address) continue;
    ++pending;
    resolver.lookup_ptr(*address, [&h, &pending, &done](const dns::PtrAnswer& a) {
      h.ptr_looked_up = a.outcome != dns::Outcome::temporary_failure;
      h.ptr_names = a.records;
      done = --pending == 0;
    });
  }
  if (pending > 0) run_until(io, done);
}

// DNS: the hosts to probe, in order, with their PTR names.
void resolve(ProbeObservation& probe, const ProbeTarget& target, const ProbeFlags& f) {
  boost::asio::io_context io;
  dns::UnboundResolver resolver(io, resolver_options(f));
  const auto start = Clock::now();
  probe.dns.by_mx = target.domain;
  if (target.domain) {
    probe.dns.domain = target.name;
    lookup_by_mx(resolver, io, probe, f);
  } else {
    lookup_host(resolver, io, probe, target, target.port.value_or(f.port));
  }
  probe.dns.ms = ms_since(start);
  lookup_ptrs(resolver, io, probe);
  lookup_tlsa(resolver, io, probe);
}

void probe_hosts(ProbeObservation& probe, const ProbeFlags& f) {
  ProbeOptions options;
  options.timeout = std::chrono::milliseconds(static_cast<long>(f.timeout_s * 1000));
  options.helo = f.helo;
  options.ca_file = f.ca_file;
  options.odmr = f.odmr;
  options.odmr_port = f.odmr_port;
  for (std::size_t i = 0; i < probe.hosts.size(); ++i) {
    HostObservation& h = probe.hosts[i];
    h.implicit_tls = f.implicit_tls || h.port == kSmtps;
    if (!f.json) std::fprintf(stderr, "probing %s ...\n", host_label(h).c_str());
    probe_host(h, options);
    if (usable(h) && !f.all_mx) {
      probe.hosts.resize(i + 1);  // the first reachable one is enough
      return;
    }
    if (!usable(h) && i + 1 < probe.hosts.size()) {
      h.transcript.push_back({TranscriptLine::Kind::note, "trying the next MX host: " + probe.hosts[i + 1].host});
      if (!f.json) std::fprintf(stderr, "  no usable SMTP there; trying the next host, %s\n", probe.hosts[i + 1].host.c_str());
    }
  }
}

int run_probe(const ProbeFlags& f) {
  const auto target = parse_probe_target(f.target);
  if (!target) {
    std::fprintf(stderr, "petrel probe: not a domain or HOST[:PORT]: %s\n", f.target.c_str());
    return kExitUsage;
  }
  if (target->port && f.port_given && *target->port != f.port) {
    std::fprintf(stderr, "petrel probe: %s names port %u, --port says %u\n", f.target.c_str(), *target->port, f.port);
    return kExitUsage;
  }
  ProbeObservation probe;
  probe.target = f.target;
  try {
    resolve(probe, *target, f);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "petrel probe: cannot start the resolver: %s\n", e.what());
    return kExitUsage;
  }
  probe_hosts(probe, f);
  const auto findings = grade(probe, static_cast<std::int64_t>(std::time(nullptr)));
  const int status = exit_status(probe, findings);
  if (f.json) {
    std::fputs(json_report(probe, findings, status).c_str(), stdout);
  } else {
    print_text_report(probe, findings, status, ReportOptions{f.verbose});
  }
  return status;
}

}  // namespace

std::optional<ProbeTarget> parse_probe_target(std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (const auto at = text.rfind('@'); at != std::string_view::npos) text = text.substr(at + 1);
  ProbeTarget t;
  std::string_view host = text;
  std::string_view port;
  if (text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') return std::nullopt;
      port = text.substr(close + 2);
    }
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    host = text.substr(0, text.find(':'));
    port = text.substr(text.find(':') + 1);
  }
  if (host.empty() || host.find_first_of(" /\\") != std::string_view::npos) return std::nullopt;
  if (!port.empty() || (!text.empty() && text.back() == ':')) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) return std::nullopt;
    t.port = static_cast<std::uint16_t>(value);
  }
  t.name = std::string(host);
  if (!t.name.empty() && t.name.back() == '.' && t.name.size() > 1) t.name.pop_back();
  // A bare name is a mail domain; an address or a name with a port is one host.
  t.domain = !t.port && !dns::IpAddress::parse(t.name);
  return t;
}

void add_probe_command(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<ProbeFlags>();
  CLI::App* cmd = app.add_subcommand(
      "probe",
      "Test a mail server and grade it: connectivity, EHLO extensions, HELP, VRFY/EXPN, TURN, STARTTLS and its "
      "certificate, open relay (no message is ever sent), SIZE and PIPELINING. Exit status: 0 all pass, 1 warnings, "
      "2 failures (or a usage error), 3 could not connect.");
  cmd->add_option("target", flags->target,
                  "A mail domain (its MX hosts are probed in preference order) or HOST[:PORT] (one server)")
      ->required()
      ->type_name("DOMAIN|HOST[:PORT]");
  cmd->add_option("--port", flags->port, "Port to probe: 25 (MTA, default), 587 (submission) or 465 (implicit TLS)")
      ->each([flags](const std::string&) { flags->port_given = true; });
  cmd->add_flag("--odmr", flags->odmr, "Also see whether port 366 offers ATRN (On-Demand Mail Relay, RFC 2645)");
  cmd->add_option("--odmr-port", flags->odmr_port, "With --odmr: the ODMR port to try (default 366)")
      ->each([flags](const std::string&) { flags->odmr = true; });
  cmd->add_flag("--all-mx", flags->all_mx, "Probe every MX host, not just the first one that answers");
  cmd->add_option("--timeout", flags->timeout_s, "Seconds to wait for each connect, handshake, reply and DNS query (default 10)")
      ->check(CLI::Range(0.001, 86400.0));
  cmd->add_option("--helo", flags->helo, "Name to give in EHLO/HELO (default: this machine's host name)");
  cmd->add_flag("--json", flags->json, "Print one JSON document on stdout (schema: docs/probe-json.md)");
  cmd->add_flag("-v,--verbose", flags->verbose, "Show the whole SMTP transcript (C: client, S: server, * notes)");
  cmd->add_option("--ca-file", flags->ca_file, "PEM file of CA certificates to verify against (default: the system store)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--resolver", flags->resolver, "DNS server to ask (default: /etc/resolv.conf)")->type_name("ADDR:PORT");
  cmd->add_option("--trust-anchor-file", flags->trust_anchor_file,
                  "Validate DNS answers with these DS or DNSKEY records (through --resolver too), and check each MX "
                  "host's certificate against its TLSA records (DANE)")
      ->check(CLI::ExistingFile)
      ->type_name("FILE");
  cmd->add_flag("--tls", flags->implicit_tls, "Implicit TLS from the first byte (the default on port 465, RFC 8314)");
  cmd->callback([flags, &exit_code] { exit_code = run_probe(*flags); });
}

}  // namespace petrel::cli
