// BDAT (RFC 3030 CHUNKING): chunks of exact octet counts. Whatever happens to
// the command, once its size is known the chunk is read as data, never as
// commands.
#include <gtest/gtest.h>

#include "session_harness.hpp"

namespace petrel::smtp {
namespace {

using testing::Dialogue;

constexpr std::string_view kEnvelope = "EHLO client.test\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n";

TEST(Bdat, chunks_are_joined_into_one_message) {
  Dialogue d;
  d.send(kEnvelope);
  const auto first = d.send("BDAT 6\r\nHello,");
  ASSERT_EQ(first.statuses(), "250 2.0.0");
  EXPECT_EQ(first[0].text(), "Ok: 6 octets received");
  EXPECT_EQ(d.send("BDAT 8 LAST\r\n world\r\n").statuses(), "250 2.0.0");
  ASSERT_EQ(d.stored.size(), 1u);
  EXPECT_EQ(d.stored[0].content, "Hello, world\r\n");
}

TEST(Bdat, chunk_octets_are_never_interpreted) {
  Dialogue d;
  d.send("EHLO client.test\r\nMAIL FROM:<a@client.test> BODY=BINARYMIME\r\nRCPT TO:<b@example.test>\r\n");
  const std::string chunk = "QUIT\r\n.\r\nRSET\r\n..x\n\r";
  EXPECT_EQ(d.send("BDAT " + std::to_string(chunk.size()) + " LAST\r\n" + chunk).statuses(), "250 2.0.0");
  ASSERT_EQ(d.stored.size(), 1u);
  EXPECT_EQ(d.stored[0].content, chunk);
  EXPECT_EQ(d.need(), ServerSession::Need::input);
}

TEST(Bdat, zero_last_ends_the_message) {
  Dialogue d;
  d.send(kEnvelope);
  EXPECT_EQ(d.send("BDAT 3\r\nabcBDAT 0 LAST\r\n").statuses(), "250 2.0.0 | 250 2.0.0");
  ASSERT_EQ(d.stored.size(), 1u);
  EXPECT_EQ(d.stored[0].content, "abc");
}

TEST(Bdat, zero_last_alone_stores_an_empty_message) {
  Dialogue d;
  d.send(kEnvelope);
  EXPECT_EQ(d.send("bdat 0 last\r\n").statuses(), "250 2.0.0");
  ASSERT_EQ(d.stored.size(), 1u);
  EXPECT_EQ(d.stored[0].content, "");
}

TEST(Bdat, binarymime_is_sent_with_bdat) {
  Dialogue d;
  d.ehlo();
  const std::string binary("\x00\xff\r\x01\n", 5);
  d.send("MAIL FROM:<a@example.test> BODY=BINARYMIME\r\nRCPT TO:<b@example.test>\r\n");
  EXPECT_EQ(d.send("BDAT 5 LAST\r\n" + binary).statuses(), "250 2.0.0");
  ASSERT_EQ(d.stored.size(), 1u);
  EXPECT_EQ(d.stored[0].content, binary);
  EXPECT_EQ(d.stored[0].envelope.params.body, BodyType::binary_mime);
}

TEST(Bdat, data_after_bdat_is_503) {
  Dialogue d;
  d.send(kEnvelope);
  EXPECT_EQ(d.send("BDAT 3\r\nabcDATA\r\n").statuses(), "250 2.0.0 | 503 5.5.1");
  // The BDAT transaction goes on.
  EXPECT_EQ(d.send("BDAT 2 LAST\r\nde").statuses(), "250 2.0.0");
  ASSERT_EQ(d.stored.size(), 1u);
  EXPECT_EQ(d.stored[0].content, "abcde");
}

TEST(Bdat, rcpt_after_bdat_is_503) {
  Dialogue d;
  d.send(kEnvelope);
  EXPECT_EQ(d.send("BDAT 1\r\naRCPT TO:<c@example.test>\r\n").statuses(), "250 2.0.0 | 503 5.5.1");
}

TEST(Bdat, bdat_after_a_finished_data_transaction_needs_a_new_mail) {
  Dialogue d;
  d.send(kEnvelope);
  EXPECT_EQ(d.send("DATA\r\nhi\r\n.\r\nBDAT 4 LAST\r\nNOOPRSET\r\n").statuses(), "354 | 250 2.0.0 | 503 5.5.1 | 250 2.0.0");
  EXPECT_EQ(d.stored.size(), 1u);
}

TEST(Bdat, bdat_during_data_is_just_message_text) {
  Dialogue d;
  d.send(kEnvelope);
  EXPECT_EQ(d.send("DATA\r\nBDAT 4 LAST\r\nNOOP\r\n.\r\n").statuses(), "354 | 250 2.0.0");
  ASSERT_EQ(d.stored.size(), 1u);
  EXPECT_EQ(d.stored[0].content, "BDAT 4 LAST\r\nNOOP\r\n");
}

TEST(Bdat, without_mail_the_chunk_is_consumed_and_refused) {
  Dialogue d;
  d.ehlo();
  EXPECT_EQ(d.send("BDAT 12 LAST\r\nQUIT\r\nQUIT\r\nNOOP\r\n").statuses(), "503 5.5.1 | 250 2.0.0");
  EXPECT_EQ(d.need(), ServerSession::Need::input);
  EXPECT_EQ(d.store_requests, 0);
}

TEST(Bdat, before_ehlo_the_chunk_is_consumed_and_refused) {
  Dialogue d;
  EXPECT_EQ(d.send("BDAT 6\r\nQUIT\r\nNOOP\r\n").statuses(), "503 5.5.1 | 250 2.0.0");
}

TEST(Bdat, without_accepted_recipients_is_554_and_consumed) {
  Dialogue d;
  d.ehlo();
  EXPECT_EQ(d.send("MAIL FROM:<a@example.test>\r\nRCPT TO:<x@elsewhere.test>\r\nBDAT 6 LAST\r\nQUIT\r\nNOOP\r\n")
                .statuses(),
            "250 2.1.0 | 554 5.7.1 | 554 5.5.1 | 250 2.0.0");
}

TEST(Bdat, chunk_over_the_size_limit_is_552_and_its_octets_are_consumed) {
  SessionOptions options;
  options.limits.max_message_size = 1024;
  Dialogue d(options);
  d.send(kEnvelope);
  std::string chunk;
  while (chunk.size() < 2000) chunk += "RCPT TO:<evil@elsewhere.test>\r\n";
  chunk.resize(2000);
  const auto r = d.send("BDAT 2000 LAST\r\n" + chunk + "NOOP\r\n");
  EXPECT_EQ(r.statuses(), "552 5.3.4 | 250 2.0.0");
  EXPECT_EQ(d.store_requests, 0);
  EXPECT_EQ(d.session().stats().messages_rejected, 1u);
  // The transaction is over (RFC 3030 §2): a further chunk needs a new MAIL.
  EXPECT_EQ(d.send("BDAT 4 LAST\r\nQUIT").statuses(), "503 5.5.1");
}

TEST(Bdat, chunks_adding_up_over_the_limit_are_552) {
  SessionOptions options;
  options.limits.max_message_size = 1024;
  Dialogue d(options);
  d.send(kEnvelope);
  EXPECT_EQ(d.send("BDAT 1000\r\n" + std::string(1000, 'a')).statuses(), "250 2.0.0");
  EXPECT_EQ(d.send("BDAT 100 LAST\r\n" + std::string(100, 'b') + "NOOP\r\n").statuses(), "552 5.3.4 | 250 2.0.0");
  EXPECT_EQ(d.store_requests, 0);
}

TEST(Bdat, exactly_max_size_is_accepted) {
  SessionOptions options;
  options.limits.max_message_size = 1024;
  Dialogue d(options);
  d.send(kEnvelope);
  std::string body;
  while (body.size() < 1024) body += std::string(62, 'a') + "\r\n";  // 16 lines of 64
  ASSERT_EQ(body.size(), 1024u);
  EXPECT_EQ(d.send("BDAT 1024 LAST\r\n" + body).statuses(), "250 2.0.0");
  EXPECT_EQ(d.stored.size(), 1u);
}

TEST(Bdat, syntax_errors_are_501) {
  Dialogue d;
  d.send(kEnvelope);
  EXPECT_EQ(d.send("BDAT\r\nBDAT x\r\nBDAT 5 FIRST\r\nBDAT -1\r\nBDAT 5 LAST more\r\n").statuses(),
            "501 5.5.4 | 501 5.5.4 | 501 5.5.4 | 501 5.5.4 | 501 5.5.4");
}

TEST(Bdat, timeout_while_reading_a_chunk_is_the_data_timeout) {
  SessionOptions options;
  options.limits.data_timeout = std::chrono::seconds(42);
  Dialogue d(options);
  d.send(kEnvelope);
  d.send("BDAT 100\r\nonly part");
  EXPECT_EQ(d.session().read_timeout(), std::chrono::seconds(42));
}

TEST(Bdat, store_failure_after_last_chunk_is_passed_on) {
  Dialogue d;
  d.store_with([](const ReceivedMessage&) -> std::optional<Reply> {
    return Reply(codes::k452StorageFull, "Insufficient system storage");
  });
  d.send(kEnvelope);
  EXPECT_EQ(d.send("BDAT 2 LAST\r\nhiNOOP\r\n").statuses(), "452 4.3.1 | 250 2.0.0");
}

TEST(Bdat, pipelined_chunks_answered_in_order) {
  Dialogue d;
  const auto r = d.send(std::string(kEnvelope) + "BDAT 2\r\nabBDAT 2\r\ncdBDAT 2 LAST\r\nefQUIT\r\n");
  EXPECT_EQ(r.statuses(), "250 | 250 2.1.0 | 250 2.1.5 | 250 2.0.0 | 250 2.0.0 | 250 2.0.0 | 221 2.0.0");
  ASSERT_EQ(d.stored.size(), 1u);
  EXPECT_EQ(d.stored[0].content, "abcdef");
}

}  // namespace
}  // namespace petrel::smtp

namespace petrel::smtp {
namespace {

TEST(BdatText, bare_lf_in_a_text_body_sent_by_bdat_is_refused_like_data) {
  testing::Dialogue d;
  d.send("EHLO client.test\r\nMAIL FROM:<a@client.test>\r\nRCPT TO:<b@example.test>\r\n");
  const std::string body = "Subject: x\r\n\r\nhidden\n.\nMAIL FROM:<x@y>\r\n";
  const auto r = d.send("BDAT " + std::to_string(body.size()) + " LAST\r\n" + body);
  EXPECT_EQ(r.statuses(), "550 5.6.0");
  EXPECT_TRUE(d.stored.empty());
}

TEST(BdatText, bare_lf_in_a_binarymime_body_is_content) {
  testing::Dialogue d;
  d.send("EHLO client.test\r\nMAIL FROM:<a@client.test> BODY=BINARYMIME\r\nRCPT TO:<b@example.test>\r\n");
  const std::string body("binary\n\r\x00\xff", 10);
  const auto r = d.send("BDAT " + std::to_string(body.size()) + " LAST\r\n" + body);
  EXPECT_EQ(r.statuses(), "250 2.0.0");
  ASSERT_EQ(d.stored.size(), 1u);
  EXPECT_EQ(d.stored[0].content, body);
}

TEST(BdatText, normalize_policy_rewrites_bare_line_endings_in_bdat_content) {
  SessionOptions options;
  options.bare_line_endings = BareLineEndingPolicy::normalize;
  testing::Dialogue d(options);
  d.send("EHLO client.test\r\nMAIL FROM:<a@client.test>\r\nRCPT TO:<b@example.test>\r\n");
  const std::string body = "one\ntwo\rthree\r\n";
  EXPECT_EQ(d.send("BDAT " + std::to_string(body.size()) + " LAST\r\n" + body).statuses(), "250 2.0.0");
  ASSERT_EQ(d.stored.size(), 1u);
  EXPECT_EQ(d.stored[0].content, "one\r\ntwo\r\nthree\r\n");
}

TEST(BdatText, a_crlf_split_across_two_chunks_is_one_line_ending) {
  testing::Dialogue d;
  d.send("EHLO client.test\r\nMAIL FROM:<a@client.test>\r\nRCPT TO:<b@example.test>\r\n");
  EXPECT_EQ(d.send("BDAT 4\r\nabc\r").statuses(), "250 2.0.0");
  EXPECT_EQ(d.send("BDAT 1 LAST\r\n\n").statuses(), "250 2.0.0");
  ASSERT_EQ(d.stored.size(), 1u);
  EXPECT_EQ(d.stored[0].content, "abc\r\n");
}

}  // namespace
}  // namespace petrel::smtp
