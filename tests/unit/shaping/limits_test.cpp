// The limits a site ends up with: built-in defaults < [shaping.default] <
// its provider < its domains' blocks < the source's block; and which
// provider a set of MX hosts belongs to.
#include <gtest/gtest.h>

#include "shaping/shaping.hpp"

namespace petrel::shaping {
namespace {

using namespace std::chrono_literals;

Limits connections(std::size_t n) {
  Limits l;
  l.connection_limit = n;
  return l;
}

Provider provider(std::string name, std::vector<std::string> suffixes, Limits limits = {}) {
  return Provider{std::move(name), std::move(suffixes), limits};
}

TEST(Limits, OverlayTakesOnlyTheKeysSetOver) {
  Limits base;
  base.connection_limit = 10;
  base.max_message_rate = Rate{100, 1s};
  Limits over;
  over.max_message_rate = Rate{5, 1min};
  over.max_deliveries_per_connection = 20;
  base.overlay(over);
  EXPECT_EQ(base.connection_limit, 10u);
  EXPECT_EQ(base.max_message_rate, (Rate{5, 1min}));
  EXPECT_EQ(base.max_deliveries_per_connection, 20u);
  EXPECT_FALSE(base.max_connection_rate);
}

TEST(Limits, ApplyKeepsWhatIsNotSet) {
  const EffectiveLimits built_in;
  EXPECT_EQ(apply(built_in, Limits{}), built_in);
  const EffectiveLimits e = apply(built_in, connections(3));
  EXPECT_EQ(e.connection_limit, 3u);
  EXPECT_EQ(e.max_deliveries_per_connection, 100u);
  EXPECT_TRUE(e.max_message_rate.unlimited());
}

TEST(LimitsFor, BuiltInDefaultsWhenNothingIsConfigured) {
  const EffectiveLimits e = limits_for(Config{}, nullptr, {"example.com"});
  EXPECT_EQ(e, EffectiveLimits{});
  EXPECT_EQ(e.connection_limit, 20u);
  EXPECT_EQ(e.max_deliveries_per_connection, 100u);
  EXPECT_TRUE(e.max_connection_rate.unlimited());
  EXPECT_TRUE(e.max_message_rate.unlimited());
}

TEST(LimitsFor, EachLevelOverridesTheOneBefore) {
  Config config;
  config.defaults.connection_limit = 10;
  config.defaults.max_deliveries_per_connection = 50;
  config.defaults.max_connection_rate = Rate{100, 1min};
  config.providers.push_back(provider("yahoo", {".yahoodns.net"}, connections(8)));
  config.providers.back().limits.max_deliveries_per_connection = 20;
  config.domains["yahoo.com"] = connections(4);
  config.sources["ip-2"].connection_limit = 2;

  const Provider* yahoo = &config.providers[0];
  EffectiveLimits e = limits_for(config, nullptr, {"example.com"});
  EXPECT_EQ(e.connection_limit, 10u);
  EXPECT_EQ(e.max_deliveries_per_connection, 50u);

  e = limits_for(config, yahoo, {"aol.com"});
  EXPECT_EQ(e.connection_limit, 8u);
  EXPECT_EQ(e.max_deliveries_per_connection, 20u);
  EXPECT_EQ(e.max_connection_rate, (Rate{100, 1min}));

  e = limits_for(config, yahoo, {"yahoo.com"});
  EXPECT_EQ(e.connection_limit, 4u);
  EXPECT_EQ(e.max_deliveries_per_connection, 20u);

  e = limits_for(config, yahoo, {"yahoo.com"}, "ip-2");
  EXPECT_EQ(e.connection_limit, 2u);
  e = limits_for(config, yahoo, {"yahoo.com"}, "ip-unknown");
  EXPECT_EQ(e.connection_limit, 4u);
}

TEST(LimitsFor, DomainBlocksApplyInNameOrderWhateverTheSiteOrder) {
  Config config;
  config.domains["a.example"] = connections(1);
  config.domains["b.example"] = connections(2);
  config.domains["b.example"].max_deliveries_per_connection = 7;
  EXPECT_EQ(limits_for(config, nullptr, {"b.example", "a.example"}).connection_limit, 2u);
  EXPECT_EQ(limits_for(config, nullptr, {"a.example", "b.example"}).connection_limit, 2u);
  EXPECT_EQ(limits_for(config, nullptr, {"A.Example."}).connection_limit, 1u);
  EXPECT_EQ(limits_for(config, nullptr, {"a.example", "B.EXAMPLE"}).max_deliveries_per_connection, 7u);
}

TEST(ProviderOf, EveryHostMustEndWithASuffix) {
  Config config;
  config.providers.push_back(provider("yahoo", {".yahoodns.net"}));
  const std::vector<std::string> yahoo = {"mta5.am0.yahoodns.net", "mta6.am0.yahoodns.net", "mta7.am0.yahoodns.net"};
  EXPECT_EQ(provider_of(config, yahoo), &config.providers[0]);
  EXPECT_EQ(provider_of(config, {"mta5.am0.yahoodns.net", "mx.example.com"}), nullptr);
  EXPECT_EQ(provider_of(config, {"mx.example.com"}), nullptr);
  EXPECT_EQ(provider_of(config, {}), nullptr);
}

TEST(ProviderOf, CaseAndTrailingDotsDoNotMatter) {
  Config config;
  config.providers.push_back(provider("yahoo", {".YahooDNS.net"}));
  EXPECT_EQ(provider_of(config, {"MTA5.AM0.YAHOODNS.NET.", "mta6.am0.yahoodns.net"}), &config.providers[0]);
}

TEST(ProviderOf, AnyOfTheSuffixesWillDo) {
  Config config;
  config.providers.push_back(provider("google", {".google.com", ".googlemail.com"}));
  EXPECT_EQ(provider_of(config, {"aspmx.l.google.com", "alt1.aspmx.l.google.com", "aspmx2.googlemail.com"}),
            &config.providers[0]);
}

TEST(ProviderOf, SuffixMatchesWholeLabelsOnly) {
  Config config;
  config.providers.push_back(provider("yahoo", {".yahoodns.net"}));
  config.providers.push_back(provider("example", {"example.net"}));
  EXPECT_EQ(provider_of(config, {"notyahoodns.net"}), nullptr);
  EXPECT_EQ(provider_of(config, {"yahoodns.net"}), nullptr);  // ".yahoodns.net" needs a label before it
  EXPECT_EQ(provider_of(config, {"mx.example.net"}), &config.providers[1]);
  EXPECT_EQ(provider_of(config, {"example.net"}), &config.providers[1]);
  EXPECT_EQ(provider_of(config, {"mx.badexample.net"}), nullptr);
}

TEST(ProviderOf, FirstInFileOrderWins) {
  Config config;
  config.providers.push_back(provider("office365", {".mail.protection.outlook.com"}));
  config.providers.push_back(provider("microsoft", {".outlook.com"}));
  EXPECT_EQ(provider_of(config, {"contoso-com.mail.protection.outlook.com"}), &config.providers[0]);
  EXPECT_EQ(provider_of(config, {"eur.olc.protection.outlook.com"}), &config.providers[1]);
}

}  // namespace
}  // namespace petrel::shaping

namespace petrel::shaping {
namespace {

TEST(ClusterScopeOverlay, each_limit_keeps_the_scope_of_the_level_that_set_it) {
  Config config;
  config.defaults.max_message_rate = Rate{100, std::chrono::seconds(1)};
  config.defaults.connection_limit = 10;
  config.defaults.cluster = {.connection_limit = true, .max_connection_rate = false, .max_message_rate = true};
  Limits domain;
  domain.max_message_rate = Rate{30, std::chrono::seconds(1)};  // local: its block has no scope
  config.domains["example.com"] = domain;
  const EffectiveLimits limits = limits_for(config, nullptr, {"example.com"});
  EXPECT_EQ(limits.max_message_rate, (Rate{30, std::chrono::seconds(1)}));
  EXPECT_FALSE(limits.cluster.max_message_rate);
  EXPECT_TRUE(limits.cluster.connection_limit);  // still [shaping.default]'s
  EXPECT_FALSE(limits_for(config, nullptr, {}).cluster.max_connection_rate);
}

}  // namespace
}  // namespace petrel::shaping
