// ReplyReader: server replies as the SMTP client reads them.
#include <gtest/gtest.h>

#include "smtp/reply_codes.hpp"
#include "smtp/reply_reader.hpp"

namespace petrel::smtp {
namespace {

// Every complete reply in `wire`, fed in pieces of `piece` octets.
std::vector<ServerReply> read_all(std::string_view wire, std::size_t piece, ReplyReader::Error* error = nullptr,
                                  ReplyReader::Limits limits = {}) {
  ReplyReader reader(limits);
  std::vector<ServerReply> out;
  std::string pending;
  for (std::size_t pos = 0; pos < wire.size(); pos += piece) {
    pending += wire.substr(pos, piece);
    for (;;) {
      const std::size_t used = reader.feed(pending);
      pending.erase(0, used);
      if (reader.ready()) {
        out.push_back(reader.take());
        continue;
      }
      break;
    }
    if (reader.error() != ReplyReader::Error::none) break;
  }
  if (error) *error = reader.error();
  return out;
}

TEST(ReplyReader, single_line_with_enhanced_code) {
  const auto r = read_all("550 5.1.1 <x@example.org>: no such user\r\n", 1000);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].code, 550);
  EXPECT_EQ(r[0].enhanced, "5.1.1");
  ASSERT_EQ(r[0].lines.size(), 1u);
  EXPECT_EQ(r[0].lines[0], "<x@example.org>: no such user");
  EXPECT_TRUE(r[0].permanent());
  EXPECT_FALSE(r[0].local);
  EXPECT_EQ(r[0].str(), "550 5.1.1 <x@example.org>: no such user");
}

TEST(ReplyReader, multi_line_reply_strips_the_enhanced_code_from_every_line) {
  const auto r = read_all("451-4.3.0 first\r\n451-4.3.0 second\r\n451 4.3.0 third\r\n", 1000);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].enhanced, "4.3.0");
  EXPECT_EQ(r[0].lines, (std::vector<std::string>{"first", "second", "third"}));
  EXPECT_EQ(r[0].str(), "451 4.3.0 first second third");
}

TEST(ReplyReader, code_alone_and_without_enhanced_code) {
  const auto r = read_all("250\r\n354 End data with <CR><LF>.<CR><LF>\r\n", 1000);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].code, 250);
  EXPECT_EQ(r[0].lines, std::vector<std::string>{""});
  EXPECT_EQ(r[1].code, 354);
  EXPECT_EQ(r[1].enhanced, "");
}

TEST(ReplyReader, enhanced_code_of_another_class_is_text) {
  const auto r = read_all("250 5.1.1 odd\r\n", 1000);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].enhanced, "");
  EXPECT_EQ(r[0].lines[0], "5.1.1 odd");
}

TEST(ReplyReader, bare_lf_ends_a_line_too) {
  const auto r = read_all("220-a\n220 b\n", 1000);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].lines, (std::vector<std::string>{"a", "b"}));
}

TEST(ReplyReader, byte_by_byte_reads_the_same) {
  const std::string wire = "250-mx.example.org\r\n250-PIPELINING\r\n250 SIZE 1000\r\n221 2.0.0 Bye\r\n";
  const auto whole = read_all(wire, 1000);
  const auto bytes = read_all(wire, 1);
  ASSERT_EQ(whole.size(), 2u);
  ASSERT_EQ(bytes.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(whole[i].str(), bytes[i].str());
    EXPECT_EQ(whole[i].lines, bytes[i].lines);
  }
}

TEST(ReplyReader, stops_after_each_complete_reply) {
  ReplyReader reader;
  const std::string wire = "220 ready\r\n250 ok\r\n";
  EXPECT_EQ(reader.feed(wire), 11u);
  EXPECT_TRUE(reader.ready());
  EXPECT_EQ(reader.feed("250 ok\r\n"), 0u);  // nothing while a reply waits
  EXPECT_EQ(reader.take().code, 220);
  EXPECT_EQ(reader.feed("250 o"), 5u);
  EXPECT_TRUE(reader.partial());
  EXPECT_EQ(reader.feed("k\r\n"), 3u);
  EXPECT_EQ(reader.take().lines[0], "ok");
  EXPECT_FALSE(reader.partial());
}

TEST(ReplyReader, malformed_lines_are_errors) {
  for (std::string_view wire : {"hello\r\n", "199 no\r\n", "260 no\r\n", "25\r\n", "2500 x\r\n", "250-a\r\n251 b\r\n",
                                "600 x\r\n", "250_x\r\n"}) {
    ReplyReader::Error error{};
    read_all(wire, 1000, &error);
    EXPECT_EQ(error, ReplyReader::Error::malformed) << wire;
  }
}

TEST(ReplyReader, line_and_reply_length_are_bounded) {
  ReplyReader::Error error{};
  read_all("250 " + std::string(100, 'x') + "\r\n", 7, &error, {.max_line = 64, .max_lines = 3});
  EXPECT_EQ(error, ReplyReader::Error::line_too_long);
  read_all("250-a\r\n250-b\r\n250-c\r\n250 d\r\n", 1000, &error, {.max_line = 64, .max_lines = 3});
  EXPECT_EQ(error, ReplyReader::Error::too_many_lines);
  // Exactly at the limit is fine, in one piece or in pieces.
  const std::string exact = "250 " + std::string(58, 'x') + "\r\n";
  EXPECT_EQ(read_all(exact, 1000, &error, {.max_line = 64}).size(), 1u);
  EXPECT_EQ(read_all(exact, 1, &error, {.max_line = 64}).size(), 1u);
}

TEST(ReplyReader, control_octets_do_not_reach_the_text) {
  const auto r = read_all("550 bad\x1b[31m\rthing\r\n", 1000);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].lines[0], "bad?[31m?thing");
}

TEST(ReplyReader, made_here_is_marked_local) {
  const ServerReply r = ServerReply::made_here(codes::k421ConnectionLost, "Lost connection");
  EXPECT_TRUE(r.local);
  EXPECT_EQ(r.str(), "421 4.4.2 Lost connection");
}

}  // namespace
}  // namespace petrel::smtp
