#include <gtest/gtest.h>

#include "authres/authres.hpp"

namespace petrel::authres {
namespace {

TEST(AuthenticationResults, OneMethodPerLineWithQuotedValuesWhereNeeded) {
  const std::string field = header_field(
      "mx.example.net", {{"spf", "pass", "matched ip4:127.0.0.1", {{"smtp", "mailfrom", "alice@example.test"}}},
                         {"dkim", "pass", "", {{"header", "d", "example.test"}, {"header", "b", "ab/+cd=="}}},
                         {"dmarc", "fail", "p=none", {{"header", "from", "example.test"}}}});
  EXPECT_EQ(field,
            "Authentication-Results: mx.example.net;\r\n"
            "\tspf=pass (matched ip4:127.0.0.1) smtp.mailfrom=alice@example.test;\r\n"
            "\tdkim=pass header.d=example.test header.b=\"ab/+cd==\";\r\n"
            "\tdmarc=fail (p=none) header.from=example.test\r\n");
  EXPECT_EQ(header_field("mx", {}), "Authentication-Results: mx; none\r\n");
}

TEST(AuthenticationResults, CommentsAndQuotesCannotBreakOut) {
  const std::string field =
      header_field("mx", {{"spf", "fail", "a (nested) \\ comment\r\nX-Evil: 1", {{"smtp", "mailfrom", "\"a b\"@x"}}}});
  EXPECT_EQ(field, "Authentication-Results: mx;\r\n\tspf=fail (a \\(nested\\) \\\\ comment X-Evil: 1) "
                   "smtp.mailfrom=\"\\\"a b\\\"@x\"\r\n");
}

TEST(AuthenticationResults, ReadsTheAuthservIdPastCommentsAndQuotes) {
  EXPECT_EQ(authserv_id("Authentication-Results: MX.Example.NET; spf=pass"), "mx.example.net");
  EXPECT_EQ(authserv_id("Authentication-Results: (comment) mx.example.net 1; none"), "mx.example.net");
  EXPECT_EQ(authserv_id("authentication-results:\r\n \"mx.example.net\"; none"), "mx.example.net");
  EXPECT_EQ(authserv_id("Authentication-Results: mx.example.net"), "mx.example.net");
  EXPECT_EQ(authserv_id("Authentication-Results"), "");
}

TEST(AuthenticationResults, RemovesOnlyOurForgedFieldsFromTheHeader) {
  std::string m =
      "Authentication-Results: MX.EXAMPLE.NET; dkim=pass\r\n"
      "Authentication-Results: other.example; spf=pass\r\n"
      "authentication-results : mx.example.net;\r\n\tdmarc=pass\r\n"
      "Subject: x\r\n"
      "\r\n"
      "Authentication-Results: mx.example.net; in the body\r\n";
  EXPECT_EQ(remove_forged(m, "mx.example.net"), 2u);
  EXPECT_EQ(m,
            "Authentication-Results: other.example; spf=pass\r\n"
            "Subject: x\r\n"
            "\r\n"
            "Authentication-Results: mx.example.net; in the body\r\n");
}

}  // namespace
}  // namespace petrel::authres
