// Behaviour pinned down after the fuzzers (fuzz/, docs/security.md) found it
// broken; each input is also kept as fuzz/corpus/<target>/regress-*.
#include <gtest/gtest.h>

#include <string>

#include "session_harness.hpp"
#include "smtp/address.hpp"
#include "smtp/dot_reader.hpp"
#include "smtp/mail_params.hpp"

namespace petrel::smtp {
namespace {

using testing::Dialogue;

// fuzz_server_session, regress-overlong-line-split: the error count of an
// overlong line, and so whether it ends the session with 421, depended on
// how TCP split the line into reads (one big read cost one error).
TEST(FuzzFindings, overlong_line_costs_the_same_errors_in_one_read_or_many) {
  SessionOptions options;
  options.limits.max_errors = 3;
  // 512 + 1024 octets are allowed; 5002 is three allowances over: 3 errors.
  const std::string stream = "EHLO client.test\r\n" + std::string(5000, 'z') + "\r\nNOOP\r\n";

  Dialogue at_once(options);
  Dialogue in_pieces(options);
  const auto a = at_once.send(stream);
  const auto b = in_pieces.send(stream, 100);
  EXPECT_EQ(a.statuses(), "250 | 500 5.5.2 | 421 4.7.0");
  EXPECT_EQ(b.statuses(), a.statuses());
  EXPECT_EQ(at_once.need(), ServerSession::Need::close);
}

TEST(FuzzFindings, overlong_line_ending_in_the_same_read_counts_all_its_octets) {
  SessionOptions options;
  options.limits.max_errors = 3;
  Dialogue d(options);
  // One read holding the whole 5000-octet line and its LF.
  const auto r = d.send("NOOP " + std::string(4995, 'z') + "\r\n");
  EXPECT_EQ(r.statuses(), "500 5.5.2 | 421 4.7.0");
}

// fuzz_server_session and fuzz_command_line,
// regress-control-octet-in-param-reply: an unknown parameter keyword was
// echoed as sent, so a bare CR in it reached the reply line.
TEST(FuzzFindings, parameter_keyword_with_a_bare_cr_is_not_echoed_raw) {
  MailParams params;
  const auto refusal = parse_mail_params(" X\rY=1", ParamContext{true, 1000}, params);
  ASSERT_TRUE(refusal);
  EXPECT_EQ(refusal->code(), 555);
  EXPECT_EQ(refusal->lines.front(), "Unsupported parameter X?Y");

  Recipient rcpt;
  const auto bad = parse_rcpt_params(" NOTIFY=x NOTIFY\x01=y", ParamContext{true, 1000}, rcpt);
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->wire().find('\x01'), std::string::npos);
}

TEST(FuzzFindings, session_reply_to_a_parameter_with_a_bare_cr_is_one_clean_line) {
  Dialogue d;
  d.ehlo();
  const std::string raw = d.send_raw(std::string("MAIL FROM:<a@example.test> X\rY") + '\0' + "\r\n");
  EXPECT_EQ(raw, "555 5.5.4 Unsupported parameter X?Y?\r\n");
}

// fuzz_command_line, regress-null-path-trailing-text: "<>" followed by text
// without a space was accepted (and the text taken as parameters), while
// "<a@b>" followed by text is refused.
TEST(FuzzFindings, null_path_followed_by_text_without_a_space_is_refused) {
  EXPECT_EQ(parse_path("<>SIZE=10", true, false).error, AddressError::trailing_garbage);
  EXPECT_EQ(parse_path("<a@example.test>SIZE=10", true, false).error, AddressError::trailing_garbage);
  const PathParse ok = parse_path("<> SIZE=10", true, false);
  EXPECT_EQ(ok.error, AddressError::none);
  EXPECT_EQ(ok.consumed, 2u);

  Dialogue d;
  d.ehlo();
  EXPECT_EQ(d.send("MAIL FROM:<>SIZE=10\r\n").statuses(), "501 5.1.7");
  EXPECT_EQ(d.send("MAIL FROM:<> SIZE=10\r\n").statuses(), "250 2.1.0");
}

// fuzz_dot_reader, regress-size-and-line-limit-order: with both limits
// exceeded, the verdict (552 or 554) depended on how the DATA bytes were
// split into reads. It now names the limit exceeded first in the stream.
TEST(FuzzFindings, first_limit_exceeded_decides_the_verdict_however_the_data_is_split) {
  DotReader::Limits limits;
  limits.max_size = 16;
  limits.max_line = 3;
  const std::string wire = std::string(17, 'x') + "\r\n.\r\n";

  DotReader at_once(limits);
  std::string content;
  EXPECT_EQ(at_once.feed(wire, content), wire.size());
  EXPECT_EQ(at_once.verdict(), DotReader::Verdict::line_too_long);

  DotReader bytewise(limits);
  std::string content2;
  for (std::size_t i = 0; i < wire.size(); ++i) bytewise.feed(wire.substr(i, 1), content2);
  EXPECT_TRUE(bytewise.done());
  EXPECT_EQ(bytewise.verdict(), at_once.verdict());
}

}  // namespace
}  // namespace petrel::smtp
