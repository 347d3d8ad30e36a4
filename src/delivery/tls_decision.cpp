#include "delivery/tls_decision.hpp"

#include "dns/tlsa.hpp"

#include <algorithm>
#include <iterator>
#include <optional>

namespace petrel::delivery {
namespace {

namespace codes = smtp::codes;

HostTls unusable(smtp::Status status, std::string reason) {
  HostTls tls;
  tls.usable = false;
  tls.status = status;
  tls.reason = std::move(reason);
  return tls;
}

HostTls governed(smtp::TlsPolicy policy, TlsSource source) {
  HostTls tls;
  tls.policy = policy;
  tls.source = source;
  return tls;
}

TlsSource source_of(smtp::TlsPolicy policy) {
  switch (policy) {
    case smtp::TlsPolicy::none: return TlsSource::none;
    case smtp::TlsPolicy::may: return TlsSource::may;
    case smtp::TlsPolicy::encrypt: return TlsSource::encrypt;
    case smtp::TlsPolicy::verify: return TlsSource::verify;
  }
  return TlsSource::may;
}

// RFC 7672 §2.2: what the TLSA answer makes of the host, or nullopt when
// DANE does not apply to it (no records, or not validated).
std::optional<HostTls> dane_policy(const HostTlsInput& in) {
  if (!in.dane_applies) return std::nullopt;
  const dns::TlsaAnswer& a = in.tlsa;
  if (a.dnssec == dns::Dnssec::bogus || a.outcome == dns::Outcome::temporary_failure) {
    const std::string why = a.error.empty() ? std::string("no answer") : a.error;
    return unusable(codes::k451DaneTlsaFailed, "TLSA lookup for " + in.host + " failed: " + why);
  }
  if (a.outcome != dns::Outcome::ok || a.dnssec != dns::Dnssec::secure) return std::nullopt;
  HostTls tls = governed(smtp::TlsPolicy::encrypt, TlsSource::dane_only_encrypt);
  std::copy_if(a.records.begin(), a.records.end(), std::back_inserter(tls.tlsa), dns::dane_usable);
  if (!tls.tlsa.empty()) {
    tls.policy = smtp::TlsPolicy::verify;
    tls.source = TlsSource::dane;
  }
  return tls;
}

}  // namespace

std::string_view to_string(TlsSource source) {
  switch (source) {
    case TlsSource::none: return "none";
    case TlsSource::may: return "may";
    case TlsSource::encrypt: return "encrypt";
    case TlsSource::verify: return "verify";
    case TlsSource::mta_sts: return "mta-sts";
    case TlsSource::dane: return "dane";
    case TlsSource::dane_only_encrypt: return "dane-only-encrypt";
    case TlsSource::tls_required_no: return "tls-required-no";
  }
  return "?";
}

bool authenticated(const HostTls& tls) {
  return tls.usable && (tls.source == TlsSource::dane || tls.source == TlsSource::mta_sts ||
                        tls.source == TlsSource::verify);
}

HostTls decide_host_tls(const HostTlsInput& in) {
  const bool relaxed = in.tls_required_no && !in.requiretls;  // RFC 8689 §4.1: REQUIRETLS wins
  HostTls tls;
  if (auto dane = dane_policy(in)) {
    if (!dane->usable) return *dane;
    tls = std::move(*dane);
  } else if (in.sts_enforced) {
    tls = governed(smtp::TlsPolicy::verify, TlsSource::mta_sts);
  } else {
    tls = governed(in.configured, source_of(in.configured));
  }
  // RFC 8689 §5: the sender's "TLS-Required: No" sets the recipient's
  // policies (DANE, MTA-STS) aside; TLS is still tried.
  const bool recipient_policy = tls.source == TlsSource::dane || tls.source == TlsSource::dane_only_encrypt ||
                                tls.source == TlsSource::mta_sts;
  if (relaxed && recipient_policy) {
    tls = governed(smtp::TlsPolicy::may, TlsSource::tls_required_no);
  }
  if (in.requiretls && !authenticated(tls)) {
    return unusable(codes::k550RequireTlsNoTls, "REQUIRETLS: no authenticated TLS to " + in.host + " (tls_policy=" +
                                                    std::string(to_string(tls.source)) + ")");
  }
  return tls;
}

}  // namespace petrel::delivery
