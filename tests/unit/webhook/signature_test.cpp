// X-Petrel-Signature (signature.hpp): HMAC-SHA256 of "t.body", hex; the
// expected value is Python's hmac module's for the same input.
#include "webhook/signature.hpp"

#include <gtest/gtest.h>

namespace petrel::webhook {
namespace {

TEST(WebhookSignature, IsHmacSha256OfTheTimeADotAndTheBody) {
  EXPECT_EQ(signature("secret", 1700000000, R"([{"a":1}])"),
            "t=1700000000,v1=516856209dea79008d72e48f00c1c767cd294a440ae742a16140cd7375ced090");
}

TEST(WebhookSignature, VerifiesWithinTheToleranceOnly) {
  const std::string body = R"([{"type":"Delivery"}])";
  const std::string header = signature("k", 1000, body);
  EXPECT_TRUE(verify(header, "k", body, 1000));
  EXPECT_TRUE(verify(header, "k", body, 1300));
  EXPECT_FALSE(verify(header, "k", body, 1301));  // too old: a replay
  EXPECT_FALSE(verify(header, "other", body, 1000));
  EXPECT_FALSE(verify(header, "k", body + " ", 1000));
  EXPECT_FALSE(verify("t=1000,v1=00", "k", body, 1000));
  EXPECT_FALSE(verify("v1=abc", "k", body, 1000));
  EXPECT_FALSE(verify("t=x,v1=abc", "k", body, 1000));
}

}  // namespace
}  // namespace petrel::webhook
