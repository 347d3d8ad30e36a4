// Rule files: what they may hold, how an operator's rules go before the
// shipped ones, and the FILE:LINE errors for what they may not.
#include <gtest/gtest.h>

#include <string>

#include "feedback/bounce_class.hpp"

namespace petrel::feedback {
namespace {

// The error load_rules gives for `text` (named rules.toml), or "" if it loads.
std::string error_of(std::string_view text) {
  std::string error;
  if (load_rules(text, "rules.toml", error)) return "";
  return error;
}

TEST(RuleFile, ReadsEveryKey) {
  std::string error;
  const auto c = load_rules(R"(
[[rule]]
code = "550"
enhanced = "5.7.x"
regex = 'blocked by (our|the) filter'
category = "spam_block"

[[rule]]
code = 452
category = "transient"
)",
                            "rules.toml", error);
  ASSERT_TRUE(c) << error;
  ASSERT_EQ(c->rules().size(), 2u);
  const Rule& first = c->rules()[0];
  EXPECT_EQ(first.code, "550");
  EXPECT_EQ(first.enhanced, "5.7.x");
  EXPECT_EQ(first.regex, "blocked by (our|the) filter");
  EXPECT_EQ(first.category, Category::spam_block);
  EXPECT_EQ(first.origin, "rules.toml:2");
  EXPECT_EQ(c->rules()[1].code, "452");
  EXPECT_EQ(c->rules()[1].origin, "rules.toml:8");
  EXPECT_EQ(c->classify(550, "5.7.1", "Message Blocked by the Filter"), Category::spam_block);
  EXPECT_EQ(c->classify(452, "4.3.1", "Insufficient system storage"), Category::transient);
}

TEST(RuleFile, EmptyFileHasNoRules) {
  std::string error;
  const auto c = load_rules("# nothing yet\n", "rules.toml", error);
  ASSERT_TRUE(c) << error;
  EXPECT_TRUE(c->rules().empty());
}

TEST(RuleFile, OperatorRulesComeBeforeTheShippedOnes) {
  std::string error;
  auto c = load_rules(R"(
# This provider says 5.1.1 for a mailbox it has only suspended for a while.
[[rule]]
enhanced = "5.1.1"
regex = 'temporarily suspended'
category = "transient"
)",
                      "rules.toml", error);
  ASSERT_TRUE(c) << error;
  c->append(default_classifier());
  EXPECT_EQ(c->classify("550 5.1.1 Account temporarily suspended"), Category::transient);
  EXPECT_EQ(c->classify("550 5.1.1 User unknown"), Category::invalid_recipient);
  EXPECT_EQ(c->classify("552 5.2.2 Mailbox full"), Category::mailbox_full);
}

TEST(RuleFileErrors, BadTomlHasItsLine) {
  const std::string error = error_of("[[rule]]\ncategory = \"policy\"\ncode = \n");
  EXPECT_TRUE(error.starts_with("rules.toml:3: ")) << error;
}

TEST(RuleFileErrors, UnknownKeyInARule) {
  EXPECT_EQ(error_of("[[rule]]\ncode = \"550\"\nregexp = 'x'\ncategory = \"policy\"\n"),
            "rules.toml:3: [[rule]] has an unknown key 'regexp' (a rule has code, enhanced, regex, category)");
}

TEST(RuleFileErrors, UnknownTopLevelKey) {
  EXPECT_EQ(error_of("suppress = [\"mailbox_full\"]\n"),
            "rules.toml:1: unknown key 'suppress' (a rule file holds only [[rule]] tables)");
}

TEST(RuleFileErrors, RuleMustBeAnArrayOfTables) {
  EXPECT_EQ(error_of("rule = 1\n"), "rules.toml:1: 'rule' must be an array of tables ([[rule]])");
}

TEST(RuleFileErrors, UnknownCategory) {
  const std::string error = error_of("[[rule]]\ncode = \"550\"\ncategory = \"spam\"\n");
  EXPECT_TRUE(error.starts_with("rules.toml:3: [[rule]] category must be one of invalid_recipient, bad_domain,"))
      << error;
  EXPECT_NE(error.find("got \"spam\""), std::string::npos) << error;
}

TEST(RuleFileErrors, MissingCategory) {
  const std::string error = error_of("\n[[rule]]\ncode = \"550\"\n");
  EXPECT_TRUE(error.starts_with("rules.toml:2: [[rule]] has no category (one of invalid_recipient,")) << error;
}

TEST(RuleFileErrors, RuleWithNothingToMatch) {
  EXPECT_EQ(error_of("[[rule]]\ncode = \"550\"\ncategory = \"policy\"\n\n[[rule]]\ncategory = \"policy\"\n"),
            "rules.toml:5: [[rule]] has nothing to match: give code, enhanced or regex");
}

TEST(RuleFileErrors, BadRegexHasTheLineOfTheRegex) {
  const std::string error = error_of("[[rule]]\ncategory = \"policy\"\n\nregex = 'mailbox (full'\n");
  EXPECT_TRUE(error.starts_with(
      "rules.toml:4: [[rule]] regex must be an ECMAScript regular expression, got \"mailbox (full\" ("))
      << error;
}

TEST(RuleFileErrors, BadCodes) {
  EXPECT_EQ(error_of("[[rule]]\ncode = \"6xx\"\ncategory = \"policy\"\n"),
            "rules.toml:2: [[rule]] code must be a reply code such as \"550\" or a pattern such as \"5xx\", "
            "got \"6xx\"");
  EXPECT_NE(error_of("[[rule]]\ncode = 5500\ncategory = \"policy\"\n").find("rules.toml:2: [[rule]] code must be"),
            std::string::npos);
  EXPECT_NE(error_of("[[rule]]\ncode = true\ncategory = \"policy\"\n").find("rules.toml:2: [[rule]] code must be"),
            std::string::npos);
}

TEST(RuleFileErrors, BadEnhancedCode) {
  EXPECT_EQ(error_of("[[rule]]\ncategory = \"policy\"\nenhanced = \"5.7\"\n"),
            "rules.toml:3: [[rule]] enhanced must be an enhanced status code such as \"5.1.1\" or a pattern such as "
            "\"5.7.x\", got \"5.7\"");
}

TEST(RuleFileErrors, EmptyOrNonStringValue) {
  EXPECT_EQ(error_of("[[rule]]\nregex = ''\ncategory = \"policy\"\n"),
            "rules.toml:2: [[rule]] regex must be a non-empty string");
  EXPECT_EQ(error_of("[[rule]]\nregex = 'x'\ncategory = 3\n"),
            "rules.toml:3: [[rule]] category must be a non-empty string");
}

TEST(RuleFileErrors, MissingFile) {
  std::string error;
  EXPECT_FALSE(load_rules_file("/nonexistent/bounce_rules.toml", error));
  EXPECT_EQ(error, "cannot read /nonexistent/bounce_rules.toml: No such file or directory");
}

}  // namespace
}  // namespace petrel::feedback
