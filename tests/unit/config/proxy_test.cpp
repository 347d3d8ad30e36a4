// [server] proxy_protocol and proxy_trusted, [timeouts] proxy_header: the
// listeners behind a load balancer (docs/cluster.md).
#include <gtest/gtest.h>

#include <string>

#include "config/config.hpp"
#include "config_errors.hpp"

namespace petrel::config {
namespace {

using testing::error_of;

TEST(ProxyConfig, off_by_default) {
  const Config d = load_config_text("", "petreld.toml");
  EXPECT_TRUE(d.proxy.listeners.empty());
  EXPECT_TRUE(d.proxy.trusted.empty());
  EXPECT_EQ(d.proxy.header_timeout, std::chrono::seconds(5));
}

TEST(ProxyConfig, names_listeners_of_any_kind) {
  const std::string text =
      "[server]\nlisten = [\"127.0.0.1:2525\", \"127.0.0.1:2526\"]\nlisten_smtps = [\"127.0.0.1:4650\"]\n"
      "proxy_protocol = [\"127.0.0.1:2525\", \"127.0.0.1:4650\"]\nproxy_trusted = [\"10.0.0.0/8\", \"127.0.0.1\"]\n"
      "[timeouts]\nproxy_header = \"2s\"\n[tls]\ncert = \"c.pem\"\nkey = \"k.pem\"\n";
  const Config c = load_config_text(text, "petreld.toml");
  EXPECT_EQ(c.proxy.listeners, (std::vector<std::string>{"127.0.0.1:2525", "127.0.0.1:4650"}));
  EXPECT_EQ(c.proxy.trusted, (std::vector<std::string>{"10.0.0.0/8", "127.0.0.1"}));
  EXPECT_EQ(c.proxy.header_timeout, std::chrono::seconds(2));
  EXPECT_EQ(error_of(text), "");
}

TEST(ProxyConfig, an_address_no_listener_has_is_an_error_at_its_line) {
  EXPECT_EQ(error_of("[server]\nlisten = [\"127.0.0.1:2525\"]\n\nproxy_protocol = [\"127.0.0.1:2526\"]\n"),
            "petreld.toml:4: [server] proxy_protocol names \"127.0.0.1:2526\", which is not an address of a listen "
            "key in [server]");
  // The listen key may come after it.
  EXPECT_EQ(error_of("[server]\nproxy_protocol = [\"127.0.0.1:2526\"]\nlisten_submission = [\"127.0.0.1:2526\"]\n"
                     "[relay]\ntrusted_networks = [\"127.0.0.1\"]\n"),
            "");
}

TEST(ProxyConfig, malformed_values_are_errors_at_their_line) {
  EXPECT_NE(error_of("[server]\nproxy_protocol = [\"nowhere\"]\n").find("petreld.toml:2: [server] proxy_protocol"),
            std::string::npos);
  EXPECT_NE(error_of("[server]\nproxy_protocol = \"127.0.0.1:2525\"\n").find("petreld.toml:2:"), std::string::npos);
  EXPECT_NE(error_of("[server]\nproxy_protocol = [\"127.0.0.1:2525\", \"127.0.0.1:2525\"]\n").find("petreld.toml:2:"),
            std::string::npos);
  EXPECT_NE(error_of("[server]\n\nproxy_trusted = [\"10.0.0.0/33\"]\n").find("petreld.toml:3: [server] proxy_trusted"),
            std::string::npos);
  EXPECT_NE(error_of("[timeouts]\nproxy_header = \"soon\"\n").find("petreld.toml:2: [timeouts] proxy_header"),
            std::string::npos);
}

}  // namespace
}  // namespace petrel::config
