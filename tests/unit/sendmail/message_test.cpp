// The message petrel-sendmail reads: text lines, -t's recipients, Bcc:,
// and the header fields added when missing.
#include <gtest/gtest.h>

#include "sendmail/message.hpp"

namespace petrel::sendmail {
namespace {

std::string read(std::string_view input, bool ignore_dots, std::size_t piece = 3) {
  MessageReader r(ignore_dots);
  for (std::size_t i = 0; i < input.size() && !r.done(); i += piece) r.feed(input.substr(i, piece));
  r.finish();
  return r.take();
}

TEST(MessageReader, lf_lines_become_crlf_lines) {
  EXPECT_EQ(read("Subject: x\n\nbody\r\nlast", true), "Subject: x\r\n\r\nbody\r\nlast\r\n");
}

TEST(MessageReader, a_lone_dot_ends_the_message_unless_dash_i) {
  EXPECT_EQ(read("a\n.\nb\n", false), "a\r\n");
  EXPECT_EQ(read("a\n.\nb\n", true), "a\r\n.\r\nb\r\n");
  EXPECT_EQ(read("a\n..\n", false), "a\r\n..\r\n");  // not dot-stuffed: kept as it is
}

TEST(MessageReader, a_leading_mbox_from_line_is_dropped) {
  EXPECT_EQ(read("From alice Mon Jan  1 00:00:00 2026\nSubject: x\n\nFrom here\n", true),
            "Subject: x\r\n\r\nFrom here\r\n");
}

TEST(HeaderFields, unfolds_and_stops_at_the_body) {
  const auto f = header_fields("To: a@x,\r\n b@y\r\nSubject: s\r\n\r\nTo: not@header\r\n");
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].name, "To");
  EXPECT_EQ(f[0].value, "a@x, b@y");
  EXPECT_EQ(f[1].name, "Subject");
}

TEST(AddressList, display_names_comments_groups_and_quotes) {
  EXPECT_EQ(address_list("\"Doe, John\" <john@example.org>, jane@example.org (Jane), Team: a@x.test, b@y.test;"),
            (std::vector<std::string>{"john@example.org", "jane@example.org", "a@x.test", "b@y.test"}));
  EXPECT_EQ(address_list("undisclosed-recipients:;"), std::vector<std::string>{});
  EXPECT_EQ(address_list("<@relay.test:user@example.org>"), std::vector<std::string>{"user@example.org"});
  EXPECT_EQ(address_list("\"odd user\"@example.org"), std::vector<std::string>{"\"odd user\"@example.org"});
  EXPECT_EQ(address_list("root"), std::vector<std::string>{"root"});
}

TEST(HeaderRecipients, to_cc_and_bcc_in_order) {
  const std::string m = "From: me@x\r\nTo: a@x\r\nCC: B <b@x>\r\nbcc: c@x,\r\n\td@x\r\nSubject: To: e@x\r\n\r\nTo: f@x\r\n";
  EXPECT_EQ(header_recipients(m), (std::vector<std::string>{"a@x", "b@x", "c@x", "d@x"}));
}

TEST(WithoutBcc, removes_every_bcc_field_with_its_folded_lines) {
  EXPECT_EQ(without_bcc("To: a@x\r\nBcc: c@x,\r\n d@x\r\nSubject: s\r\nBCC: e@x\r\n\r\nBcc: body\r\n"),
            "To: a@x\r\nSubject: s\r\n\r\nBcc: body\r\n");
}

Completion completion() {
  Completion c;
  c.from_address = "alice@example.org";
  c.full_name = "Alice Liddell";
  c.hostname = "mail.example.org";
  c.now = 1767225600;  // 2026-01-01T00:00:00Z
  c.unique = 0xabc;
  return c;
}

TEST(MissingHeaderFields, adds_from_date_and_message_id) {
  EXPECT_EQ(missing_header_fields("Subject: hi\r\n\r\nbody\r\n", completion()),
            "From: Alice Liddell <alice@example.org>\r\n"
            "Date: Thu, 01 Jan 2026 00:00:00 +0000\r\n"
            "Message-ID: <20260101000000.0000000000000abc@mail.example.org>\r\n");
}

TEST(MissingHeaderFields, keeps_what_is_there) {
  EXPECT_EQ(missing_header_fields("from: x@y\r\nDATE: z\r\nMessage-Id: <a@b>\r\n\r\n", completion()), "");
}

TEST(MissingHeaderFields, a_bare_body_gets_an_empty_line_after_the_fields) {
  const std::string added = missing_header_fields("just text\r\n", completion());
  EXPECT_TRUE(added.ends_with(">\r\n\r\n")) << added;
}

TEST(DisplayName, atoms_quoted_strings_and_encoded_words) {
  EXPECT_EQ(display_name("Cron Daemon"), "Cron Daemon");
  EXPECT_EQ(display_name("Doe, John"), "\"Doe, John\"");
  EXPECT_EQ(display_name("say \"hi\""), "\"say \\\"hi\\\"\"");
  EXPECT_EQ(display_name("Zoë"), "=?UTF-8?B?Wm/Dqw==?=");
}

}  // namespace
}  // namespace petrel::sendmail
