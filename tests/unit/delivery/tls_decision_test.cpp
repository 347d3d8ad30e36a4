// Which TLS policy governs one MX host: DANE (RFC 7672), MTA-STS (RFC
// 8461), the configured policy, REQUIRETLS and "TLS-Required: No" (RFC 8689).
#include "delivery/tls_decision.hpp"

#include <gtest/gtest.h>

#include "dns/tlsa.hpp"

namespace petrel::delivery {
namespace {

using dns::Dnssec;
using dns::Outcome;
using smtp::TlsPolicy;

dns::TlsaRecord record(std::uint8_t usage, std::uint8_t selector, std::uint8_t mtype, std::size_t size = 32) {
  return {usage, selector, mtype, std::vector<std::uint8_t>(size, 0xab)};
}

dns::TlsaAnswer tlsa(Outcome outcome, Dnssec dnssec, std::vector<dns::TlsaRecord> records = {}) {
  dns::TlsaAnswer a;
  a.outcome = outcome;
  a.dnssec = dnssec;
  a.records = std::move(records);
  if (dnssec == Dnssec::bogus) a.error = "DNSSEC bogus: signature failed";
  return a;
}

HostTlsInput dane_input(dns::TlsaAnswer answer) {
  HostTlsInput in;
  in.host = "mx.example.org";
  in.dane_applies = true;
  in.tlsa = std::move(answer);
  return in;
}

TEST(TlsDecision, secure_usable_tlsa_records_require_dane_authentication) {
  const HostTls tls = decide_host_tls(dane_input(tlsa(Outcome::ok, Dnssec::secure, {record(3, 1, 1)})));
  EXPECT_TRUE(tls.usable);
  EXPECT_EQ(tls.policy, TlsPolicy::verify);
  EXPECT_EQ(tls.source, TlsSource::dane);
  ASSERT_EQ(tls.tlsa.size(), 1u);
  EXPECT_EQ(to_string(tls.source), "dane");
}

TEST(TlsDecision, pkix_usages_are_dropped_and_only_unusable_records_mean_encrypt_without_authentication) {
  // RFC 7672 §3.1.3: PKIX-TA(0)/PKIX-EE(1) unusable; §2.2: TLS still mandatory.
  const HostTls tls =
      decide_host_tls(dane_input(tlsa(Outcome::ok, Dnssec::secure, {record(0, 0, 1), record(1, 1, 1)})));
  EXPECT_TRUE(tls.usable);
  EXPECT_EQ(tls.policy, TlsPolicy::encrypt);
  EXPECT_EQ(tls.source, TlsSource::dane_only_encrypt);
  EXPECT_TRUE(tls.tlsa.empty());
}

TEST(TlsDecision, usable_records_are_kept_beside_unusable_ones) {
  const HostTls tls = decide_host_tls(
      dane_input(tlsa(Outcome::ok, Dnssec::secure, {record(1, 1, 1), record(2, 0, 2, 64), record(3, 1, 1, 20)})));
  ASSERT_EQ(tls.tlsa.size(), 1u);  // 3 1 1 with 20 octets is malformed
  EXPECT_EQ(tls.tlsa.front().usage, 2);
}

TEST(TlsDecision, dane_usable_checks_usage_selector_and_digest_length) {
  EXPECT_TRUE(dns::dane_usable(record(3, 1, 1, 32)));
  EXPECT_TRUE(dns::dane_usable(record(2, 0, 2, 64)));
  EXPECT_TRUE(dns::dane_usable(record(3, 0, 0, 300)));
  EXPECT_FALSE(dns::dane_usable(record(1, 1, 1, 32)));
  EXPECT_FALSE(dns::dane_usable(record(3, 2, 1, 32)));
  EXPECT_FALSE(dns::dane_usable(record(3, 1, 3, 32)));
  EXPECT_FALSE(dns::dane_usable(record(3, 1, 2, 32)));
}

TEST(TlsDecision, a_bogus_tlsa_answer_makes_the_host_unusable_with_4_7_5) {
  const HostTls tls = decide_host_tls(dane_input(tlsa(Outcome::temporary_failure, Dnssec::bogus)));
  EXPECT_FALSE(tls.usable);
  EXPECT_EQ(tls.status.code, 451);
  EXPECT_EQ(tls.status.enhanced, "4.7.5");
  EXPECT_NE(tls.reason.find("bogus"), std::string::npos);
}

TEST(TlsDecision, a_failed_tlsa_lookup_under_a_secure_mx_makes_the_host_unusable) {
  const HostTls tls = decide_host_tls(dane_input(tlsa(Outcome::temporary_failure, Dnssec::insecure)));
  EXPECT_FALSE(tls.usable);
  EXPECT_EQ(tls.status.enhanced, "4.7.5");
}

TEST(TlsDecision, no_tlsa_records_or_insecure_ones_fall_back_to_the_configured_policy) {
  for (const auto& answer : {tlsa(Outcome::nodata, Dnssec::secure), tlsa(Outcome::nxdomain, Dnssec::secure),
                             tlsa(Outcome::ok, Dnssec::insecure, {record(3, 1, 1)})}) {
    const HostTls tls = decide_host_tls(dane_input(answer));
    EXPECT_TRUE(tls.usable);
    EXPECT_EQ(tls.policy, TlsPolicy::may);
    EXPECT_EQ(tls.source, TlsSource::may);
  }
}

TEST(TlsDecision, dane_takes_precedence_over_mta_sts) {
  HostTlsInput in = dane_input(tlsa(Outcome::ok, Dnssec::secure, {record(3, 1, 1)}));
  in.sts_enforced = true;
  EXPECT_EQ(decide_host_tls(in).source, TlsSource::dane);  // RFC 8461 §2
  in.dane_applies = false;
  const HostTls sts = decide_host_tls(in);
  EXPECT_EQ(sts.source, TlsSource::mta_sts);
  EXPECT_EQ(sts.policy, TlsPolicy::verify);
}

TEST(TlsDecision, without_dane_or_mta_sts_the_configured_policy_governs) {
  HostTlsInput in;
  in.host = "mx.example.org";
  in.configured = TlsPolicy::encrypt;
  EXPECT_EQ(decide_host_tls(in).source, TlsSource::encrypt);
  in.configured = TlsPolicy::verify;
  EXPECT_EQ(decide_host_tls(in).source, TlsSource::verify);
}

TEST(TlsDecision, tls_required_no_sets_dane_and_mta_sts_aside_but_not_the_operators_policy) {
  HostTlsInput in = dane_input(tlsa(Outcome::ok, Dnssec::secure, {record(3, 1, 1)}));
  in.tls_required_no = true;
  HostTls tls = decide_host_tls(in);
  EXPECT_EQ(tls.policy, TlsPolicy::may);
  EXPECT_EQ(tls.source, TlsSource::tls_required_no);
  in.dane_applies = false;
  in.configured = TlsPolicy::verify;
  EXPECT_EQ(decide_host_tls(in).source, TlsSource::verify);
}

TEST(TlsDecision, requiretls_needs_an_authenticated_policy_else_5_7_10) {
  HostTlsInput in;
  in.host = "mx.example.org";
  in.requiretls = true;
  const HostTls may = decide_host_tls(in);
  EXPECT_FALSE(may.usable);
  EXPECT_EQ(may.status.code, 550);
  EXPECT_EQ(may.status.enhanced, "5.7.10");
  in.configured = TlsPolicy::encrypt;  // encrypted but not authenticated
  EXPECT_FALSE(decide_host_tls(in).usable);
  in.configured = TlsPolicy::verify;
  EXPECT_TRUE(decide_host_tls(in).usable);
  in.configured = TlsPolicy::may;
  in.sts_enforced = true;
  EXPECT_TRUE(decide_host_tls(in).usable);
}

TEST(TlsDecision, requiretls_with_dane_needs_usable_records) {
  HostTlsInput in = dane_input(tlsa(Outcome::ok, Dnssec::secure, {record(3, 1, 1)}));
  in.requiretls = true;
  EXPECT_TRUE(authenticated(decide_host_tls(in)));
  in.tlsa = tlsa(Outcome::ok, Dnssec::secure, {record(1, 1, 1)});
  EXPECT_FALSE(decide_host_tls(in).usable);
}

TEST(TlsDecision, requiretls_ignores_tls_required_no) {
  HostTlsInput in = dane_input(tlsa(Outcome::ok, Dnssec::secure, {record(3, 1, 1)}));
  in.requiretls = true;
  in.tls_required_no = true;  // RFC 8689 §4.1
  const HostTls tls = decide_host_tls(in);
  EXPECT_EQ(tls.source, TlsSource::dane);
  EXPECT_EQ(tls.policy, TlsPolicy::verify);
}

}  // namespace
}  // namespace petrel::delivery
