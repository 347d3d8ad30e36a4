// check_host()'s limits (RFC 7208 §4.6.4), its address families and prefix
// lengths, mx and ptr with many names, and which domains it checks at all
// (§4.3).
#include <gtest/gtest.h>

#include "fake_zone.hpp"

namespace petrel::spf {
namespace {

using testing::check;
using testing::mail_from;
using testing::result;
using testing::Zone;

std::string includes(int count) {
  std::string record = "v=spf1";
  for (int i = 0; i < count; ++i) record += " include:i" + std::to_string(i) + ".example";
  return record + " -all";
}

Zone include_zone(int count) {
  Zone zone;
  zone.txt("example.com", includes(count));
  for (int i = 0; i < count; ++i) {
    zone.txt(std::string("i").append(std::to_string(i)).append(".example"),
             std::string("v=spf1 ip4:198.51.100.").append(std::to_string(i)));
  }
  return zone;
}

TEST(SpfLimits, ten_dns_terms_are_allowed) {
  EXPECT_EQ(result(include_zone(10), "198.51.100.9", "a@example.com"), Result::pass);
  EXPECT_EQ(result(include_zone(10), "192.0.2.1", "a@example.com"), Result::fail);
}

TEST(SpfLimits, the_eleventh_is_a_permerror) {
  const auto run = check(include_zone(11), mail_from("198.51.100.10", "a@example.com"));
  EXPECT_EQ(run.outcome.result, Result::permerror);
  EXPECT_EQ(run.outcome.reason, "too many DNS lookups (more than 10, RFC 7208 §4.6.4) at include:i10.example");
  EXPECT_EQ(run.lookups.size(), 11u);  // never asked for the eleventh
  // A match before the limit is reached stands.
  EXPECT_EQ(result(include_zone(11), "198.51.100.3", "a@example.com"), Result::pass);
}

TEST(SpfLimits, every_querying_term_counts_but_ip_and_all_do_not) {
  Zone zone;
  zone.txt("example.com",
           "v=spf1 a mx ptr exists:e.example.com include:i.example.com a a a a ip4:192.0.2.1 ip6:::1 redirect=r.example.com")
      .address("example.com", "198.51.100.1")
      .mx("example.com", 10, "example.com")
      .txt("i.example.com", "v=spf1 -all")
      .txt("r.example.com", "v=spf1 +all");
  // 9 terms (one void: e.example.com) and the redirect: exactly 10.
  EXPECT_EQ(result(zone, "203.0.113.1", "a@example.com"), Result::pass);
  zone.txt("f.example.com", "v=spf1 a a a a a a a a a a redirect=r.example.com").address("f.example.com", "198.51.100.1");
  EXPECT_EQ(result(zone, "203.0.113.1", "a@f.example.com"), Result::permerror);  // the redirect is the eleventh
}

TEST(SpfLimits, a_third_void_lookup_is_a_permerror) {
  Zone zone;
  zone.txt("two.example", "v=spf1 a:nx1.example mx:nx2.example ip4:192.0.2.1 -all")
      .txt("three.example", "v=spf1 a:nx1.example exists:nx2.example a:nodata.example ip4:192.0.2.1")
      .txt("nodata.example", "v=spf1 -all");
  EXPECT_EQ(result(zone, "192.0.2.1", "a@two.example"), Result::pass);
  const auto run = check(zone, mail_from("192.0.2.1", "a@three.example"));
  EXPECT_EQ(run.outcome.result, Result::permerror);  // NODATA is void too
  EXPECT_EQ(run.outcome.reason, "too many void DNS lookups (more than 2, RFC 7208 §4.6.4) at nodata.example");
}

Zone many_mx(int count) {
  Zone zone;
  zone.txt("example.com", "v=spf1 mx -all");
  for (int i = 0; i < count; ++i) {
    const std::string host = "mx" + std::to_string(i) + ".example.com.";  // a trailing dot, as zone files write it
    zone.mx("example.com", static_cast<std::uint16_t>(i), host).address(host.substr(0, host.size() - 1), "192.0.2." + std::to_string(i));
  }
  return zone;
}

TEST(SpfLimits, mx_looks_at_ten_hosts) {
  const auto run = check(many_mx(10), mail_from("192.0.2.9", "a@example.com"));
  EXPECT_EQ(run.outcome.result, Result::pass);
  EXPECT_EQ(run.lookups.size(), 12u);  // TXT, MX and ten A
  EXPECT_EQ(run.asked(2), "A mx0.example.com");
  EXPECT_EQ(result(many_mx(10), "192.0.2.10", "a@example.com"), Result::fail);
}

TEST(SpfLimits, more_than_ten_mx_records_is_a_permerror) {
  const auto run = check(many_mx(11), mail_from("192.0.2.0", "a@example.com"));
  EXPECT_EQ(run.outcome.result, Result::permerror);
  EXPECT_EQ(run.lookups.size(), 2u);
}

TEST(SpfMx, null_mx_and_no_mx_match_nothing) {
  Zone zone;
  zone.txt("null.example", "v=spf1 mx ?all").mx("null.example", 0, ".").address("null.example", "192.0.2.1");
  zone.txt("nomx.example", "v=spf1 mx ?all").address("nomx.example", "192.0.2.1");
  EXPECT_EQ(result(zone, "192.0.2.1", "a@null.example"), Result::neutral);
  const auto run = check(zone, mail_from("192.0.2.1", "a@nomx.example"));
  EXPECT_EQ(run.outcome.result, Result::neutral);  // §5.4: no implicit MX
  EXPECT_EQ(run.lookups.size(), 2u);
}

TEST(SpfLimits, ptr_validates_only_the_first_ten_names) {
  Zone zone;
  zone.txt("example.com", "v=spf1 ptr -all");
  for (int i = 0; i < 12; ++i) {
    const std::string host = std::string("h").append(std::to_string(i)).append(i == 9 || i == 11 ? ".example.com" : ".example.org");
    zone.ptr("192.0.2.1", host).ptr("192.0.2.2", host);
    zone.address(host, i == 9 ? "192.0.2.1" : "192.0.2.2");
  }
  EXPECT_EQ(result(zone, "192.0.2.1", "a@example.com"), Result::pass);  // the tenth name
  const auto run = check(zone, mail_from("192.0.2.2", "a@example.com"));
  EXPECT_EQ(run.outcome.result, Result::fail);  // the twelfth would validate, but is ignored
  EXPECT_EQ(run.asked(1), "PTR 2.2.0.192.in-addr.arpa");
  EXPECT_EQ(run.lookups.size(), 3u);  // only the tenth name is under example.com
}

TEST(SpfPtr, dns_errors_are_a_mismatch_and_ptr_matches_subdomains) {
  Zone zone;
  zone.txt("example.com", "v=spf1 ptr ?all")
      .ptr("192.0.2.1", "Mail.Example.COM.")
      .address("mail.example.com", "192.0.2.1")
      .ptr("192.0.2.3", "mail.notexample.com")
      .address("mail.notexample.com", "192.0.2.3")
      .servfail(Lookup::Kind::ptr, "4.2.0.192.in-addr.arpa");
  EXPECT_EQ(result(zone, "192.0.2.1", "a@example.com"), Result::pass);
  EXPECT_EQ(result(zone, "192.0.2.3", "a@example.com"), Result::neutral);
  EXPECT_EQ(result(zone, "192.0.2.4", "a@example.com"), Result::neutral);  // §5.5: not a temperror
}

TEST(SpfFamilies, ipv6_clients_use_aaaa_and_ip6) {
  Zone zone;
  zone.txt("example.com", "v=spf1 ip4:0.0.0.0/0 a//64 ip6:2001:db8:1::/48 -all")
      .address("example.com", "192.0.2.1")
      .address("example.com", "2001:db8:2:3::1");
  const auto run = check(zone, mail_from("2001:db8:2:3::abcd", "a@example.com"));
  EXPECT_EQ(run.outcome.result, Result::pass);
  EXPECT_EQ(run.outcome.mechanism, "a//64");
  EXPECT_EQ(run.asked(1), "AAAA example.com");
  EXPECT_EQ(result(zone, "2001:db8:1:ffff::1", "a@example.com"), Result::pass);
  EXPECT_EQ(result(zone, "2001:db8:2:4::1", "a@example.com"), Result::fail);
  // An IPv4-mapped IPv6 client is the IPv4 client.
  EXPECT_EQ(result(zone, "::ffff:198.51.100.1", "a@example.com"), Result::pass);
}

TEST(SpfFamilies, prefix_lengths_for_a_and_ip4) {
  Zone zone;
  zone.txt("example.com", "v=spf1 a/24 -all").address("example.com", "192.0.2.1");
  EXPECT_EQ(result(zone, "192.0.2.200", "a@example.com"), Result::pass);
  EXPECT_EQ(result(zone, "192.0.3.1", "a@example.com"), Result::fail);
  zone.txt("odd.example", "v=spf1 ip4:192.0.2.129/25 ip6:2001:db8::/31 -all");
  EXPECT_EQ(result(zone, "192.0.2.255", "a@odd.example"), Result::pass);
  EXPECT_EQ(result(zone, "192.0.2.127", "a@odd.example"), Result::fail);
  EXPECT_EQ(result(zone, "2001:db9::1", "a@odd.example"), Result::pass);
  EXPECT_EQ(result(zone, "2001:dba::1", "a@odd.example"), Result::fail);
}

TEST(SpfFamilies, exists_asks_for_a_whatever_the_client) {
  Zone zone;
  zone.txt("example.com", "v=spf1 exists:%{ir}.%{v}.allow.example.com -all")
      .address("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.allow.example.com", "127.0.0.2");
  const auto run = check(zone, mail_from("2001:db8::1", "a@example.com"));
  EXPECT_EQ(run.outcome.result, Result::pass);
  EXPECT_EQ(run.lookups[1].kind, Lookup::Kind::a);
}

TEST(SpfDomains, names_that_cannot_be_checked_are_none_without_a_lookup) {
  Zone zone;
  for (const std::string& domain : std::vector<std::string>{"[192.0.2.1]", "192.0.2.1", "localhost", "", "a..example.com",
                                   std::string(64, 'a') + ".example.com"}) {
    Input input = mail_from("192.0.2.1", "postmaster@x.example");
    input.domain = domain;
    const auto run = check(zone, input);
    EXPECT_EQ(run.outcome.result, Result::none) << domain;
    EXPECT_TRUE(run.lookups.empty()) << domain;
  }
  zone.txt(std::string(63, 'a') + ".example.com", "v=spf1 -all");
  EXPECT_EQ(result(zone, "192.0.2.1", "x@" + std::string(63, 'a') + ".example.com"), Result::fail);
}

TEST(SpfDomains, trailing_dots_case_and_u_labels) {
  Zone zone;
  zone.txt("example.com", "v=spf1 a:Mail.Example.com. -all").address("mail.example.com", "192.0.2.1");
  zone.txt("xn--bcher-kva.example", "v=spf1 exists:%{o}.allow.example.com -all")
      .address("xn--bcher-kva.example.allow.example.com", "127.0.0.2");
  Input input = mail_from("192.0.2.1", "a@Example.COM.");
  input.domain = "Example.COM.";
  auto run = check(zone, input);
  EXPECT_EQ(run.asked(0), "TXT example.com");
  EXPECT_EQ(run.outcome.result, Result::pass);
  run = check(zone, mail_from("192.0.2.9", "kim@b\xc3\xbc" "cher.example"));
  EXPECT_EQ(run.asked(0), "TXT xn--bcher-kva.example");
  EXPECT_EQ(run.outcome.result, Result::pass);
}

TEST(SpfDomains, helo_identity_and_null_sender) {
  Zone zone;
  zone.txt("mail.example.net", "v=spf1 exists:%{l}.%{h}.allow.example.com -all")
      .address("postmaster.mail.example.net.allow.example.com", "127.0.0.2");
  Input input = mail_from("192.0.2.1", "postmaster@mail.example.net");  // MAIL FROM:<> (§2.4)
  EXPECT_EQ(check(zone, input).outcome.result, Result::pass);
  input.sender = "@mail.example.net";  // §4.3: no local-part: postmaster
  EXPECT_EQ(check(zone, input).outcome.result, Result::pass);
}

}  // namespace
}  // namespace petrel::spf
