// The --api URL of petrel campaign send.
#include <gtest/gtest.h>

#include "cli/campaign_api.hpp"

namespace petrel::cli {
namespace {

TEST(CampaignHttp, api_url_names_the_messages_endpoint) {
  std::string error;
  auto url = parse_api_url("http://127.0.0.1:8025", error);
  ASSERT_TRUE(url);
  EXPECT_FALSE(url->tls);
  EXPECT_EQ(url->host, "127.0.0.1");
  EXPECT_EQ(url->port, 8025);
  EXPECT_EQ(url->target, "/api/v1/messages");
  url = parse_api_url("HTTPS://mail.example.org/petrel/", error);
  ASSERT_TRUE(url);
  EXPECT_TRUE(url->tls);
  EXPECT_EQ(url->port, 443);
  EXPECT_EQ(url->target, "/petrel/api/v1/messages");
  url = parse_api_url("http://[::1]:8080/api/v1/messages", error);
  ASSERT_TRUE(url);
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->target, "/api/v1/messages");
  for (const char* bad : {"ftp://x", "127.0.0.1:8025", "http://", "http://:80", "http://h:0", "http://h:99999",
                          "http://u@h", "http://h/?q", "http://[::1"}) {
    EXPECT_FALSE(parse_api_url(bad, error)) << bad;
  }
}

}  // namespace
}  // namespace petrel::cli
