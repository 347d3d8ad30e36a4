#include "proxy/proxy_header.hpp"

#include <gtest/gtest.h>

#include <string>

namespace petrel::proxy {
namespace {

using namespace std::string_literals;

const std::string kSignature = "\r\n\r\n\0\r\nQUIT\n"s;

// A v2 header: version 2, command `cmd`, family/transport `fam`, then `block`.
std::string v2(unsigned cmd, unsigned fam, const std::string& block) {
  std::string h = kSignature;
  h += static_cast<char>(0x20 | cmd);
  h += static_cast<char>(fam);
  h += static_cast<char>(block.size() >> 8);
  h += static_cast<char>(block.size() & 0xff);
  return h + block;
}

// 192.0.2.7:40000 -> 198.51.100.1:25
const std::string kInetBlock = "\xc0\x00\x02\x07\xc6\x33\x64\x01\x9c\x40\x00\x19"s;

Error error_of(std::string_view text) {
  const Result r = parse(text);
  EXPECT_TRUE(r.failed()) << "for " << testing::PrintToString(std::string(text));
  return r.error;
}

TEST(ProxyV1, tcp4_header_gives_the_client_and_its_length) {
  const std::string header = "PROXY TCP4 192.0.2.7 198.51.100.1 40000 25\r\n";
  const Result r = parse(header + "EHLO x\r\n");
  ASSERT_TRUE(r.done());
  EXPECT_EQ(r.header.version, Version::v1);
  EXPECT_EQ(r.header.length, header.size());
  ASSERT_TRUE(r.header.source);
  EXPECT_EQ(r.header.source->address, "192.0.2.7");
  EXPECT_EQ(r.header.source->port, 40000);
  EXPECT_EQ(r.header.destination->address, "198.51.100.1");
  EXPECT_EQ(r.header.destination->port, 25);
}

TEST(ProxyV1, tcp6_header_is_written_back_in_canonical_form) {
  const Result r = parse("PROXY TCP6 2001:db8:0:0::7 2001:db8::1 65535 0\r\n");
  ASSERT_TRUE(r.done());
  EXPECT_EQ(r.header.source->address, "2001:db8::7");
  EXPECT_EQ(r.header.source->port, 65535);
  EXPECT_EQ(r.header.destination->port, 0);
}

TEST(ProxyV1, unknown_means_use_the_connection_and_ignores_the_rest) {
  for (const char* text : {"PROXY UNKNOWN\r\n", "PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n"}) {
    const Result r = parse(text);
    ASSERT_TRUE(r.done()) << text;
    EXPECT_FALSE(r.header.source);
    EXPECT_EQ(r.header.length, std::string(text).size());
  }
}

TEST(ProxyV1, every_prefix_of_a_header_needs_more) {
  const std::string header = "PROXY TCP4 192.0.2.7 198.51.100.1 40000 25\r\n";
  for (std::size_t n = 0; n < header.size(); ++n) {
    EXPECT_TRUE(parse(header.substr(0, n)).need_more()) << n;
  }
}

TEST(ProxyV1, longest_headers_are_read) {
  const std::string full = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
  const std::string tcp6 = "PROXY TCP6 " + full + " " + full + " 65535 65535\r\n";
  EXPECT_TRUE(parse(tcp6).done());
  // The spec's worst case, 107 octets: UNKNOWN followed by the longest addresses.
  const std::string unknown = "PROXY UNKNOWN " + full + " " + full + " 65535 65535\r\n";
  ASSERT_EQ(unknown.size(), kMaxV1Length);
  EXPECT_TRUE(parse(unknown).done());
}

TEST(ProxyV1, no_line_end_within_107_octets_is_too_long) {
  EXPECT_EQ(error_of("PROXY UNKNOWN " + std::string(93, 'x')), Error::v1_too_long);
  EXPECT_EQ(error_of("PROXY UNKNOWN " + std::string(92, 'x') + "\r\n"), Error::v1_too_long);
  EXPECT_TRUE(parse("PROXY UNKNOWN " + std::string(92, 'x')).need_more());
}

TEST(ProxyV1, wrong_start_is_a_bad_signature_at_once) {
  EXPECT_EQ(error_of("EHLO client.example\r\n"), Error::bad_signature);
  EXPECT_EQ(error_of("PROXZ"), Error::bad_signature);
  EXPECT_EQ(error_of("proxy TCP4 1.2.3.4 1.2.3.4 1 2\r\n"), Error::bad_signature);
  EXPECT_EQ(error_of("PROXY\r\n"), Error::bad_signature);
}

TEST(ProxyV1, unknown_protocol_is_refused) {
  EXPECT_EQ(error_of("PROXY UDP4 192.0.2.7 198.51.100.1 1 2\r\n"), Error::bad_v1_protocol);
  EXPECT_EQ(error_of("PROXY \r\n"), Error::bad_v1_protocol);
}

TEST(ProxyV1, spacing_and_field_count_are_strict) {
  EXPECT_EQ(error_of("PROXY TCP4  192.0.2.7 198.51.100.1 1 2\r\n"), Error::bad_v1_syntax);
  EXPECT_EQ(error_of("PROXY TCP4 192.0.2.7 198.51.100.1 1 2 \r\n"), Error::bad_v1_syntax);
  EXPECT_EQ(error_of("PROXY TCP4 192.0.2.7 198.51.100.1 1\r\n"), Error::bad_v1_syntax);
  EXPECT_EQ(error_of("PROXY TCP4 192.0.2.7 198.51.100.1 1 2 3\r\n"), Error::bad_v1_syntax);
  EXPECT_EQ(error_of("PROXY TCP4\r\n"), Error::bad_v1_syntax);
}

TEST(ProxyV1, line_end_must_be_crlf_and_text_printable) {
  EXPECT_EQ(error_of("PROXY TCP4 192.0.2.7 198.51.100.1 1 2\n"), Error::bad_v1_syntax);
  EXPECT_EQ(error_of("PROXY TCP4 192.0.2.7 198.51.100.1 1 2\rX"), Error::bad_v1_syntax);
  EXPECT_EQ(error_of("PROXY TCP4 192.0.2.7\t198.51.100.1 1 2\r\n"), Error::bad_v1_syntax);
  EXPECT_EQ(error_of("PROXY TCP4 192.0.2.7\0"s), Error::bad_v1_syntax);
}

TEST(ProxyV1, addresses_must_match_the_family) {
  EXPECT_EQ(error_of("PROXY TCP4 2001:db8::1 198.51.100.1 1 2\r\n"), Error::bad_v1_address);
  EXPECT_EQ(error_of("PROXY TCP6 192.0.2.7 2001:db8::1 1 2\r\n"), Error::bad_v1_address);
  EXPECT_EQ(error_of("PROXY TCP4 192.0.2 198.51.100.1 1 2\r\n"), Error::bad_v1_address);
  EXPECT_EQ(error_of("PROXY TCP4 192.0.2.256 198.51.100.1 1 2\r\n"), Error::bad_v1_address);
  EXPECT_EQ(error_of("PROXY TCP4 192.0.2.7 host.example 1 2\r\n"), Error::bad_v1_address);
}

TEST(ProxyV1, ports_are_decimal_without_leading_zeros_up_to_65535) {
  EXPECT_EQ(error_of("PROXY TCP4 192.0.2.7 198.51.100.1 65536 25\r\n"), Error::bad_v1_port);
  EXPECT_EQ(error_of("PROXY TCP4 192.0.2.7 198.51.100.1 025 25\r\n"), Error::bad_v1_port);
  EXPECT_EQ(error_of("PROXY TCP4 192.0.2.7 198.51.100.1 -1 25\r\n"), Error::bad_v1_port);
  EXPECT_EQ(error_of("PROXY TCP4 192.0.2.7 198.51.100.1 1 0x19\r\n"), Error::bad_v1_port);
  EXPECT_EQ(error_of("PROXY TCP4 192.0.2.7 198.51.100.1 1 999999\r\n"), Error::bad_v1_port);
}

TEST(ProxyV2, inet_stream_gives_the_client_and_leaves_what_follows) {
  const std::string header = v2(0x1, 0x11, kInetBlock);
  const std::string hello = "\x16\x03\x01\x02\x00"s;  // the start of a TLS ClientHello
  const Result r = parse(header + hello);
  ASSERT_TRUE(r.done());
  EXPECT_EQ(r.header.version, Version::v2);
  EXPECT_EQ(r.header.length, 28u);
  EXPECT_EQ(r.header.source->address, "192.0.2.7");
  EXPECT_EQ(r.header.source->port, 40000);
  EXPECT_EQ(r.header.destination->address, "198.51.100.1");
  EXPECT_EQ(r.header.destination->port, 25);
}

TEST(ProxyV2, inet6_stream_gives_the_client) {
  std::string block(36, '\0');
  block[0] = '\x20';
  block[1] = '\x01';
  block[2] = '\x0d';
  block[3] = '\xb8';
  block[15] = '\x07';
  block[16 + 15] = '\x01';
  block[32] = '\x01';
  block[33] = '\xbb';
  const Result r = parse(v2(0x1, 0x21, block));
  ASSERT_TRUE(r.done());
  EXPECT_EQ(r.header.source->address, "2001:db8::7");
  EXPECT_EQ(r.header.source->port, 443);
  EXPECT_EQ(r.header.destination->address, "::1");
}

TEST(ProxyV2, local_command_means_use_the_connection) {
  const Result r = parse(v2(0x0, 0x00, ""));
  ASSERT_TRUE(r.done());
  EXPECT_FALSE(r.header.source);
  EXPECT_EQ(r.header.length, 16u);
  // LOCAL ignores whatever family and addresses come with it.
  EXPECT_TRUE(parse(v2(0x0, 0xff, "abc")).done());
}

TEST(ProxyV2, unspec_and_unix_addresses_leave_the_connection_peer) {
  const Result unspec = parse(v2(0x1, 0x00, ""));
  ASSERT_TRUE(unspec.done());
  EXPECT_FALSE(unspec.header.source);
  const Result unix_socket = parse(v2(0x1, 0x31, std::string(216, '\0')));
  ASSERT_TRUE(unix_socket.done());
  EXPECT_FALSE(unix_socket.header.source);
}

TEST(ProxyV2, tlvs_after_the_addresses_are_skipped) {
  const std::string tlvs = "\x01\x00\x02h2"s + "\x04\x00\x00"s;  // ALPN, NOOP
  const Result r = parse(v2(0x1, 0x11, kInetBlock + tlvs));
  ASSERT_TRUE(r.done());
  EXPECT_EQ(r.header.length, 16 + 12 + tlvs.size());
  EXPECT_EQ(r.header.source->address, "192.0.2.7");
}

TEST(ProxyV2, every_prefix_of_a_header_needs_more) {
  const std::string header = v2(0x1, 0x11, kInetBlock + "\x04\x00\x01x"s);
  for (std::size_t n = 0; n < header.size(); ++n) {
    EXPECT_TRUE(parse(header.substr(0, n)).need_more()) << n;
  }
}

TEST(ProxyV2, bad_signature_is_refused_as_soon_as_it_differs) {
  EXPECT_EQ(error_of("\r\n\r\n\0\r\nQUIX"s), Error::bad_signature);
  EXPECT_EQ(error_of("\r\nEHLO"s), Error::bad_signature);
  EXPECT_EQ(error_of("\x16\x03\x01"s), Error::bad_signature);
}

TEST(ProxyV2, version_other_than_2_is_refused) {
  std::string header = v2(0x1, 0x11, kInetBlock);
  header[12] = '\x11';
  EXPECT_EQ(error_of(header.substr(0, 13)), Error::bad_v2_version);
  header[12] = '\x31';
  EXPECT_EQ(error_of(header), Error::bad_v2_version);
}

TEST(ProxyV2, command_other_than_local_or_proxy_is_refused) {
  EXPECT_EQ(error_of(v2(0x2, 0x11, kInetBlock)), Error::bad_v2_command);
  EXPECT_EQ(error_of(v2(0xf, 0x11, kInetBlock)), Error::bad_v2_command);
}

TEST(ProxyV2, undefined_family_or_datagram_transport_is_refused) {
  EXPECT_EQ(error_of(v2(0x1, 0x41, kInetBlock)), Error::bad_v2_family);
  EXPECT_EQ(error_of(v2(0x1, 0x13, kInetBlock)), Error::bad_v2_family);
  EXPECT_EQ(error_of(v2(0x1, 0x12, kInetBlock)), Error::bad_v2_family);  // UDP
  EXPECT_EQ(error_of(v2(0x1, 0x10, kInetBlock)), Error::bad_v2_family);
}

TEST(ProxyV2, length_shorter_than_the_addresses_is_refused) {
  EXPECT_EQ(error_of(v2(0x1, 0x11, kInetBlock.substr(0, 11))), Error::v2_too_short);
  EXPECT_EQ(error_of(v2(0x1, 0x21, kInetBlock)), Error::v2_too_short);
  EXPECT_EQ(error_of(v2(0x1, 0x31, std::string(215, '\0'))), Error::v2_too_short);
}

TEST(ProxyV2, length_past_the_cap_is_refused_before_it_arrives) {
  std::string fixed = v2(0x1, 0x11, "");
  fixed[14] = '\x02';  // 0x0209 = 521 octets announced: 537 in all
  fixed[15] = '\x09';
  EXPECT_EQ(error_of(fixed), Error::v2_too_long);
  fixed[15] = '\x08';  // 536 in all: allowed, waits for the rest
  EXPECT_TRUE(parse(fixed).need_more());
  fixed[14] = '\xff';
  fixed[15] = '\xff';
  EXPECT_EQ(error_of(fixed), Error::v2_too_long);
}

TEST(ProxyV2, tlv_running_past_the_header_is_refused) {
  EXPECT_EQ(error_of(v2(0x1, 0x11, kInetBlock + "\x01\x00\x05h2"s)), Error::bad_v2_tlv);
  EXPECT_EQ(error_of(v2(0x1, 0x11, kInetBlock + "\x01\x00"s)), Error::bad_v2_tlv);
  EXPECT_EQ(error_of(v2(0x1, 0x11, kInetBlock + "\x01"s)), Error::bad_v2_tlv);
}

TEST(ProxyHeader, anything_else_is_refused_at_its_first_octet) {
  EXPECT_EQ(error_of("Q"), Error::bad_signature);
  EXPECT_EQ(error_of("\x16"), Error::bad_signature);
  EXPECT_TRUE(parse("").need_more());
  EXPECT_STREQ(error_name(Error::bad_v2_tlv), "bad_v2_tlv");
}

}  // namespace
}  // namespace petrel::proxy
