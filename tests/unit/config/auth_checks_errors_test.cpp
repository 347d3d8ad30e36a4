// [auth_checks], [limits] max_hops and [server] ipv6_client_prefix: read
// with their defaults, and each mistake an error at its line.
#include <gtest/gtest.h>

#include <string>

#include "config/config.hpp"
#include "config_errors.hpp"

namespace petrel::config {
namespace {

using testing::error_of;

TEST(AuthChecksConfig, defaults_and_every_key) {
  const Config d = load_config_text("", "petreld.toml");
  EXPECT_TRUE(d.auth_checks.enabled);
  EXPECT_TRUE(d.auth_checks.dmarc_enforce);
  EXPECT_FALSE(d.auth_checks.reject_spf_fail);
  EXPECT_EQ(d.auth_checks.max_dkim_signatures, 5u);
  EXPECT_EQ(d.auth_checks.timeout, std::chrono::seconds(20));
  EXPECT_EQ(d.session.limits.max_hops, 50u);
  EXPECT_EQ(d.ipv6_client_prefix, 64u);
  const Config c = load_config_text(
      "[auth_checks]\nenabled = false\ndmarc_enforce = false\nreject_spf_fail = true\nmax_dkim_signatures = 2\n"
      "quarantine_folder = \"Junk\"\ntimeout = \"5s\"\n[limits]\nmax_hops = 0\n[server]\nipv6_client_prefix = 48\n",
      "petreld.toml");
  EXPECT_FALSE(c.auth_checks.enabled);
  EXPECT_FALSE(c.auth_checks.dmarc_enforce);
  EXPECT_TRUE(c.auth_checks.reject_spf_fail);
  EXPECT_EQ(c.auth_checks.max_dkim_signatures, 2u);
  EXPECT_EQ(c.auth_checks.quarantine_folder, "Junk");
  EXPECT_EQ(c.auth_checks.timeout, std::chrono::seconds(5));
  EXPECT_EQ(c.session.limits.max_hops, 0u);
  EXPECT_EQ(c.ipv6_client_prefix, 48u);
}

TEST(AuthChecksConfig, mistakes_are_errors_at_their_line) {
  for (const char* text : {"[auth_checks]\nquarantine_folder = \"../mail\"\n",
                           "[auth_checks]\nquarantine_folder = \".Junk\"\n",
                           "[auth_checks]\nmax_dkim_signatures = 51\n",
                           "[auth_checks]\nenabled = \"yes\"\n",
                           "[auth_checks]\ntimeout = \"soon\"\n",
                           "[auth_checks]\nreject_spf = true\n",
                           "[limits]\nmax_hops = 1001\n",
                           "[server]\nipv6_client_prefix = 129\n"}) {
    const std::string e = error_of(text);
    EXPECT_TRUE(e.starts_with("petreld.toml:2: ")) << text << " -> " << e;
  }
}

}  // namespace
}  // namespace petrel::config
