// [cluster] and scope = "cluster" in [shaping] (docs/config.md, docs/cluster.md).
#include <gtest/gtest.h>

#include <string>

#include "config/config.hpp"
#include "config_errors.hpp"

namespace petrel::config {
namespace {

using testing::error_of;

TEST(ClusterKeys, defaults_are_no_redis_and_the_host_name) {
  const Config c = load_config_text("", "petreld.toml");
  EXPECT_TRUE(c.cluster.redis.empty());
  EXPECT_EQ(c.cluster.node_name, c.hostname);
  EXPECT_EQ(c.cluster.redis_timeout, std::chrono::milliseconds(200));
  EXPECT_EQ(c.cluster.token_batch, 20u);
  EXPECT_EQ(c.cluster.lease_ttl, std::chrono::seconds(10));
}

TEST(ClusterKeys, every_key_is_read) {
  const Config c = load_config_text(
      "[cluster]\nnode_name = \"mta-2\"\nredis = \"redis://:s3cret@10.0.0.5:6380/2\"\nredis_password = \"x\"\n"
      "redis_timeout = \"150ms\"\ntoken_batch = 50\nheartbeat_interval = \"2s\"\nheartbeat_ttl = \"10s\"\n"
      "lease_ttl = \"30s\"\n",
      "petreld.toml");
  EXPECT_EQ(c.cluster.node_name, "mta-2");
  EXPECT_EQ(c.cluster.redis, "redis://:s3cret@10.0.0.5:6380/2");
  EXPECT_EQ(c.cluster.redis_password, "x");
  EXPECT_EQ(c.cluster.redis_timeout, std::chrono::milliseconds(150));
  EXPECT_EQ(c.cluster.token_batch, 50u);
  EXPECT_EQ(c.cluster.heartbeat_interval, std::chrono::seconds(2));
  EXPECT_EQ(c.cluster.heartbeat_ttl, std::chrono::seconds(10));
  EXPECT_EQ(c.cluster.lease_ttl, std::chrono::seconds(30));
}

TEST(ClusterKeys, redis_tls_keys_need_rediss_and_go_in_pairs) {
  EXPECT_NE(error_of("[cluster]\nredis = \"redis://h:1\"\nredis_tls_ca = \"/etc/ssl/certs/ca-certificates.crt\"\n")
                .find("rediss://"),
            std::string::npos);
  EXPECT_NE(error_of("[cluster]\nredis = \"rediss://h:1\"\nredis_tls_cert = \"/etc/hostname\"\n").find("go together"),
            std::string::npos);
}

TEST(ClusterKeys, bad_values_name_their_line) {
  EXPECT_NE(error_of("[cluster]\nredis = \"http://x\"\n").find("petreld.toml:2:"), std::string::npos);
  EXPECT_NE(error_of("[cluster]\nnode_name = \"a b\"\n").find("petreld.toml:2:"), std::string::npos);
  EXPECT_NE(error_of("[cluster]\ntoken_batch = 0\n").find("petreld.toml:2:"), std::string::npos);
  EXPECT_NE(error_of("[cluster]\nredis_timeout = \"1ms\"\n").find("at least 10ms"), std::string::npos);
  EXPECT_NE(error_of("[cluster]\nnats_url = \"x\"\n").find("unknown key 'nats_url' in [cluster]"), std::string::npos);
}

TEST(ClusterKeys, a_heartbeat_ttl_shorter_than_its_interval_is_refused) {
  EXPECT_NE(error_of("[cluster]\nheartbeat_interval = \"5s\"\nheartbeat_ttl = \"2s\"\n").find("heartbeat_ttl"),
            std::string::npos);
}

TEST(ClusterScope, a_blocks_scope_applies_to_each_limit_it_sets) {
  const Config c = load_config_text(
      "[cluster]\nredis = \"redis://127.0.0.1:6379\"\n"
      "[shaping.domain.\"gmail.com\"]\nmax_message_rate = \"30/s\"\nconnection_limit = 5\nscope = \"cluster\"\n"
      "[shaping.default]\nmax_connection_rate = \"10/s\"\n",
      "petreld.toml");
  const auto& gmail = c.shaping.domains.at("gmail.com");
  EXPECT_TRUE(gmail.cluster.max_message_rate);
  EXPECT_TRUE(gmail.cluster.connection_limit);
  EXPECT_FALSE(gmail.cluster.max_connection_rate);  // not set there
  const auto limits = shaping::limits_for(c.shaping, nullptr, {"gmail.com"});
  EXPECT_TRUE(limits.cluster.max_message_rate);
  EXPECT_TRUE(limits.cluster.connection_limit);
  EXPECT_FALSE(limits.cluster.max_connection_rate);  // from [shaping.default], local
}

TEST(ClusterScope, a_provider_block_takes_scope_too) {
  const Config c = load_config_text(
      "[cluster]\nredis = \"redis://127.0.0.1:6379\"\n"
      "[shaping.provider.yahoo]\nscope = \"cluster\"\nmx_suffix = [\".yahoodns.net\"]\nmax_message_rate = \"5/s\"\n",
      "petreld.toml");
  EXPECT_TRUE(c.shaping.providers.at(0).limits.cluster.max_message_rate);
}

TEST(ClusterScope, cluster_scope_without_redis_is_refused) {
  const std::string e = error_of("[shaping.default]\nmax_message_rate = \"30/s\"\nscope = \"cluster\"\n");
  EXPECT_NE(e.find("[shaping.default] has scope = \"cluster\", which needs Redis"), std::string::npos) << e;
}

TEST(ClusterScope, a_bad_scope_and_a_scope_in_a_rule_are_refused) {
  EXPECT_NE(error_of("[shaping.default]\nscope = \"global\"\n").find("petreld.toml:2:"), std::string::npos);
  const std::string e = error_of(
      "[[shaping.rule]]\nmatch = \"TSS04\"\naction = \"set\"\nduration = \"1h\"\n"
      "set = { max_message_rate = \"1/s\", scope = \"cluster\" }\n");
  EXPECT_NE(e.find("unknown key 'scope'"), std::string::npos) << e;
}

}  // namespace
}  // namespace petrel::config
