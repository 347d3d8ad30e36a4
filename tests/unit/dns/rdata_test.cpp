#include "dns/rdata.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace petrel::dns {
namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes wire_name(std::initializer_list<std::string> labels) {
  Bytes out;
  for (const auto& label : labels) {
    out.push_back(static_cast<std::uint8_t>(label.size()));
    out.insert(out.end(), label.begin(), label.end());
  }
  out.push_back(0);
  return out;
}

TEST(Rdata, name_is_lower_case_without_trailing_dot) {
  const Bytes data = wire_name({"MX1", "Example", "ORG"});
  std::size_t pos = 0;
  EXPECT_EQ(rdata::name(data, pos), "mx1.example.org");
  EXPECT_EQ(pos, data.size());
}

TEST(Rdata, root_name_is_a_dot) {
  const Bytes data = {0};
  std::size_t pos = 0;
  EXPECT_EQ(rdata::name(data, pos), ".");
}

TEST(Rdata, odd_bytes_in_a_label_are_escaped) {
  const Bytes data = {3, 'a', '.', 0xff, 0};
  std::size_t pos = 0;
  EXPECT_EQ(rdata::name(data, pos), "a\\046\\255");
}

TEST(Rdata, truncated_names_and_compression_pointers_are_rejected) {
  std::size_t pos = 0;
  EXPECT_FALSE(rdata::name(Bytes{3, 'a', 'b'}, pos));
  pos = 0;
  EXPECT_FALSE(rdata::name(Bytes{3, 'a', 'b', 'c'}, pos));  // no root label
  pos = 0;
  EXPECT_FALSE(rdata::name(Bytes{0xc0, 0x0c}, pos));
}

TEST(Rdata, mx_is_preference_and_host) {
  Bytes data = {0x01, 0x00};
  const Bytes host = wire_name({"mx", "example"});
  data.insert(data.end(), host.begin(), host.end());
  EXPECT_EQ(rdata::mx(data), (MxRecord{256, "mx.example"}));
  EXPECT_EQ(rdata::mx(Bytes{0, 0, 0}), (MxRecord{0, "."}));  // RFC 7505 null MX
  EXPECT_FALSE(rdata::mx(Bytes{0, 10}));
  data.push_back(0);  // trailing garbage
  EXPECT_FALSE(rdata::mx(data));
}

TEST(Rdata, addresses_need_their_exact_length) {
  EXPECT_EQ(rdata::a(Bytes{192, 0, 2, 1})->str(), "192.0.2.1");
  EXPECT_FALSE(rdata::a(Bytes{192, 0, 2}));
  Bytes v6(16, 0);
  v6[0] = 0x20, v6[1] = 0x01, v6[2] = 0x0d, v6[3] = 0xb8, v6[15] = 1;
  EXPECT_EQ(rdata::aaaa(v6)->str(), "2001:db8::1");
  EXPECT_FALSE(rdata::aaaa(Bytes{1, 2, 3, 4}));
}

TEST(Rdata, txt_keeps_its_character_strings) {
  const Bytes data = {3, 'a', 'b', 'c', 0, 2, 'd', 'e'};
  const auto record = rdata::txt(data);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->strings, (std::vector<std::string>{"abc", "", "de"}));
  EXPECT_EQ(record->joined(), "abcde");
  EXPECT_FALSE(rdata::txt(Bytes{5, 'a'}));
}

TEST(Rdata, tlsa_fields) {
  const auto record = rdata::tlsa(Bytes{3, 1, 1, 0xde, 0xad});
  ASSERT_TRUE(record);
  EXPECT_EQ(record->usage, 3);
  EXPECT_EQ(record->selector, 1);
  EXPECT_EQ(record->matching_type, 1);
  EXPECT_EQ(record->data, (std::vector<std::uint8_t>{0xde, 0xad}));
  EXPECT_FALSE(rdata::tlsa(Bytes{3, 1}));
}

TEST(IpAddressText, parses_and_prints_both_families) {
  EXPECT_EQ(IpAddress::parse("127.0.0.1")->str(), "127.0.0.1");
  EXPECT_FALSE(IpAddress::parse("127.0.0.1")->is_v6());
  EXPECT_EQ(IpAddress::parse("2001:DB8:0:0::1")->str(), "2001:db8::1");
  EXPECT_FALSE(IpAddress::parse("mx.example"));
  EXPECT_FALSE(IpAddress::parse("[::1]"));
  EXPECT_FALSE(IpAddress::parse(""));
}

TEST(IpAddressText, reverse_names_for_ptr) {
  EXPECT_EQ(reverse_name(*IpAddress::parse("192.0.2.1")), "1.2.0.192.in-addr.arpa");
  EXPECT_EQ(reverse_name(*IpAddress::parse("2001:db8::567:89ab")),
            "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");  // RFC 3596 §2.5
}

}  // namespace
}  // namespace petrel::dns
