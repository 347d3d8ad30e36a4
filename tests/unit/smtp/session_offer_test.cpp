// SessionOptions::esmtp and ::ehlo_offer: what a server that tests its
// clients (petrel catch --offer) advertises. petreld leaves both at their
// defaults, which advertise everything (session_test.cpp).
#include <gtest/gtest.h>

#include "session_harness.hpp"

namespace petrel::smtp {
namespace {

using testing::Dialogue;

TEST(SessionOffer, ehlo_advertises_only_the_listed_keywords) {
  SessionOptions options;
  options.hostname = "mx.example.test";
  options.limits.max_message_size = 1000;
  options.ehlo_offer = std::vector<std::string>{"SIZE", "8BITMIME"};
  Dialogue d(options);
  EXPECT_EQ(d.send_raw("EHLO client.test\r\n"),
            "250-mx.example.test Hello client.test [192.0.2.10]\r\n"
            "250-SIZE 1000\r\n"
            "250 8BITMIME\r\n");
}

TEST(SessionOffer, an_empty_offer_leaves_the_bare_greeting_line) {
  SessionOptions options;
  options.hostname = "mx.example.test";
  options.ehlo_offer = std::vector<std::string>{};
  Dialogue d(options);
  EXPECT_EQ(d.send_raw("EHLO client.test\r\n"), "250 mx.example.test Hello client.test [192.0.2.10]\r\n");
}

TEST(SessionOffer, without_esmtp_ehlo_gets_502_and_helo_works) {
  SessionOptions options;
  options.hostname = "mx.example.test";
  options.esmtp = false;
  Dialogue d(options);
  EXPECT_EQ(d.send("EHLO client.test\r\n").statuses(), "502 5.5.1");
  EXPECT_EQ(d.send("HELO client.test\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.test>\r\n").statuses(),
            "250 | 250 2.1.0 | 250 2.1.5");
}

TEST(SessionOffer, a_refused_ehlo_leaves_no_session_state) {
  SessionOptions options;
  options.esmtp = false;
  Dialogue d(options);
  EXPECT_EQ(d.send("EHLO client.test\r\nMAIL FROM:<a@example.org>\r\n").statuses(), "502 5.5.1 | 503 5.5.1");
}

}  // namespace
}  // namespace petrel::smtp
