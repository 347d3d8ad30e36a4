// SPF macro strings (RFC 7208 §7): the examples of §7.4 exactly, the
// transformers, URL escaping, and what is refused where.
#include <gtest/gtest.h>

#include "spf/macro.hpp"

namespace petrel::spf {
namespace {

// §7.4's values.
MacroContext rfc_context(const char* client = "192.0.2.3") {
  MacroContext c;
  c.sender = "strong-bad@email.example.com";
  c.local_part = "strong-bad";
  c.sender_domain = "email.example.com";
  c.domain = "email.example.com";
  c.client = *dns::IpAddress::parse(client);
  c.helo = "mx.example.org";
  c.receiver = "mx.petrel.test";
  c.now = 1700000000;
  return c;
}

std::string expanded(std::string_view text, const MacroContext& context = rfc_context(),
                     MacroUse use = MacroUse::domain_spec) {
  std::string error;
  const auto out = expand(text, context, use, error);
  EXPECT_TRUE(out) << text << ": " << error;
  return out.value_or("(error)");
}

std::string refused(std::string_view text, MacroUse use = MacroUse::domain_spec) {
  std::string error;
  EXPECT_FALSE(check_macro_string(text, use, error)) << text;
  EXPECT_FALSE(expand(text, rfc_context(), use, error)) << text;
  return error;
}

TEST(SpfMacro, rfc_7208_7_4_single_macros) {
  EXPECT_EQ(expanded("%{s}"), "strong-bad@email.example.com");
  EXPECT_EQ(expanded("%{o}"), "email.example.com");
  EXPECT_EQ(expanded("%{d}"), "email.example.com");
  EXPECT_EQ(expanded("%{d4}"), "email.example.com");
  EXPECT_EQ(expanded("%{d3}"), "email.example.com");
  EXPECT_EQ(expanded("%{d2}"), "example.com");
  EXPECT_EQ(expanded("%{d1}"), "com");
  EXPECT_EQ(expanded("%{dr}"), "com.example.email");
  EXPECT_EQ(expanded("%{d2r}"), "example.email");
  EXPECT_EQ(expanded("%{l}"), "strong-bad");
  EXPECT_EQ(expanded("%{l-}"), "strong.bad");
  EXPECT_EQ(expanded("%{lr}"), "strong-bad");
  EXPECT_EQ(expanded("%{lr-}"), "bad.strong");
  EXPECT_EQ(expanded("%{l1r-}"), "strong");
}

TEST(SpfMacro, rfc_7208_7_4_macro_strings) {
  EXPECT_EQ(expanded("%{ir}.%{v}._spf.%{d2}"), "3.2.0.192.in-addr._spf.example.com");
  EXPECT_EQ(expanded("%{lr-}.lp._spf.%{d2}"), "bad.strong.lp._spf.example.com");
  EXPECT_EQ(expanded("%{lr-}.lp.%{ir}.%{v}._spf.%{d2}"), "bad.strong.lp.3.2.0.192.in-addr._spf.example.com");
  EXPECT_EQ(expanded("%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}"), "3.2.0.192.in-addr.strong.lp._spf.example.com");
  EXPECT_EQ(expanded("%{d2}.trusted-domains.example.net"), "example.com.trusted-domains.example.net");
}

TEST(SpfMacro, rfc_7208_7_4_ipv6_example) {
  EXPECT_EQ(expanded("%{ir}.%{v}._spf.%{d2}", rfc_context("2001:db8::cb01")),
            "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com");
  EXPECT_EQ(expanded("%{c}", rfc_context("2001:db8::cb01"), MacroUse::explanation), "2001:db8::cb01");
}

TEST(SpfMacro, p_is_unknown_without_the_validated_name_lookup) {
  EXPECT_EQ(expanded("%{p}"), "unknown");
}

TEST(SpfMacro, escapes_and_literals) {
  EXPECT_EQ(expanded("a%%b%_c%-d", rfc_context(), MacroUse::explanation), "a%b c%20d");
  EXPECT_EQ(expanded("%{h}.x"), "mx.example.org.x");
  EXPECT_EQ(expanded("%{L}"), "strong-bad");
  MacroContext context = rfc_context();
  context.local_part = "jo hn+x/y~z";
  EXPECT_EQ(expanded("%{L}", context), "jo%20hn%2Bx%2Fy~z");  // §7.3: upper case is URL-escaped
  EXPECT_EQ(expanded("%{l}", context), "jo hn+x/y~z");
  EXPECT_EQ(expanded("%{S}"), "strong-bad%40email.example.com");
}

TEST(SpfMacro, transformers_count_from_the_right_and_split_on_every_delimiter) {
  MacroContext context = rfc_context();
  context.local_part = "a.b-c+d=e";
  EXPECT_EQ(expanded("%{l.-+=}", context), "a.b.c.d.e");
  EXPECT_EQ(expanded("%{l2+}", context), "a.b-c.d=e");
  EXPECT_EQ(expanded("%{lr+=}", context), "e.d.a.b-c");
  EXPECT_EQ(expanded("%{d128}"), "email.example.com");  // more than there are: all of them
  EXPECT_EQ(expanded("%{dR}"), "com.example.email");    // the 'r' may be upper case
  context.local_part = "a..b";
  EXPECT_EQ(expanded("%{lr}", context), "b..a");  // empty parts stay
}

TEST(SpfMacro, explanation_letters_only_in_explanations) {
  EXPECT_EQ(expanded("%{c} via %{r} at %{t}", rfc_context(), MacroUse::explanation),
            "192.0.2.3 via mx.petrel.test at 1700000000");
  MacroContext context = rfc_context();
  context.receiver.clear();
  EXPECT_EQ(expanded("%{r}", context, MacroUse::explanation), "unknown");
  EXPECT_NE(refused("%{c}.example.com").find("§7.1"), std::string::npos);
  refused("%{r}.example.com");
  refused("%{t}.example.com");
  std::string error;
  EXPECT_TRUE(check_macro_string("%{t}", MacroUse::unknown_modifier, error));
}

TEST(SpfMacro, refuses_malformed_macros) {
  refused("%{d0}");  // §7.3: a digit transformer is not zero
  refused("%{d");
  refused("%{");
  refused("%");
  refused("%x");
  refused("%{x}");
  refused("%{d2rr}");
  refused("%{d:}");
  refused("a b");  // SP only in an explanation
  refused("caf\xc3\xa9");
  std::string error;
  EXPECT_TRUE(check_macro_string("", MacroUse::domain_spec, error));
  EXPECT_TRUE(check_macro_string("%{d}.%{i}._spf.example.com", MacroUse::domain_spec, error));
}

TEST(SpfMacro, long_expansions_lose_labels_from_the_left) {
  MacroContext context = rfc_context();
  context.local_part = std::string(60, 'a') + "." + std::string(60, 'b') + "." + std::string(60, 'c') + "." +
                       std::string(60, 'd');
  std::string error;
  const auto name = expand_domain("%{l}.example.com.", context, error);
  ASSERT_TRUE(name) << error;
  EXPECT_LE(name->size(), 253u);
  EXPECT_EQ(*name, std::string(60, 'b') + "." + std::string(60, 'c') + "." + std::string(60, 'd') + ".example.com");
  EXPECT_EQ(*expand_domain("example.com.", context, error), "example.com");
}

TEST(SpfMacro, dotted_address) {
  EXPECT_EQ(dotted_address(*dns::IpAddress::parse("192.0.2.3")), "192.0.2.3");
  EXPECT_EQ(dotted_address(*dns::IpAddress::parse("::1")), "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1");
}

}  // namespace
}  // namespace petrel::spf
