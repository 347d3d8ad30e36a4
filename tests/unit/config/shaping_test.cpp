// [shaping]: limits per default, domain, provider and source, the rules,
// the files it includes, and the [delivery] keys that are its aliases.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "config/config.hpp"

namespace petrel::config {
namespace {

using namespace std::chrono_literals;
using shaping::Rate;
using shaping::Rule;

Config load(std::string_view text) { return load_config_text(text, "petreld.toml"); }

// A directory of files for include tests, removed at the end.
class Files {
 public:
  Files() {
    char path[] = "/tmp/petrel-shaping-test-XXXXXX";
    dir_ = mkdtemp(path);
  }
  ~Files() { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, std::string_view text) {
    const std::string path = dir_ + "/" + name;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream(path) << text;
    return path;
  }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

TEST(Shaping, NothingConfiguredIsEmpty) {
  const Config c = load("");
  EXPECT_EQ(c.shaping.defaults, shaping::Limits{});
  EXPECT_TRUE(c.shaping.domains.empty());
  EXPECT_TRUE(c.shaping.providers.empty());
  EXPECT_TRUE(c.shaping.sources.empty());
  EXPECT_TRUE(c.shaping.rules.empty());
  EXPECT_EQ(c.remote.destination_concurrency, 20u);
  EXPECT_EQ(c.remote.messages_per_connection, 100u);
}

TEST(Shaping, FullExample) {
  const Config c = load(R"([shaping.default]
connection_limit = 20
max_connection_rate = "100/min"
max_deliveries_per_connection = 100
max_message_rate = "0"

[shaping.domain."Gmail.com."]
connection_limit = 5

[shaping.provider.yahoo]
mx_suffix = [".YahooDNS.net"]
max_message_rate = "500/min"

[shaping.source."ip-1"]
max_message_rate = "1,000/h"

[[shaping.rule]]
provider = "yahoo"
match = '\[TSS04\]'
action = "suspend"
duration = "2h"

[[shaping.rule]]
domain = "gmail.com"
match = '4\.7\.28'
action = "set"
set = { max_message_rate = "10/min", connection_limit = 1 }
trigger = "2/h"
duration = "30m"

[[shaping.rule]]
match = 'rate limited'
action = "suspend"
duration = 600

[[egress.source]]
name = "ip-1"
address = "192.0.2.1"

[[egress.pool]]
name = "main"
sources = [{ name = "ip-1", weight = 1 }]
)");
  EXPECT_EQ(c.shaping.defaults.connection_limit, 20u);
  EXPECT_EQ(c.shaping.defaults.max_connection_rate, (Rate{100, 1min}));
  EXPECT_EQ(c.shaping.defaults.max_deliveries_per_connection, 100u);
  EXPECT_EQ(c.shaping.defaults.max_message_rate, Rate{});

  ASSERT_EQ(c.shaping.domains.count("gmail.com"), 1u);
  EXPECT_EQ(c.shaping.domains.at("gmail.com").connection_limit, 5u);
  EXPECT_FALSE(c.shaping.domains.at("gmail.com").max_message_rate);

  ASSERT_EQ(c.shaping.providers.size(), 1u);
  EXPECT_EQ(c.shaping.providers[0].name, "yahoo");
  EXPECT_EQ(c.shaping.providers[0].mx_suffix, std::vector<std::string>{".yahoodns.net"});
  EXPECT_EQ(c.shaping.providers[0].limits.max_message_rate, (Rate{500, 1min}));

  ASSERT_EQ(c.shaping.sources.count("ip-1"), 1u);
  EXPECT_EQ(c.shaping.sources.at("ip-1").max_message_rate, (Rate{1000, 1h}));

  ASSERT_EQ(c.shaping.rules.size(), 3u);
  const Rule& yahoo = c.shaping.rules[0];
  EXPECT_EQ(yahoo.scope, Rule::Scope::provider);
  EXPECT_EQ(yahoo.target, "yahoo");
  EXPECT_EQ(yahoo.pattern, "\\[TSS04\\]");
  EXPECT_TRUE(std::regex_search("421 4.7.0 [TSS04] Messages deferred", yahoo.regex));
  EXPECT_EQ(yahoo.action, Rule::Action::suspend);
  EXPECT_EQ(yahoo.duration, 2h);
  EXPECT_TRUE(yahoo.trigger.unlimited());
  EXPECT_EQ(yahoo.origin, "petreld.toml:17");

  const Rule& gmail = c.shaping.rules[1];
  EXPECT_EQ(gmail.scope, Rule::Scope::domain);
  EXPECT_EQ(gmail.target, "gmail.com");
  EXPECT_EQ(gmail.action, Rule::Action::set);
  EXPECT_EQ(gmail.set.max_message_rate, (Rate{10, 1min}));
  EXPECT_EQ(gmail.set.connection_limit, 1u);
  EXPECT_FALSE(gmail.set.max_deliveries_per_connection);
  EXPECT_EQ(gmail.trigger, (Rate{2, 1h}));
  EXPECT_EQ(gmail.duration, 30min);
  EXPECT_EQ(gmail.origin, "petreld.toml:23");

  EXPECT_EQ(c.shaping.rules[2].scope, Rule::Scope::every_site);
  EXPECT_EQ(c.shaping.rules[2].duration, 10min);
  EXPECT_NO_THROW(validate(c, "petreld.toml"));
}

TEST(Shaping, ProvidersKeepFileOrder) {
  const Config c = load(R"([shaping.provider.zeta]
mx_suffix = [".mail.protection.outlook.com"]
[shaping.provider.alpha]
mx_suffix = [".outlook.com"]
)");
  ASSERT_EQ(c.shaping.providers.size(), 2u);
  EXPECT_EQ(c.shaping.providers[0].name, "zeta");
  EXPECT_EQ(c.shaping.providers[1].name, "alpha");
  EXPECT_EQ(shaping::provider_of(c.shaping, {"contoso-com.mail.protection.outlook.com"})->name, "zeta");
}

TEST(Shaping, SameDomainSpelledTwiceMergesLaterWins) {
  const Config c = load(R"([shaping.domain."gmail.com"]
connection_limit = 2
max_deliveries_per_connection = 7
[shaping.domain."GMAIL.COM"]
connection_limit = 3
)");
  ASSERT_EQ(c.shaping.domains.size(), 1u);
  EXPECT_EQ(c.shaping.domains.at("gmail.com").connection_limit, 3u);
  EXPECT_EQ(c.shaping.domains.at("gmail.com").max_deliveries_per_connection, 7u);
}

TEST(Shaping, RulesMayBeAnInlineArray) {
  const Config c = load(R"([shaping]
rule = [
  { match = "a", action = "suspend", duration = "1h" },
  { match = "b", action = "suspend", duration = "2h" },
]
)");
  ASSERT_EQ(c.shaping.rules.size(), 2u);
  EXPECT_EQ(c.shaping.rules[1].duration, 2h);
  EXPECT_EQ(c.shaping.rules[1].origin, "petreld.toml:4");
}

TEST(Shaping, RateZeroMayBeAnInteger) {
  const Config c = load("[shaping.default]\nmax_message_rate = 0\n");
  EXPECT_EQ(c.shaping.defaults.max_message_rate, Rate{});
}

TEST(Shaping, EffectiveLimitsOfAYahooSite) {
  const Config c = load(R"([shaping.default]
connection_limit = 10
[shaping.provider.yahoo]
mx_suffix = [".yahoodns.net"]
max_deliveries_per_connection = 20
[shaping.domain."yahoo.com"]
connection_limit = 4
)");
  const auto* yahoo = shaping::provider_of(c.shaping, {"mta5.am0.yahoodns.net", "mta6.am0.yahoodns.net"});
  ASSERT_NE(yahoo, nullptr);
  const auto limits = shaping::limits_for(c.shaping, yahoo, {"yahoo.com"});
  EXPECT_EQ(limits.connection_limit, 4u);
  EXPECT_EQ(limits.max_deliveries_per_connection, 20u);
}

// ---- Aliases in [delivery] ----

TEST(ShapingAliases, DeliveryKeysSetTheDefaults) {
  const Config c = load("[delivery]\ndestination_concurrency = 5\nmessages_per_connection = 7\n");
  EXPECT_EQ(c.shaping.defaults.connection_limit, 5u);
  EXPECT_EQ(c.shaping.defaults.max_deliveries_per_connection, 7u);
  EXPECT_EQ(c.remote.destination_concurrency, 5u);
  EXPECT_EQ(c.remote.messages_per_connection, 7u);
}

TEST(ShapingAliases, ShapingDefaultWinsWhereverItIsWritten) {
  for (const char* text : {"[delivery]\ndestination_concurrency = 5\nmessages_per_connection = 7\n"
                           "[shaping.default]\nconnection_limit = 9\n",
                           "[shaping.default]\nconnection_limit = 9\n"
                           "[delivery]\ndestination_concurrency = 5\nmessages_per_connection = 7\n"}) {
    const Config c = load(text);
    EXPECT_EQ(c.shaping.defaults.connection_limit, 9u) << text;
    EXPECT_EQ(c.shaping.defaults.max_deliveries_per_connection, 7u) << text;
    // The old fields follow, for the code that still reads them.
    EXPECT_EQ(c.remote.destination_concurrency, 9u) << text;
    EXPECT_EQ(c.remote.messages_per_connection, 7u) << text;
  }
}

TEST(ShapingAliases, ShapingDefaultFillsTheOldFields) {
  const Config c = load("[shaping.default]\nconnection_limit = 3\nmax_deliveries_per_connection = 4\n");
  EXPECT_EQ(c.remote.destination_concurrency, 3u);
  EXPECT_EQ(c.remote.messages_per_connection, 4u);
}

// ---- Included files ----

TEST(ShapingInclude, IncludedFilesComeFirstAndAreOverlaidKeyByKey) {
  Files files;
  files.write("providers.toml", R"([shaping.provider.yahoo]
mx_suffix = [".yahoodns.net"]
max_deliveries_per_connection = 20
connection_limit = 8

[shaping.domain."gmail.com"]
connection_limit = 5
max_message_rate = "100/min"

[[shaping.rule]]
provider = "yahoo"
match = 'TSS04'
action = "suspend"
duration = "2h"
)");
  files.write("more/local.toml", R"([shaping.domain."gmail.com"]
connection_limit = 6
)");
  const std::string main = files.write("petreld.toml", R"([shaping]
include = ["providers.toml", "more/local.toml"]

[shaping.provider.yahoo]
connection_limit = 2

[[shaping.rule]]
domain = "gmail.com"
match = 'x'
action = "suspend"
duration = "1h"
)");
  const Config c = load_config_file(main);
  ASSERT_EQ(c.shaping.providers.size(), 1u);
  EXPECT_EQ(c.shaping.providers[0].mx_suffix, std::vector<std::string>{".yahoodns.net"});
  EXPECT_EQ(c.shaping.providers[0].limits.max_deliveries_per_connection, 20u);
  EXPECT_EQ(c.shaping.providers[0].limits.connection_limit, 2u);  // this file's block came last
  EXPECT_EQ(c.shaping.domains.at("gmail.com").connection_limit, 6u);
  EXPECT_EQ(c.shaping.domains.at("gmail.com").max_message_rate, (Rate{100, 1min}));
  ASSERT_EQ(c.shaping.rules.size(), 2u);
  EXPECT_EQ(c.shaping.rules[0].origin, files.dir() + "/providers.toml:10");
  EXPECT_EQ(c.shaping.rules[1].origin, main + ":7");
}

TEST(ShapingInclude, NestedIncludesAreRelativeToTheirOwnFile) {
  Files files;
  files.write("a/b/inner.toml", "[shaping.default]\nconnection_limit = 3\n");
  files.write("a/outer.toml", "[shaping]\ninclude = [\"b/inner.toml\"]\n");
  const Config c = load_config_file(files.write("petreld.toml", "[shaping]\ninclude = [\"a/outer.toml\"]\n"));
  EXPECT_EQ(c.shaping.defaults.connection_limit, 3u);
}

TEST(ShapingInclude, AbsolutePathsWork) {
  Files files;
  const std::string shared = files.write("shared.toml", "[shaping.default]\nconnection_limit = 4\n");
  const Config c = load("[shaping]\ninclude = [\"" + shared + "\"]\n");
  EXPECT_EQ(c.shaping.defaults.connection_limit, 4u);
}

TEST(ShapingInclude, RuleMayNameAProviderOfALaterFile) {
  Files files;
  files.write("rules.toml",
              "[[shaping.rule]]\nprovider = \"yahoo\"\nmatch = 'x'\naction = \"suspend\"\nduration = \"1h\"\n");
  const Config c = load_config_file(files.write("petreld.toml", R"([shaping]
include = ["rules.toml"]
[shaping.provider.yahoo]
mx_suffix = [".yahoodns.net"]
)"));
  EXPECT_EQ(c.shaping.rules.size(), 1u);
}

TEST(ShapingInclude, ProviderMayGetItsSuffixFromAnotherFile) {
  Files files;
  files.write("base.toml", "[shaping.provider.yahoo]\nmx_suffix = [\".yahoodns.net\"]\n");
  const Config c = load_config_file(files.write("petreld.toml", R"([shaping]
include = ["base.toml"]
[shaping.provider.yahoo]
connection_limit = 1
)"));
  ASSERT_EQ(c.shaping.providers.size(), 1u);
  EXPECT_EQ(c.shaping.providers[0].limits.connection_limit, 1u);
}

TEST(ShapingInclude, TheShippedShapingFileLoads) {
  const std::string shipped = std::string(PETREL_SOURCE_DIR) + "/etc/shaping.toml";
  const Config c = load("[shaping]\ninclude = [\"" + shipped + "\"]\n");
  EXPECT_NO_THROW(validate(c, "petreld.toml"));

  auto provider = [&](std::vector<std::string> hosts) {
    const shaping::Provider* p = shaping::provider_of(c.shaping, hosts);
    return p ? p->name : "";
  };
  EXPECT_EQ(provider({"gmail-smtp-in.l.google.com", "alt1.gmail-smtp-in.l.google.com"}), "google");
  EXPECT_EQ(provider({"aspmx.l.google.com", "alt1.aspmx.l.google.com", "aspmx2.googlemail.com"}), "google");
  EXPECT_EQ(provider({"hotmail-com.olc.protection.outlook.com"}), "microsoft");
  EXPECT_EQ(provider({"contoso-com.mail.protection.outlook.com"}), "microsoft");
  EXPECT_EQ(provider({"mta5.am0.yahoodns.net", "mta6.am0.yahoodns.net", "mta7.am0.yahoodns.net"}), "yahoo");
  EXPECT_EQ(provider({"mx-aol.mail.gm0.yahoodns.net"}), "yahoo");
  EXPECT_EQ(provider({"mx01.mail.icloud.com", "mx02.mail.icloud.com"}), "apple");
  EXPECT_EQ(provider({"mx.example.com"}), "");

  // Each rule fires for the reply it was written for.
  shaping::Automation automation(c.shaping);
  const auto now = shaping::Clock::time_point(1000h);
  auto fired = [&](std::string_view provider_name, std::string_view reply) {
    std::vector<std::string> actions;
    for (const auto& f : automation.observe("site", provider_name, {}, reply, now)) {
      actions.push_back(f.rule->action == Rule::Action::suspend
                            ? "suspend"
                            : "set " + shaping::to_string(*f.rule->set.max_message_rate));
    }
    return actions;
  };
  using Actions = std::vector<std::string>;
  EXPECT_EQ(fired("yahoo", "421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred"), Actions{"suspend"});
  EXPECT_EQ(fired("yahoo", "421 4.7.0 [TS04] Messages from 192.0.2.1 temporarily deferred"), Actions{"suspend"});
  EXPECT_EQ(fired("yahoo", "421 4.7.0 [TSS05] Messages from 192.0.2.1 temporarily deferred"), Actions{"suspend"});
  EXPECT_EQ(fired("microsoft",
                  "451 4.7.650 The mail server [192.0.2.1] has been temporarily rate limited due to IP "
                  "reputation"),
            Actions{"set 1/min"});
  const std::string gmail = "421 4.7.28 Our system has detected an unusual rate of unsolicited mail";
  EXPECT_EQ(fired("google", gmail), Actions{});  // the first of two within the hour
  EXPECT_EQ(fired("google", gmail), Actions{"set 10/min"});
  EXPECT_EQ(fired("google", "250 2.0.0 OK"), Actions{});
}

}  // namespace
}  // namespace petrel::config
