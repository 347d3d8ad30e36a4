// [spool] maildrop, maildrop_senders and maildrop_scan_interval
// (docs/petrel-sendmail.md): defaults, values, and mistakes at their line.
#include <gtest/gtest.h>

#include <string>

#include "config/config.hpp"
#include "config_errors.hpp"

namespace petrel::config {
namespace {

using testing::error_of;

TEST(MaildropKeys, default_is_in_the_spool_with_any_sender) {
  const Config c = load_config_text("[spool]\ndir = \"/var/spool/petrel\"\n", "petreld.toml");
  EXPECT_EQ(maildrop_dir(c), "/var/spool/petrel/maildrop");
  EXPECT_FALSE(c.maildrop_own_senders);
  EXPECT_EQ(c.maildrop_scan_interval, std::chrono::seconds(60));
}

TEST(MaildropKeys, values_are_read) {
  const Config c = load_config_text(
      "[spool]\nmaildrop = \"/var/spool/petrel-drop\"\nmaildrop_senders = \"own\"\nmaildrop_scan_interval = \"5s\"\n",
      "petreld.toml");
  EXPECT_EQ(maildrop_dir(c), "/var/spool/petrel-drop");
  EXPECT_TRUE(c.maildrop_own_senders);
  EXPECT_EQ(c.maildrop_scan_interval, std::chrono::seconds(5));
}

TEST(MaildropKeys, mistakes_are_errors_at_their_line) {
  EXPECT_NE(error_of("[spool]\nmaildrop = \"\"\n").find("petreld.toml:2:"), std::string::npos);
  const std::string senders = error_of("[spool]\n\nmaildrop_senders = \"anyone\"\n");
  EXPECT_NE(senders.find("petreld.toml:3:"), std::string::npos) << senders;
  EXPECT_NE(senders.find("own"), std::string::npos) << senders;
  EXPECT_NE(error_of("[spool]\nmaildrop_scan_interval = \"10ms\"\n").find("petreld.toml:2:"), std::string::npos);
}

}  // namespace
}  // namespace petrel::config
