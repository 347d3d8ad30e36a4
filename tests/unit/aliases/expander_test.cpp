#include <gtest/gtest.h>

#include "aliases/expander.hpp"

namespace petrel::aliases {
namespace {

using Result = Expansion::Result;

class Expand : public ::testing::Test {
 protected:
  void aliases(const std::string& text) {
    const Parsed p = parse_aliases(text, "/etc/aliases");
    ASSERT_TRUE(p.errors.empty()) << p.errors.front().str();
    for (const auto& e : p.entries) tables.aliases.emplace(e.key, e);
  }
  void virtuals(const std::string& text) {
    const Parsed p = parse_virtual(text, "/etc/virtual");
    ASSERT_TRUE(p.errors.empty()) << p.errors.front().str();
    for (const auto& e : p.entries) {
      const auto at = e.key.find('@');
      tables.virtual_domains.insert(at == std::string::npos ? e.key : e.key.substr(at + 1));
      if (at != std::string::npos) tables.virtual_map.emplace(e.key, e);
    }
  }
  Expansion run(const std::string& local, const std::string& domain) {
    return expand(tables, routing, limits, smtp::Address{local, domain});
  }
  // "alice@a.example(via team)" for each recipient, comma-separated.
  static std::string list(const Expansion& x) {
    std::string out;
    for (const auto& f : x.recipients) {
      if (!out.empty()) out += ",";
      if (f.kind == Target::Kind::command) out += "|" + f.target + " for ";
      if (f.kind == Target::Kind::file) out += f.target + " for ";
      out += f.address.str();
      if (!f.via.empty()) out += "(via " + f.via + ")";
    }
    return out;
  }

  Tables tables;
  delivery::LocalRouting routing{{"a.example", "b.example"}, "/var/mail", "+", ""};
  Limits limits;
};

TEST_F(Expand, NoTablesOrNoMatchLeavesTheAddressAlone) {
  EXPECT_EQ(run("alice", "a.example").result, Result::unchanged);
  aliases("postmaster: root\n");
  EXPECT_EQ(run("alice", "a.example").result, Result::unchanged);
  EXPECT_EQ(run("someone", "remote.example").result, Result::unchanged);
}

TEST_F(Expand, BareNamesStayInTheDomainTheAliasWasAddressedTo) {
  aliases("postmaster: root\n");
  EXPECT_EQ(list(run("PostMaster", "b.example")), "root@b.example(via postmaster)");
  EXPECT_EQ(list(run("postmaster", "a.example")), "root@a.example(via postmaster)");
  // The bare <Postmaster> is in the first local domain.
  EXPECT_EQ(list(run("Postmaster", "")), "root@a.example(via postmaster)");
}

TEST_F(Expand, AliasesApplyToLocalDomainsOnly) {
  aliases("postmaster: root\n");
  EXPECT_EQ(run("postmaster", "remote.example").result, Result::unchanged);
}

TEST_F(Expand, RecursesAndKeepsAnAddressThatNamesItself) {
  aliases(
      "team: alice, bob, ops\n"
      "ops: carol@remote.example, bob\n"
      "alice: alice, alice@archive.example\n");
  const Expansion x = run("team", "a.example");
  EXPECT_EQ(x.result, Result::expanded);
  EXPECT_EQ(list(x), "alice@a.example(via alice),alice@archive.example(via alice),bob@a.example(via team),"
                     "carol@remote.example(via ops)");
}

TEST_F(Expand, ACycleOfLocalAliasesEndsInTheMailboxWhereItCloses) {
  aliases("a: b\nb: a, x@remote.example\n");
  EXPECT_EQ(list(run("a", "a.example")), "a@a.example(via b),x@remote.example(via b)");
}

TEST_F(Expand, ACycleInAVirtualDomainIsALoopNamingTheAlias) {
  virtuals("a@v.example b@v.example\nb@v.example a@v.example\n");
  const Expansion x = run("a", "v.example");
  EXPECT_EQ(x.result, Result::failed);
  EXPECT_EQ(x.error, "alias 'b@v.example' (virtual:2): expansion loop");
  EXPECT_TRUE(x.recipients.empty());
}

TEST_F(Expand, VirtualLookupOrderIsExtensionThenUserThenCatchAll) {
  virtuals(
      "user+tag@v.example tagged@remote.example\n"
      "user@v.example plain@remote.example\n"
      "@v.example any@remote.example\n");
  EXPECT_EQ(list(run("user+tag", "v.example")), "tagged@remote.example(via user+tag@v.example)");
  EXPECT_EQ(list(run("User+other", "V.Example")), "plain@remote.example(via user@v.example)");
  EXPECT_EQ(list(run("someone", "v.example")), "any@remote.example(via @v.example)");
}

TEST_F(Expand, AnUnmatchedAddressOfAVirtualDomainIsUnknown) {
  virtuals("info@v.example alice@a.example\n");
  EXPECT_EQ(run("nobody", "v.example").result, Result::unknown);
  EXPECT_EQ(run("info", "v.example").result, Result::expanded);
  // A local domain named there stays local: its other users are not unknown.
  virtuals("sales@a.example bob@a.example\n");
  EXPECT_EQ(run("nobody", "a.example").result, Result::unchanged);
  EXPECT_TRUE(is_virtual_domain(tables, routing, "V.EXAMPLE."));
  EXPECT_FALSE(is_virtual_domain(tables, routing, "a.example"));
}

TEST_F(Expand, VirtualThenAliases) {
  virtuals("help@v.example support@a.example\n");
  aliases("support: alice, bob\n");
  EXPECT_EQ(list(run("help", "v.example")), "alice@a.example(via support),bob@a.example(via support)");
}

TEST_F(Expand, ATargetInAVirtualDomainThatMatchesNothingFailsTheAlias) {
  virtuals("info@v.example typo@v.example\n");
  EXPECT_EQ(run("info", "v.example").error,
            "alias 'info@v.example' (virtual:1): <typo@v.example>: no such address in the virtual alias table");
}

TEST_F(Expand, CommandsAndFilesNeedAllowCommands) {
  aliases("log: \"|/usr/bin/logger -t mail\", /var/log/mail.mbox, alice\n");
  const Expansion refused = run("log", "a.example");
  EXPECT_EQ(refused.result, Result::failed);
  EXPECT_EQ(refused.error, "alias 'log' (aliases:1): pipe targets are off ([local] allow_commands)");
  limits.allow_commands = true;
  EXPECT_EQ(list(run("log", "a.example")),
            "|/usr/bin/logger -t mail for log@a.example(via log),/var/log/mail.mbox for log@a.example(via log),"
            "alice@a.example(via log)");
}

TEST_F(Expand, DepthIsLimited) {
  aliases("l0: l1\nl1: l2\nl2: l3\nl3: alice\n");
  limits.max_depth = 3;
  EXPECT_EQ(run("l0", "a.example").error, "alias 'l3' (aliases:4): aliases nested deeper than 3 ([local] alias_max_depth)");
  limits.max_depth = 4;
  EXPECT_EQ(list(run("l0", "a.example")), "alice@a.example(via l3)");
}

TEST_F(Expand, RecipientsAreCountedAfterDuplicatesGo) {
  aliases("big: a, b, c, a, b\nbigger: big, d\n");
  limits.max_recipients = 3;
  EXPECT_EQ(list(run("big", "a.example")), "a@a.example(via big),b@a.example(via big),c@a.example(via big)");
  EXPECT_EQ(run("bigger", "a.example").error,
            "alias 'bigger' (aliases:2): more than 3 recipients ([local] alias_max_recipients)");
}

TEST_F(Expand, ADiamondIsExpandedOnce) {
  // Two aliases a level, each naming both of the next level: without
  // "expanded once" the work would double with each of the 30 levels.
  std::string text;
  for (int i = 0; i < 30; ++i) {
    const std::string next = std::to_string(i + 1);
    text += "n" + std::to_string(i) + ": n" + next + ", m" + next + "\n";
    text += "m" + std::to_string(i) + ": n" + next + ", m" + next + "\n";
  }
  aliases(text);
  limits.max_depth = 100;
  EXPECT_EQ(list(run("n0", "b.example")), "n30@b.example(via n29),m30@b.example(via n29)");
}

TEST_F(Expand, TheDelimiterFallsBackToTheUserAlias) {
  aliases("sales: alice\n");
  EXPECT_EQ(list(run("sales+eu", "a.example")), "alice@a.example(via sales)");
}

}  // namespace
}  // namespace petrel::aliases
