// Where petrel send connects, the queue ID it reads, and its exit status.
#include <gtest/gtest.h>

#include "cli/send_outcome.hpp"

namespace petrel::cli {
namespace {

smtp::ServerReply reply(int code, std::string enhanced, std::vector<std::string> lines) {
  smtp::ServerReply r;
  r.code = code;
  r.enhanced = std::move(enhanced);
  r.lines = std::move(lines);
  return r;
}

smtp::RecipientResult result(smtp::DeliveryOutcome o, smtp::ServerReply r) { return {o, std::move(r)}; }

TEST(SendOutcome, server_is_host_with_optional_port) {
  auto s = parse_server("mx.example.org");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->host, "mx.example.org");
  EXPECT_EQ(s->port, 0);
  s = parse_server("127.0.0.1:2525");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->host, "127.0.0.1");
  EXPECT_EQ(s->port, 2525);
  s = parse_server("[::1]:587");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->host, "::1");
  EXPECT_EQ(s->port, 587);
  s = parse_server("2001:db8::1");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->host, "2001:db8::1");
  EXPECT_FALSE(parse_server(""));
  EXPECT_FALSE(parse_server("host:0"));
  EXPECT_FALSE(parse_server("host:70000"));
  EXPECT_FALSE(parse_server("host:25x"));
  EXPECT_FALSE(parse_server(":25"));
  EXPECT_FALSE(parse_server("[::1"));
}

TEST(SendOutcome, queue_id_from_postfix_petreld_exim_and_sendmail) {
  EXPECT_EQ(queue_id_from(reply(250, "2.0.0", {"Ok: queued as 4XyZ1B2c"})), "4XyZ1B2c");
  EXPECT_EQ(queue_id_from(reply(250, "", {"OK id=1rXyZ-000123-AB"})), "1rXyZ-000123-AB");
  EXPECT_EQ(queue_id_from(reply(250, "2.0.0", {"41HCdE1c012345 Message accepted for delivery"})), "41HCdE1c012345");
  EXPECT_EQ(queue_id_from(reply(250, "", {"OK"})), "");
  EXPECT_EQ(queue_id_from(reply(554, "5.7.1", {"queued as nothing"})), "");
}

TEST(SendOutcome, reply_lines_are_shown_as_sent) {
  EXPECT_EQ(reply_lines(reply(250, "", {"mx.example.org", "PIPELINING", "SIZE 1000"})),
            (std::vector<std::string>{"250-mx.example.org", "250-PIPELINING", "250 SIZE 1000"}));
  EXPECT_EQ(reply_lines(reply(550, "5.1.1", {"No such user"})), std::vector<std::string>{"550 5.1.1 No such user"});
}

TEST(SendOutcome, all_accepted_is_0) {
  const auto ok = reply(250, "2.0.0", {"Ok"});
  EXPECT_EQ(classify({result(smtp::DeliveryOutcome::delivered, ok), result(smtp::DeliveryOutcome::delivered, ok)}, true),
            SendStatus::accepted);
}

TEST(SendOutcome, some_refused_is_1) {
  EXPECT_EQ(classify({result(smtp::DeliveryOutcome::delivered, reply(250, "2.0.0", {"Ok"})),
                      result(smtp::DeliveryOutcome::failed, reply(550, "5.1.1", {"No"}))},
                     true),
            SendStatus::partly_refused);
  EXPECT_EQ(classify({result(smtp::DeliveryOutcome::delivered, reply(250, "2.0.0", {"Ok"})),
                      result(smtp::DeliveryOutcome::deferred, reply(450, "4.2.0", {"Later"}))},
                     true),
            SendStatus::partly_refused);
}

TEST(SendOutcome, mail_refused_or_every_recipient_refused_is_2) {
  const auto no = reply(550, "5.7.1", {"Go away"});
  EXPECT_EQ(classify({result(smtp::DeliveryOutcome::failed, no), result(smtp::DeliveryOutcome::failed, no)}, true),
            SendStatus::rejected);
  EXPECT_EQ(classify({result(smtp::DeliveryOutcome::deferred, reply(451, "4.3.0", {"Try later"}))}, true),
            SendStatus::rejected);
  // Refused here before MAIL (too big for the server's SIZE).
  EXPECT_EQ(classify({result(smtp::DeliveryOutcome::failed,
                             smtp::ServerReply::made_here({552, "5.3.4"}, "Message size exceeds"))},
                     false),
            SendStatus::rejected);
}

TEST(SendOutcome, no_transaction_or_lost_connection_is_3) {
  // Greeting 554, TLS or AUTH refused: no MAIL went out.
  EXPECT_EQ(classify({result(smtp::DeliveryOutcome::deferred, reply(535, "5.7.8", {"Bad credentials"}))}, false),
            SendStatus::not_sent);
  EXPECT_EQ(classify({result(smtp::DeliveryOutcome::deferred,
                             smtp::ServerReply::made_here({421, "4.4.1"}, "Connect failed"))},
                     false),
            SendStatus::not_sent);
  // Lost during DATA.
  EXPECT_EQ(classify({result(smtp::DeliveryOutcome::deferred,
                             smtp::ServerReply::made_here({421, "4.4.2"}, "Lost connection"))},
                     true),
            SendStatus::not_sent);
  EXPECT_EQ(classify({}, true), SendStatus::not_sent);
}

}  // namespace
}  // namespace petrel::cli
