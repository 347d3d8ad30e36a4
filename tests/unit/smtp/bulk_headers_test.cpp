#include "smtp/bulk_headers.hpp"

#include <gtest/gtest.h>

namespace petrel::smtp {
namespace {

TEST(BulkHeaders, campaign_and_tenant_are_taken_out_of_the_header_section) {
  std::string content =
      "From: a@example.org\r\nX-Campaign: december\r\nSubject: hi\r\nx-tenant:   shop1  \r\n\r\nX-Campaign: body\r\n";
  const BulkFields fields = take_bulk_fields(content, "X-Campaign", "X-Tenant");
  EXPECT_EQ(fields.campaign, "december");
  EXPECT_EQ(fields.tenant, "shop1");
  EXPECT_EQ(content, "From: a@example.org\r\nSubject: hi\r\n\r\nX-Campaign: body\r\n");
}

TEST(BulkHeaders, a_folded_value_is_unfolded_and_its_lines_removed) {
  std::string content = "X-Campaign: winter\r\n sale\r\nTo: b@example.org\r\n\r\nbody\r\n";
  EXPECT_EQ(take_bulk_fields(content, "X-Campaign", "X-Tenant").campaign, "winter sale");
  EXPECT_EQ(content, "To: b@example.org\r\n\r\nbody\r\n");
}

TEST(BulkHeaders, unusable_values_are_dropped_but_the_field_still_removed) {
  std::string content = "X-Campaign: " + std::string(200, 'a') + "\r\nX-Tenant: a\x01" "b\r\n\r\n";
  const BulkFields fields = take_bulk_fields(content, "X-Campaign", "X-Tenant");
  EXPECT_TRUE(fields.campaign.empty());
  EXPECT_TRUE(fields.tenant.empty());
  EXPECT_EQ(content, "\r\n");
}

TEST(BulkHeaders, the_first_field_wins_and_an_empty_name_is_not_looked_for) {
  std::string content = "X-Campaign: one\r\nX-Campaign: two\r\nX-Tenant: t\r\n\r\n";
  const BulkFields fields = take_bulk_fields(content, "X-Campaign", "");
  EXPECT_EQ(fields.campaign, "one");
  EXPECT_TRUE(fields.tenant.empty());
  EXPECT_EQ(content, "X-Tenant: t\r\n\r\n");
}

TEST(BulkHeaders, a_message_without_a_body_or_headers_is_left_alone) {
  std::string no_body = "Subject: x\r\nX-Tenant: t\r\n";
  EXPECT_EQ(take_bulk_fields(no_body, "X-Campaign", "X-Tenant").tenant, "t");
  EXPECT_EQ(no_body, "Subject: x\r\n");
  std::string body_only = "\r\nX-Tenant: t\r\n";
  EXPECT_TRUE(take_bulk_fields(body_only, "X-Campaign", "X-Tenant").tenant.empty());
  EXPECT_EQ(body_only, "\r\nX-Tenant: t\r\n");
}

}  // namespace
}  // namespace petrel::smtp
