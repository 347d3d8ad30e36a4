// The DATA reader on its own (RFC 5321 §4.1.1.4, §4.5.2): dot-unstuffing, the
// one real end <CRLF>.<CRLF>, limits, and bare CR/LF handling.
#include "smtp/dot_reader.hpp"

#include <gtest/gtest.h>

#include <string>

namespace petrel::smtp {
namespace {

using Verdict = DotReader::Verdict;

struct Read {
  std::string content;
  std::size_t consumed = 0;
  bool done = false;
  Verdict verdict = Verdict::ok;
  std::uint64_t size = 0;
};

Read read_all(std::string_view wire, DotReader::Limits limits = {}) {
  DotReader reader(limits);
  Read r;
  r.consumed = reader.feed(wire, r.content);
  r.done = reader.done();
  r.verdict = reader.verdict();
  r.size = reader.size();
  return r;
}

Read read_bytewise(std::string_view wire, DotReader::Limits limits = {}) {
  DotReader reader(limits);
  Read r;
  for (std::size_t i = 0; i < wire.size() && !reader.done(); ++i) r.consumed += reader.feed(wire.substr(i, 1), r.content);
  r.done = reader.done();
  r.verdict = reader.verdict();
  r.size = reader.size();
  return r;
}

DotReader::Limits normalizing() {
  DotReader::Limits l;
  l.bare_line_endings = BareLineEndingPolicy::normalize;
  return l;
}

TEST(DotReader, plain_message_ends_at_crlf_dot_crlf) {
  const Read r = read_all("Subject: hi\r\n\r\nbody\r\n.\r\n");
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.verdict, Verdict::ok);
  EXPECT_EQ(r.content, "Subject: hi\r\n\r\nbody\r\n");
  EXPECT_EQ(r.size, r.content.size());
}

TEST(DotReader, empty_message_is_just_the_dot) {
  const Read r = read_all(".\r\n");
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.content, "");
  EXPECT_EQ(r.consumed, 3u);
}

TEST(DotReader, leading_dots_are_unstuffed) {
  const Read r = read_all("..hidden\r\n...\r\n..\r\nx.y\r\n.\r\n");
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.content, ".hidden\r\n..\r\n.\r\nx.y\r\n");
}

TEST(DotReader, end_found_mid_buffer_consumes_exactly_up_to_its_lf) {
  const std::string_view wire = "line\r\n.\r\nQUIT\r\n";
  const Read r = read_all(wire);
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.consumed, wire.find("QUIT"));
  EXPECT_EQ(r.content, "line\r\n");
}

TEST(DotReader, without_the_end_everything_is_consumed) {
  const std::string_view wire = "line one\r\nline two\r\n.";
  const Read r = read_all(wire);
  EXPECT_FALSE(r.done);
  EXPECT_EQ(r.consumed, wire.size());
}

TEST(DotReader, byte_at_a_time_reads_the_same) {
  for (std::string_view wire : {"a\r\n..b\r\n\r\n.\r\nrest", "x\ry\r\n.\r\n", "\r\n.\r\n", "..\r\n.\r\n"}) {
    const Read whole = read_all(wire);
    const Read bytes = read_bytewise(wire);
    EXPECT_EQ(bytes.content, whole.content) << wire;
    EXPECT_EQ(bytes.consumed, whole.consumed) << wire;
    EXPECT_EQ(bytes.done, whole.done) << wire;
    EXPECT_EQ(bytes.verdict, whole.verdict) << wire;
  }
}

TEST(DotReader, size_counts_unstuffed_content_with_crlf) {
  const Read r = read_all("..ab\r\ncd\r\n.\r\n");
  EXPECT_EQ(r.content, ".ab\r\ncd\r\n");
  EXPECT_EQ(r.size, 9u);
}

TEST(DotReader, over_max_size_reads_to_the_end_and_keeps_nothing_more) {
  DotReader::Limits limits;
  limits.max_size = 10;
  const std::string body = "0123456789\r\n" + std::string(5000, 'x') + "\r\nMAIL FROM:<a@b>\r\n";
  const Read r = read_all(body + ".\r\nQUIT\r\n", limits);
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.verdict, Verdict::too_big);
  EXPECT_EQ(r.consumed, body.size() + 3);
  EXPECT_LE(r.content.size(), 12u);
  EXPECT_EQ(r.size, body.size());
}

TEST(DotReader, message_of_exactly_max_size_is_ok) {
  DotReader::Limits limits;
  limits.max_size = 6;
  EXPECT_EQ(read_all("abcd\r\n.\r\n", limits).verdict, Verdict::ok);
  EXPECT_EQ(read_all("abcde\r\n.\r\n", limits).verdict, Verdict::too_big);
}

TEST(DotReader, text_line_limit_counts_the_crlf) {
  DotReader::Limits limits;
  limits.max_line = 1000;
  EXPECT_EQ(read_all(std::string(998, 'a') + "\r\n.\r\n", limits).verdict, Verdict::ok);
  EXPECT_EQ(read_all(std::string(999, 'a') + "\r\n.\r\n", limits).verdict, Verdict::line_too_long);
  // RFC 5321 §4.5.3.1.6: "not counting the leading dot duplicated for
  // transparency": a 998-octet line of dots is 999 octets on the wire.
  EXPECT_EQ(read_all("." + std::string(998, '.') + "\r\n.\r\n", limits).verdict, Verdict::ok);
  EXPECT_EQ(read_all("." + std::string(999, '.') + "\r\n.\r\n", limits).verdict, Verdict::line_too_long);
  EXPECT_EQ(read_all(".." + std::string(997, 'a') + "\r\n.\r\n", limits).verdict, Verdict::ok);
}

TEST(DotReader, overlong_line_still_reads_to_the_end) {
  DotReader::Limits limits;
  limits.max_line = 1000;
  const std::string wire = std::string(5000, 'a') + "\r\nmore\r\n.\r\nNOOP\r\n";
  const Read r = read_all(wire, limits);
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.verdict, Verdict::line_too_long);
  EXPECT_EQ(r.consumed, wire.find("NOOP"));
}

TEST(DotReader, first_violation_is_the_verdict) {
  DotReader::Limits limits;
  limits.max_size = 100;
  limits.max_line = 1000;
  // bare LF, then too long, then too big: the bare LF is what is reported.
  EXPECT_EQ(read_all("a\nb\r\n" + std::string(2000, 'c') + "\r\n.\r\n", limits).verdict, Verdict::bare_line_ending);
  // too long first, then a bare LF.
  limits.max_size = 5000;
  EXPECT_EQ(read_all(std::string(2000, 'c') + "\r\na\nb\r\n.\r\n", limits).verdict, Verdict::line_too_long);
  // too big first, then a bare LF.
  limits.max_size = 10;
  EXPECT_EQ(read_all(std::string(20, 'c') + "\r\na\nb\r\n.\r\n", limits).verdict, Verdict::too_big);
}

// Each of these would end the message early on a lax reader and let the
// text after it be taken for a second transaction (SMTP smuggling).
const char* const kFakeEnds[] = {"\n.\n", "\r.\r", "\r.\r\n", "\n.\r\n", "\r\n.\r", "\r\n.\n", "\n.\r"};

TEST(DotReader, rejects_every_fake_end_and_waits_for_the_real_one) {
  for (const char* fake : kFakeEnds) {
    const std::string wire = std::string("hello") + fake + "MAIL FROM:<x@y>\r\n.\r\n";
    const Read r = read_all(wire);
    EXPECT_TRUE(r.done) << testing::PrintToString(fake);
    EXPECT_EQ(r.consumed, wire.size()) << testing::PrintToString(fake);
    EXPECT_EQ(r.verdict, Verdict::bare_line_ending) << testing::PrintToString(fake);
  }
}

TEST(DotReader, normalizes_every_fake_end_into_content) {
  for (const char* fake : kFakeEnds) {
    const std::string wire = std::string("hello") + fake + "MAIL FROM:<x@y>\r\n.\r\n";
    const Read r = read_all(wire, normalizing());
    EXPECT_TRUE(r.done) << testing::PrintToString(fake);
    EXPECT_EQ(r.consumed, wire.size()) << testing::PrintToString(fake);
    EXPECT_EQ(r.verdict, Verdict::ok) << testing::PrintToString(fake);
    EXPECT_NE(r.content.find("MAIL FROM:<x@y>\r\n"), std::string::npos) << testing::PrintToString(fake);
  }
}

TEST(DotReader, normalize_turns_bare_endings_into_crlf) {
  const Read r = read_all("a\nb\rc\r\n.\r\n", normalizing());
  EXPECT_EQ(r.verdict, Verdict::ok);
  EXPECT_EQ(r.content, "a\r\nb\r\nc\r\n");
}

TEST(DotReader, normalized_lone_dot_line_stays_content) {
  const Read r = read_all("a\n.\nb\r\n.\r\n", normalizing());
  EXPECT_EQ(r.content, "a\r\n.\r\nb\r\n");
}

TEST(DotReader, crlf_after_a_bare_lf_restores_a_real_line_start) {
  // LF CR LF "." CR LF: the CRLF before the dot is real, so this is the end.
  const Read r = read_all("a\n\r\n.\r\nafter", normalizing());
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.content, "a\r\n\r\n");
}

TEST(DotReader, bare_cr_at_a_buffer_boundary) {
  DotReader reader({});
  std::string out;
  reader.feed("abc\r", out);
  reader.feed("\n.\r", out);
  EXPECT_FALSE(reader.done());
  EXPECT_EQ(reader.feed("\nnext", out), 1u);
  EXPECT_TRUE(reader.done());
  EXPECT_EQ(out, "abc\r\n");
  EXPECT_EQ(reader.verdict(), Verdict::ok);
}

}  // namespace
}  // namespace petrel::smtp
