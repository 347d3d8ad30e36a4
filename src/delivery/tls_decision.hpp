// Which TLS policy governs delivery to one MX host: DANE (RFC 7672), the
// domain's MTA-STS policy (RFC 8461), the operator's configured policy,
// and what the message asks for (REQUIRETLS or "TLS-Required: No", RFC
// 8689). A pure function over DNS answers and flags, so that every rule
// is tested without a resolver or a socket; queue/remote_tls.cpp feeds it.
//
// Precedence, for one host:
//   1. DANE, where it applies (validating resolver, secure MX and address
//      answers): usable TLSA records -> TLS required, certificate matched
//      against them; only unusable ones -> TLS required, no authentication
//      (RFC 7672 §2.2); a bogus or failed TLSA lookup -> the host is not
//      used (RFC 7672 §2.2). No TLSA (secure denial) or insecure -> on.
//   2. An enforced MTA-STS policy: `verify` (RFC 8461 §5; DANE wins, §2).
//   3. The configured policy (per domain, else [delivery] tls).
//   4. "TLS-Required: No" (RFC 8689 §5) relaxes 1 and 2 to `may`; it is
//      ignored when the message carries REQUIRETLS (RFC 8689 §4.1).
//   5. REQUIRETLS: only an authenticated policy (DANE with usable
//      records, MTA-STS, or `verify`) may carry the message (RFC 8689 §4.2.1).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "dns/records.hpp"
#include "smtp/client_session.hpp"
#include "smtp/reply_codes.hpp"

namespace petrel::delivery {

// What governs a host, as the delivery log's tls_policy= names it.
enum class TlsSource { none, may, encrypt, verify, mta_sts, dane, dane_only_encrypt, tls_required_no };
std::string_view to_string(TlsSource source);

struct HostTlsInput {
  std::string host;                  // the MX host name, for the reasons given
  smtp::TlsPolicy configured = smtp::TlsPolicy::may;
  bool sts_enforced = false;         // the domain's MTA-STS policy is in force, mode enforce
  // DANE looked for TLSA records: validating, the MX answer and this
  // host's address answer secure (RFC 7672 §2.2.1, §2.2.2).
  bool dane_applies = false;
  dns::TlsaAnswer tlsa;              // when dane_applies
  bool requiretls = false;           // MAIL FROM ... REQUIRETLS (RFC 8689)
  bool tls_required_no = false;      // a "TLS-Required: No" header field (RFC 8689 §5)
};

struct HostTls {
  bool usable = true;  // false: do not connect to this host (`status`, `reason` say why)
  smtp::Status status = smtp::codes::k454TlsFailed;
  std::string reason;
  smtp::TlsPolicy policy = smtp::TlsPolicy::may;
  TlsSource source = TlsSource::may;
  std::vector<dns::TlsaRecord> tlsa;  // DANE: the certificate must match one of these
};

HostTls decide_host_tls(const HostTlsInput& in);

// Whether the policy authenticates the server, as REQUIRETLS needs.
bool authenticated(const HostTls& tls);

}  // namespace petrel::delivery
