#include "delivery/route.hpp"

#include <gtest/gtest.h>

namespace petrel::delivery {
namespace {

Route parsed(std::string_view text) {
  std::string error;
  auto r = parse_route(text, error);
  EXPECT_TRUE(r) << text << ": " << error;
  return r.value_or(Route{});
}

TEST(Route, bracketed_smtp_host_skips_the_mx_lookup) {
  const Route r = parsed("smtp:[10.0.0.5]:2525");
  EXPECT_EQ(r.kind, Route::Kind::smtp);
  EXPECT_EQ(r.host, "10.0.0.5");
  EXPECT_EQ(r.port, 2525);
  EXPECT_FALSE(r.mx_lookup);
  EXPECT_EQ(r.str(), "smtp:[10.0.0.5]:2525");
}

TEST(Route, bare_smtp_host_looks_up_its_mx_on_port_25) {
  const Route r = parsed("smtp:relay.example.org");
  EXPECT_TRUE(r.mx_lookup);
  EXPECT_EQ(r.port, 25);
}

TEST(Route, lmtp_over_a_unix_socket_or_tcp) {
  EXPECT_EQ(parsed("lmtp:unix:/run/dovecot/lmtp").unix_path, "/run/dovecot/lmtp");
  const Route tcp = parsed("lmtp:127.0.0.1:24");
  EXPECT_EQ(tcp.kind, Route::Kind::lmtp);
  EXPECT_EQ(tcp.port, 24);
  EXPECT_FALSE(tcp.mx_lookup);
  EXPECT_EQ(parsed("lmtp:[::1]:2424").host, "::1");
}

TEST(Route, local_and_bad_syntax) {
  EXPECT_EQ(parsed("local").kind, Route::Kind::local);
  std::string error;
  for (const char* bad : {"", "smtp:", "smtp:[host", "smtp:[h]x", "smtp:h:0", "smtp:h:70000", "lmtp:unix:relative",
                          "uucp:host", "smtp:bad host"}) {
    EXPECT_FALSE(parse_route(bad, error)) << bad;
    EXPECT_FALSE(error.empty());
  }
}

TEST(Route, relayhost_forms) {
  std::string error;
  auto bracketed = parse_relayhost("[smtp.example.org]:587", error);
  ASSERT_TRUE(bracketed);
  EXPECT_FALSE(bracketed->mx_lookup);
  EXPECT_EQ(bracketed->port, 587);
  auto bare = parse_relayhost("example.org", error);
  ASSERT_TRUE(bare);
  EXPECT_TRUE(bare->mx_lookup);
}

TEST(Route, transport_map_then_local_then_relayhost_then_dns) {
  RoutingTable t;
  std::string error;
  t.transports["example.org"] = *parse_route("smtp:[10.0.0.1]:25", error);
  t.transports[".corp.example"] = *parse_route("lmtp:unix:/run/lmtp", error);
  EXPECT_EQ(route_for(t, "example.org", false)->host, "10.0.0.1");
  EXPECT_EQ(route_for(t, "a.b.corp.example", false)->unix_path, "/run/lmtp");
  EXPECT_FALSE(route_for(t, "corp.example", false));  // ".corp.example" is for subdomains only
  EXPECT_EQ(route_for(t, "localhost", true)->kind, Route::Kind::local);
  EXPECT_FALSE(route_for(t, "elsewhere.example", false));
  t.relayhost = *parse_relayhost("[smarthost.example]:2525", error);
  EXPECT_EQ(route_for(t, "elsewhere.example", false)->host, "smarthost.example");
  EXPECT_EQ(route_for(t, "localhost", true)->kind, Route::Kind::local);
}

}  // namespace
}  // namespace petrel::delivery
