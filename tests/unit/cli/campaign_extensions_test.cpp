// Which extensions petrel campaign send --server could use, read from the
// client's dialogue; and how durations read in the progress display.
#include <gtest/gtest.h>

#include "cli/campaign_extensions.hpp"
#include "cli/campaign_progress.hpp"

namespace petrel::cli {
namespace {

smtp::ServerReply reply(int code, std::string enhanced, std::vector<std::string> lines) {
  smtp::ServerReply r;
  r.code = code;
  r.enhanced = std::move(enhanced);
  r.lines = std::move(lines);
  return r;
}

const ExtensionWatch::Row& row(const ExtensionWatch& w, const std::string& name) {
  for (const auto& r : w.rows()) {
    if (r.extension == name) return r;
  }
  throw std::out_of_range(name);
}

TEST(CampaignExtensions, pipelined_bdat_transaction_with_size) {
  ExtensionWatch w;
  const auto ehlo = reply(250, "", {"mx.test", "PIPELINING", "SIZE 1000000", "CHUNKING", "8BITMIME", "ENHANCEDSTATUSCODES", "DSN"});
  const auto ok = reply(250, "2.0.0", {"Ok"});
  w.see('<', "220 mx.test ESMTP", nullptr);
  w.see('>', "EHLO client.test", nullptr);
  w.see('<', "250-mx.test", &ehlo);
  w.see('>', "MAIL FROM:<b@x.test> SIZE=300", nullptr);
  w.see('>', "RCPT TO:<ann@y.test>", nullptr);
  w.see('<', "250 2.1.0 Ok", &ok);
  w.see('<', "250 2.1.5 Ok", &ok);
  w.see('>', "BDAT 300 LAST", nullptr);
  w.see('>', "[300 octets of content]", nullptr);
  w.see('<', "250 2.0.0 Ok", &ok);
  EXPECT_TRUE(row(w, "PIPELINING").offered && row(w, "PIPELINING").used);
  EXPECT_TRUE(row(w, "SIZE").used);
  EXPECT_TRUE(row(w, "CHUNKING").used);
  EXPECT_TRUE(row(w, "ENHANCEDSTATUSCODES").used);
  EXPECT_TRUE(row(w, "8BITMIME").offered);
  EXPECT_FALSE(row(w, "8BITMIME").used);
  EXPECT_TRUE(row(w, "DSN").offered);
  EXPECT_FALSE(row(w, "DSN").used);
  EXPECT_FALSE(row(w, "STARTTLS").offered);
  EXPECT_EQ(w.max_recipients(), 1u);
}

TEST(CampaignExtensions, lock_step_without_pipelining_and_many_rcpts) {
  ExtensionWatch w;
  const auto ehlo = reply(250, "", {"old.test", "SIZE"});
  const auto ok = reply(250, "", {"Ok"});
  w.see('>', "EHLO client.test", nullptr);
  w.see('<', "250-old.test", &ehlo);
  w.see('>', "MAIL FROM:<b@x.test>", nullptr);
  w.see('<', "250 Ok", &ok);
  for (int i = 0; i < 3; ++i) {
    w.see('>', "RCPT TO:<r" + std::to_string(i) + "@y.test>", nullptr);
    w.see('<', "250 Ok", &ok);
  }
  w.see('>', "DATA", nullptr);
  EXPECT_FALSE(row(w, "PIPELINING").used);
  EXPECT_FALSE(row(w, "SIZE").used);  // SIZE offered, but no SIZE= went out
  EXPECT_FALSE(row(w, "ENHANCEDSTATUSCODES").used);
  EXPECT_EQ(w.max_recipients(), 3u);
  ExtensionWatch other;
  other.see('>', "STARTTLS", nullptr);
  w.merge(other);
  EXPECT_TRUE(row(w, "STARTTLS").used);
}

TEST(CampaignProgress, durations_read_as_a_clock) {
  EXPECT_EQ(format_duration(0), "0s");
  EXPECT_EQ(format_duration(59.4), "59s");
  EXPECT_EQ(format_duration(61), "1:01");
  EXPECT_EQ(format_duration(3723), "1:02:03");
}

}  // namespace
}  // namespace petrel::cli
