#include "cli/mx_command.hpp"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>

#include "cli/mx_lookup.hpp"
#include "cli/mx_report.hpp"

namespace petrel::cli {
namespace {

struct MxFlags {
  std::string domain;
  std::string resolver;
  MxDnssec dnssec = MxDnssec::automatic;
  std::string trust_anchor_file;
  double timeout_seconds = 5.0;
  bool json = false;
};

// A name libunbound can ask for: ASCII after IDNA conversion, labels of
// 1 to 63 octets, 253 in all.
bool askable(const std::string& domain) {
  if (domain.empty() || domain.size() > 253) return false;
  if (!std::all_of(domain.begin(), domain.end(), [](char c) { return c > ' ' && c < 0x7f && c != '@'; })) return false;
  std::size_t label = 0;
  for (const char c : domain) {
    label = c == '.' ? 0 : label + 1;
    if (label > 63) return false;
  }
  return domain.front() != '.' && domain.find("..") == std::string::npos;
}

int run(const MxFlags& f) {
  if (!askable(mx_domain(f.domain))) {
    std::fprintf(stderr, "petrel mx: \"%s\" is not a domain name\n", f.domain.c_str());
    return kMxDnsFailure;
  }
  MxLookupOptions options;
  options.resolver = f.resolver;
  options.dnssec = f.dnssec;
  options.trust_anchor_file = f.trust_anchor_file;
  options.timeout = std::chrono::milliseconds(static_cast<long>(f.timeout_seconds * 1000));
  MxReport report;
  try {
    report = look_up_mx(f.domain, options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "petrel mx: cannot start the resolver: %s\n", e.what());
    return kMxDnsFailure;
  }
  if (f.json) {
    std::cout << mx_report_json(report) << "\n";
  } else {
    print_mx_report(report, stdout);
  }
  return mx_exit_status(mx_verdict(report));
}

}  // namespace

void add_mx_command(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<MxFlags>();
  CLI::App* mx = app.add_subcommand(
      "mx", "Show a domain's mail servers: MX records by preference, their addresses and reverse names, "
            "implicit and null MX, TLSA, MTA-STS and DNSSEC status");
  mx->footer(
      "Exit status: 0 mail servers found (MX or implicit MX), 1 the domain accepts no mail (null MX, or no "
      "MX host has an address), 2 DNS failure (NXDOMAIN, SERVFAIL, timeout) or bad usage. See docs/petrel-mx.md.");
  mx->add_option("domain", flags->domain, "The domain (U-labels are converted to A-labels; for an address, "
                                          "the part after the last @)")
      ->required()
      ->type_name("DOMAIN");
  mx->add_option("--resolver", flags->resolver,
                 "DNS server to ask, e.g. 127.0.0.1:5353 or [::1]:53 (default: the servers of /etc/resolv.conf)")
      ->type_name("ADDR:PORT");
  const std::map<std::string, MxDnssec> modes = {
      {"auto", MxDnssec::automatic}, {"on", MxDnssec::on}, {"off", MxDnssec::off}};
  mx->add_option("--dnssec", flags->dnssec,
                 "DNSSEC validation: auto (default) validates with the root trust anchor "
                 "(/usr/share/dns/root.key) if present, but not with --resolver, since a forwarder rarely passes "
                 "DNSSEC records on; on requires it; off never validates")
      ->transform(CLI::CheckedTransformer(modes, CLI::ignore_case).description(""))
      ->type_name("auto|on|off");
  mx->add_option("--trust-anchor-file", flags->trust_anchor_file,
                 "Validate with these DS or DNSKEY records instead of the root anchor, through --resolver too "
                 "(a lab's or a test's signed zones)")
      ->check(CLI::ExistingFile)
      ->type_name("FILE");
  mx->add_option("--timeout", flags->timeout_seconds, "Seconds to wait for each DNS query, 0.1 to 120 (default 5)")
      ->check(CLI::Range(0.1, 120.0).description(""))
      ->type_name("SECONDS");
  mx->add_flag("--json", flags->json, "Print one JSON document instead of the table (fields in docs/petrel-mx.md)");
  mx->callback([flags, &exit_code] { exit_code = run(*flags); });
}

}  // namespace petrel::cli
