// DATA in a session: the message as stored, the reply after the store,
// pipelining (RFC 2920) and SMTP smuggling through fake end-of-data markers.
#include <gtest/gtest.h>

#include "session_harness.hpp"

namespace petrel::smtp {
namespace {

using testing::Dialogue;
using testing::parse_replies;

constexpr std::string_view kEnvelope =
    "EHLO client.test\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n";

TEST(Data, message_is_unstuffed_stored_and_queued) {
  Dialogue d;
  d.ehlo();
  EXPECT_EQ(d.send("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n").statuses(),
            "250 2.1.0 | 250 2.1.5 | 354");
  EXPECT_EQ(d.session().read_timeout(), SessionLimits{}.data_timeout);
  const auto r = d.send("Subject: dots\r\n\r\n..leading dot\r\n.\r\n");
  ASSERT_EQ(r.statuses(), "250 2.0.0");
  EXPECT_EQ(r[0].text(), "Ok: queued as Q1");
  ASSERT_EQ(d.stored.size(), 1u);
  EXPECT_EQ(d.stored[0].content, "Subject: dots\r\n\r\n.leading dot\r\n");
  EXPECT_EQ(d.session().stats().messages_accepted, 1u);
  EXPECT_EQ(d.session().read_timeout(), SessionLimits{}.command_timeout);
}

TEST(Data, empty_message_is_stored) {
  Dialogue d;
  EXPECT_EQ(d.send(std::string(kEnvelope) + ".\r\n").statuses(), "250 | 250 2.1.0 | 250 2.1.5 | 354 | 250 2.0.0");
  ASSERT_EQ(d.stored.size(), 1u);
  EXPECT_EQ(d.stored[0].content, "");
}

TEST(Data, store_waits_for_the_caller_and_later_bytes_wait_too) {
  SessionOptions options;
  Dialogue d(options);
  ServerSession& s = d.session();
  const std::string wire = std::string(kEnvelope) + "hi\r\n.\r\nQUIT\r\n";
  const std::size_t used = s.feed(wire);
  EXPECT_EQ(wire.substr(used), "QUIT\r\n");
  EXPECT_EQ(s.need(), ServerSession::Need::store_message);
  EXPECT_EQ(s.feed("QUIT\r\n"), 0u);
  EXPECT_EQ(parse_replies(s.output()).statuses(), "250 | 250 2.1.0 | 250 2.1.5 | 354");
  s.output().clear();

  const ReceivedMessage m = s.take_message();
  EXPECT_EQ(m.content, "hi\r\n");
  s.message_stored("ABC123");
  EXPECT_EQ(s.need(), ServerSession::Need::input);
  EXPECT_EQ(s.feed("QUIT\r\n"), 6u);
  EXPECT_EQ(s.output(), "250 2.0.0 Ok: queued as ABC123\r\n221 2.0.0 localhost Bye\r\n");
}

TEST(Data, storage_failure_451_or_452_is_passed_on_and_the_session_goes_on) {
  Dialogue d;
  int calls = 0;
  d.store_with([&](const ReceivedMessage&) -> std::optional<Reply> {
    ++calls;
    if (calls == 1) return Reply(codes::k451LocalError, "Local error in processing");
    return Reply(codes::k452StorageFull, "Insufficient system storage");
  });
  EXPECT_EQ(d.send(std::string(kEnvelope) + "one\r\n.\r\n").statuses(), "250 | 250 2.1.0 | 250 2.1.5 | 354 | 451 4.3.0");
  EXPECT_EQ(d.send("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\ntwo\r\n.\r\nNOOP\r\n").statuses(),
            "250 2.1.0 | 250 2.1.5 | 354 | 452 4.3.1 | 250 2.0.0");
  EXPECT_EQ(d.session().stats().messages_rejected, 2u);
  EXPECT_EQ(d.need(), ServerSession::Need::input);
}

TEST(Data, storage_failure_421_closes_the_session) {
  Dialogue d;
  d.store_with([](const ReceivedMessage&) -> std::optional<Reply> {
    return Reply(codes::k421ShuttingDown, "Shutting down");
  });
  EXPECT_EQ(d.send(std::string(kEnvelope) + "one\r\n.\r\nNOOP\r\n").statuses(),
            "250 | 250 2.1.0 | 250 2.1.5 | 354 | 421 4.3.2");
  EXPECT_EQ(d.need(), ServerSession::Need::close);
}

TEST(Data, pipelined_group_is_answered_in_order_in_one_go) {
  Dialogue d;
  d.ehlo();
  ServerSession& s = d.session();
  const std::string group =
      "MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nRCPT TO:<nobody@elsewhere.test>\r\n"
      "RCPT TO:<c@example.test>\r\nDATA\r\n";
  EXPECT_EQ(s.feed(group), group.size());
  EXPECT_EQ(parse_replies(s.output()).statuses(), "250 2.1.0 | 250 2.1.5 | 554 5.7.1 | 250 2.1.5 | 354");
}

TEST(Data, whole_session_in_one_write) {
  Dialogue d;
  const auto r = d.send(std::string(kEnvelope) +
                        "first\r\n.\r\nMAIL FROM:<>\r\nRCPT TO:<c@example.test>\r\nDATA\r\nsecond\r\n.\r\nQUIT\r\n");
  EXPECT_EQ(r.statuses(), "250 | 250 2.1.0 | 250 2.1.5 | 354 | 250 2.0.0 | 250 2.1.0 | 250 2.1.5 | 354 | 250 2.0.0 | 221 2.0.0");
  ASSERT_EQ(d.stored.size(), 2u);
  EXPECT_EQ(d.stored[0].content, "first\r\n");
  EXPECT_EQ(d.stored[1].content, "second\r\n");
  EXPECT_EQ(r[8].text(), "Ok: queued as Q2");
}

// Property: how the client's bytes are split into reads does not change anything.
TEST(Data, byte_at_a_time_gives_the_same_replies_as_all_at_once) {
  const std::string dialogues[] = {
      std::string(kEnvelope) + "Subject: x\r\n\r\n..dot\r\nbody\r\n.\r\nQUIT\r\n",
      "HELO a\r\nNOOP\r\nFROB\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<x@elsewhere.test>\r\nDATA\r\nRSET\r\nQUIT\r\n",
      std::string(kEnvelope) + "bare\nlf\r\n.\r\nVRFY x\r\nHELP DATA\r\n",
      std::string(kEnvelope) + std::string(1200, 'L') + "\r\n.\r\nEXPN x\r\n",
      "EHLO c\r\nMAIL FROM:<a@example.test> BODY=BINARYMIME\r\nRCPT TO:<b@example.test>\r\nBDAT 7\r\nab\r\n.\r\nBDAT 3 LAST\r\nxyzNOOP\r\n",
      "EHLO c\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nBDAT 0 LAST\r\nBDAT 4\r\nQUITRSET\r\n",
      "ehlo c\nmail from:<a@example.test>\nrcpt to:<b@example.test>\ndata\nx\r\n.\r\nquit\n",
      "NOOP " + std::string(5000, 'x') + "\r\nNOOP " + std::string(600, 'y') + "\r\nNOOP\r\n",
  };
  for (const std::string& wire : dialogues) {
    Dialogue whole;
    Dialogue bytewise;
    const std::string expected = whole.send_raw(wire);
    EXPECT_EQ(bytewise.send_raw(wire, 1), expected) << wire;
    ASSERT_EQ(bytewise.stored.size(), whole.stored.size()) << wire;
    for (std::size_t i = 0; i < whole.stored.size(); ++i) {
      EXPECT_EQ(bytewise.stored[i].content, whole.stored[i].content) << wire;
    }
    EXPECT_EQ(bytewise.need(), whole.need()) << wire;
    for (std::size_t piece : {2u, 3u, 7u, 64u}) {
      Dialogue chunked;
      EXPECT_EQ(chunked.send_raw(wire, piece), expected) << "piece " << piece << ": " << wire;
    }
  }
}

TEST(Data, over_max_size_is_552_after_the_end_and_the_rest_is_not_commands) {
  SessionOptions options;
  options.limits.max_message_size = 2000;
  Dialogue d(options);
  std::string body;
  for (int i = 0; i < 100; ++i) body += "RCPT TO:<evil@elsewhere.test>\r\n";
  const auto r = d.send(std::string(kEnvelope) + body + ".\r\nNOOP\r\n");
  EXPECT_EQ(r.statuses(), "250 | 250 2.1.0 | 250 2.1.5 | 354 | 552 5.3.4 | 250 2.0.0");
  EXPECT_EQ(d.store_requests, 0);
  EXPECT_EQ(d.session().stats().messages_rejected, 1u);
}

TEST(Data, text_line_over_1000_octets_is_554_after_the_end) {
  Dialogue d;
  const auto r = d.send(std::string(kEnvelope) + std::string(999, 'x') + "\r\nok\r\n.\r\nNOOP\r\n");
  EXPECT_EQ(r.statuses(), "250 | 250 2.1.0 | 250 2.1.5 | 354 | 554 5.6.0 | 250 2.0.0");
  EXPECT_NE(r[4].text().find("1000"), std::string::npos);
  EXPECT_EQ(d.store_requests, 0);

  Dialogue at_limit;
  EXPECT_EQ(at_limit.send(std::string(kEnvelope) + std::string(998, 'x') + "\r\n.\r\n").statuses(),
            "250 | 250 2.1.0 | 250 2.1.5 | 354 | 250 2.0.0");
}

TEST(Data, text_line_limit_zero_means_none) {
  SessionOptions options;
  options.limits.max_text_line = 0;
  Dialogue d(options);
  d.send(std::string(kEnvelope) + std::string(5000, 'x') + "\r\n.\r\n");
  ASSERT_EQ(d.stored.size(), 1u);
  EXPECT_EQ(d.stored[0].content.size(), 5002u);
}

TEST(Data, binarymime_with_data_is_503) {
  Dialogue d;
  d.ehlo();
  EXPECT_EQ(d.send("MAIL FROM:<a@example.test> BODY=BINARYMIME\r\nRCPT TO:<b@example.test>\r\nDATA\r\n").statuses(),
            "250 2.1.0 | 250 2.1.5 | 503 5.5.1");
}

// --- SMTP smuggling -------------------------------------------------------
// A body with a fake end marker followed by a whole second transaction, then
// the real <CRLF>.<CRLF>.

struct Smuggle {
  const char* name;
  const char* fake_end;
};

const Smuggle kSmuggles[] = {
    {"lf_dot_lf", "\n.\n"},
    {"cr_dot_cr", "\r.\r"},
    {"lf_dot_crlf", "\n.\r\n"},
    {"crlf_dot_cr", "\r\n.\r"},
    {"crlf_dot_lf", "\r\n.\n"},
    {"cr_dot_crlf", "\r.\r\n"},
};

std::string smuggling_body(const char* fake_end) {
  return std::string("Subject: hello\r\n\r\nlegit text") + fake_end +
         "MAIL FROM:<ceo@example.test>\r\nRCPT TO:<victim@example.test>\r\nDATA\r\n"
         "Subject: smuggled\r\n\r\nsend money\r\n.\r\n";
}

TEST(Data, rejects_bare_line_ending_dot_smuggling) {
  for (const auto& s : kSmuggles) {
    Dialogue d;
    const auto r = d.send(std::string(kEnvelope) + smuggling_body(s.fake_end) + "QUIT\r\n");
    EXPECT_EQ(r.statuses(), "250 | 250 2.1.0 | 250 2.1.5 | 354 | 550 5.6.0 | 221 2.0.0") << s.name;
    EXPECT_EQ(d.store_requests, 0) << s.name;
    EXPECT_EQ(d.session().stats().messages_rejected, 1u) << s.name;
  }
}

TEST(Data, normalize_stores_the_smuggled_text_once_as_content) {
  SessionOptions options;
  options.bare_line_endings = BareLineEndingPolicy::normalize;
  for (const auto& s : kSmuggles) {
    Dialogue d(options);
    const auto r = d.send(std::string(kEnvelope) + smuggling_body(s.fake_end) + "QUIT\r\n");
    EXPECT_EQ(r.statuses(), "250 | 250 2.1.0 | 250 2.1.5 | 354 | 250 2.0.0 | 221 2.0.0") << s.name;
    ASSERT_EQ(d.stored.size(), 1u) << s.name;
    const std::string& content = d.stored[0].content;
    EXPECT_NE(content.find("MAIL FROM:<ceo@example.test>\r\n"), std::string::npos) << s.name;
    EXPECT_NE(content.find("send money\r\n"), std::string::npos) << s.name;
    ASSERT_EQ(d.stored[0].envelope.recipients.size(), 1u) << s.name;
    EXPECT_EQ(d.stored[0].envelope.recipients[0].forward_path.str(), "b@example.test") << s.name;
    // Every line ending in the stored message is a CRLF.
    for (std::size_t i = 0; i < content.size(); ++i) {
      const bool lf_after_cr = content[i] != '\n' || (i > 0 && content[i - 1] == '\r');
      const bool cr_before_lf = content[i] != '\r' || (i + 1 < content.size() && content[i + 1] == '\n');
      EXPECT_TRUE(lf_after_cr && cr_before_lf) << s.name << " at " << i;
    }
  }
}

TEST(Data, smuggling_fed_byte_at_a_time_is_still_rejected) {
  for (const auto& s : kSmuggles) {
    Dialogue d;
    const auto r = d.send(std::string(kEnvelope) + smuggling_body(s.fake_end) + "QUIT\r\n", 1);
    EXPECT_EQ(r.statuses(), "250 | 250 2.1.0 | 250 2.1.5 | 354 | 550 5.6.0 | 221 2.0.0") << s.name;
    EXPECT_EQ(d.store_requests, 0) << s.name;
  }
}

}  // namespace
}  // namespace petrel::smtp

namespace petrel::smtp {
namespace {

std::string with_received(std::size_t hops) {
  std::string m;
  for (std::size_t i = 0; i < hops; ++i) m += "Received: from hop" + std::to_string(i) + ".test\r\n\tby next.test; x\r\n";
  return m + "Subject: loop\r\n\r\nReceived: in the body does not count\r\n.\r\n";
}

TEST(Data, a_message_past_max_hops_is_a_loop_refused_with_554_5_4_6) {
  SessionOptions options;
  options.limits.max_hops = 3;
  Dialogue d(options);
  EXPECT_EQ(d.send(std::string(kEnvelope) + with_received(3)).statuses(), "250 | 250 2.1.0 | 250 2.1.5 | 354 | 250 2.0.0");
  const auto r = d.send("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n" + with_received(4));
  ASSERT_EQ(r.statuses(), "250 2.1.0 | 250 2.1.5 | 354 | 554 5.4.6");
  EXPECT_NE(r[3].text().find("more than 3 Received"), std::string::npos);
  EXPECT_EQ(d.stored.size(), 1u);
  EXPECT_EQ(d.session().stats().messages_rejected, 1u);
  // The session goes on: a new transaction is accepted.
  EXPECT_EQ(d.send("MAIL FROM:<a@example.test>\r\n").statuses(), "250 2.1.0");
}

TEST(Data, max_hops_zero_counts_nothing) {
  SessionOptions options;
  options.limits.max_hops = 0;
  Dialogue d(options);
  EXPECT_EQ(d.send(std::string(kEnvelope) + with_received(200)).statuses(), "250 | 250 2.1.0 | 250 2.1.5 | 354 | 250 2.0.0");
}

}  // namespace
}  // namespace petrel::smtp
