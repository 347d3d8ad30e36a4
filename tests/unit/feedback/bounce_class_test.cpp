// Bounce classification: the category names, how a rule's conditions
// match, first match wins, the text cap, suppression.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "feedback/bounce_class.hpp"

namespace petrel::feedback {
namespace {

Rule rule(std::string code, std::string enhanced, std::string regex, Category category) {
  return Rule{std::move(code), std::move(enhanced), std::move(regex), category, ""};
}

TEST(Category, NamesAreTheExternalInterface) {
  const std::vector<std::string_view> expected = {"invalid_recipient", "bad_domain", "mailbox_full",
                                                  "message_too_big",   "spam_block", "policy",
                                                  "reputation",        "auth_failure", "dns_failure",
                                                  "transient",         "unknown"};
  ASSERT_EQ(all_categories().size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(to_string(all_categories()[i]), expected[i]);
    EXPECT_EQ(category_from_string(expected[i]), all_categories()[i]);
  }
}

TEST(Category, UnknownNamesAreNotCategories) {
  EXPECT_EQ(category_from_string("spam"), std::nullopt);
  EXPECT_EQ(category_from_string("Invalid_Recipient"), std::nullopt);
  EXPECT_EQ(category_from_string(""), std::nullopt);
}

TEST(Classifier, WithoutRulesEverythingIsUnknown) {
  EXPECT_EQ(Classifier().classify(550, "5.1.1", "user unknown"), Category::unknown);
}

TEST(Classifier, CodePatternWithWildcards) {
  const Classifier c({rule("5xx", "", "", Category::policy)});
  EXPECT_EQ(c.classify(550, "", ""), Category::policy);
  EXPECT_EQ(c.classify(554, "", ""), Category::policy);
  EXPECT_EQ(c.classify(450, "", ""), Category::unknown);
  EXPECT_EQ(c.classify(0, "", ""), Category::unknown);
}

TEST(Classifier, ExactCodeAndPartialWildcard) {
  const Classifier c({rule("552", "", "", Category::mailbox_full), rule("55x", "", "", Category::policy)});
  EXPECT_EQ(c.classify(552, "", ""), Category::mailbox_full);
  EXPECT_EQ(c.classify(553, "", ""), Category::policy);
  EXPECT_EQ(c.classify(541, "", ""), Category::unknown);
}

TEST(Classifier, EnhancedCodeExactAndWithWildcards) {
  const Classifier c({rule("", "5.1.1", "", Category::invalid_recipient), rule("", "x.2.2", "", Category::mailbox_full),
                      rule("", "5.7.x", "", Category::policy)});
  EXPECT_EQ(c.classify(550, "5.1.1", ""), Category::invalid_recipient);
  EXPECT_EQ(c.classify(550, "5.1.10", ""), Category::unknown);
  EXPECT_EQ(c.classify(452, "4.2.2", ""), Category::mailbox_full);
  EXPECT_EQ(c.classify(552, "5.2.2", ""), Category::mailbox_full);
  EXPECT_EQ(c.classify(550, "5.7.26", ""), Category::policy);
  EXPECT_EQ(c.classify(421, "4.7.0", ""), Category::unknown);
  EXPECT_EQ(c.classify(550, "", ""), Category::unknown);
  EXPECT_EQ(c.classify(550, "5.1", ""), Category::unknown);
}

TEST(Classifier, RegexIsCaseInsensitiveAndSearchesAnywhere) {
  const Classifier c({rule("", "", "user unknown", Category::invalid_recipient)});
  EXPECT_EQ(c.classify(550, "", "<bob@example.com>: Recipient address rejected: USER UNKNOWN in table"),
            Category::invalid_recipient);
  EXPECT_EQ(c.classify(550, "", "unknown user"), Category::unknown);
}

TEST(Classifier, EveryConditionOfARuleMustMatch) {
  const Classifier c({rule("550", "5.5.0", "mailbox unavailable", Category::invalid_recipient)});
  EXPECT_EQ(c.classify(550, "5.5.0", "Requested action not taken: mailbox unavailable"), Category::invalid_recipient);
  EXPECT_EQ(c.classify(550, "5.7.1", "Requested action not taken: mailbox unavailable"), Category::unknown);
  EXPECT_EQ(c.classify(553, "5.5.0", "Requested action not taken: mailbox unavailable"), Category::unknown);
  EXPECT_EQ(c.classify(550, "5.5.0", "Syntax error"), Category::unknown);
}

TEST(Classifier, FirstMatchingRuleWins) {
  const Classifier c({rule("", "", "quota", Category::mailbox_full), rule("5xx", "", "", Category::policy)});
  EXPECT_EQ(c.classify(552, "5.2.2", "over quota"), Category::mailbox_full);
  const Rule* matched = c.match(550, "", "no");
  ASSERT_NE(matched, nullptr);
  EXPECT_EQ(matched, &c.rules()[1]);
  EXPECT_EQ(c.match(250, "", "ok"), nullptr);
}

TEST(Classifier, AppendPutsTheOtherRulesAfter) {
  Classifier operator_rules({rule("", "5.1.1", "", Category::transient)});
  operator_rules.append(Classifier({rule("", "5.1.1", "", Category::invalid_recipient),
                                    rule("", "x.2.2", "", Category::mailbox_full)}));
  EXPECT_EQ(operator_rules.classify(550, "5.1.1", ""), Category::transient);
  EXPECT_EQ(operator_rules.classify(552, "5.2.2", ""), Category::mailbox_full);
  EXPECT_EQ(operator_rules.rules().size(), 3u);
}

TEST(Classifier, OnlyTheFirst1000CharactersOfTheTextAreSearched) {
  const Classifier c({rule("", "", "needle", Category::policy)});
  EXPECT_EQ(c.classify(550, "", std::string(994, ' ') + "needle"), Category::policy);
  EXPECT_EQ(c.classify(550, "", std::string(995, ' ') + "needle"), Category::unknown);
}

TEST(Classifier, LongTextCannotOverflowTheStackOfTheRegex) {
  // libstdc++ recurses per character for (a|b)*: 1 MB would overflow.
  const Classifier c({rule("", "", "(a|b)*c", Category::policy)});
  EXPECT_EQ(c.classify(550, "", std::string(1 << 20, 'a')), Category::unknown);
}

TEST(Classifier, LineBreaksOfAMultiLineReplyReadAsSpaces) {
  const Classifier c({rule("", "", "unusual rate of unsolicited", Category::reputation)});
  EXPECT_EQ(c.classify(421, "4.7.28", "Our system has detected an unusual rate of\r\nunsolicited mail"),
            Category::reputation);
  EXPECT_EQ(c.classify(421, "4.7.28", "an unusual rate of\nunsolicited mail"), Category::reputation);
}

TEST(Classifier, ReplyStringIsSplitIntoCodeEnhancedCodeAndText) {
  const Classifier c({rule("550", "5.1.1", "^The email account", Category::invalid_recipient),
                      rule("", "", "^no code here", Category::policy)});
  EXPECT_EQ(c.classify("550-5.1.1 The email account that you tried to reach does not exist.\r\n"
                       "550 5.1.1 https://support.google.com/mail/?p=NoSuchUser"),
            Category::invalid_recipient);
  EXPECT_EQ(c.classify("smtp; 550 5.1.1 The email account that you tried to reach does not exist."),
            Category::invalid_recipient);
  EXPECT_EQ(c.classify("no code here"), Category::policy);
  EXPECT_EQ(c.classify(""), Category::unknown);
}

TEST(Classifier, ContinuationLinesLoseTheirCodesBeforeMatching) {
  const Classifier c({rule("421", "4.7.28", "unusual rate of unsolicited mail", Category::reputation)});
  EXPECT_EQ(c.classify("421-4.7.28 Our system has detected an unusual rate of\r\n"
                       "421-4.7.28 unsolicited mail originating from your IP address.\r\n"
                       "421 4.7.28 Please visit https://support.google.com/mail/?p=UnsolicitedRateLimitError"),
            Category::reputation);
}

TEST(Classifier, RuleThatCannotBeUsedIsAProgrammerError) {
  EXPECT_THROW(Classifier({rule("", "", "(unclosed", Category::policy)}), std::invalid_argument);
  EXPECT_THROW(Classifier({rule("", "", "", Category::policy)}), std::invalid_argument);
  Classifier c;
  std::string error;
  EXPECT_FALSE(c.add(rule("6xx", "", "", Category::policy), error));
  EXPECT_NE(error.find("code must be"), std::string::npos) << error;
  EXPECT_TRUE(c.rules().empty());
}

TEST(CheckRule, SaysWhatIsWrong) {
  EXPECT_EQ(check_rule(rule("5xx", "5.7.x", "spam", Category::spam_block)), "");
  EXPECT_NE(check_rule(rule("", "", "", Category::policy)).find("nothing to match"), std::string::npos);
  EXPECT_NE(check_rule(rule("5500", "", "", Category::policy)).find("code must be"), std::string::npos);
  EXPECT_NE(check_rule(rule("170", "", "", Category::policy)).find("code must be"), std::string::npos);
  EXPECT_NE(check_rule(rule("", "3.1.1", "", Category::policy)).find("enhanced must be"), std::string::npos);
  EXPECT_NE(check_rule(rule("", "5.1", "", Category::policy)).find("enhanced must be"), std::string::npos);
  EXPECT_NE(check_rule(rule("", "5.1.1000", "", Category::policy)).find("enhanced must be"), std::string::npos);
  EXPECT_NE(check_rule(rule("", "", "a)", Category::policy)).find("regex must be"), std::string::npos);
}

TEST(Suppression, ByDefaultOnlyAddressesThatCannotWork) {
  for (Category c : all_categories()) {
    const bool expected = c == Category::invalid_recipient || c == Category::bad_domain;
    EXPECT_EQ(suppresses(c), expected) << to_string(c);
  }
}

TEST(Suppression, ConfiguredListReplacesTheDefault) {
  const std::vector<Category> list = {Category::invalid_recipient, Category::mailbox_full};
  EXPECT_TRUE(suppresses(Category::mailbox_full, list));
  EXPECT_TRUE(suppresses(Category::invalid_recipient, list));
  EXPECT_FALSE(suppresses(Category::bad_domain, list));
  EXPECT_FALSE(suppresses(Category::invalid_recipient, std::vector<Category>{}));
}

}  // namespace
}  // namespace petrel::feedback
