// The SPF record (RFC 7208 §4.5, §5, §6, §12): which TXT record it is, its
// terms, and the syntax errors that make it a permerror.
#include <gtest/gtest.h>

#include "spf/record.hpp"

namespace petrel::spf {
namespace {

using Kind = Mechanism::Kind;

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

TEST(SpfRecord, reads_every_mechanism_with_its_qualifier) {
  const Record r = parsed(
      "v=spf1 +all -include:_spf.example.com ~a ?mx:example.org ptr:example.net ip4:192.0.2.0/24 "
      "ip6:2001:db8::/32 exists:%{ir}.bl.example.com");
  ASSERT_EQ(r.mechanisms.size(), 8u);
  const Kind kinds[] = {Kind::all, Kind::include, Kind::a, Kind::mx, Kind::ptr, Kind::ip4, Kind::ip6, Kind::exists};
  const Qualifier qualifiers[] = {Qualifier::pass,    Qualifier::fail, Qualifier::softfail, Qualifier::neutral,
                                  Qualifier::pass,    Qualifier::pass, Qualifier::pass,     Qualifier::pass};
  for (std::size_t i = 0; i < 8; ++i) {
    EXPECT_EQ(r.mechanisms[i].kind, kinds[i]) << i;
    EXPECT_EQ(r.mechanisms[i].qualifier, qualifiers[i]) << i;
  }
  EXPECT_EQ(r.mechanisms[1].domain_spec, "_spf.example.com");
  EXPECT_EQ(r.mechanisms[1].text, "-include:_spf.example.com");
  EXPECT_EQ(r.mechanisms[2].domain_spec, "");
  EXPECT_EQ(r.mechanisms[5].network->str(), "192.0.2.0");
  EXPECT_EQ(r.mechanisms[5].cidr4, 24u);
  EXPECT_EQ(r.mechanisms[6].network->str(), "2001:db8::");
  EXPECT_EQ(r.mechanisms[6].cidr6, 32u);
  EXPECT_TRUE(r.has_all());
  EXPECT_TRUE(r.mechanisms[7].queries_dns());
  EXPECT_FALSE(r.mechanisms[5].queries_dns());
}

TEST(SpfRecord, dual_cidr_lengths) {
  const Record r = parsed("v=spf1 a/24 mx//64 a:example.com/16//48 mx:%{d}/8 a:%{l/}.example.com");
  EXPECT_EQ(r.mechanisms[0].cidr4, 24u);
  EXPECT_EQ(r.mechanisms[0].cidr6, 128u);
  EXPECT_EQ(r.mechanisms[1].cidr4, 32u);
  EXPECT_EQ(r.mechanisms[1].cidr6, 64u);
  EXPECT_EQ(r.mechanisms[2].domain_spec, "example.com");
  EXPECT_EQ(r.mechanisms[2].cidr4, 16u);
  EXPECT_EQ(r.mechanisms[2].cidr6, 48u);
  EXPECT_EQ(r.mechanisms[3].domain_spec, "%{d}");
  EXPECT_EQ(r.mechanisms[3].cidr4, 8u);
  EXPECT_EQ(r.mechanisms[4].domain_spec, "%{l/}.example.com");  // a '/' inside a macro is a delimiter
  EXPECT_EQ(parsed("v=spf1 ip4:0.0.0.0/0 ip6:::/0").mechanisms[1].cidr6, 0u);
}

TEST(SpfRecord, names_are_case_insensitive_and_spaces_repeat) {
  const Record r = parsed("V=SPF1   MX  IP4:192.0.2.1 Redirect=_spf.example.com  ");
  EXPECT_EQ(r.mechanisms.size(), 2u);
  EXPECT_EQ(r.mechanisms[1].cidr4, 32u);
  EXPECT_EQ(r.redirect, "_spf.example.com");
  EXPECT_TRUE(parsed("v=spf1").mechanisms.empty());
}

TEST(SpfRecord, modifiers) {
  const Record r = parsed("v=spf1 -all exp=explain._spf.%{d} redirect=_spf.example.com foo=bar x.y-z_=%{t}");
  EXPECT_EQ(r.explanation, "explain._spf.%{d}");
  EXPECT_EQ(r.redirect, "_spf.example.com");
  EXPECT_EQ(r.mechanisms.size(), 1u);  // §6: unknown modifiers are ignored
  EXPECT_NE(refused("v=spf1 redirect=a.example redirect=b.example").find("twice"), std::string::npos);
  refused("v=spf1 exp=a.example exp=b.example");
  refused("v=spf1 redirect=");
  refused("v=spf1 exp=");
  refused("v=spf1 -redirect=a.example");  // a modifier takes no qualifier
  refused("v=spf1 foo=%{");               // an unknown modifier's value is still a macro-string
}

TEST(SpfRecord, syntax_errors_anywhere_refuse_the_record) {
  refused("v=spf1 +all foo");                  // §4.6: even after a mechanism that would match
  refused("v=spf1 include");                   // include needs a domain
  refused("v=spf1 include:");
  refused("v=spf1 exists");
  refused("v=spf1 all:example.com");
  refused("v=spf1 ptr/24");
  refused("v=spf1 a:");
  refused("v=spf1 a:1.2.3.4");                 // a numeric top-level label
  refused("v=spf1 a:localhost");               // §7.1 domain-end: "." toplabel
  refused("v=spf1 a:example.-com");
  refused("v=spf1 a:example.com-");
  refused("v=spf1 a/33");
  refused("v=spf1 a//129");
  refused("v=spf1 a/024");                     // no leading zero
  refused("v=spf1 a/");
  refused("v=spf1 a:example.com//64/24");
  refused("v=spf1 ip4:192.0.2.0/33");
  refused("v=spf1 ip4:192.0.2");
  refused("v=spf1 ip4:2001:db8::1");
  refused("v=spf1 ip6:192.0.2.1");
  refused("v=spf1 ip4");
  refused("v=spf1 ip6:::1//64");
  refused("v=spf1 a:%{x}.example.com");
  refused("v=spf1 exists:%{c}.example.com");  // §7.1: c, r, t only in the explanation
  refused("v=spf1 a:foo\texample.com");        // only SP separates terms
  refused("v=spf1 **");
  refused("v=spf1 +");
  refused("v=spf10 a");
  EXPECT_NE(refused("v=spf1 a/33").find("prefix length"), std::string::npos);
}

TEST(SpfRecord, domain_specs_may_end_in_a_macro_or_a_dot) {
  parsed("v=spf1 include:%{d} a:example.com. exists:%{l}.%{o}._spf.example.net a:1-2.example.123-4");
}

TEST(SpfRecord, selection_takes_the_one_v_spf1_record) {
  auto s = select_record(txt({{"google-site-verification=abc"}, {"v=spf1 -all"}}));
  EXPECT_EQ(s.state, Selection::State::one);
  EXPECT_EQ(s.text, "v=spf1 -all");
  s = select_record(txt({{"v=spf1 ip4:192.0.2.1", " -all"}}));  // strings are joined without space
  EXPECT_EQ(s.text, "v=spf1 ip4:192.0.2.1 -all");
  EXPECT_EQ(select_record(txt({{"V=SpF1"}})).state, Selection::State::one);
  EXPECT_EQ(select_record(txt({{"v=spf10 -all"}, {"v=spf1x"}, {"spf2.0/pra -all"}})).state, Selection::State::none);
  EXPECT_EQ(select_record({}).state, Selection::State::none);
  s = select_record(txt({{"v=spf1 -all"}, {"v=spf1 +all"}}));
  EXPECT_EQ(s.state, Selection::State::several);  // §4.5: permerror
  EXPECT_TRUE(s.text.empty());
}

}  // namespace
}  // namespace petrel::spf
