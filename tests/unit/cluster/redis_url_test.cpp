#include "cluster/redis_url.hpp"

#include <gtest/gtest.h>

namespace petrel::cluster {
namespace {

RedisUrl parsed(std::string_view text) {
  std::string error;
  auto url = parse_redis_url(text, error);
  EXPECT_TRUE(url) << text << ": " << error;
  return url.value_or(RedisUrl{});
}

std::string error_of(std::string_view text) {
  std::string error;
  EXPECT_FALSE(parse_redis_url(text, error)) << text;
  return error;
}

TEST(RedisUrl, host_and_port) {
  EXPECT_EQ(parsed("redis://127.0.0.1:6379"), (RedisUrl{"127.0.0.1", 6379, "", 0}));
  EXPECT_EQ(parsed("redis://redis.example.org"), (RedisUrl{"redis.example.org", 6379, "", 0}));
  EXPECT_EQ(parsed("redis://[::1]:7000"), (RedisUrl{"::1", 7000, "", 0}));
}

TEST(RedisUrl, password_and_database) {
  EXPECT_EQ(parsed("redis://:s3cr:et@10.0.0.5:6380/2"), (RedisUrl{"10.0.0.5", 6380, "s3cr:et", 2}));
  EXPECT_EQ(parsed("redis://default:pw@h:1/0"), (RedisUrl{"h", 1, "pw", 0}));
  EXPECT_EQ(parsed("redis://:p@ss@h:1"), (RedisUrl{"h", 1, "p@ss", 0}));  // the last '@' ends it
}

TEST(RedisUrl, rediss_is_tls) {
  RedisUrl tls{"h", 6380, "pw", 1};
  tls.tls = true;
  EXPECT_EQ(parsed("rediss://:pw@h:6380/1"), tls);
  EXPECT_FALSE(parsed("redis://h:6380").tls);
  EXPECT_EQ(redacted(parsed("rediss://:pw@h:6380")), "rediss://:***@h:6380");
}

TEST(RedisUrl, malformed_ones_say_what_is_wrong) {
  EXPECT_NE(error_of("http://h").find("redis://"), std::string::npos);
  EXPECT_NE(error_of("redis://h:0").find("port"), std::string::npos);
  EXPECT_NE(error_of("redis://h:70000").find("port"), std::string::npos);
  EXPECT_NE(error_of("redis://h:").find("port"), std::string::npos);
  EXPECT_NE(error_of("redis://h/x").find("database"), std::string::npos);
  EXPECT_NE(error_of("redis://").find("host"), std::string::npos);
  EXPECT_NE(error_of("redis://user:pw@h").find("password"), std::string::npos);
  EXPECT_NE(error_of("redis://[::1").find("brackets"), std::string::npos);
  EXPECT_NE(error_of("redis://h h:1").find("host"), std::string::npos);
}

TEST(RedisUrl, redacted_hides_the_password) {
  EXPECT_EQ(redacted(parsed("redis://:secret@10.0.0.5:6380/2")), "redis://:***@10.0.0.5:6380/2");
  EXPECT_EQ(redacted(parsed("redis://[::1]:7000")), "redis://[::1]:7000");
}

}  // namespace
}  // namespace petrel::cluster
