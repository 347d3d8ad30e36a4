// check_host() (RFC 7208 §4) driven from a table of DNS answers: the
// RFC's extended examples (Appendix B), each result, include, redirect and
// exp=.
#include <gtest/gtest.h>

#include <stdexcept>

#include "fake_zone.hpp"

namespace petrel::spf {
namespace {

using testing::check;
using testing::mail_from;
using testing::result;
using testing::Zone;

// The zone of RFC 7208 Appendix B, with `record` as example.com's SPF record.
Zone rfc_zone(const std::string& record) {
  Zone zone;
  zone.txt("example.com", record)
      .mx("example.com", 10, "mail-a.example.com")
      .mx("example.com", 20, "mail-b.example.com")
      .address("example.com", "192.0.2.10")
      .address("example.com", "192.0.2.11")
      .address("amy.example.com", "192.0.2.65")
      .address("bob.example.com", "192.0.2.66")
      .address("mail-a.example.com", "192.0.2.129")
      .address("mail-b.example.com", "192.0.2.130")
      .mx("example.org", 10, "mail-c.example.org")
      .address("mail-c.example.org", "192.0.2.140")
      .ptr("192.0.2.10", "example.com")
      .ptr("192.0.2.11", "example.com")
      .ptr("192.0.2.65", "amy.example.com")
      .ptr("192.0.2.66", "bob.example.com")
      .ptr("192.0.2.129", "mail-a.example.com")
      .ptr("192.0.2.130", "mail-b.example.com")
      .ptr("192.0.2.140", "mail-c.example.org")
      .ptr("10.0.0.4", "bob.example.com");
  return zone;
}

Result from(const Zone& zone, const std::string& client) { return result(zone, client, "someone@example.com"); }

TEST(SpfRfcExamples, plus_all_passes_every_host) {
  const Zone zone = rfc_zone("v=spf1 +all");
  EXPECT_EQ(from(zone, "198.51.100.7"), Result::pass);
  EXPECT_EQ(from(zone, "2001:db8::1"), Result::pass);
}

TEST(SpfRfcExamples, a_allows_the_domains_addresses) {
  const Zone zone = rfc_zone("v=spf1 a -all");
  EXPECT_EQ(from(zone, "192.0.2.10"), Result::pass);
  EXPECT_EQ(from(zone, "192.0.2.11"), Result::pass);
  EXPECT_EQ(from(zone, "192.0.2.65"), Result::fail);
  EXPECT_EQ(from(rfc_zone("v=spf1 a:example.org -all"), "192.0.2.10"), Result::fail);  // example.org has no A
}

TEST(SpfRfcExamples, mx_allows_the_mail_exchangers) {
  Zone zone = rfc_zone("v=spf1 mx -all");
  EXPECT_EQ(from(zone, "192.0.2.129"), Result::pass);
  EXPECT_EQ(from(zone, "192.0.2.130"), Result::pass);
  EXPECT_EQ(from(zone, "192.0.2.10"), Result::fail);
  EXPECT_EQ(from(rfc_zone("v=spf1 mx:example.org -all"), "192.0.2.140"), Result::pass);
  zone = rfc_zone("v=spf1 mx mx:example.org -all");
  EXPECT_EQ(from(zone, "192.0.2.129"), Result::pass);
  EXPECT_EQ(from(zone, "192.0.2.140"), Result::pass);
  EXPECT_EQ(from(zone, "192.0.2.141"), Result::fail);
}

TEST(SpfRfcExamples, mx_with_prefix_lengths) {
  const Zone zone = rfc_zone("v=spf1 mx/30 mx:example.org/30 -all");
  EXPECT_EQ(from(zone, "192.0.2.131"), Result::pass);
  EXPECT_EQ(from(zone, "192.0.2.143"), Result::pass);
  EXPECT_EQ(from(zone, "192.0.2.132"), Result::fail);
  EXPECT_EQ(from(zone, "192.0.2.144"), Result::fail);
}

TEST(SpfRfcExamples, ptr_allows_hosts_named_under_the_domain) {
  const Zone zone = rfc_zone("v=spf1 ptr -all");
  EXPECT_EQ(from(zone, "192.0.2.10"), Result::pass);
  EXPECT_EQ(from(zone, "192.0.2.65"), Result::pass);
  EXPECT_EQ(from(zone, "192.0.2.130"), Result::pass);
  EXPECT_EQ(from(zone, "192.0.2.140"), Result::fail);  // mail-c.example.org
  // 10.0.0.4 says it is bob.example.com, whose address is not 10.0.0.4: not validated.
  EXPECT_EQ(from(zone, "10.0.0.4"), Result::fail);
  EXPECT_EQ(from(zone, "192.0.2.200"), Result::fail);  // no PTR at all
}

TEST(SpfRfcExamples, ip4_network) {
  const Zone zone = rfc_zone("v=spf1 ip4:192.0.2.128/28 -all");
  EXPECT_EQ(from(zone, "192.0.2.128"), Result::pass);
  EXPECT_EQ(from(zone, "192.0.2.143"), Result::pass);
  EXPECT_EQ(from(zone, "192.0.2.144"), Result::fail);
  EXPECT_EQ(from(zone, "192.0.2.127"), Result::fail);
}

// Appendix B.2: several domains share one policy by redirect=.
TEST(SpfRfcExamples, redirect_shares_one_record) {
  Zone zone = rfc_zone("v=spf1 -all");
  zone.txt("la.example.org", "v=spf1 redirect=_spf.example.org")
      .txt("ny.example.org", "v=spf1 redirect=_spf.example.org")
      .txt("_spf.example.org", "v=spf1 mx:example.org -all");
  EXPECT_EQ(result(zone, "192.0.2.140", "x@la.example.org"), Result::pass);
  EXPECT_EQ(result(zone, "192.0.2.140", "x@ny.example.org"), Result::pass);
  const auto run = check(zone, mail_from("192.0.2.10", "x@la.example.org"));
  EXPECT_EQ(run.outcome.result, Result::fail);
  EXPECT_EQ(run.outcome.mechanism, "-all");
  EXPECT_EQ(run.outcome.reason, "matched -all in _spf.example.org");
}

// Appendix B.3: a DNSBL-style record with macros.
TEST(SpfRfcExamples, dnsbl_style_macros) {
  Zone zone = rfc_zone("v=spf1 mx include:mobile-users._spf.%{d} include:remote-users._spf.%{d} -all");
  zone.txt("mobile-users._spf.example.com", "v=spf1 exists:%{l1r+}.%{d}")
      .txt("remote-users._spf.example.com", "v=spf1 exists:%{ir}.%{l1r+}.%{d}")
      .address("mary.mobile-users._spf.example.com", "127.0.0.2")
      .address("fred.mobile-users._spf.example.com", "127.0.0.2")
      .address("15.15.168.192.joel.remote-users._spf.example.com", "127.0.0.2")
      .address("16.15.168.192.joel.remote-users._spf.example.com", "127.0.0.2");
  EXPECT_EQ(result(zone, "198.51.100.1", "mary@example.com"), Result::pass);
  EXPECT_EQ(result(zone, "198.51.100.1", "fred+bulk@example.com"), Result::pass);
  EXPECT_EQ(result(zone, "192.168.15.15", "joel@example.com"), Result::pass);
  EXPECT_EQ(result(zone, "192.168.15.16", "joel+x@example.com"), Result::pass);
  EXPECT_EQ(result(zone, "192.168.15.17", "joel@example.com"), Result::fail);
  EXPECT_EQ(result(zone, "198.51.100.1", "mallory@example.com"), Result::fail);
}

TEST(SpfResults, each_qualifier_gives_its_result) {
  EXPECT_EQ(from(rfc_zone("v=spf1 -all"), "192.0.2.1"), Result::fail);
  EXPECT_EQ(from(rfc_zone("v=spf1 ~all"), "192.0.2.1"), Result::softfail);
  EXPECT_EQ(from(rfc_zone("v=spf1 ?all"), "192.0.2.1"), Result::neutral);
  EXPECT_EQ(from(rfc_zone("v=spf1 all"), "192.0.2.1"), Result::pass);
  EXPECT_EQ(from(rfc_zone("v=spf1 -ip4:192.0.2.1 +all"), "192.0.2.1"), Result::fail);
}

TEST(SpfResults, nothing_matched_is_neutral) {
  const auto run = check(rfc_zone("v=spf1 ip4:198.51.100.0/24"), mail_from("192.0.2.1", "a@example.com"));
  EXPECT_EQ(run.outcome.result, Result::neutral);  // §4.7
  EXPECT_EQ(run.outcome.mechanism, "default");
  EXPECT_EQ(run.outcome.reason, "no mechanism matched in example.com");
}

TEST(SpfResults, no_record_is_none) {
  Zone zone;
  zone.txt("example.com", "google-site-verification=abc").address("nospf.example.com", "192.0.2.1");
  EXPECT_EQ(result(zone, "192.0.2.1", "a@example.com"), Result::none);
  EXPECT_EQ(result(zone, "192.0.2.1", "a@nospf.example.com"), Result::none);   // NODATA
  const auto run = check(zone, mail_from("192.0.2.1", "a@nowhere.example.net"));  // NXDOMAIN
  EXPECT_EQ(run.outcome.result, Result::none);
  EXPECT_EQ(run.outcome.reason, "no SPF record at nowhere.example.net");
  ASSERT_EQ(run.lookups.size(), 1u);
  EXPECT_EQ(run.asked(0), "TXT nowhere.example.net");
}

TEST(SpfResults, two_records_or_a_bad_one_is_permerror) {
  Zone zone;
  zone.txt("two.example", "v=spf1 -all").txt("two.example", "v=spf1 +all").txt("bad.example", "v=spf1 a:");
  EXPECT_EQ(result(zone, "192.0.2.1", "a@two.example"), Result::permerror);
  const auto run = check(zone, mail_from("192.0.2.1", "a@bad.example"));
  EXPECT_EQ(run.outcome.result, Result::permerror);
  EXPECT_NE(run.outcome.reason.find("the SPF record of bad.example"), std::string::npos);
}

TEST(SpfResults, dns_failures_are_temperror_never_fail) {
  Zone zone = rfc_zone("v=spf1 a:broken.example.com mx:example.org -all");
  zone.servfail(Lookup::Kind::a, "broken.example.com");
  auto run = check(zone, mail_from("192.0.2.1", "a@example.com"));
  EXPECT_EQ(run.outcome.result, Result::temperror);
  EXPECT_EQ(run.outcome.reason, "DNS lookup of A broken.example.com failed (SERVFAIL)");
  zone = rfc_zone("v=spf1 -all");
  zone.servfail(Lookup::Kind::txt, "example.com");
  EXPECT_EQ(from(zone, "192.0.2.1"), Result::temperror);
  zone = rfc_zone("v=spf1 mx -all");
  zone.servfail(Lookup::Kind::a, "mail-b.example.com");
  EXPECT_EQ(from(zone, "192.0.2.1"), Result::temperror);
  EXPECT_EQ(from(zone, "192.0.2.129"), Result::pass);  // matched before the broken host was asked
  zone = rfc_zone("v=spf1 exists:x.example.com -all");
  zone.servfail(Lookup::Kind::a, "x.example.com");
  EXPECT_EQ(from(zone, "192.0.2.1"), Result::temperror);
  zone = rfc_zone("v=spf1 mx -all");
  zone.servfail(Lookup::Kind::mx, "example.com");
  EXPECT_EQ(from(zone, "192.0.2.1"), Result::temperror);
}

TEST(SpfInclude, include_of_include_passes_through) {
  Zone zone;
  zone.txt("example.net", "v=spf1 include:a.example.net -all")
      .txt("a.example.net", "v=spf1 ip4:198.51.100.0/24 include:b.example.net")
      .txt("b.example.net", "v=spf1 ip6:2001:db8::/32 ip4:192.0.2.0/24 -all");
  const auto run = check(zone, mail_from("192.0.2.9", "a@example.net"));
  EXPECT_EQ(run.outcome.result, Result::pass);
  EXPECT_EQ(run.outcome.mechanism, "include:a.example.net");
  EXPECT_EQ(run.outcome.reason,
            "matched include:a.example.net in example.net, then include:b.example.net in a.example.net, then "
            "ip4:192.0.2.0/24 in b.example.net");
  EXPECT_EQ(result(zone, "2001:db8::9", "a@example.net"), Result::pass);
  EXPECT_EQ(result(zone, "203.0.113.1", "a@example.net"), Result::fail);
}

TEST(SpfInclude, only_a_pass_matches) {
  Zone zone;
  zone.txt("example.net", "v=spf1 include:fails.example include:soft.example include:neutral.example ~all")
      .txt("fails.example", "v=spf1 -all")
      .txt("soft.example", "v=spf1 ~all")
      .txt("neutral.example", "v=spf1 ?all");
  const auto run = check(zone, mail_from("192.0.2.1", "a@example.net"));
  EXPECT_EQ(run.outcome.result, Result::softfail);  // §5.2: fail, softfail, neutral do not match
  EXPECT_EQ(run.outcome.mechanism, "~all");
  zone.txt("q.example", "v=spf1 -include:p.example ?include:pass.example -all")
      .txt("p.example", "v=spf1 ip4:192.0.2.1 -all")
      .txt("pass.example", "v=spf1 +all");
  EXPECT_EQ(result(zone, "192.0.2.1", "a@q.example"), Result::fail);
  EXPECT_EQ(result(zone, "192.0.2.2", "a@q.example"), Result::neutral);
}

TEST(SpfInclude, errors_inside_an_include_end_the_check) {
  Zone zone;
  zone.txt("example.net", "v=spf1 include:none.example +all")
      .txt("t.example", "v=spf1 include:broken.example +all")
      .txt("p.example", "v=spf1 include:bad.example +all")
      .txt("bad.example", "v=spf1 ip4:300.0.0.1")
      .servfail(Lookup::Kind::txt, "broken.example");
  auto run = check(zone, mail_from("192.0.2.1", "a@example.net"));
  EXPECT_EQ(run.outcome.result, Result::permerror);  // §5.2: an include with no record
  EXPECT_EQ(run.outcome.reason, "include of none.example: no SPF record (RFC 7208 §5.2)");
  EXPECT_EQ(result(zone, "192.0.2.1", "a@t.example"), Result::temperror);
  EXPECT_EQ(result(zone, "192.0.2.1", "a@p.example"), Result::permerror);
}

TEST(SpfRedirect, is_ignored_beside_all_and_needs_a_record) {
  Zone zone;
  zone.txt("a.example", "v=spf1 -all redirect=b.example")
      .txt("b.example", "v=spf1 +all")
      .txt("c.example", "v=spf1 ip4:192.0.2.1 redirect=none.example")
      .txt("d.example", "v=spf1 redirect=%{d}.b.example")
      .txt("d.example.b.example", "v=spf1 ip4:192.0.2.7 -all");
  EXPECT_EQ(result(zone, "192.0.2.9", "x@a.example"), Result::fail);  // §6.1
  EXPECT_EQ(result(zone, "192.0.2.1", "x@c.example"), Result::pass);  // matched before the redirect
  EXPECT_EQ(result(zone, "192.0.2.2", "x@c.example"), Result::permerror);
  EXPECT_EQ(result(zone, "192.0.2.7", "x@d.example"), Result::pass);
  EXPECT_EQ(result(zone, "192.0.2.8", "x@d.example"), Result::fail);
}

TEST(SpfRedirect, a_loop_ends_at_the_lookup_limit) {
  Zone zone;
  zone.txt("loop.example", "v=spf1 redirect=loop.example");
  const auto run = check(zone, mail_from("192.0.2.1", "x@loop.example"));
  EXPECT_EQ(run.outcome.result, Result::permerror);
  EXPECT_EQ(run.lookups.size(), 11u);  // the first TXT and 10 redirects
}

TEST(SpfExplanation, a_fail_carries_the_expanded_exp_text) {
  Zone zone = rfc_zone("v=spf1 mx -all exp=explain._spf.%{d}");
  zone.txt("explain._spf.example.com",
           std::vector<std::string>{"%{i} is not one of %{d}'s designated mail servers. ", "See %{r} at %{t}%_"});
  const auto run = check(zone, mail_from("192.0.2.1", "a@example.com"));
  EXPECT_EQ(run.outcome.result, Result::fail);
  EXPECT_EQ(run.outcome.explanation,
            "192.0.2.1 is not one of example.com's designated mail servers. See mx.petrel.test at 1700000000 ");
  EXPECT_EQ(run.asked(run.lookups.size() - 1), "TXT explain._spf.example.com");
  // Not for any other result, and not looked up.
  const auto pass = check(zone, mail_from("192.0.2.129", "a@example.com"));
  EXPECT_EQ(pass.outcome.result, Result::pass);
  EXPECT_TRUE(pass.outcome.explanation.empty());
  EXPECT_NE(pass.asked(pass.lookups.size() - 1), "TXT explain._spf.example.com");
}

TEST(SpfExplanation, trouble_with_it_leaves_the_fail_without_one) {
  Zone zone = rfc_zone("v=spf1 -all exp=missing.example.com");
  auto run = check(zone, mail_from("192.0.2.1", "a@example.com"));
  EXPECT_EQ(run.outcome.result, Result::fail);
  EXPECT_TRUE(run.outcome.explanation.empty());
  zone = rfc_zone("v=spf1 -all exp=e.example.com");
  zone.txt("e.example.com", "bad %{x} macro");
  EXPECT_TRUE(check(zone, mail_from("192.0.2.1", "a@example.com")).outcome.explanation.empty());
  zone = rfc_zone("v=spf1 -all exp=e.example.com");
  zone.txt("e.example.com", "one").txt("e.example.com", "two");
  EXPECT_TRUE(check(zone, mail_from("192.0.2.1", "a@example.com")).outcome.explanation.empty());
  zone = rfc_zone("v=spf1 -all exp=e.example.com");
  zone.servfail(Lookup::Kind::txt, "e.example.com");
  run = check(zone, mail_from("192.0.2.1", "a@example.com"));
  EXPECT_EQ(run.outcome.result, Result::fail);
  EXPECT_TRUE(run.outcome.explanation.empty());
}

TEST(SpfExplanation, comes_from_the_redirect_target_not_an_include) {
  Zone zone;
  zone.txt("a.example", "v=spf1 redirect=b.example exp=ea.example")
      .txt("b.example", "v=spf1 include:c.example -all exp=eb.example")
      .txt("c.example", "v=spf1 -all exp=ec.example")
      .txt("ea.example", "from a")
      .txt("eb.example", "from %{d}")
      .txt("ec.example", "from c");
  const auto run = check(zone, mail_from("192.0.2.1", "x@a.example"));
  EXPECT_EQ(run.outcome.result, Result::fail);
  EXPECT_EQ(run.outcome.explanation, "from b.example");  // §6.2
}

TEST(SpfEvaluator, feeding_what_was_not_asked_is_a_programmer_error) {
  Evaluator evaluator(mail_from("192.0.2.1", "a@example.com"));
  ASSERT_EQ(evaluator.next_lookup()->kind, Lookup::Kind::txt);
  EXPECT_THROW(evaluator.feed(dns::MxAnswer{}), std::logic_error);
  evaluator.feed(dns::TxtAnswer{dns::Outcome::nxdomain});
  EXPECT_TRUE(evaluator.done());
  EXPECT_FALSE(evaluator.next_lookup());
  EXPECT_THROW(evaluator.feed(dns::TxtAnswer{}), std::logic_error);
}

TEST(SpfEvaluator, result_names_are_rfc_8601s) {
  EXPECT_EQ(to_string(Result::softfail), "softfail");
  EXPECT_EQ(to_string(Result::temperror), "temperror");
  EXPECT_EQ(to_string(Result::permerror), "permerror");
  EXPECT_EQ(to_string(Result::none), "none");
}

}  // namespace
}  // namespace petrel::spf
