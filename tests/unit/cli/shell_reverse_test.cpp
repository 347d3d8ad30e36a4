// petrel shell as the server after ATRN (RFC 2645 §4.3): the sans-I/O
// ReverseServer fed the provider's bytes.
#include "cli/shell_reverse.hpp"

#include <gtest/gtest.h>

namespace petrel::cli::shell {
namespace {

using Kind = ReverseEvent::Kind;

// The replies' wire text of `events`, in order.
std::string wire_of(const std::vector<ReverseEvent>& events) {
  std::string out;
  for (const auto& e : events) out += e.wire;
  return out;
}

std::vector<const ReceivedMessage*> messages_of(const std::vector<ReverseEvent>& events) {
  std::vector<const ReceivedMessage*> out;
  for (const auto& e : events) {
    if (e.kind == Kind::message) out.push_back(&*e.message);
  }
  return out;
}

ReverseServer server(ReverseLimits limits = {}) { return ReverseServer("customer.test", limits); }

TEST(ShellReverse, greets_first_with_220) {
  const auto s = server();
  const ReverseEvent g = s.greeting();
  EXPECT_EQ(g.code, 220);
  EXPECT_EQ(g.wire, "220 customer.test ESMTP petrel shell (ODMR, RFC 2645)\r\n");
}

TEST(ShellReverse, ehlo_offers_8bitmime_pipelining_and_size) {
  auto s = server(ReverseLimits{.max_message_size = 1000});
  const auto events = s.feed("EHLO isp.test\r\n");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind, Kind::command);
  EXPECT_EQ(events[0].text, "EHLO isp.test");
  EXPECT_EQ(events[1].wire, "250-customer.test\r\n250-8BITMIME\r\n250-PIPELINING\r\n250 SIZE 1000\r\n");
  EXPECT_EQ(events[1].text, "250-customer.test\n250-8BITMIME\n250-PIPELINING\n250 SIZE 1000");
}

TEST(ShellReverse, a_pipelined_transaction_is_answered_in_order_and_the_message_kept) {
  auto s = server();
  s.feed("EHLO isp.test\r\n");
  auto events = s.feed("MAIL FROM:<a@outside.test> BODY=8BITMIME\r\nRCPT TO:<x@fetch.test>\r\n"
                       "RCPT TO:<y@fetch.test>\r\nDATA\r\n");
  EXPECT_EQ(wire_of(events), "250 OK\r\n250 OK\r\n250 OK\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
  EXPECT_TRUE(s.in_data());
  events = s.feed("Subject: hi\r\n\r\n..dot line\r\nbody\r\n.\r\nQUIT\r\n");
  EXPECT_EQ(wire_of(events), "250 OK: received\r\n221 customer.test closing connection\r\n");
  const auto got = messages_of(events);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]->reverse_path, "<a@outside.test>");
  EXPECT_EQ(got[0]->forward_paths, (std::vector<std::string>{"<x@fetch.test>", "<y@fetch.test>"}));
  EXPECT_EQ(got[0]->content, "Subject: hi\r\n\r\n.dot line\r\nbody\r\n");
  EXPECT_EQ(got[0]->lines, 4u);
  EXPECT_EQ(events.back().kind, Kind::closed);
  EXPECT_TRUE(s.closed());
}

TEST(ShellReverse, bytes_split_anywhere_give_the_same_dialogue) {
  const std::string dialogue = "EHLO isp.test\r\nMAIL FROM:<>\r\nRCPT TO:<x@fetch.test>\r\nDATA\r\n"
                               "line\r\n.\r\nRSET\r\nNOOP\r\nQUIT\r\n";
  auto whole = server();
  const std::string expected = wire_of(whole.feed(dialogue));
  auto bytewise = server();
  std::string got;
  std::size_t messages = 0;
  for (char c : dialogue) {
    const auto events = bytewise.feed(std::string_view(&c, 1));
    got += wire_of(events);
    messages += messages_of(events).size();
  }
  EXPECT_EQ(got, expected);
  EXPECT_EQ(messages, 1u);
  EXPECT_TRUE(bytewise.closed());
}

TEST(ShellReverse, the_null_sender_of_a_bounce_is_kept) {
  auto s = server();
  s.feed("HELO isp.test\r\nMAIL FROM:<>\r\nRCPT TO:<x@fetch.test>\r\nDATA\r\n");
  const auto got = s.feed("bounce\r\n.\r\n");
  ASSERT_EQ(messages_of(got).size(), 1u);
  EXPECT_EQ(messages_of(got)[0]->reverse_path, "<>");
}

TEST(ShellReverse, commands_out_of_order_get_503) {
  auto s = server();
  EXPECT_EQ(s.feed("MAIL FROM:<a@b.test>\r\n").back().code, 503);  // before EHLO
  s.feed("EHLO isp.test\r\n");
  EXPECT_EQ(s.feed("RCPT TO:<x@fetch.test>\r\n").back().code, 503);
  EXPECT_EQ(s.feed("DATA\r\n").back().code, 503);
  s.feed("MAIL FROM:<a@b.test>\r\n");
  EXPECT_EQ(s.feed("MAIL FROM:<a@b.test>\r\n").back().code, 503);
  EXPECT_EQ(s.feed("DATA\r\n").back().code, 503);  // no recipient yet
  EXPECT_FALSE(s.in_data());
}

TEST(ShellReverse, bad_paths_get_501_and_unknown_verbs_500_or_502) {
  auto s = server();
  s.feed("EHLO isp.test\r\n");
  EXPECT_EQ(s.feed("MAIL FROM:nobody@\r\n").back().code, 501);
  s.feed("MAIL FROM:<a@b.test>\r\n");
  EXPECT_EQ(s.feed("RCPT TO:<>\r\n").back().code, 501);
  EXPECT_EQ(s.feed("VRFY x\r\n").back().code, 502);
  EXPECT_EQ(s.feed("STARTTLS\r\n").back().code, 502);
  EXPECT_EQ(s.feed("FROB\r\n").back().code, 500);
}

TEST(ShellReverse, rset_ends_the_transaction) {
  auto s = server();
  s.feed("EHLO isp.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<x@fetch.test>\r\n");
  EXPECT_EQ(s.feed("RSET\r\n").back().code, 250);
  EXPECT_EQ(s.feed("DATA\r\n").back().code, 503);
}

TEST(ShellReverse, a_message_over_the_size_is_read_to_its_end_then_refused_552) {
  auto s = server(ReverseLimits{.max_message_size = 10});
  s.feed("EHLO isp.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<x@fetch.test>\r\nDATA\r\n");
  // The line that looks like a command is content, not a command.
  const auto events = s.feed("0123456789abcdef\r\nQUIT\r\n.\r\nNOOP\r\n");
  EXPECT_EQ(wire_of(events), "552 Message over 10 octets (SIZE)\r\n250 OK\r\n");
  EXPECT_TRUE(messages_of(events).empty());
  EXPECT_FALSE(s.closed());
}

TEST(ShellReverse, too_many_recipients_get_452) {
  auto s = server(ReverseLimits{.max_recipients = 1});
  s.feed("EHLO isp.test\r\nMAIL FROM:<a@b.test>\r\n");
  EXPECT_EQ(s.feed("RCPT TO:<x@fetch.test>\r\n").back().code, 250);
  EXPECT_EQ(s.feed("RCPT TO:<y@fetch.test>\r\n").back().code, 452);
}

TEST(ShellReverse, an_overlong_command_line_is_dropped_and_answered_500) {
  auto s = server(ReverseLimits{.max_command_line = 32});
  auto events = s.feed("NOOP " + std::string(40, 'x'));
  EXPECT_TRUE(events.empty());  // nothing until the line ends
  events = s.feed(std::string(1000, 'y') + "\r\nNOOP\r\n");
  EXPECT_EQ(wire_of(events), "500 Line too long\r\n250 OK\r\n");
}

TEST(ShellReverse, control_octets_in_a_command_are_not_shown_raw) {
  auto s = server();
  const auto events = s.feed("NOOP \x1b[31m\r\n");
  EXPECT_EQ(events.front().text, "NOOP ?[31m");
}

TEST(ShellReverse, nothing_is_read_after_quit) {
  auto s = server();
  const auto events = s.feed("QUIT\r\nNOOP\r\n");
  EXPECT_EQ(wire_of(events), "221 customer.test closing connection\r\n");
}

}  // namespace
}  // namespace petrel::cli::shell
