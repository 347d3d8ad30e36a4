// [cluster] (config/cluster_sections.cpp): the node's name and the NATS
// keys, their defaults, and the mistakes refused at their line.
#include <gtest/gtest.h>

#include <string>

#include "config/config.hpp"
#include "config_errors.hpp"

namespace petrel::config {
namespace {

using testing::error_of;

TEST(Cluster, without_the_section_nothing_is_published_and_the_node_is_the_host) {
  const Config c = load_config_text("", "petreld.toml");
  EXPECT_EQ(c.cluster.nats, "");
  EXPECT_EQ(c.cluster.node_name, c.hostname);
  EXPECT_FALSE(c.cluster.node_name.empty());
  EXPECT_EQ(c.cluster.nats_max_in_flight, 256u);
}

TEST(Cluster, nats_alone_is_a_valid_cluster_section) {
  const Config c = load_config_text("[cluster]\nnats = \"nats://127.0.0.1:4222\"\nnode_name = \"mx-1\"\n",
                                    "petreld.toml");
  EXPECT_EQ(c.cluster.nats, "nats://127.0.0.1:4222");
  EXPECT_EQ(c.cluster.node_name, "mx-1");
  EXPECT_EQ(error_of("[cluster]\nnats = \"nats://127.0.0.1:4222\"\n"), "");
}

TEST(Cluster, urls_with_a_user_tls_and_several_servers_are_read) {
  const std::string urls = "nats://petrel:s3cret@10.0.0.1:4222,tls://10.0.0.2:4222";
  const Config c = load_config_text("[cluster]\nnats = \"" + urls + "\"\nnats_tls_ca = \"/etc/petrel/nats-ca.pem\"\n"
                                    "nats_creds = \"/etc/petrel/petrel.creds\"\nnats_max_in_flight = 1000\n",
                                    "petreld.toml");
  EXPECT_EQ(c.cluster.nats, urls);
  EXPECT_EQ(c.cluster.nats_tls_ca, "/etc/petrel/nats-ca.pem");
  EXPECT_EQ(c.cluster.nats_creds, "/etc/petrel/petrel.creds");
  EXPECT_EQ(c.cluster.nats_max_in_flight, 1000u);
}

TEST(Cluster, a_url_that_is_not_nats_is_refused_at_its_line) {
  EXPECT_EQ(error_of("[cluster]\nnats = \"http://127.0.0.1:4222\"\n"),
            "petreld.toml:2: [cluster] nats must be a NATS URL such as \"nats://127.0.0.1:4222\" (nats:// or "
            "tls://, several separated by commas), got \"http://127.0.0.1:4222\"");
  EXPECT_NE(error_of("[cluster]\nnats = \"nats://a:1,\"\n"), "");
  EXPECT_NE(error_of("[cluster]\nnats = \"nats://\"\n"), "");
}

TEST(Cluster, bad_names_counts_and_unknown_keys_are_refused) {
  EXPECT_NE(error_of("[cluster]\nnode_name = \"a b\"\n").find("petreld.toml:2:"), std::string::npos);
  EXPECT_NE(error_of("[cluster]\nnats = \"nats://h:1\"\nnats_max_in_flight = 0\n").find("petreld.toml:3:"),
            std::string::npos);
  EXPECT_NE(error_of("[cluster]\nnats_tokn = \"t\"\n").find("did you mean 'nats_token'"), std::string::npos);
}

TEST(Cluster, nats_options_without_nats_are_refused) {
  EXPECT_EQ(error_of("[cluster]\nnats_token = \"t\"\n"), "petreld.toml: [cluster] nats_token is set but nats is not");
}

TEST(Cluster, a_client_certificate_needs_its_key) {
  EXPECT_EQ(error_of("[cluster]\nnats = \"tls://h:4222\"\nnats_tls_cert = \"/c.pem\"\n"),
            "petreld.toml: [cluster] nats_tls_cert and nats_tls_key go together (a client certificate and its key)");
}

}  // namespace
}  // namespace petrel::config
