#include <gtest/gtest.h>

#include "aliases/alias_parser.hpp"

namespace petrel::aliases {
namespace {

using Kind = Target::Kind;

std::string errors_of(const Parsed& p) {
  std::string out;
  for (const auto& e : p.errors) out += e.str() + "\n";
  return out;
}

TEST(AliasesParser, ReadsNamesTargetsCommentsAndContinuations) {
  const Parsed p = parse_aliases(
      "# the system aliases\n"
      "Postmaster: root\n"
      "\n"
      "team: alice, bob@example.org,\n"
      "   carol\n"
      "  # a comment inside an entry\n"
      "\tdave@example.net\r\n",
      "aliases");
  ASSERT_EQ(errors_of(p), "");
  ASSERT_EQ(p.entries.size(), 2u);
  EXPECT_EQ(p.entries[0].key, "postmaster");
  EXPECT_EQ(p.entries[0].origin.str(), "aliases:2");
  ASSERT_EQ(p.entries[0].targets.size(), 1u);
  EXPECT_EQ(p.entries[0].targets[0].kind, Kind::name);
  EXPECT_EQ(p.entries[0].targets[0].value, "root");
  const auto& team = p.entries[1];
  EXPECT_EQ(team.key, "team");
  EXPECT_EQ(team.origin.line, 4u);
  ASSERT_EQ(team.targets.size(), 4u);
  EXPECT_EQ(team.targets[1].kind, Kind::address);
  EXPECT_EQ(team.targets[1].value, "bob@example.org");
  EXPECT_EQ(team.targets[2].value, "carol");
  EXPECT_EQ(team.targets[2].line, 5u);
  EXPECT_EQ(team.targets[3].value, "dave@example.net");
  EXPECT_EQ(team.targets[3].line, 7u);
}

TEST(AliasesParser, QuotedNamesAndTargetsMayHoldSpacesAndCommas) {
  const Parsed p = parse_aliases(
      "\"Sales Team\": \"|/usr/bin/filter -a x,y\", /var/mail/archive, :include:/etc/mail/list\n"
      "log: |/usr/bin/logger -t mail\n",
      "aliases");
  ASSERT_EQ(errors_of(p), "");
  ASSERT_EQ(p.entries.size(), 2u);
  EXPECT_EQ(p.entries[0].key, "sales team");
  ASSERT_EQ(p.entries[0].targets.size(), 3u);
  EXPECT_EQ(p.entries[0].targets[0].kind, Kind::command);
  EXPECT_EQ(p.entries[0].targets[0].value, "/usr/bin/filter -a x,y");
  EXPECT_EQ(p.entries[0].targets[1].kind, Kind::file);
  EXPECT_EQ(p.entries[0].targets[1].value, "/var/mail/archive");
  EXPECT_EQ(p.entries[0].targets[2].kind, Kind::include);
  EXPECT_EQ(p.entries[0].targets[2].value, "/etc/mail/list");
  EXPECT_EQ(p.entries[1].targets[0].value, "/usr/bin/logger -t mail");
}

TEST(AliasesParser, EachMistakeIsAnErrorAtItsLine) {
  const Parsed p = parse_aliases(
      "  orphan@example.org\n"
      "nocolon root\n"
      "a@b: root\n"
      "empty:\n"
      "bad: not an address\n"
      "bad2: x@@y\n"
      "inc: :include:relative\n"
      "mdir: /var/mail/box/\n"
      "open: \"|unterminated\n"
      "good: root\n",
      "/etc/aliases");
  EXPECT_EQ(errors_of(p),
            "/etc/aliases:1: a continuation line (starting with white space) with no entry before it\n"
            "/etc/aliases:2: expected 'name: target, ...'\n"
            "/etc/aliases:3: 'a@b': an alias name has no domain (addresses belong in [local] virtual_aliases)\n"
            "/etc/aliases:4: alias 'empty' has no targets\n"
            "/etc/aliases:5: 'not an address': a target with spaces must be quoted\n"
            "/etc/aliases:6: 'x@@y' is not a valid address\n"
            "/etc/aliases:7: an :include: target needs an absolute path\n"
            "/etc/aliases:8: a file target ending in '/' (a Maildir) is not supported\n"
            "/etc/aliases:9: a quoted target without its closing '\"'\n");
  ASSERT_EQ(p.entries.size(), 1u);
  EXPECT_EQ(p.entries[0].key, "good");
}

TEST(VirtualParser, ReadsAddressesCatchAllsAndDomainDeclarations) {
  const Parsed p = parse_virtual(
      "# virtual(5)\n"
      "Sales@Example.COM  alice@example.org, bob\n"
      "@example.com       catchall@example.org\n"
      "example.net        anything\n"
      "info@example.net   x@example.org\n"
      "  y@example.org\n",
      "virtual");
  ASSERT_EQ(errors_of(p), "");
  ASSERT_EQ(p.entries.size(), 4u);
  EXPECT_EQ(p.entries[0].key, "sales@example.com");
  ASSERT_EQ(p.entries[0].targets.size(), 2u);
  EXPECT_EQ(p.entries[0].targets[1].kind, Kind::name);
  EXPECT_EQ(p.entries[1].key, "@example.com");
  EXPECT_EQ(p.entries[2].key, "example.net");
  EXPECT_TRUE(p.entries[2].targets.empty());
  EXPECT_EQ(p.entries[3].targets.size(), 2u);
  EXPECT_EQ(p.entries[3].targets[1].line, 6u);
}

TEST(VirtualParser, CommandsFilesAndBadKeysAreErrors) {
  const Parsed p = parse_virtual(
      "x@example.com |/bin/cat\n"
      "@bad..domain y@example.org\n"
      "nobody@example.com\n",
      "virtual");
  EXPECT_EQ(errors_of(p),
            "virtual:1: '|/bin/cat': commands, files and :include: belong in the aliases file, not in "
            "virtual_aliases\n"
            "virtual:2: '@bad..domain' is not a valid @domain\n"
            "virtual:3: 'nobody@example.com' has no targets\n");
  EXPECT_TRUE(p.entries.empty());
}

TEST(IncludeParser, ReadsOneOrMoreTargetsALine) {
  const Parsed p = parse_include("# members\nalice\nbob@example.org, carol\n\n", "list");
  ASSERT_EQ(errors_of(p), "");
  ASSERT_EQ(p.entries.size(), 1u);
  ASSERT_EQ(p.entries[0].targets.size(), 3u);
  EXPECT_EQ(p.entries[0].targets[2].line, 3u);
}

}  // namespace
}  // namespace petrel::aliases
