#include "util/cidr.hpp"

#include <gtest/gtest.h>

namespace petrel::util {
namespace {

TEST(Cidr, ipv4_network_contains_its_hosts_only) {
  auto net = Cidr::parse("192.0.2.0/24");
  ASSERT_TRUE(net);
  EXPECT_TRUE(net->contains("192.0.2.1"));
  EXPECT_TRUE(net->contains("192.0.2.255"));
  EXPECT_FALSE(net->contains("192.0.3.1"));
  EXPECT_FALSE(net->contains("::1"));
}

TEST(Cidr, bare_address_is_one_host) {
  auto host = Cidr::parse("127.0.0.1");
  ASSERT_TRUE(host);
  EXPECT_TRUE(host->contains("127.0.0.1"));
  EXPECT_FALSE(host->contains("127.0.0.2"));
  EXPECT_EQ(host->str(), "127.0.0.1/32");
}

TEST(Cidr, prefixes_that_are_not_whole_octets) {
  auto net = Cidr::parse("10.64.0.0/10");
  ASSERT_TRUE(net);
  EXPECT_TRUE(net->contains("10.127.255.255"));
  EXPECT_FALSE(net->contains("10.128.0.0"));
  auto all = Cidr::parse("0.0.0.0/0");
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->contains("203.0.113.9"));
}

TEST(Cidr, ipv6_and_mapped_ipv4_clients) {
  auto net = Cidr::parse("2001:db8::/32");
  ASSERT_TRUE(net);
  EXPECT_TRUE(net->contains("2001:db8:1::5"));
  EXPECT_FALSE(net->contains("2001:db9::1"));
  auto v4 = Cidr::parse("127.0.0.0/8");
  ASSERT_TRUE(v4);
  EXPECT_TRUE(v4->contains("::ffff:127.0.0.5"));
}

TEST(Cidr, bad_syntax_is_refused) {
  for (const char* bad : {"", "/8", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/8x", "host.example", "10.0.0/8",
                          "::ffff:10.0.0.0/104"}) {
    EXPECT_FALSE(Cidr::parse(bad)) << bad;
  }
}

}  // namespace
}  // namespace petrel::util

namespace petrel::util {
namespace {

TEST(ClientNetwork, Ipv6ClientsAreTheirNetworkAndIpv4ClientsTheirAddress) {
  EXPECT_EQ(client_network("2001:db8:1:2:aaaa::1", 64), "2001:db8:1:2::/64");
  EXPECT_EQ(client_network("2001:db8:1:2:ffff:ffff:ffff:ffff", 64), "2001:db8:1:2::/64");
  EXPECT_EQ(client_network("2001:db8:1:3::1", 64), "2001:db8:1:3::/64");
  EXPECT_EQ(client_network("2001:db8:1:2::1", 48), "2001:db8:1::/48");
  EXPECT_EQ(client_network("2001:db8::1", 128), "2001:db8::1/128");
  EXPECT_EQ(client_network("2001:db8::1", 61), "2001:db8::/61");
  EXPECT_EQ(client_network("192.0.2.7", 64), "192.0.2.7");
  EXPECT_EQ(client_network("::ffff:192.0.2.7", 64), "192.0.2.7");
  EXPECT_EQ(client_network("not an address", 64), "not an address");
}

}  // namespace
}  // namespace petrel::util
