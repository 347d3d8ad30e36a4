// A big message is spilled as it arrives: the session keeps its head (the
// header section and body_in_memory octets) and hands the rest over, so its
// memory does not grow with the message; the stored message is the same
// however it was cut.
#include <gtest/gtest.h>

#include "session_harness.hpp"

namespace petrel::smtp {
namespace {

using testing::Dialogue;

constexpr std::string_view kEnvelope =
    "EHLO client.test\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n";

SessionOptions small_heads() {
  SessionOptions options;
  options.limits.body_in_memory = 4096;
  return options;
}

std::string body_of(std::size_t octets) {
  std::string body;
  for (std::size_t i = 0; body.size() < octets; ++i) body += "line " + std::to_string(i) + " of the body\r\n";
  return body;
}

const std::string kHeader = "Subject: big\r\nFrom: <a@example.test>\r\n\r\n";

TEST(Spill, big_data_message_is_spilled_and_stored_whole) {
  Dialogue d(small_heads());
  d.send(kEnvelope);
  const std::string message = kHeader + body_of(1 << 20);
  EXPECT_EQ(d.send("DATA\r\n" + message + ".\r\n", 8192).statuses(), "354 | 250 2.0.0");
  ASSERT_EQ(d.stored.size(), 1u);
  EXPECT_EQ(d.stored[0].content, message);
  EXPECT_GT(d.spills, 5);
  EXPECT_EQ(d.heads[0], 4096u);
  EXPECT_LT(d.max_memory, 256u * 1024);  // a head, a spill chunk and a read, not the megabyte
}

TEST(Spill, small_message_stays_in_memory) {
  Dialogue d(small_heads());
  d.send(kEnvelope);
  const std::string message = kHeader + body_of(2000);
  EXPECT_EQ(d.send("DATA\r\n" + message + ".\r\n").statuses(), "354 | 250 2.0.0");
  ASSERT_EQ(d.stored.size(), 1u);
  EXPECT_EQ(d.stored[0].spilled_size, 0u);
  EXPECT_EQ(d.spills, 0);
}

TEST(Spill, head_stretches_to_the_end_of_a_long_header_section) {
  Dialogue d(small_heads());
  d.send(kEnvelope);
  std::string header;
  for (int i = 0; header.size() < 10000; ++i) header += "X-Field-" + std::to_string(i) + ": value\r\n";
  header += "\r\n";
  const std::string message = header + body_of(300 * 1024);
  EXPECT_EQ(d.send("DATA\r\n" + message + ".\r\n", 4000).statuses(), "354 | 250 2.0.0");
  ASSERT_EQ(d.stored.size(), 1u);
  EXPECT_EQ(d.stored[0].content, message);
  EXPECT_EQ(d.heads[0], header.size());
}

TEST(Spill, bdat_chunks_are_spilled_and_lines_checked_across_cuts) {
  Dialogue d(small_heads());
  d.send(kEnvelope);
  const std::string message = kHeader + body_of(500 * 1024);
  const std::size_t half = message.size() / 2 + 1;  // cuts a line, maybe a CRLF
  std::string dialogue = "BDAT " + std::to_string(half) + "\r\n" + message.substr(0, half);
  dialogue += "BDAT " + std::to_string(message.size() - half) + " LAST\r\n" + message.substr(half);
  EXPECT_EQ(d.send(dialogue, 10000).statuses(), "250 2.0.0 | 250 2.0.0");
  ASSERT_EQ(d.stored.size(), 1u);
  EXPECT_EQ(d.stored[0].content, message);
  EXPECT_GT(d.spills, 5);
}

TEST(Spill, bdat_bare_lf_in_a_spilled_part_is_refused) {
  Dialogue d(small_heads());
  d.send(kEnvelope);
  std::string message = kHeader + body_of(200 * 1024) + "bare\nline\r\n";
  EXPECT_EQ(d.send("BDAT " + std::to_string(message.size()) + " LAST\r\n" + message, 9000).statuses(), "550 5.6.0");
  EXPECT_TRUE(d.stored.empty());
  // The next message starts a fresh spill.
  const std::string next = kHeader + body_of(100 * 1024);
  d.send(kEnvelope.substr(kEnvelope.find("MAIL")));
  EXPECT_EQ(d.send("DATA\r\n" + next + ".\r\n", 9000).statuses(), "354 | 250 2.0.0");
  ASSERT_EQ(d.stored.size(), 1u);
  EXPECT_EQ(d.stored[0].content, next);
}

TEST(Spill, discarded_message_is_read_to_its_end_and_refused) {
  Dialogue d(small_heads());
  d.send(kEnvelope);
  EXPECT_EQ(d.send("DATA\r\n" + kHeader + "part one\r\n").statuses(), "354");
  d.session().discard_message(Reply(codes::k452StorageFull, "Insufficient system storage"));
  EXPECT_LT(d.session().content_memory(), 64u);  // nothing but a short string's inline buffer
  EXPECT_EQ(d.send(body_of(100 * 1024) + ".\r\nNOOP\r\n").statuses(), "452 4.3.1 | 250 2.0.0");
  EXPECT_TRUE(d.stored.empty());
  EXPECT_EQ(d.session().stats().messages_rejected, 1u);
}

TEST(Spill, discarded_bdat_chunk_ends_the_transaction) {
  Dialogue d(small_heads());
  d.send(kEnvelope);
  EXPECT_EQ(d.send("BDAT 20000\r\n" + std::string(1000, 'a')).statuses(), "");
  d.session().discard_message(Reply(codes::k452StorageFull, "Insufficient system storage"));
  EXPECT_EQ(d.send(std::string(19000, 'a') + "NOOP\r\n").statuses(), "452 4.3.1 | 250 2.0.0");
  EXPECT_EQ(d.send("BDAT 1 LAST\r\nx").statuses(), "503 5.5.1");
}

TEST(Spill, size_limit_counts_spilled_octets) {
  SessionOptions options = small_heads();
  options.limits.max_message_size = 200 * 1024;
  Dialogue d(options);
  d.send(kEnvelope);
  EXPECT_EQ(d.send("DATA\r\n" + kHeader + body_of(300 * 1024) + ".\r\n", 8192).statuses(), "354 | 552 5.3.4");
  d.send("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n");
  EXPECT_EQ(d.send("BDAT 150000\r\n" + std::string(150000, 'a')).statuses(), "250 2.0.0");
  EXPECT_EQ(d.send("BDAT 100000 LAST\r\n" + std::string(100000, 'a')).statuses(), "552 5.3.4");
}

}  // namespace
}  // namespace petrel::smtp
