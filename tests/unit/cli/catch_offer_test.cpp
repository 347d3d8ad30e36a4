// petrel catch --offer: the allow-list of EHLO keywords.
#include <gtest/gtest.h>

#include "cli/catch_command.hpp"

namespace petrel::cli {
namespace {

TEST(CatchOffer, empty_means_every_keyword) {
  std::string error;
  const auto offer = parse_offer("", error);
  ASSERT_TRUE(offer);
  EXPECT_TRUE(offer->esmtp);
  EXPECT_EQ(offer->keywords, catch_keywords());
}

TEST(CatchOffer, keywords_are_case_insensitive_and_deduplicated) {
  std::string error;
  const auto offer = parse_offer(" pipelining, Size,8bitmime ,SIZE", error);
  ASSERT_TRUE(offer);
  EXPECT_EQ(offer->keywords, (std::vector<std::string>{"PIPELINING", "SIZE", "8BITMIME"}));
}

TEST(CatchOffer, none_is_a_plain_rfc821_server) {
  std::string error;
  const auto offer = parse_offer("None", error);
  ASSERT_TRUE(offer);
  EXPECT_FALSE(offer->esmtp);
  EXPECT_TRUE(offer->keywords.empty());
}

TEST(CatchOffer, an_unknown_keyword_is_an_error_naming_it) {
  std::string error;
  EXPECT_FALSE(parse_offer("PIPELINING,TURBO", error));
  EXPECT_NE(error.find("TURBO"), std::string::npos);
}

}  // namespace
}  // namespace petrel::cli
