// [cluster] shared_suppression, shared_suppression_log_length and
// shared_suppression_queue (docs/cluster.md, "The shared suppression
// list"): defaults, every key, and mistakes at their line.
#include <gtest/gtest.h>

#include <string>

#include "config/config.hpp"
#include "config_errors.hpp"

namespace petrel::config {
namespace {

using testing::error_of;

TEST(ClusterSuppressionConfig, shared_by_default_once_redis_is_set) {
  const Config none = load_config_text("", "petreld.toml");
  EXPECT_FALSE(shares_suppression(none));
  const Config c = load_config_text("[cluster]\nredis = \"redis://127.0.0.1:6379\"\n", "petreld.toml");
  EXPECT_TRUE(shares_suppression(c));
  EXPECT_EQ(c.cluster.shared_suppression_log_length, 100000u);
  EXPECT_EQ(c.cluster.shared_suppression_queue, 100000u);
}

TEST(ClusterSuppressionConfig, every_key) {
  const Config c = load_config_text(
      "[cluster]\nredis = \"redis://127.0.0.1:6379\"\nshared_suppression = false\n"
      "shared_suppression_log_length = 5000\nshared_suppression_queue = 20\n",
      "petreld.toml");
  EXPECT_FALSE(shares_suppression(c));
  EXPECT_EQ(c.cluster.shared_suppression_log_length, 5000u);
  EXPECT_EQ(c.cluster.shared_suppression_queue, 20u);
}

TEST(ClusterSuppressionConfig, mistakes_are_errors_at_their_line) {
  EXPECT_EQ(error_of("[cluster]\nshared_suppression = true\n"),
            "petreld.toml: [cluster] shared_suppression = true needs Redis: set [cluster] redis = \"redis://HOST:PORT\"");
  EXPECT_NE(error_of("[cluster]\nredis = \"redis://127.0.0.1:6379\"\n\nshared_suppression = \"yes\"\n").find(
                "petreld.toml:4:"),
            std::string::npos);
  EXPECT_NE(error_of("[cluster]\nredis = \"redis://127.0.0.1:6379\"\nshared_suppression_log_length = 10\n").find(
                "petreld.toml:3:"),
            std::string::npos);
  EXPECT_NE(error_of("[cluster]\nredis = \"redis://127.0.0.1:6379\"\nshared_suppression_queue = 0\n").find(
                "petreld.toml:3:"),
            std::string::npos);
}

}  // namespace
}  // namespace petrel::config
