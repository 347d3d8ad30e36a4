// The DMARC record (RFC 7489 §6.3, §6.6.3; RFC 9091's np=): its tags and
// defaults, and which TXT records are one.
#include <gtest/gtest.h>

#include "dmarc/record.hpp"

namespace petrel::dmarc {
namespace {

Record parsed(std::string_view text) {
  std::string error;
  const auto record = parse_record(text, error);
  EXPECT_TRUE(record) << text << ": " << error;
  return record.value_or(Record{});
}

std::string refused(std::string_view text) {
  std::string error;
  EXPECT_FALSE(parse_record(text, error)) << text;
  EXPECT_FALSE(error.empty());
  return error;
}

std::vector<dns::TxtRecord> txt(std::vector<std::vector<std::string>> records) {
  std::vector<dns::TxtRecord> out;
  for (auto& strings : records) out.push_back(dns::TxtRecord{std::move(strings)});
  return out;
}

TEST(DmarcRecord, reads_every_tag) {
  const Record r = parsed(
      "v=DMARC1; p=reject; sp=quarantine; np=reject; adkim=s; aspf=s; pct=20; "
      "rua=mailto:agg@example.com!10m, mailto:b@example.net; ruf=mailto:f@example.com; fo=1:d; rf=afrf; ri=3600");
  EXPECT_EQ(r.policy, Policy::reject);
  EXPECT_EQ(r.subdomain_policy, Policy::quarantine);
  EXPECT_EQ(r.nonexistent_policy, Policy::reject);
  EXPECT_EQ(r.dkim_alignment, Alignment::strict);
  EXPECT_EQ(r.spf_alignment, Alignment::strict);
  EXPECT_EQ(r.percent, 20);
  EXPECT_EQ(r.aggregate_uris, (std::vector<std::string>{"mailto:agg@example.com!10m", "mailto:b@example.net"}));
  EXPECT_EQ(r.failure_uris, std::vector<std::string>{"mailto:f@example.com"});
  EXPECT_EQ(r.failure_options, "1:d");
  EXPECT_EQ(r.report_interval, 3600u);
  EXPECT_FALSE(r.policy_defaulted);
}

TEST(DmarcRecord, defaults) {
  const Record r = parsed("v=DMARC1; p=none");
  EXPECT_EQ(r.policy, Policy::none);
  EXPECT_FALSE(r.subdomain_policy);
  EXPECT_FALSE(r.nonexistent_policy);
  EXPECT_EQ(r.dkim_alignment, Alignment::relaxed);
  EXPECT_EQ(r.spf_alignment, Alignment::relaxed);
  EXPECT_EQ(r.percent, 100);
  EXPECT_EQ(r.failure_options, "0");
  EXPECT_EQ(r.report_format, "afrf");
  EXPECT_EQ(r.report_interval, 86400u);
  EXPECT_TRUE(r.aggregate_uris.empty());
}

TEST(DmarcRecord, bad_optional_values_take_their_defaults) {
  const Record r = parsed("v=DMARC1; p=Quarantine; adkim=x; aspf=; pct=101; ri=-1; fo=2; rua=not a uri, mailto:x@example.com; "
                          "future=1; np=maybe;;");
  EXPECT_EQ(r.policy, Policy::quarantine);  // values are case-insensitive
  EXPECT_EQ(r.dkim_alignment, Alignment::relaxed);
  EXPECT_EQ(r.percent, 100);
  EXPECT_EQ(r.report_interval, 86400u);
  EXPECT_EQ(r.failure_options, "0");
  EXPECT_EQ(r.aggregate_uris, std::vector<std::string>{"mailto:x@example.com"});
  EXPECT_FALSE(r.nonexistent_policy);
  EXPECT_EQ(parsed("v=DMARC1; p=reject; pct=0").percent, 0);
  EXPECT_EQ(parsed("v=DMARC1 ; P = reject ; p=none").policy, Policy::reject);  // the first p= counts
}

TEST(DmarcRecord, without_a_valid_p_a_valid_rua_means_p_none) {
  Record r = parsed("v=DMARC1; rua=mailto:dmarc@example.com");
  EXPECT_EQ(r.policy, Policy::none);  // §6.6.3
  EXPECT_TRUE(r.policy_defaulted);
  r = parsed("v=DMARC1; p=bogus; rua=mailto:dmarc@example.com");
  EXPECT_TRUE(r.policy_defaulted);
  r = parsed("v=DMARC1; p=reject; sp=bogus; rua=mailto:dmarc@example.com");
  EXPECT_EQ(r.policy, Policy::none);
  EXPECT_FALSE(r.subdomain_policy);
  refused("v=DMARC1");
  refused("v=DMARC1; p=bogus");
  refused("v=DMARC1; p=reject; sp=bogus");
  refused("v=DMARC1; p=bogus; rua=example.com");  // no scheme
}

TEST(DmarcRecord, v_must_come_first_and_match_exactly) {
  refused("p=reject; v=DMARC1");
  refused("v=dmarc1; p=reject");
  refused("v=DMARC2; p=reject");
  refused("v=DMARC10; p=reject");
  refused("");
  parsed("  V = DMARC1 ;p=reject");
}

TEST(DmarcRecord, selection_wants_exactly_one_record) {
  std::string error;
  auto r = select_record(txt({{"v=spf1 -all"}, {"v=DMARC1; ", "p=reject"}}), error);
  ASSERT_TRUE(r) << error;
  EXPECT_EQ(r->policy, Policy::reject);
  EXPECT_FALSE(select_record(txt({{"v=DMARC1; p=reject"}, {"v=DMARC1; p=none"}}), error));
  EXPECT_NE(error.find("more than one"), std::string::npos);
  EXPECT_FALSE(select_record(txt({{"v=spf1 -all"}}), error));
  EXPECT_EQ(error, "no DMARC record");
  EXPECT_FALSE(select_record({}, error));
  EXPECT_FALSE(select_record(txt({{"v=DMARC1; p=nothing"}}), error));
}

TEST(DmarcRecord, policy_names) {
  EXPECT_EQ(to_string(Policy::quarantine), "quarantine");
  EXPECT_EQ(to_string(Policy::reject), "reject");
}

}  // namespace
}  // namespace petrel::dmarc
