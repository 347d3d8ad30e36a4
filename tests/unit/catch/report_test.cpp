// The JSON report (docs/petrel-catch.md documents its fields), the content
// scanner on its own, and the catch authenticator's base64.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "catch/report.hpp"
#include "catch_harness.hpp"

namespace petrel::catcher {
namespace {

using testing::catch_options;
using testing::kHeaders;
using testing::play;

TEST(Report, fields_and_file_of_each_accepted_message) {
  testing::AcceptAll policy;
  const smtp::SessionOptions options = catch_options();  // the session keeps a reference
  CaughtSession s(options, policy, "127.0.0.1", nullptr, GraderOptions{});
  s.greet();
  const std::string good = std::string(kHeaders) + "ok\r\n.\r\n";
  const std::string bad = std::string(kHeaders) + "bare\nlf\r\n.\r\n";
  for (const std::string& read :
       {std::string("EHLO c.test\r\n"), std::string("MAIL FROM:<a@x.test> SIZE=500\r\n"), std::string("RCPT TO:<b@y.test>\r\n"),
        std::string("DATA\r\n"), bad, std::string("MAIL FROM:<a@x.test> SIZE=500\r\n"), std::string("RCPT TO:<b@y.test>\r\n"),
        std::string("DATA\r\n"), good, std::string("QUIT\r\n")}) {
    s.read_started();
    s.feed(read);
    if (s.need() == CaughtSession::Need::store_message) {
      s.take_message();
      s.message_stored("Q1");
    }
    s.take_output();
  }
  s.finish();
  SessionFacts facts;
  facts.client = "127.0.0.1:4000";
  facts.started = "2026-12-07T11:25:56Z";
  facts.close_reason = "QUIT";
  facts.files = {"new/1.Q1"};
  const std::string text = json_report(s.grader(), facts);
  ASSERT_EQ(text.back(), '\n');
  const auto doc = nlohmann::json::parse(text);
  EXPECT_EQ(doc["client"], "127.0.0.1:4000");
  EXPECT_EQ(doc["greeting"], "EHLO");
  EXPECT_EQ(doc["helo_name"], "c.test");
  EXPECT_TRUE(doc["tls"].is_null());
  EXPECT_EQ(doc["used"], nlohmann::json::array({"SIZE"}));
  ASSERT_EQ(doc["messages"].size(), 2u);
  EXPECT_EQ(doc["messages"][0]["reply"], 550);
  EXPECT_TRUE(doc["messages"][0]["file"].is_null());  // refused: not kept
  EXPECT_EQ(doc["messages"][1]["reply"], 250);
  EXPECT_EQ(doc["messages"][1]["file"], "new/1.Q1");
  EXPECT_EQ(doc["messages"][1]["declared_size"], 500);
  EXPECT_EQ(doc["messages"][1]["to"], nlohmann::json::array({"<b@y.test>"}));
  ASSERT_EQ(doc["findings"].size(), 1u);
  EXPECT_EQ(doc["findings"][0]["id"], "bare-lf");
  EXPECT_EQ(doc["findings"][0]["level"], "fail");
  EXPECT_EQ(doc["summary"]["fail"], 1);
  EXPECT_EQ(doc["verdict"], "fail");
  EXPECT_EQ(doc["exit_status"], 2);
}

TEST(Report, a_clean_session_is_pass_with_exit_status_0) {
  const auto run = play(catch_options(), {"EHLO c\r\n", "QUIT\r\n"});
  EXPECT_EQ(run.ids(), "");
}

TEST(ContentScanner, size_leaves_out_the_stuffing_and_the_final_dot) {
  ContentScanner scan(true, 1000);
  scan.feed("a\r\n..b\r\n.\r\n");
  EXPECT_EQ(scan.finish().size, 7u);  // "a\r\n.b\r\n"
}

TEST(ContentScanner, a_header_section_is_kept_unstuffed) {
  ContentScanner scan(true, 1000);
  scan.feed("X: 1\r\n..Y: 2\r\n\r\nbody\r\n.\r\n");
  EXPECT_EQ(scan.finish().header, "X: 1\r\n.Y: 2\r\n");
}

TEST(ContentScanner, bdat_has_no_dots_and_counts_every_octet) {
  ContentScanner scan(false, 1000);
  scan.feed(".x\r\n.\r\n");
  const auto& facts = scan.finish();
  EXPECT_EQ(facts.size, 7u);
  EXPECT_EQ(facts.unstuffed_dot_line, 0u);
}

TEST(ContentScanner, a_trailing_cr_is_bare) {
  ContentScanner scan(false, 1000);
  scan.feed("a\r");
  EXPECT_EQ(scan.finish().bare_cr_line, 1u);
}

TEST(CatchAuth, base64_round_trip_and_refusals) {
  for (const std::string& s : std::vector<std::string>{"", "a", "ab", "abc", std::string("\0alice\0secret", 13)}) {
    EXPECT_EQ(base64_decode(base64_encode(s)), s);
  }
  EXPECT_FALSE(base64_decode("a"));
  EXPECT_FALSE(base64_decode("YQ==YQ=="));
  EXPECT_FALSE(base64_decode("Y!=="));
}

}  // namespace
}  // namespace petrel::catcher
