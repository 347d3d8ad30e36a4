// The Received: trace header (RFC 5321 §4.4) and its RFC 5322 date.
#include "smtp/received_header.hpp"

#include <gtest/gtest.h>

namespace petrel::smtp {
namespace {

// 2026-11-23 01:02:03 UTC, a Monday.
constexpr std::time_t kWhen = 1795395723;

Envelope envelope_with(std::vector<std::string> recipients, std::string client = "192.0.2.10",
                       std::string helo = "client.test") {
  Envelope e;
  e.client_address = std::move(client);
  e.helo_name = std::move(helo);
  e.protocol = "ESMTP";
  for (auto& r : recipients) {
    Recipient rcpt;
    rcpt.forward_path = Address{r.substr(0, r.find('@')), r.substr(r.find('@') + 1)};
    e.recipients.push_back(rcpt);
  }
  return e;
}

TEST(ReceivedHeader, date_is_rfc5322_in_utc) {
  EXPECT_EQ(rfc5322_date(kWhen), "Mon, 23 Nov 2026 01:02:03 +0000");
  EXPECT_EQ(rfc5322_date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
}

TEST(ReceivedHeader, single_recipient_is_named_with_for) {
  const std::string h = received_header(envelope_with({"b@example.test"}), "mx.example.test", "Q1", kWhen);
  EXPECT_EQ(h,
            "Received: from client.test ([192.0.2.10])\r\n"
            "\tby mx.example.test (Petrel) with ESMTP id Q1\r\n"
            "\tfor <b@example.test>; Mon, 23 Nov 2026 01:02:03 +0000\r\n");
}

TEST(ReceivedHeader, tls_is_recorded_as_postfix_does) {
  Envelope e = envelope_with({"b@example.test"});
  e.protocol = "ESMTPSA";
  e.tls = "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)";
  EXPECT_EQ(received_header(e, "mx.example.test", "Q1", kWhen),
            "Received: from client.test ([192.0.2.10])\r\n"
            "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))\r\n"
            "\tby mx.example.test (Petrel) with ESMTPSA id Q1\r\n"
            "\tfor <b@example.test>; Mon, 23 Nov 2026 01:02:03 +0000\r\n");
}

TEST(ReceivedHeader, several_recipients_are_not_listed) {
  const std::string h =
      received_header(envelope_with({"b@example.test", "c@example.test"}), "mx.example.test", "Q1", kWhen);
  EXPECT_EQ(h,
            "Received: from client.test ([192.0.2.10])\r\n"
            "\tby mx.example.test (Petrel) with ESMTP id Q1; Mon, 23 Nov 2026 01:02:03 +0000\r\n");
  EXPECT_EQ(h.find("c@example.test"), std::string::npos);
}

TEST(ReceivedHeader, ipv6_client_gets_the_ipv6_literal_tag) {
  const std::string h = received_header(envelope_with({}, "2001:db8::1"), "mx", "Q1", kWhen);
  EXPECT_NE(h.find("from client.test ([IPv6:2001:db8::1])"), std::string::npos) << h;
}

TEST(ReceivedHeader, helo_name_cannot_break_the_header) {
  const std::string h =
      received_header(envelope_with({}, "192.0.2.10", "evil\r\nBcc: x@y (comment) \\"), "mx", "Q1", kWhen);
  EXPECT_EQ(h.find("\r\nBcc"), std::string::npos) << h;
  EXPECT_NE(h.find("from evilBcc: x@y comment  ([192.0.2.10])"), std::string::npos) << h;
  // The only line breaks are the header's own folds and its end.
  std::size_t breaks = 0;
  for (std::size_t i = h.find("\r\n"); i != std::string::npos; i = h.find("\r\n", i + 1)) ++breaks;
  EXPECT_EQ(breaks, 2u);
}

TEST(ReceivedHeader, empty_helo_reads_unknown) {
  const std::string h = received_header(envelope_with({}, "192.0.2.10", ""), "mx", "Q1", kWhen);
  EXPECT_NE(h.find("from unknown ([192.0.2.10])"), std::string::npos) << h;
}

TEST(ReceivedHeader, long_helo_is_cut_at_255_octets) {
  const std::string h = received_header(envelope_with({}, "192.0.2.10", std::string(400, 'h')), "mx", "Q1", kWhen);
  EXPECT_NE(h.find("from " + std::string(255, 'h') + " ("), std::string::npos);
}

TEST(ReceivedHeader, protocol_names_the_with_clause) {
  Envelope e = envelope_with({});
  e.protocol = "UTF8SMTP";
  EXPECT_NE(received_header(e, "mx", "Q1", kWhen).find("with UTF8SMTP id Q1"), std::string::npos);
  e.protocol = "";
  EXPECT_NE(received_header(e, "mx", "Q1", kWhen).find("with ESMTP id Q1"), std::string::npos);
}

}  // namespace
}  // namespace petrel::smtp
