#include "mtasts/policy.hpp"

#include <gtest/gtest.h>

namespace petrel::mtasts {
namespace {

dns::TxtAnswer txt(std::vector<std::string> records) {
  dns::TxtAnswer a;
  a.outcome = records.empty() ? dns::Outcome::nodata : dns::Outcome::ok;
  for (auto& r : records) a.records.push_back(dns::TxtRecord{{std::move(r)}});
  return a;
}

std::optional<Policy> parsed(std::string_view body, std::string* why = nullptr) {
  std::string error;
  auto p = parse_policy(body, error);
  if (why) *why = error;
  return p;
}

TEST(StsRecord, one_valid_record_is_published_with_its_id) {
  const auto r = parse_sts_record(txt({"v=STSv1; id=20160831085700Z;"}));
  EXPECT_EQ(r.state, StsRecord::State::published);
  EXPECT_EQ(r.id, "20160831085700Z");
}

TEST(StsRecord, other_txt_records_are_ignored_and_two_sts_records_are_invalid) {
  EXPECT_EQ(parse_sts_record(txt({"v=spf1 -all"})).state, StsRecord::State::none);
  EXPECT_EQ(parse_sts_record(txt({"v=STSv1; id=a", "v=STSv1; id=b"})).state, StsRecord::State::invalid);
  EXPECT_EQ(parse_sts_record(txt({"v=STSv1; id=not-alnum"})).state, StsRecord::State::invalid);
  EXPECT_EQ(parse_sts_record(txt({"v=STSv1;"})).state, StsRecord::State::invalid);
  dns::TxtAnswer servfail;
  servfail.outcome = dns::Outcome::temporary_failure;
  EXPECT_EQ(parse_sts_record(servfail).state, StsRecord::State::unknown);
}

TEST(Policy, the_rfc_example_parses) {
  const auto p = parsed("version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\n"
                        "mx: backupmx.example.com\r\nmax_age: 604800\r\n");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->mode, Policy::Mode::enforce);
  EXPECT_EQ(p->mx.size(), 3u);
  EXPECT_EQ(p->max_age.count(), 604800);
}

TEST(Policy, lf_line_ends_unknown_keys_and_spaces_are_accepted) {
  const auto p = parsed("version: STSv1\nmode:testing\nfuture_key: whatever\n mx :  MX.Example.ORG \nmax_age: 0\n");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->mode, Policy::Mode::testing);
  ASSERT_EQ(p->mx.size(), 1u);
  EXPECT_EQ(p->mx[0], "mx.example.org");
}

TEST(Policy, what_is_missing_or_wrong_is_said) {
  std::string why;
  EXPECT_FALSE(parsed("mode: enforce\nmx: a.b\nmax_age: 1\n", &why));
  EXPECT_EQ(why, "no version: STSv1");
  EXPECT_FALSE(parsed("version: STSv1\nmode: always\nmx: a.b\nmax_age: 1\n", &why));
  EXPECT_EQ(why, "unknown mode \"always\"");
  EXPECT_FALSE(parsed("version: STSv1\nmode: enforce\nmax_age: 1\n", &why));
  EXPECT_EQ(why, "no mx in a policy that is not mode: none");
  EXPECT_FALSE(parsed("version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 31557601\n", &why));
  EXPECT_FALSE(parsed("version: STSv1\nmode: enforce\nmx: a.b\nmax_age: -5\n", &why));
  EXPECT_FALSE(parsed("version: STSv1\nmode: enforce\nmx: a.b\n", &why));
  EXPECT_EQ(why, "no max_age");
  EXPECT_FALSE(parsed("<html>not a policy</html>\n", &why));
  EXPECT_TRUE(parsed("version: STSv1\nmode: none\nmax_age: 60\n"));  // none needs no mx
  EXPECT_FALSE(parsed(std::string(kMaxPolicyBytes + 1, 'x'), &why));
}

TEST(Policy, wildcards_match_one_label_only) {
  Policy p;
  p.mx = {"mail.example.com", "*.example.net"};
  EXPECT_TRUE(mx_matches(p, "mail.example.com"));
  EXPECT_TRUE(mx_matches(p, "MAIL.Example.com."));
  EXPECT_TRUE(mx_matches(p, "mx1.example.net"));
  EXPECT_FALSE(mx_matches(p, "a.b.example.net"));
  EXPECT_FALSE(mx_matches(p, "example.net"));
  EXPECT_FALSE(mx_matches(p, "other.example.com"));
  EXPECT_FALSE(mx_matches(p, "xexample.net"));
}

}  // namespace
}  // namespace petrel::mtasts
