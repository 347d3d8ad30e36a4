// DMARC's verdict (RFC 7489 §3.1, §4.2, §6.6): alignment, which policy
// applies, pct= sampling, and which names are asked for the record.
#include <gtest/gtest.h>

#include "dmarc/evaluate.hpp"

namespace petrel::dmarc {
namespace {

const PublicSuffixList& psl() { return PublicSuffixList::system(); }

Record record(std::string_view text) {
  std::string error;
  auto r = parse_record(text, error);
  EXPECT_TRUE(r) << error;
  return r.value_or(Record{});
}

Input from(std::string domain) {
  Input input;
  input.from_domain = std::move(domain);
  return input;
}

TEST(DmarcNames, the_from_domain_then_its_organizational_domain) {
  EXPECT_EQ(record_names("mail.example.co.uk", psl()),
            (std::vector<std::string>{"_dmarc.mail.example.co.uk", "_dmarc.example.co.uk"}));
  EXPECT_EQ(record_names("example.com", psl()), std::vector<std::string>{"_dmarc.example.com"});
  EXPECT_EQ(record_names("News.Example.TEST.", psl()),
            (std::vector<std::string>{"_dmarc.news.example.test", "_dmarc.example.test"}));
  EXPECT_TRUE(record_names("", psl()).empty());
}

TEST(DmarcAlignment, relaxed_dkim_passes_for_a_sibling_domain) {
  Input input = from("example.com");
  input.dkim_pass_domains = {"other.net", "mail.Example.com"};
  const Record r = record("v=DMARC1; p=reject");
  const Decision d = evaluate(input, &r, false, psl());
  EXPECT_EQ(d.result, Result::pass);
  EXPECT_TRUE(d.dkim_aligned);
  EXPECT_FALSE(d.spf_aligned);
  EXPECT_EQ(d.reason, "aligned DKIM d=mail.example.com");
  EXPECT_EQ(d.record_domain, "example.com");
  EXPECT_EQ(d.policy, Policy::reject);  // the policy is told even when it passes
}

TEST(DmarcAlignment, strict_wants_the_same_name) {
  Input input = from("example.com");
  input.dkim_pass_domains = {"mail.example.com"};
  input.spf = spf::Result::pass;
  input.spf_domain = "bounces.example.com";
  const Record r = record("v=DMARC1; p=reject; adkim=s; aspf=s");
  Decision d = evaluate(input, &r, false, psl());
  EXPECT_EQ(d.result, Result::fail);
  EXPECT_EQ(d.reason, "SPF and DKIM not aligned with example.com");
  EXPECT_EQ(d.policy, Policy::reject);
  input.spf_domain = "example.com";
  d = evaluate(input, &r, false, psl());
  EXPECT_EQ(d.result, Result::pass);
  EXPECT_EQ(d.reason, "aligned SPF example.com");
}

TEST(DmarcAlignment, spf_counts_only_when_it_passed) {
  Input input = from("example.com");
  input.spf_domain = "example.com";
  const Record r = record("v=DMARC1; p=quarantine");
  for (const spf::Result result : {spf::Result::softfail, spf::Result::neutral, spf::Result::fail, spf::Result::none,
                                   spf::Result::temperror}) {
    input.spf = result;
    EXPECT_EQ(evaluate(input, &r, false, psl()).result, Result::fail) << spf::to_string(result);
  }
  input.spf = spf::Result::pass;
  input.dkim_pass_domains = {"example.com"};
  EXPECT_EQ(evaluate(input, &r, false, psl()).reason, "aligned DKIM d=example.com and SPF example.com");
}

TEST(DmarcAlignment, public_suffixes_do_not_align_their_customers) {
  Input input = from("alice.example.co.uk");
  input.dkim_pass_domains = {"mallory.co.uk", "co.uk"};
  const Record r = record("v=DMARC1; p=reject");
  EXPECT_EQ(evaluate(input, &r, false, psl()).result, Result::fail);
  input = from("mail.example.test");
  input.dkim_pass_domains = {"example.test"};
  EXPECT_EQ(evaluate(input, &r, false, psl()).result, Result::pass);
}

TEST(DmarcPolicy, p_none_still_fails) {
  const Record r = record("v=DMARC1; p=none; rua=mailto:d@example.com");
  const Decision d = evaluate(from("example.com"), &r, false, psl());
  EXPECT_EQ(d.result, Result::fail);
  EXPECT_EQ(d.policy, Policy::none);
  EXPECT_FALSE(d.sampled_out);
}

TEST(DmarcPolicy, subdomains_get_sp_and_nonexistent_ones_np) {
  const Record r = record("v=DMARC1; p=none; sp=quarantine; np=reject");
  Decision d = evaluate(from("mail.example.com"), &r, true, psl());
  EXPECT_EQ(d.record_domain, "example.com");
  EXPECT_EQ(d.published_policy, Policy::quarantine);
  Input ghost = from("ghost.example.com");
  ghost.from_domain_exists = false;
  EXPECT_EQ(evaluate(ghost, &r, true, psl()).policy, Policy::reject);  // RFC 9091
  EXPECT_EQ(evaluate(from("example.com"), &r, false, psl()).policy, Policy::none);
  // The subdomain's own record: its p=.
  EXPECT_EQ(evaluate(from("mail.example.com"), &r, false, psl()).policy, Policy::none);
  // Without sp=, p= applies to subdomains; without np=, sp=.
  const Record p_only = record("v=DMARC1; p=reject");
  EXPECT_EQ(evaluate(ghost, &p_only, true, psl()).policy, Policy::reject);
  const Record no_np = record("v=DMARC1; p=reject; sp=none");
  EXPECT_EQ(evaluate(ghost, &no_np, true, psl()).policy, Policy::none);
}

TEST(DmarcPolicy, pct_samples_failing_messages) {
  const Record r = record("v=DMARC1; p=reject; pct=25");
  Input input = from("example.com");
  input.sample = 24;
  Decision d = evaluate(input, &r, false, psl());
  EXPECT_FALSE(d.sampled_out);
  EXPECT_EQ(d.policy, Policy::reject);
  input.sample = 25;
  d = evaluate(input, &r, false, psl());
  EXPECT_TRUE(d.sampled_out);
  EXPECT_EQ(d.result, Result::fail);
  EXPECT_EQ(d.policy, Policy::quarantine);  // §6.6.4: the next policy down
  EXPECT_EQ(d.published_policy, Policy::reject);
  const Record q = record("v=DMARC1; p=quarantine; pct=0");
  input.sample = 0;
  EXPECT_EQ(evaluate(input, &q, false, psl()).policy, Policy::none);
  const Record all = record("v=DMARC1; p=reject");
  input.sample = 99;
  EXPECT_FALSE(evaluate(input, &all, false, psl()).sampled_out);
}

TEST(DmarcResult, no_record_is_none_and_dns_trouble_temperror) {
  Decision d = evaluate(from("example.com"), nullptr, false, psl());
  EXPECT_EQ(d.result, Result::none);
  EXPECT_EQ(d.reason, "no DMARC record for example.com");
  d = temperror("_dmarc.example.com", "SERVFAIL");
  EXPECT_EQ(d.result, Result::temperror);
  EXPECT_EQ(d.record_domain, "example.com");
  EXPECT_EQ(d.reason, "DNS lookup of TXT _dmarc.example.com failed (SERVFAIL)");
  EXPECT_EQ(to_string(Result::temperror), "temperror");
  EXPECT_EQ(to_string(Result::pass), "pass");
}

}  // namespace
}  // namespace petrel::dmarc
