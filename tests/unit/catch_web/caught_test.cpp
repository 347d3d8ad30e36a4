// Ids, paging and URLs of petrel catch's web view: what a request may name.
#include <gtest/gtest.h>

#include "catch_web/api_json.hpp"
#include "catch_web/caught.hpp"
#include "catch_web/web_server.hpp"

namespace petrel::catchweb {
namespace {

TEST(CaughtId, maildir_names_are_valid_ids) {
  EXPECT_TRUE(valid_id("1796469956.P41877M1R0.localhost"));
  EXPECT_TRUE(valid_id("1796469956.P41877M1R0.host\\072name"));  // Maildir's escape of ':'
  EXPECT_TRUE(valid_id("a-b_c,d=e+f"));
}

TEST(CaughtId, nothing_that_leaves_the_folder) {
  for (const char* bad : {"", ".", "..", "../reports/x", "a/b", "/etc/passwd", ".hidden", "x:2,S", "a b", "a%2fb",
                          "a\nb"}) {
    EXPECT_FALSE(valid_id(bad)) << bad;
  }
  EXPECT_FALSE(valid_id(std::string_view("a\0b", 3)));
  EXPECT_FALSE(valid_id(std::string(256, 'a')));
  EXPECT_TRUE(valid_id(std::string(255, 'a')));
}

TEST(CaughtId, the_info_of_cur_is_not_part_of_the_id) {
  EXPECT_EQ(id_of_file("123.P1M1R0.host:2,S"), "123.P1M1R0.host");
  EXPECT_EQ(id_of_file("123.P1M1R0.host"), "123.P1M1R0.host");
}

TEST(Paging, defaults_and_bounds) {
  std::string field;
  auto p = parse_paging("", field);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->limit, 100u);
  EXPECT_EQ(p->offset, 0u);
  p = parse_paging("limit=5&offset=10", field);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->limit, 5u);
  EXPECT_EQ(p->offset, 10u);
  p = parse_paging("limit=5000", field);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->limit, 1000u);  // at most kMaxLimit
}

TEST(Paging, names_the_bad_field) {
  for (const char* query : {"limit=0", "limit=-1", "limit=x", "limit=", "limit=99999999999"}) {
    std::string field;
    EXPECT_FALSE(parse_paging(query, field)) << query;
    EXPECT_EQ(field, "limit") << query;
  }
  std::string field;
  EXPECT_FALSE(parse_paging("offset=1e3", field));
  EXPECT_EQ(field, "offset");
}

TEST(Caught, times_in_rfc3339_utc) { EXPECT_EQ(rfc3339(1796469956), "2026-12-05T11:25:56Z"); }

TEST(Caught, urls_escape_what_is_not_plain) {
  EXPECT_EQ(message_url("1.P2M3R0.localhost"), "/api/v1/caught/1.P2M3R0.localhost");
  EXPECT_EQ(message_url("a\\072b+c"), "/api/v1/caught/a%5C072b%2Bc");
}

// Anything but loopback gets a warning at start: the view has no login.
TEST(WebServer, what_counts_as_loopback) {
  for (const char* listen : {"127.0.0.1:8025", "127.3.4.5:0", "[::1]:8025", "localhost:8025"}) {
    EXPECT_TRUE(loopback(listen)) << listen;
  }
  for (const char* listen : {"0.0.0.0:8025", "[::]:8025", "192.0.2.1:8025", "example.test:80"}) {
    EXPECT_FALSE(loopback(listen)) << listen;
  }
}

}  // namespace
}  // namespace petrel::catchweb
