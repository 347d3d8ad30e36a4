// API tokens: the file's format, its errors, and who a bearer token names.
#include <gtest/gtest.h>

#include "http/api_tokens.hpp"
#include "http/message.hpp"

namespace petrel::http {
namespace {

TEST(ApiTokens, names_the_caller_and_its_tenant) {
  const auto tokens = ApiTokens::parse("# comment\n\nops:0123456789abcdef0123\nshop:shop-token-0123456789:shop1\n", "t");
  ASSERT_EQ(tokens.size(), 2u);
  auto ops = tokens.authenticate("Bearer 0123456789abcdef0123");
  ASSERT_TRUE(ops);
  EXPECT_EQ(ops->name, "ops");
  EXPECT_EQ(ops->tenant, "");
  auto shop = tokens.authenticate("bearer shop-token-0123456789");
  ASSERT_TRUE(shop);
  EXPECT_EQ(shop->tenant, "shop1");
}

TEST(ApiTokens, wrong_missing_or_other_schemes_are_nobody) {
  const auto tokens = ApiTokens::parse("ops:0123456789abcdef0123\n", "t");
  EXPECT_FALSE(tokens.authenticate(""));
  EXPECT_FALSE(tokens.authenticate("Bearer "));
  EXPECT_FALSE(tokens.authenticate("Bearer 0123456789abcdef012"));   // a prefix
  EXPECT_FALSE(tokens.authenticate("Bearer 0123456789abcdef01234"));  // longer
  EXPECT_FALSE(tokens.authenticate("Basic 0123456789abcdef0123"));
}

TEST(ApiTokens, bad_lines_name_file_and_line) {
  const auto error_of = [](std::string_view text) {
    try {
      ApiTokens::parse(text, "tokens");
    } catch (const std::runtime_error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_EQ(error_of("ops:short\n").rfind("tokens:1: ", 0), 0u);
  EXPECT_NE(error_of("\nno-colon\n").find("tokens:2: expected name:token"), std::string::npos);
  EXPECT_NE(error_of("a:0123456789abcdef0123\na:0123456789abcdef0124\n").find("used twice"), std::string::npos);
  EXPECT_NE(error_of("a:0123456789abcdef0123:\n").find("tenant"), std::string::npos);
}

TEST(Problem, is_rfc9457_json_with_pointer_position_and_retry_after) {
  Problem p{422, "Unprocessable Content", "template error", "/headers/a~1b"};
  p.line = 2;
  p.column = 5;
  p.retry_after = 30;
  const Response r = to_response(p);
  EXPECT_EQ(r.status, 422u);
  EXPECT_EQ(r.content_type, "application/problem+json");
  EXPECT_NE(r.body.find("\"pointer\":\"/headers/a~1b\""), std::string::npos);
  EXPECT_NE(r.body.find("\"line\":2"), std::string::npos);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "Retry-After");
  EXPECT_EQ(pointer_token("a/b~c"), "a~1b~0c");
}

}  // namespace
}  // namespace petrel::http
