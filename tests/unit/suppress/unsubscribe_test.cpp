// Unsubscribe tokens: what they name, and that they cannot be forged or
// made to name someone else.
#include <gtest/gtest.h>

#include "suppress/suppression_list.hpp"
#include "suppress/unsubscribe.hpp"

namespace petrel::suppress {
namespace {

const Subscription kAnn{"ann@x.test", "december", "shop1"};

TEST(UnsubscribeTokens, a_token_is_the_queue_id_and_a_mac_short_enough_for_a_local_part) {
  const UnsubscribeTokens tokens(std::string(32, 's'));
  const std::string token = tokens.make("HOUC2LLY79COH97M", kAnn);
  EXPECT_EQ(token.size(), 42u);
  EXPECT_LE(std::string("unsubscribe+").size() + token.size(), 64u);  // RFC 5321 §4.5.3.1.1
  EXPECT_EQ(UnsubscribeTokens::queue_id_of(token), "HOUC2LLY79COH97M");
  EXPECT_TRUE(tokens.verify(token, kAnn));
}

TEST(UnsubscribeTokens, another_person_campaign_tenant_secret_or_a_changed_character_fails) {
  const UnsubscribeTokens tokens(std::string(32, 's'));
  const std::string token = tokens.make("HOUC2LLY79COH97M", kAnn);
  EXPECT_FALSE(tokens.verify(token, {"bob@x.test", "december", "shop1"}));
  EXPECT_FALSE(tokens.verify(token, {"ann@x.test", "other", "shop1"}));
  EXPECT_FALSE(tokens.verify(token, {"ann@x.test", "december", ""}));
  EXPECT_FALSE(UnsubscribeTokens(std::string(32, 't')).verify(token, kAnn));
  for (std::size_t i = 0; i < token.size(); ++i) {
    std::string changed = token;
    changed[i] = changed[i] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(tokens.verify(changed, kAnn)) << i;
  }
  EXPECT_FALSE(tokens.verify(token.substr(0, 41), kAnn));
  EXPECT_FALSE(tokens.verify("", kAnn));
}

TEST(UnsubscribeTokens, fields_cannot_be_shifted_between_each_other) {
  const UnsubscribeTokens tokens(std::string(32, 's'));
  // Length-prefixed: "ab" + "c" is not "a" + "bc".
  EXPECT_NE(tokens.make("HOUC2LLY79COH97M", {"ab", "c", ""}), tokens.make("HOUC2LLY79COH97M", {"a", "bc", ""}));
}

TEST(Subscription, round_trips_through_its_record) {
  const auto back = parse_subscription(subscription_value(kAnn));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->recipient, kAnn.recipient);
  EXPECT_EQ(back->campaign, kAnn.campaign);
  EXPECT_EQ(back->tenant, kAnn.tenant);
  EXPECT_FALSE(parse_subscription("not json"));
}

TEST(SuppressionList, addresses_compare_without_case_and_tenants_are_checked) {
  EXPECT_EQ(normalize("Ann@Example.ORG"), "ann@example.org");
  EXPECT_EQ(record_key("shop1", "Ann@X.test"), "s/shop1/ann@x.test");
  EXPECT_EQ(record_key("", "a@x.test"), "s//a@x.test");
  EXPECT_TRUE(valid_tenant(""));
  EXPECT_TRUE(valid_tenant("shop-1"));
  EXPECT_FALSE(valid_tenant("a/b"));
  EXPECT_FALSE(valid_tenant("a b"));
  EXPECT_FALSE(valid_tenant(std::string(65, 'a')));
  EXPECT_EQ(reason_from_string("hard_bounce"), Reason::hard_bounce);
  EXPECT_EQ(to_string(Reason::complaint), "complaint");
  EXPECT_FALSE(reason_from_string("nope"));
}

}  // namespace
}  // namespace petrel::suppress
