// Path syntax (RFC 5321 §4.1.2) and its length limits (§4.5.3.1).
#include "smtp/address.hpp"

#include <gtest/gtest.h>

#include <string>

namespace petrel::smtp {
namespace {

PathParse parse(std::string_view text, bool allow_null = false, bool utf8 = false) {
  return parse_path(text, allow_null, utf8);
}

TEST(Address, plain_mailbox_in_brackets) {
  const PathParse p = parse("<user@example.test>");
  ASSERT_EQ(p.error, AddressError::none);
  ASSERT_TRUE(p.path.mailbox);
  EXPECT_EQ(p.path.mailbox->local_part, "user");
  EXPECT_EQ(p.path.mailbox->domain, "example.test");
  EXPECT_EQ(p.consumed, 19u);
  EXPECT_EQ(p.path.str(), "<user@example.test>");
}

TEST(Address, consumed_stops_before_the_parameters) {
  const std::string_view text = "<user@example.test> SIZE=10";
  const PathParse p = parse(text);
  ASSERT_EQ(p.error, AddressError::none);
  EXPECT_EQ(text.substr(p.consumed), " SIZE=10");
}

TEST(Address, null_path_only_where_allowed) {
  const PathParse reverse = parse("<>", /*allow_null=*/true);
  EXPECT_EQ(reverse.error, AddressError::none);
  EXPECT_TRUE(reverse.path.is_null());
  EXPECT_EQ(reverse.path.str(), "<>");
  EXPECT_EQ(reverse.consumed, 2u);

  EXPECT_EQ(parse("<>", /*allow_null=*/false).error, AddressError::empty);
}

TEST(Address, bare_mailbox_without_brackets_is_tolerated) {
  const PathParse p = parse("user@example.test");
  ASSERT_EQ(p.error, AddressError::none);
  EXPECT_EQ(p.path.mailbox->str(), "user@example.test");
}

TEST(Address, unbalanced_brackets_are_refused) {
  EXPECT_EQ(parse("<user@example.test").error, AddressError::missing_brackets);
  EXPECT_EQ(parse("user@example.test>").error, AddressError::missing_brackets);
  EXPECT_EQ(parse("<user@example.test>>").error, AddressError::missing_brackets);
}

TEST(Address, unquoted_space_in_local_part_is_refused) {
  EXPECT_EQ(parse("<john doe@example.test>").error, AddressError::bad_local_part);
}

TEST(Address, quoted_local_part_keeps_its_quotes) {
  const PathParse p = parse(R"(<"john doe"@example.test>)");
  ASSERT_EQ(p.error, AddressError::none);
  EXPECT_EQ(p.path.mailbox->local_part, R"("john doe")");

  const PathParse escaped = parse(R"(<"a\"b"@example.test>)");
  ASSERT_EQ(escaped.error, AddressError::none);
  EXPECT_EQ(escaped.path.mailbox->local_part, R"("a\"b")");

  EXPECT_EQ(parse(R"(<"unterminated@example.test>)").error, AddressError::bad_local_part);
}

TEST(Address, source_route_is_accepted_and_dropped) {
  const PathParse p = parse("<@relay.example,@hop.example:user@example.test>");
  ASSERT_EQ(p.error, AddressError::none);
  EXPECT_EQ(p.path.mailbox->str(), "user@example.test");
  EXPECT_EQ(parse("<@relay.example user@example.test>").error, AddressError::bad_domain);
}

TEST(Address, address_literals_ipv4_and_ipv6) {
  const PathParse v4 = parse("<user@[192.0.2.1]>");
  ASSERT_EQ(v4.error, AddressError::none);
  EXPECT_EQ(v4.path.mailbox->domain, "[192.0.2.1]");

  const PathParse v6 = parse("<user@[IPv6:2001:db8::1]>");
  ASSERT_EQ(v6.error, AddressError::none);
  EXPECT_EQ(v6.path.mailbox->domain, "[IPv6:2001:db8::1]");

  EXPECT_EQ(parse("<user@[]>").error, AddressError::bad_domain);
  EXPECT_EQ(parse("<user@[192.0.2.1>").error, AddressError::bad_domain);
}

TEST(Address, domain_syntax_errors) {
  EXPECT_EQ(parse("<user@>").error, AddressError::bad_domain);
  EXPECT_EQ(parse("<user@.example.test>").error, AddressError::bad_domain);
  EXPECT_EQ(parse("<user@example..test>").error, AddressError::bad_domain);
  EXPECT_EQ(parse("<user@-example.test>").error, AddressError::bad_domain);
  EXPECT_EQ(parse("<user>").error, AddressError::bad_domain);
}

TEST(Address, postmaster_alone_is_the_one_mailbox_without_domain) {
  const PathParse p = parse("<Postmaster>");
  ASSERT_EQ(p.error, AddressError::none);
  EXPECT_TRUE(is_bare_postmaster(p.path));
  EXPECT_EQ(p.path.mailbox->str(), "Postmaster");
  EXPECT_TRUE(is_bare_postmaster(parse("<POSTMASTER>").path));
  EXPECT_FALSE(is_bare_postmaster(parse("<postmaster@example.test>").path));
}

TEST(Address, local_part_of_64_octets_is_the_limit) {
  EXPECT_EQ(parse("<" + std::string(64, 'a') + "@example.test>").error, AddressError::none);
  EXPECT_EQ(parse("<" + std::string(65, 'a') + "@example.test>").error, AddressError::local_part_too_long);
}

TEST(Address, domain_over_255_octets_is_refused) {
  std::string domain;
  while (domain.size() < 256) domain += "abcdefghi.";
  domain.resize(256);
  EXPECT_EQ(parse("<a@" + domain + ">").error, AddressError::domain_too_long);
}

TEST(Address, path_over_256_octets_is_refused) {
  // 64 + 1 + 189 + 2 brackets = 256: allowed; one more octet is not.
  const std::string local(64, 'l');
  auto domain_of = [](std::size_t n) {
    std::string d(n, 'd');
    for (std::size_t i = 50; i < n; i += 51) d[i] = '.';
    return d;
  };
  EXPECT_EQ(parse("<" + local + "@" + domain_of(189) + ">").error, AddressError::none);
  EXPECT_EQ(parse("<" + local + "@" + domain_of(190) + ">").error, AddressError::path_too_long);
}

TEST(Address, utf8_needs_permission) {
  EXPECT_EQ(parse("<jörg@example.test>", false, /*utf8=*/false).error, AddressError::non_ascii);
  EXPECT_EQ(parse("<user@bücher.example>", false, /*utf8=*/false).error, AddressError::non_ascii);
  const PathParse ok = parse("<jörg@bücher.example>", false, /*utf8=*/true);
  ASSERT_EQ(ok.error, AddressError::none);
  EXPECT_EQ(ok.path.mailbox->local_part, "jörg");
}

TEST(Address, malformed_utf8_is_refused_even_when_allowed) {
  EXPECT_EQ(parse("<j\xC3@example.test>", false, true).error, AddressError::bad_local_part);
  EXPECT_EQ(parse("<j\xFF\xFE@example.test>", false, true).error, AddressError::bad_local_part);
}

TEST(Address, trailing_garbage_after_the_path) {
  EXPECT_EQ(parse("<user@example.test>x").error, AddressError::trailing_garbage);
}

TEST(Address, every_error_is_described_in_words) {
  for (auto e : {AddressError::missing_brackets, AddressError::empty, AddressError::bad_local_part,
                 AddressError::local_part_too_long, AddressError::bad_domain, AddressError::domain_too_long,
                 AddressError::path_too_long, AddressError::non_ascii, AddressError::trailing_garbage}) {
    EXPECT_GT(describe(e).size(), 10u);
  }
  EXPECT_NE(describe(AddressError::local_part_too_long).find("64"), std::string_view::npos);
}

TEST(Address, normalize_domain_lowercases_and_drops_one_trailing_dot) {
  EXPECT_EQ(normalize_domain("Example.TEST."), "example.test");
  EXPECT_EQ(normalize_domain("example.test"), "example.test");
}

}  // namespace
}  // namespace petrel::smtp
