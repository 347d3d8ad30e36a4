// [local] aliases, virtual_aliases and their limits (docs/aliases.md):
// defaults, values, and each mistake an error at its line.
#include <gtest/gtest.h>

#include <string>

#include "config/config.hpp"

namespace petrel::config {
namespace {

Config load(std::string_view text) { return load_config_text(text, "petreld.toml"); }

void expect_rejected_at(std::string_view text, std::size_t line) {
  try {
    load(text);
    ADD_FAILURE() << "loaded without error:\n" << text;
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.line(), line) << text << "\n -> " << e.what();
  }
}

TEST(AliasesKeys, DefaultsAreNoTablesNoCommandsAndPostfixLikeLimits) {
  const Config c = load("");
  EXPECT_EQ(c.aliases.aliases_file, "");
  EXPECT_EQ(c.aliases.virtual_file, "");
  EXPECT_FALSE(c.aliases.allow_commands);
  EXPECT_EQ(c.aliases.max_depth, 20u);
  EXPECT_EQ(c.aliases.max_recipients, 1000u);
  EXPECT_EQ(c.aliases.command_timeout, std::chrono::seconds(1000));
  EXPECT_EQ(c.aliases.command_output_limit, 4096u);
}

TEST(AliasesKeys, AreRead) {
  const Config c = load(
      "[local]\n"
      "aliases = \"/etc/aliases\"\n"
      "virtual_aliases = \"/etc/petrel/virtual\"\n"
      "allow_commands = true\n"
      "alias_max_depth = 5\n"
      "alias_max_recipients = 50\n"
      "command_timeout = \"2m\"\n"
      "command_output_limit = \"1KiB\"\n");
  EXPECT_EQ(c.aliases.aliases_file, "/etc/aliases");
  EXPECT_EQ(c.aliases.virtual_file, "/etc/petrel/virtual");
  EXPECT_TRUE(c.aliases.allow_commands);
  EXPECT_EQ(c.aliases.max_depth, 5u);
  EXPECT_EQ(c.aliases.max_recipients, 50u);
  EXPECT_EQ(c.aliases.command_timeout, std::chrono::minutes(2));
  EXPECT_EQ(c.aliases.command_output_limit, 1024u);
}

TEST(AliasesKeys, EachMistakeIsAnErrorAtItsLine) {
  expect_rejected_at("[local]\naliases = \"\"\n", 2);
  expect_rejected_at("[local]\n\nvirtual_aliases = 3\n", 3);
  expect_rejected_at("[local]\nallow_commands = \"yes\"\n", 2);
  expect_rejected_at("[local]\nalias_max_depth = 0\n", 2);
  expect_rejected_at("[local]\nalias_max_recipients = -1\n", 2);
  expect_rejected_at("[local]\ncommand_timeout = \"0s\"\n", 2);
  expect_rejected_at("[local]\ncommand_output_limit = \"lots\"\n", 2);
}

}  // namespace
}  // namespace petrel::config
