#include "delivery/local_routing.hpp"

#include <gtest/gtest.h>

namespace petrel::delivery {
namespace {

LocalRouting routing() {
  return {.local_domains = {"example.org", "example.com"},
          .maildir_root = "/var/mail",
          .recipient_delimiter = "+"};
}

std::optional<std::string> dir_for(std::string local, std::string domain) {
  return mailbox_directory(routing(), smtp::Address{std::move(local), std::move(domain)});
}

TEST(LocalRouting, plain_user_goes_to_root_domain_user) {
  EXPECT_EQ(dir_for("alice", "example.org"), "/var/mail/example.org/alice");
}

TEST(LocalRouting, local_part_is_lower_cased_and_extension_cut) {
  EXPECT_EQ(dir_for("Alice+tag", "example.org"), "/var/mail/example.org/alice");
  EXPECT_EQ(dir_for("Alice+tag+more", "example.org"), "/var/mail/example.org/alice");
  EXPECT_EQ(mailbox_name(routing(), "Alice+tag"), "alice");
  // Nothing would be left of "+tag" after the cut.
  EXPECT_EQ(mailbox_name(routing(), "+tag"), "+tag");
}

TEST(LocalRouting, delimiter_off_keeps_the_whole_local_part) {
  LocalRouting r = routing();
  r.recipient_delimiter.clear();
  EXPECT_EQ(mailbox_name(r, "Alice+tag"), "alice+tag");
}

TEST(LocalRouting, domain_is_compared_lower_case_without_trailing_dot) {
  EXPECT_EQ(dir_for("bob", "EXAMPLE.Org."), "/var/mail/example.org/bob");
  EXPECT_TRUE(is_local_domain(routing(), "Example.COM"));
  EXPECT_FALSE(is_local_domain(routing(), "example.org.."));
  EXPECT_FALSE(is_local_domain(routing(), "example.net"));
  EXPECT_EQ(dir_for("bob", "example.net"), std::nullopt);
}

TEST(LocalRouting, unsafe_domains_are_never_local) {
  LocalRouting r = routing();
  r.local_domains = {"a/b", ".hidden", "..", ""};
  EXPECT_FALSE(is_local_domain(r, "a/b"));
  EXPECT_FALSE(is_local_domain(r, ".hidden"));
  EXPECT_FALSE(is_local_domain(r, ".."));
  EXPECT_FALSE(is_local_domain(r, "."));
  EXPECT_FALSE(is_local_domain(r, ""));
}

TEST(LocalRouting, path_traversal_is_escaped) {
  EXPECT_EQ(dir_for("../../etc", "example.org"), "/var/mail/example.org/%2E.%2F..%2Fetc");
  EXPECT_EQ(dir_for("..", "example.org"), "/var/mail/example.org/%2E.");
  EXPECT_EQ(dir_for(".", "example.org"), "/var/mail/example.org/%2E");
  EXPECT_EQ(dir_for(".hidden", "example.org"), "/var/mail/example.org/%2Ehidden");
  EXPECT_EQ(dir_for("a/b", "example.org"), "/var/mail/example.org/a%2Fb");
  EXPECT_EQ(dir_for("a\\b", "example.org"), "/var/mail/example.org/a%5Cb");
  EXPECT_EQ(dir_for("100%", "example.org"), "/var/mail/example.org/100%25");
  EXPECT_EQ(dir_for(std::string("a\nb\0c\x7f", 6), "example.org"), "/var/mail/example.org/a%0Ab%00c%7F");
  // Only a leading dot is special.
  EXPECT_EQ(dir_for("john.doe", "example.org"), "/var/mail/example.org/john.doe");
}

TEST(LocalRouting, escaping_is_one_to_one) {
  EXPECT_NE(dir_for("a/b", "example.org"), dir_for("a%2Fb", "example.org"));
}

TEST(LocalRouting, quoted_local_part_names_the_unquoted_mailbox) {
  EXPECT_EQ(dir_for("\"Alice\"", "example.org"), "/var/mail/example.org/alice");
  EXPECT_EQ(dir_for("\"../x\"", "example.org"), "/var/mail/example.org/%2E.%2Fx");
  EXPECT_EQ(dir_for("\"\"", "example.org"), std::nullopt);  // nothing to name a directory
}

TEST(LocalRouting, bare_postmaster_goes_to_the_first_local_domain) {
  EXPECT_EQ(dir_for("Postmaster", ""), "/var/mail/example.org/postmaster");
  EXPECT_EQ(dir_for("POSTMASTER", ""), "/var/mail/example.org/postmaster");
  EXPECT_EQ(dir_for("alice", ""), std::nullopt);
  LocalRouting none = routing();
  none.local_domains.clear();
  EXPECT_EQ(mailbox_directory(none, smtp::Address{"postmaster", ""}), std::nullopt);
}

TEST(LocalRouting, trailing_slash_of_root_is_ignored) {
  LocalRouting r = routing();
  r.maildir_root = "/srv/mail/";
  EXPECT_EQ(mailbox_directory(r, smtp::Address{"alice", "example.org"}), "/srv/mail/example.org/alice");
}

}  // namespace
}  // namespace petrel::delivery
