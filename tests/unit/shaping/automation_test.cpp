// The automation: which rules fire for which replies of which sites, and
// when a threshold is reached.
#include <gtest/gtest.h>

#include "shaping/shaping.hpp"

namespace petrel::shaping {
namespace {

using namespace std::chrono_literals;

const Clock::time_point t0 = Clock::time_point(1000h);
const std::string kTss04 = "421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred";
const std::string kGmailRate =
    "421 4.7.28 Our system has detected an unusual rate of unsolicited mail originating from your IP address";

Rule rule(Rule::Scope scope, std::string target, std::string pattern, std::chrono::milliseconds duration,
          Rate trigger = {}) {
  Rule r;
  r.scope = scope;
  r.target = std::move(target);
  r.pattern = pattern;
  r.regex = std::regex(pattern, std::regex::ECMAScript);
  r.duration = duration;
  r.trigger = trigger;
  return r;
}

TEST(Automation, MatchingRuleFiresUntilNowPlusItsDuration) {
  Config config;
  config.rules.push_back(rule(Rule::Scope::provider, "yahoo", R"(\[(TSS04|TS04)\])", 2h));
  Automation automation(config);
  const auto fired = automation.observe("(mta5|mta6).am0.yahoodns.net", "yahoo", {"yahoo.com"}, kTss04, t0);
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0].rule, &config.rules[0]);
  EXPECT_EQ(fired[0].until, t0 + 2h);
}

TEST(Automation, ReplyThatDoesNotMatchFiresNothing) {
  Config config;
  config.rules.push_back(rule(Rule::Scope::every_site, "", R"(\[TSS04\])", 2h));
  Automation automation(config);
  EXPECT_TRUE(automation.observe("site", "", {}, "421 4.7.0 [TSS05] Messages deferred", t0).empty());
  EXPECT_TRUE(automation.observe("site", "", {}, "250 2.0.0 OK", t0).empty());
}

TEST(Automation, RegexSearchesAnywhereInTheReply) {
  Config config;
  config.rules.push_back(rule(Rule::Scope::every_site, "", "unusual rate", 30min));
  Automation automation(config);
  EXPECT_EQ(automation.observe("site", "", {}, kGmailRate, t0).size(), 1u);
}

TEST(Automation, ProviderScopeNeedsThatProvider) {
  Config config;
  config.rules.push_back(rule(Rule::Scope::provider, "yahoo", "TSS04", 2h));
  Automation automation(config);
  EXPECT_TRUE(automation.observe("site", "", {"yahoo.com"}, kTss04, t0).empty());
  EXPECT_TRUE(automation.observe("site", "google", {"yahoo.com"}, kTss04, t0).empty());
  EXPECT_EQ(automation.observe("site", "yahoo", {}, kTss04, t0).size(), 1u);
}

TEST(Automation, DomainScopeNeedsTheDomainAmongTheSites) {
  Config config;
  config.rules.push_back(rule(Rule::Scope::domain, "gmail.com", "4\\.7\\.28", 30min));
  Automation automation(config);
  EXPECT_TRUE(automation.observe("site", "google", {"example.com"}, kGmailRate, t0).empty());
  EXPECT_EQ(automation.observe("site", "google", {"example.com", "gmail.com"}, kGmailRate, t0).size(), 1u);
  EXPECT_EQ(automation.observe("site", "", {"Gmail.COM"}, kGmailRate, t0).size(), 1u);
}

TEST(Automation, EverySiteScopeMatchesAnySite) {
  Config config;
  config.rules.push_back(rule(Rule::Scope::every_site, "", "rate limited", 90min));
  Automation automation(config);
  EXPECT_EQ(automation.observe("a", "", {}, "451 4.7.650 has been temporarily rate limited", t0).size(), 1u);
  EXPECT_EQ(automation.observe("b", "microsoft", {"x.example"}, "451 4.7.650 rate limited", t0).size(), 1u);
}

TEST(Automation, AllMatchingRulesFireInOrder) {
  Config config;
  config.rules.push_back(rule(Rule::Scope::every_site, "", "TSS04", 1h));
  config.rules.push_back(rule(Rule::Scope::provider, "google", "TSS04", 5h));
  config.rules.push_back(rule(Rule::Scope::provider, "yahoo", "4\\.7\\.0", 2h));
  Automation automation(config);
  const auto fired = automation.observe("site", "yahoo", {}, kTss04, t0);
  ASSERT_EQ(fired.size(), 2u);
  EXPECT_EQ(fired[0].rule, &config.rules[0]);
  EXPECT_EQ(fired[1].rule, &config.rules[2]);
}

TEST(Automation, ThresholdFiresOnTheNthMatchWithinThePeriod) {
  Config config;
  config.rules.push_back(rule(Rule::Scope::provider, "google", "4\\.7\\.28", 30min, Rate{2, 1h}));
  Automation automation(config);
  EXPECT_TRUE(automation.observe("gmail", "google", {}, kGmailRate, t0).empty());
  const auto fired = automation.observe("gmail", "google", {}, kGmailRate, t0 + 59min);
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0].until, t0 + 89min);
}

TEST(Automation, MatchesOlderThanThePeriodDoNotCount) {
  Config config;
  config.rules.push_back(rule(Rule::Scope::every_site, "", "4\\.7\\.28", 30min, Rate{2, 1h}));
  Automation automation(config);
  EXPECT_TRUE(automation.observe("gmail", "", {}, kGmailRate, t0).empty());
  EXPECT_TRUE(automation.observe("gmail", "", {}, kGmailRate, t0 + 1h).empty());  // the first is an hour old
  EXPECT_EQ(automation.observe("gmail", "", {}, kGmailRate, t0 + 90min).size(), 1u);
}

TEST(Automation, AfterFiringTheCountStartsAgain) {
  Config config;
  config.rules.push_back(rule(Rule::Scope::every_site, "", "4\\.7\\.28", 30min, Rate{3, 1h}));
  Automation automation(config);
  int fired = 0;
  for (int i = 0; i < 9; ++i)
    fired += static_cast<int>(automation.observe("s", "", {}, kGmailRate, t0 + i * 1s).size());
  EXPECT_EQ(fired, 3);  // on the 3rd, 6th and 9th match, not on each one after the 3rd
}

TEST(Automation, ThresholdsAreCountedPerSite) {
  Config config;
  config.rules.push_back(rule(Rule::Scope::every_site, "", "4\\.7\\.28", 30min, Rate{2, 1h}));
  Automation automation(config);
  EXPECT_TRUE(automation.observe("a", "", {}, kGmailRate, t0).empty());
  EXPECT_TRUE(automation.observe("b", "", {}, kGmailRate, t0).empty());
  EXPECT_EQ(automation.observe("a", "", {}, kGmailRate, t0 + 1s).size(), 1u);
  EXPECT_EQ(automation.observe("b", "", {}, kGmailRate, t0 + 1s).size(), 1u);
}

TEST(Automation, ThresholdsAreCountedPerRule) {
  Config config;
  config.rules.push_back(rule(Rule::Scope::every_site, "", "4\\.7\\.28", 30min, Rate{2, 1h}));
  config.rules.push_back(rule(Rule::Scope::every_site, "", "unusual rate", 1h, Rate{3, 1h}));
  Automation automation(config);
  EXPECT_TRUE(automation.observe("a", "", {}, kGmailRate, t0).empty());
  auto fired = automation.observe("a", "", {}, kGmailRate, t0);
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0].rule, &config.rules[0]);
  fired = automation.observe("a", "", {}, kGmailRate, t0);
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0].rule, &config.rules[1]);
}

TEST(Automation, ManySitesMatchingOnceEachDoNotPileUp) {
  Config config;
  config.rules.push_back(rule(Rule::Scope::every_site, "", "4\\.7\\.28", 30min, Rate{2, 1min}));
  Automation automation(config);
  // 100,000 sites each matching once, a second apart: by the end, only the
  // last minute's sites can still be remembered, and the thresholds still work.
  for (int i = 0; i < 100'000; ++i) {
    EXPECT_TRUE(automation.observe("site" + std::to_string(i), "", {}, kGmailRate, t0 + i * 1s).empty());
    ASSERT_LE(automation.open_windows(), 128u) << "after site " << i;
  }
  const Clock::time_point end = t0 + 100'000s;
  EXPECT_EQ(automation.observe("site99999", "", {}, kGmailRate, end).size(), 1u);
  EXPECT_TRUE(automation.observe("site0", "", {}, kGmailRate, end).empty());
}

}  // namespace
}  // namespace petrel::shaping
