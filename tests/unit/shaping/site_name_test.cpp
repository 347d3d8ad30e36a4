// Site names: one set of MX hosts, one name, however the DNS lists them.
#include <gtest/gtest.h>

#include "shaping/shaping.hpp"

namespace petrel::shaping {
namespace {

TEST(SiteName, SingleHostIsJustItsName) {
  EXPECT_EQ(site_name({"mx.example.com"}), "mx.example.com");
  EXPECT_EQ(site_name({"localhost"}), "localhost");
}

TEST(SiteName, LowerCasedWithoutTrailingDot) { EXPECT_EQ(site_name({"MX.Example.COM."}), "mx.example.com"); }

TEST(SiteName, SameSetInAnyOrderCaseOrRepetitionIsTheSameSite) {
  const std::string name = site_name({"mta5.am0.yahoodns.net", "mta6.am0.yahoodns.net", "mta7.am0.yahoodns.net"});
  EXPECT_EQ(site_name({"mta7.am0.yahoodns.net", "mta5.am0.yahoodns.net", "mta6.am0.yahoodns.net"}), name);
  EXPECT_EQ(
      site_name({"MTA6.am0.yahoodns.net.", "mta5.AM0.yahoodns.net", "mta7.am0.yahoodns.net", "mta5.am0.yahoodns.net"}),
      name);
}

TEST(SiteName, DifferentSetsAreDifferentSites) {
  EXPECT_NE(site_name({"mx1.example.com", "mx2.example.com"}), site_name({"mx1.example.com"}));
  EXPECT_NE(site_name({"mx1.example.com", "mx2.example.com"}), site_name({"mx1.example.com", "mx3.example.com"}));
  EXPECT_NE(site_name({"a.example", "b.example", "example"}), site_name({"a.example", "b.example"}));
}

TEST(SiteName, HostsDifferingInTheirFirstLabelAreFolded) {
  EXPECT_EQ(site_name({"mta6.am0.yahoodns.net", "mta5.am0.yahoodns.net", "mta7.am0.yahoodns.net"}),
            "(mta5|mta6|mta7).am0.yahoodns.net");
}

TEST(SiteName, GmailsAlternatesFoldIntoTheirPrimary) {
  EXPECT_EQ(
      site_name({"gmail-smtp-in.l.google.com", "alt1.gmail-smtp-in.l.google.com", "alt2.gmail-smtp-in.l.google.com",
                 "alt3.gmail-smtp-in.l.google.com", "alt4.gmail-smtp-in.l.google.com"}),
      "(alt1|alt2|alt3|alt4)?.gmail-smtp-in.l.google.com");
}

TEST(SiteName, MixedSetIsJoinedByCommasInAFixedOrder) {
  const std::string name = "(mx1|mx2).example.net,mx.example.org";
  EXPECT_EQ(site_name({"mx.example.org", "mx2.example.net", "mx1.example.net"}), name);
  EXPECT_EQ(site_name({"mx1.example.net", "mx.example.org", "mx2.example.net"}), name);
  EXPECT_EQ(site_name({"b.example", "a.example.org"}), "a.example.org,b.example");
}

TEST(SiteName, AHostInsideAnotherFoldIsNotTakenAsItsPrimary) {
  // mx.example.net is part of "(mx|other).example.net", so the fold under it
  // does not absorb it.
  EXPECT_EQ(site_name({"mx.example.net", "other.example.net", "a.mx.example.net", "b.mx.example.net"}),
            "(a|b).mx.example.net,(mx|other).example.net");
}

TEST(SiteName, EmptySetHasAnEmptyName) {
  EXPECT_EQ(site_name({}), "");
  EXPECT_EQ(site_name({"."}), "");
}

}  // namespace
}  // namespace petrel::shaping
