// [events] and [[events.webhook]] mistakes (config/events_sections.cpp):
// each is an error at the file's line, saying what is wrong.
#include <gtest/gtest.h>

#include <string>

#include "config/config.hpp"
#include "config_errors.hpp"

namespace petrel::config {
namespace {

using testing::error_of;

constexpr const char* kHook = "[[events.webhook]]\nname = \"crm\"\nurl = \"https://hooks.example.org/p\"\n";

TEST(EventsErrors, a_complete_webhook_is_read_with_its_defaults) {
  const Config c = load_config_text(std::string(kHook) + "secret_file = \"/etc/petrel/crm.secret\"\n", "petreld.toml");
  ASSERT_EQ(c.events.webhooks.size(), 1u);
  EXPECT_EQ(c.events.webhooks[0].name, "crm");
  EXPECT_EQ(c.events.webhooks[0].batch_size, 100u);
  EXPECT_EQ(c.events.webhooks[0].max_retry_interval, std::chrono::minutes(5));
  EXPECT_EQ(c.events.webhooks[0].max_age, std::chrono::hours(72));
  EXPECT_EQ(c.events.webhooks[0].line, 1u);
}

TEST(EventsErrors, a_webhook_without_a_secret_file_is_refused_at_its_table) {
  EXPECT_EQ(error_of(kHook),
            "petreld.toml:1: [[events.webhook]] needs a secret_file (the key its batches are signed with)");
}

TEST(EventsErrors, a_webhook_without_a_name_or_url_is_refused) {
  EXPECT_EQ(error_of("[[events.webhook]]\nurl = \"http://h/p\"\nsecret_file = \"/s\"\n"),
            "petreld.toml:1: [[events.webhook]] needs a name");
  EXPECT_EQ(error_of("[[events.webhook]]\nname = \"a\"\nsecret_file = \"/s\"\n"),
            "petreld.toml:1: [[events.webhook]] needs a url");
}

TEST(EventsErrors, an_unknown_type_a_bad_url_and_an_unknown_key_name_their_line) {
  const std::string base = std::string(kHook) + "secret_file = \"/s\"\n";
  EXPECT_NE(error_of(base + "types = [\"Delivered\"]\n").find("petreld.toml:5:"), std::string::npos);
  EXPECT_NE(error_of("[[events.webhook]]\nname = \"a\"\nurl = \"ftp://h/p\"\n").find("petreld.toml:3:"),
            std::string::npos);
  EXPECT_NE(error_of(base + "batchsize = 10\n").find("did you mean 'batch_size'"), std::string::npos);
  EXPECT_NE(error_of(base + "batch_size = 0\n").find("petreld.toml:5:"), std::string::npos);
}

TEST(EventsErrors, two_webhooks_of_one_name_are_refused) {
  const std::string one = std::string(kHook) + "secret_file = \"/s\"\n";
  EXPECT_EQ(error_of(one + one), "petreld.toml:5: a second webhook named crm");
}

TEST(EventsErrors, webhook_must_be_an_array_of_tables) {
  EXPECT_NE(error_of("[events]\nwebhook = \"http://h/p\"\n").find("petreld.toml:2:"), std::string::npos);
}

}  // namespace
}  // namespace petrel::config
