// [odmr] and [server] listen_odmr / listen_odmrs (RFC 2645): read with
// their defaults, and each mistake an error at its line.
#include <gtest/gtest.h>

#include <string>

#include "config/config.hpp"
#include "config_errors.hpp"

namespace petrel::config {
namespace {

using testing::error_of;

TEST(OdmrConfig, defaults_and_every_key) {
  const Config d = load_config_text("", "petreld.toml");
  EXPECT_TRUE(d.odmr.domains.empty());
  EXPECT_TRUE(d.listen_odmr.empty());
  EXPECT_EQ(d.odmr.claim_batch, 100u);
  EXPECT_EQ(d.odmr.reply_timeout, std::chrono::minutes(5));
  const Config c = load_config_text(
      "[server]\nlisten_odmr = [\"127.0.0.1:366\"]\n[auth]\npasswd_file = \"users\"\n"
      "[odmr]\ndomains = { \"alice\" = [\"Fetch.Example\", \"second.example\"], \"bob@isp.test\" = [\"b.example\"] }\n"
      "claim_batch = 10\nreply_timeout = \"30s\"\n",
      "petreld.toml");
  EXPECT_EQ(c.listen_odmr, std::vector<std::string>{"127.0.0.1:366"});
  ASSERT_EQ(c.odmr.domains.size(), 2u);
  EXPECT_EQ(c.odmr.domains.at("alice"), (std::vector<std::string>{"fetch.example", "second.example"}));
  EXPECT_EQ(c.odmr.domains.at("bob@isp.test"), std::vector<std::string>{"b.example"});
  EXPECT_EQ(c.odmr.claim_batch, 10u);
  EXPECT_EQ(c.odmr.reply_timeout, std::chrono::seconds(30));
  EXPECT_EQ(error_of("[server]\nlisten_odmr = [\"127.0.0.1:366\"]\n[auth]\npasswd_file = \"users\"\n"
                     "[odmr]\ndomains = { \"alice\" = [\"fetch.example\"] }\n"),
            "");
}

TEST(OdmrConfig, mistakes_are_errors_at_their_line) {
  EXPECT_EQ(error_of("[odmr]\n\ndomains = [\"fetch.example\"]\n"),
            "petreld.toml:3: [odmr] domains must be a table of login names, each with an array of domains, such as "
            "{ \"alice\" = [\"example.net\"] }, got an array");
  EXPECT_NE(error_of("[odmr]\ndomains = { \"alice\" = [] }\n").find("petreld.toml:2:"), std::string::npos);
  EXPECT_NE(error_of("[odmr]\ndomains = { \"alice\" = [\"not a domain\"] }\n").find("petreld.toml:2:"),
            std::string::npos);
  EXPECT_NE(error_of("[odmr]\ndomains = { \"alice\" = [\"a.example\", \"A.example\"] }\n").find("free of duplicates"),
            std::string::npos);
  EXPECT_NE(error_of("[odmr]\nclaim_batch = 0\n").find("petreld.toml:2:"), std::string::npos);
  EXPECT_NE(error_of("[odmr]\nbatch = 1\n").find("unknown key 'batch' in [odmr]"), std::string::npos);
}

TEST(OdmrConfig, cross_key_rules) {
  EXPECT_EQ(error_of("[server]\nlisten_odmr = [\"127.0.0.1:366\"]\n[odmr]\ndomains = { \"a\" = [\"x.example\"] }\n"),
            "petreld.toml: [server] listen_odmr needs users to authenticate: set [auth] passwd_file");
  EXPECT_EQ(error_of("[server]\nlisten_odmr = [\"127.0.0.1:366\"]\n[auth]\npasswd_file = \"u\"\n"),
            "petreld.toml: [server] listen_odmr needs domains to relay: set [odmr] domains");
  EXPECT_EQ(error_of("[server]\nlisten_odmrs = [\"127.0.0.1:6366\"]\n[auth]\npasswd_file = \"u\"\n"
                     "[odmr]\ndomains = { \"a\" = [\"x.example\"] }\n"),
            "petreld.toml: [server] listen_odmrs needs a certificate: set [tls] cert and key");
  EXPECT_EQ(error_of("[local]\ndomains = [\"x.example\"]\n[odmr]\ndomains = { \"a\" = [\"x.example\"] }\n"),
            "petreld.toml:4: [odmr] domains: \"x.example\" (for 'a') is also in [local] domains");
  EXPECT_NE(error_of("[server]\nlisten = [\"127.0.0.1:25\"]\nlisten_odmr = [\"127.0.0.1:25\"]\n[auth]\n"
                     "passwd_file = \"u\"\n[odmr]\ndomains = { \"a\" = [\"x.example\"] }\n")
                .find("more than one listen key"),
            std::string::npos);
}

}  // namespace
}  // namespace petrel::config
