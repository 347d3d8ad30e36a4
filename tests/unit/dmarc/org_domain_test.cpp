// The organizational domain (RFC 7489 §3.2) from Debian's Public Suffix
// List.
#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "dmarc/org_domain.hpp"

namespace petrel::dmarc {
namespace {

const PublicSuffixList& psl() { return PublicSuffixList::system(); }

TEST(OrgDomain, public_suffix_and_one_label) {
  EXPECT_EQ(psl().organizational_domain("mail.example.com"), "example.com");
  EXPECT_EQ(psl().organizational_domain("example.com"), "example.com");
  EXPECT_EQ(psl().organizational_domain("a.b.example.co.uk"), "example.co.uk");
  EXPECT_EQ(psl().organizational_domain("www.city.kawasaki.jp"), "city.kawasaki.jp");  // !city.kawasaki.jp
  EXPECT_EQ(psl().organizational_domain("x.y.example.xn--p1ai"), "example.xn--p1ai");
}

TEST(OrgDomain, test_names_use_the_default_rule) {
  EXPECT_EQ(psl().organizational_domain("mail.example.test"), "example.test");
  EXPECT_EQ(psl().organizational_domain("a.b.c.example.test"), "example.test");
  EXPECT_EQ(psl().organizational_domain("example.test"), "example.test");
}

TEST(OrgDomain, a_public_suffix_is_its_own) {
  EXPECT_EQ(psl().organizational_domain("co.uk"), "co.uk");
  EXPECT_EQ(psl().organizational_domain("com"), "com");
  EXPECT_EQ(psl().organizational_domain("test"), "test");
}

TEST(OrgDomain, lower_case_without_the_trailing_dot) {
  EXPECT_EQ(psl().organizational_domain("Mail.Example.COM."), "example.com");
  EXPECT_EQ(psl().organizational_domain(""), "");
  // Not domain names: their own, whole (libpsl would read up to the NUL).
  EXPECT_EQ(psl().organizational_domain("a..example.com"), "a..example.com");
  EXPECT_EQ(psl().organizational_domain("example.com.."), "example.com..");
  EXPECT_EQ(psl().organizational_domain("."), ".");
  EXPECT_EQ(psl().organizational_domain(std::string("evil.example\0.com", 17)), std::string("evil.example\0.com", 17));
}

TEST(OrgDomain, loads_a_list_file_and_refuses_a_missing_one) {
  const PublicSuffixList list("/usr/share/publicsuffix/public_suffix_list.dat");
  EXPECT_EQ(list.organizational_domain("mail.example.co.uk"), "example.co.uk");
  EXPECT_THROW(PublicSuffixList("/nonexistent/list.dat"), std::runtime_error);
}

TEST(OrgDomain, is_shared_between_threads) {
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&wrong] {
      for (int i = 0; i < 2000; ++i) {
        if (PublicSuffixList::system().organizational_domain("a.b.example.co.uk") != "example.co.uk") ++wrong;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong, 0);
}

}  // namespace
}  // namespace petrel::dmarc
