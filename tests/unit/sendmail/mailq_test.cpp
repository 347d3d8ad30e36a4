// mailq's listing, as close to Postfix's as petreld's queue allows.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "sendmail/mailq.hpp"

namespace petrel::sendmail {
namespace {

TEST(Mailq, an_empty_queue) { EXPECT_EQ(format_mailq(nlohmann::json::array()), "Mail queue is empty\n"); }

TEST(Mailq, messages_with_errors_and_pending_recipients) {
  const auto messages = nlohmann::json::parse(R"([
    {"id": "QID1", "size": 1500, "arrival": 0, "sender": "alice@example.org", "held": false, "in_flight": false,
     "last_error": "connect to mx.example.net: Connection refused",
     "recipients": [{"address": "bob@example.net", "state": "pending"},
                    {"address": "carol@example.org", "state": "delivered"}]},
    {"id": "QID2", "size": 600, "arrival": 0, "sender": "", "held": true, "in_flight": false, "last_error": "",
     "recipients": [{"address": "dave@example.net", "state": "pending"}]}])");
  const std::string out = format_mailq(messages);
  EXPECT_EQ(out.substr(0, out.find('\n')), "-Queue ID-        --Size-- ----Arrival Time---- -Sender/Recipient-------");
  EXPECT_NE(out.find("QID1                  1500 "), std::string::npos) << out;
  EXPECT_NE(out.find("  alice@example.org\n(connect to mx.example.net: Connection refused)\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\n" + std::string(48, ' ') + "bob@example.net\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("carol@example.org"), std::string::npos) << out;
  EXPECT_NE(out.find("QID2!"), std::string::npos) << out;
  EXPECT_NE(out.find("MAILER-DAEMON"), std::string::npos) << out;
  EXPECT_TRUE(out.ends_with("\n-- 3 Kbytes in 2 Requests.\n")) << out;
}

}  // namespace
}  // namespace petrel::sendmail
