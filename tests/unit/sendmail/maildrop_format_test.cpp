// The maildrop file format: what petrel-sendmail writes, petreld reads back;
// anything else is refused with a reason.
#include <gtest/gtest.h>

#include "pickup/maildrop_format.hpp"

namespace petrel::pickup {
namespace {

MaildropMessage sample() {
  MaildropMessage m;
  m.sender.mailbox = smtp::Address{"alice", "example.org"};
  m.recipients = {{"bob", "example.net"}, {"carol", "example.net"}};
  m.content = "Subject: hi\r\n\r\nbody\r\n";
  return m;
}

std::string error_of(std::string_view file, MaildropLimits limits = {}) {
  std::string error;
  EXPECT_FALSE(decode_maildrop(file, limits, error).has_value()) << file;
  return error;
}

TEST(MaildropFormat, round_trip) {
  const std::string file = encode_maildrop(sample());
  EXPECT_EQ(file,
            "petrel-maildrop 1\nsender <alice@example.org>\nrcpt <bob@example.net>\nrcpt <carol@example.net>\n"
            "size 21\n\nSubject: hi\r\n\r\nbody\r\n");
  std::string error;
  const auto back = decode_maildrop(file, {}, error);
  ASSERT_TRUE(back) << error;
  EXPECT_EQ(back->sender.str(), "<alice@example.org>");
  EXPECT_EQ(back->recipients, sample().recipients);
  EXPECT_EQ(back->content, sample().content);
}

TEST(MaildropFormat, null_sender) {
  MaildropMessage m = sample();
  m.sender.mailbox.reset();
  std::string error;
  const auto back = decode_maildrop(encode_maildrop(m), {}, error);
  ASSERT_TRUE(back) << error;
  EXPECT_TRUE(back->sender.is_null());
}

TEST(MaildropFormat, refuses_bad_files) {
  EXPECT_EQ(error_of("hello"), "not a maildrop file (no \"petrel-maildrop 1\" line)");
  EXPECT_EQ(error_of("petrel-maildrop 1\nsender <a@b>\nsize 0\n\n"), "no recipient");
  EXPECT_EQ(error_of("petrel-maildrop 1\nsender <a@b>\nrcpt <c@d>\nsize 5\n\nabc"),
            "the message is not as long as its size line says (truncated?)");
  EXPECT_EQ(error_of("petrel-maildrop 1\nsender <a@b>\nrcpt <c@d>\nsize 1\n\nabc"),
            "the message is not as long as its size line says (truncated?)");
  EXPECT_EQ(error_of("petrel-maildrop 1\nsender <a@b>\nrcpt <not an address>\nsize 0\n\n"), "bad recipient address");
  EXPECT_EQ(error_of("petrel-maildrop 1\nsender <a@b>\nrcpt <>\nsize 0\n\n"), "bad recipient address");
  EXPECT_EQ(error_of("petrel-maildrop 1\nsender a@b\nrcpt <c@d>\nsize 0\n\n"), "bad sender address");
  EXPECT_EQ(error_of("petrel-maildrop 1\nsender <a@b>\nrcpt <c@d>\nsize -1\n\n"), "bad size line");
  EXPECT_EQ(error_of("petrel-maildrop 1\nsender <a@b>\nrcpt <c@d>\nfrob x\nsize 0\n\n"), "unknown envelope line");
  EXPECT_EQ(error_of("petrel-maildrop 1\nsender <a@b>\nrcpt <c@d>\nsize 4\nx\nabcd"), "no empty line after the envelope");
}

TEST(MaildropFormat, limits) {
  EXPECT_EQ(error_of(encode_maildrop(sample()), {.max_content = 10, .max_recipients = 10}),
            "the message is larger than the server's max message size");
  EXPECT_EQ(error_of(encode_maildrop(sample()), {.max_content = 100, .max_recipients = 1}),
            "more recipients than the server allows");
}

TEST(MaildropFormat, names) {
  EXPECT_TRUE(valid_maildrop_name("1767225600.0123abcd0123abcd0123abcd0123abcd"));
  EXPECT_FALSE(valid_maildrop_name(".tmp.1767225600.x"));
  EXPECT_FALSE(valid_maildrop_name("../spool"));
  EXPECT_FALSE(valid_maildrop_name("a/b"));
  EXPECT_FALSE(valid_maildrop_name(""));
  EXPECT_FALSE(valid_maildrop_name(std::string(65, 'a')));
}

TEST(SenderRule, own_holds_users_to_their_address) {
  const std::vector<std::string> domains{"example.org", "mail.example.org"};
  smtp::Path own{smtp::Address{"alice", "Example.ORG"}};
  smtp::Path other{smtp::Address{"bob", "example.org"}};
  smtp::Path outside{smtp::Address{"alice", "elsewhere.test"}};
  smtp::Path null;
  EXPECT_TRUE(sender_allowed(SenderRule::own, own, "alice", false, domains));
  EXPECT_FALSE(sender_allowed(SenderRule::own, other, "alice", false, domains));
  EXPECT_FALSE(sender_allowed(SenderRule::own, outside, "alice", false, domains));
  EXPECT_FALSE(sender_allowed(SenderRule::own, null, "alice", false, domains));
  EXPECT_TRUE(sender_allowed(SenderRule::own, other, "root", true, domains));
  EXPECT_TRUE(sender_allowed(SenderRule::any, other, "alice", false, domains));
}

}  // namespace
}  // namespace petrel::pickup
