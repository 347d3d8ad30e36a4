// The MX rules (RFC 5321 §5.1, RFC 7505), one behaviour per test, over
// answers made up in the test: no resolver, no network.
#include "dns/mx_plan.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace petrel::dns {
namespace {

MxAnswer mx(std::vector<MxRecord> records, Dnssec dnssec = Dnssec::insecure) {
  MxAnswer answer;
  answer.outcome = Outcome::ok;
  answer.records = std::move(records);
  answer.dnssec = dnssec;
  return answer;
}

MxAnswer mx_failed(Outcome outcome, std::string error = "") {
  MxAnswer answer;
  answer.outcome = outcome;
  answer.error = std::move(error);
  return answer;
}

AddressAnswer addresses(std::vector<std::string> texts) {
  AddressAnswer answer;
  answer.outcome = texts.empty() ? Outcome::nodata : Outcome::ok;
  for (const auto& text : texts) answer.records.push_back(*IpAddress::parse(text));
  return answer;
}

AddressAnswer address_failure(Outcome outcome) {
  AddressAnswer answer;
  answer.outcome = outcome;
  answer.error = outcome == Outcome::temporary_failure ? "SERVFAIL" : "";
  return answer;
}

// Hosts and their addresses; a host not listed does not exist.
class Zone {
 public:
  Zone& host(const std::string& name, std::vector<std::string> v4, std::vector<std::string> v6 = {}) {
    hosts_[name] = {addresses(std::move(v4)), addresses(std::move(v6))};
    return *this;
  }
  Zone& host(const std::string& name, HostAddresses answers) {
    hosts_[name] = std::move(answers);
    return *this;
  }
  AddressLookup lookup() {
    return [this](std::string_view name) {
      looked_up.insert(std::string(name));
      const auto it = hosts_.find(std::string(name));
      if (it != hosts_.end()) return it->second;
      return HostAddresses{address_failure(Outcome::nxdomain), address_failure(Outcome::nxdomain)};
    };
  }
  std::set<std::string> looked_up;

 private:
  std::map<std::string, HostAddresses> hosts_;
};

// "host address" per candidate, in order.
std::vector<std::string> order(const DeliveryPlan& plan) {
  std::vector<std::string> out;
  for (const auto& c : plan.candidates) out.push_back(c.host + " " + c.address.str());
  return out;
}

class MxPlanTest : public ::testing::Test {
 protected:
  DeliveryPlan plan(const MxAnswer& answer, const std::string& domain = "example.org") {
    return plan_delivery(domain, answer, zone.lookup(), options, rng);
  }
  Zone zone;
  PlanOptions options;
  std::mt19937_64 rng{42};
};

TEST_F(MxPlanTest, mx_hosts_are_tried_in_preference_order) {
  zone.host("mx1.example.org", {"192.0.2.1"}).host("mx2.example.org", {"192.0.2.2"}).host("mx3.example.org", {"192.0.2.3"});
  const auto result = plan(mx({{30, "mx3.example.org"}, {10, "mx1.example.org"}, {20, "mx2.example.org"}}));
  ASSERT_EQ(result.verdict, Verdict::deliver);
  EXPECT_EQ(order(result), (std::vector<std::string>{"mx1.example.org 192.0.2.1", "mx2.example.org 192.0.2.2",
                                                     "mx3.example.org 192.0.2.3"}));
  EXPECT_EQ(result.candidates[1].preference, 20);
  EXPECT_FALSE(result.implicit_mx);
  EXPECT_TRUE(result.reason.empty());
}

TEST_F(MxPlanTest, equal_preferences_are_shuffled_by_the_rng_but_stay_ahead_of_worse_ones) {
  zone.host("a.example.org", {"192.0.2.1"}).host("b.example.org", {"192.0.2.2"}).host("backup.example.org", {"192.0.2.9"});
  const auto answer = mx({{10, "a.example.org"}, {10, "b.example.org"}, {20, "backup.example.org"}});
  std::set<std::string> firsts;
  for (std::uint64_t seed = 0; seed < 64; ++seed) {
    rng.seed(seed);
    const auto result = plan(answer);
    ASSERT_EQ(result.candidates.size(), 3u);
    firsts.insert(result.candidates[0].host);
    EXPECT_EQ(result.candidates[2].host, "backup.example.org");
  }
  EXPECT_EQ(firsts, (std::set<std::string>{"a.example.org", "b.example.org"}));
}

TEST_F(MxPlanTest, the_same_seed_gives_the_same_order) {
  zone.host("a.example.org", {"192.0.2.1"}).host("b.example.org", {"192.0.2.2"}).host("c.example.org", {"192.0.2.3"});
  const auto answer = mx({{10, "a.example.org"}, {10, "b.example.org"}, {10, "c.example.org"}});
  rng.seed(7);
  const auto first = order(plan(answer));
  rng.seed(7);
  EXPECT_EQ(order(plan(answer)), first);
}

TEST_F(MxPlanTest, no_mx_records_means_the_domain_itself_is_the_implicit_mx) {
  zone.host("example.org", {"192.0.2.7"}, {"2001:db8::7"});
  const auto result = plan(mx_failed(Outcome::nodata));
  ASSERT_EQ(result.verdict, Verdict::deliver);
  EXPECT_TRUE(result.implicit_mx);
  EXPECT_EQ(order(result), (std::vector<std::string>{"example.org 2001:db8::7", "example.org 192.0.2.7"}));
  EXPECT_EQ(result.candidates[0].preference, 0);
}

TEST_F(MxPlanTest, implicit_mx_without_any_address_is_unroutable) {
  zone.host("example.org", {}, {});
  const auto result = plan(mx_failed(Outcome::nodata));
  EXPECT_EQ(result.verdict, Verdict::unroutable);
  EXPECT_TRUE(result.candidates.empty());
  EXPECT_NE(result.reason.find("no MX and no address"), std::string::npos) << result.reason;
}

TEST_F(MxPlanTest, a_lone_null_mx_means_the_domain_takes_no_mail) {
  const auto result = plan(mx({{0, "."}}));
  EXPECT_EQ(result.verdict, Verdict::null_mx);
  EXPECT_TRUE(result.candidates.empty());
  EXPECT_TRUE(zone.looked_up.empty()) << "a null MX needs no address lookups";
}

TEST_F(MxPlanTest, a_lone_dot_mx_with_another_preference_is_still_a_null_mx) {
  EXPECT_EQ(plan(mx({{10, "."}})).verdict, Verdict::null_mx);
}

TEST_F(MxPlanTest, a_dot_among_other_mx_records_is_skipped) {
  zone.host("mx.example.org", {"192.0.2.1"});
  const auto result = plan(mx({{0, "."}, {10, "mx.example.org"}}));
  ASSERT_EQ(result.verdict, Verdict::deliver);
  EXPECT_EQ(order(result), (std::vector<std::string>{"mx.example.org 192.0.2.1"}));
  EXPECT_FALSE(result.notes.empty());
}

TEST_F(MxPlanTest, a_domain_that_does_not_exist_fails_permanently) {
  const auto result = plan(mx_failed(Outcome::nxdomain));
  EXPECT_EQ(result.verdict, Verdict::no_such_domain);
  EXPECT_NE(result.reason.find("example.org"), std::string::npos);
}

TEST_F(MxPlanTest, a_failed_mx_lookup_is_temporary) {
  const auto result = plan(mx_failed(Outcome::temporary_failure, "SERVFAIL"));
  EXPECT_EQ(result.verdict, Verdict::temporary_failure);
  EXPECT_NE(result.reason.find("SERVFAIL"), std::string::npos) << result.reason;
  EXPECT_TRUE(zone.looked_up.empty());
}

TEST_F(MxPlanTest, mx_hosts_without_addresses_are_skipped) {
  zone.host("empty.example.org", {}, {}).host("mx2.example.org", {"192.0.2.2"});
  const auto result = plan(mx({{5, "gone.example.org"}, {7, "empty.example.org"}, {10, "mx2.example.org"}}));
  ASSERT_EQ(result.verdict, Verdict::deliver);
  EXPECT_EQ(order(result), (std::vector<std::string>{"mx2.example.org 192.0.2.2"}));
  EXPECT_EQ(result.notes.size(), 2u);
}

TEST_F(MxPlanTest, no_mx_host_with_an_address_is_unroutable) {
  const auto result = plan(mx({{10, "gone1.example.org"}, {20, "gone2.example.org"}}));
  EXPECT_EQ(result.verdict, Verdict::unroutable);
  EXPECT_EQ(zone.looked_up, (std::set<std::string>{"gone1.example.org", "gone2.example.org"}));
}

TEST_F(MxPlanTest, no_address_because_a_lookup_failed_is_temporary) {
  zone.host("flaky.example.org",
            HostAddresses{address_failure(Outcome::temporary_failure), address_failure(Outcome::nodata)});
  const auto result = plan(mx({{10, "flaky.example.org"}, {20, "gone.example.org"}}));
  EXPECT_EQ(result.verdict, Verdict::temporary_failure);
  EXPECT_NE(result.reason.find("flaky.example.org"), std::string::npos) << result.reason;
}

TEST_F(MxPlanTest, a_backup_mx_is_used_when_the_best_one_cannot_be_looked_up) {
  zone.host("flaky.example.org",
            HostAddresses{address_failure(Outcome::temporary_failure), address_failure(Outcome::temporary_failure)});
  zone.host("backup.example.org", {"192.0.2.9"});
  const auto result = plan(mx({{10, "flaky.example.org"}, {20, "backup.example.org"}}));
  ASSERT_EQ(result.verdict, Verdict::deliver);
  EXPECT_EQ(order(result), (std::vector<std::string>{"backup.example.org 192.0.2.9"}));
}

TEST_F(MxPlanTest, one_family_failing_still_uses_the_other) {
  zone.host("mx.example.org", HostAddresses{addresses({"192.0.2.1"}), address_failure(Outcome::temporary_failure)});
  const auto result = plan(mx({{10, "mx.example.org"}}));
  ASSERT_EQ(result.verdict, Verdict::deliver);
  EXPECT_EQ(order(result), (std::vector<std::string>{"mx.example.org 192.0.2.1"}));
}

TEST_F(MxPlanTest, ipv6_comes_first_by_default_within_each_host) {
  zone.host("mx1.example.org", {"192.0.2.1", "192.0.2.11"}, {"2001:db8::1"}).host("mx2.example.org", {"192.0.2.2"}, {"2001:db8::2"});
  const auto result = plan(mx({{10, "mx1.example.org"}, {20, "mx2.example.org"}}));
  EXPECT_EQ(order(result), (std::vector<std::string>{"mx1.example.org 2001:db8::1", "mx1.example.org 192.0.2.1",
                                                     "mx1.example.org 192.0.2.11", "mx2.example.org 2001:db8::2",
                                                     "mx2.example.org 192.0.2.2"}));
}

TEST_F(MxPlanTest, address_order_is_configurable) {
  zone.host("mx.example.org", {"192.0.2.1"}, {"2001:db8::1"});
  const auto answer = mx({{10, "mx.example.org"}});
  options.order = AddressOrder::ipv4_first;
  EXPECT_EQ(order(plan(answer)), (std::vector<std::string>{"mx.example.org 192.0.2.1", "mx.example.org 2001:db8::1"}));
  options.order = AddressOrder::ipv4_only;
  EXPECT_EQ(order(plan(answer)), (std::vector<std::string>{"mx.example.org 192.0.2.1"}));
  options.order = AddressOrder::ipv6_only;
  EXPECT_EQ(order(plan(answer)), (std::vector<std::string>{"mx.example.org 2001:db8::1"}));
}

TEST_F(MxPlanTest, ipv4_only_ignores_an_ipv6_only_host) {
  zone.host("v6.example.org", {}, {"2001:db8::1"});
  options.order = AddressOrder::ipv4_only;
  EXPECT_EQ(plan(mx({{10, "v6.example.org"}})).verdict, Verdict::unroutable);
}

TEST_F(MxPlanTest, candidates_are_capped_at_max_addresses) {
  std::vector<std::string> many;
  for (int i = 1; i <= 30; ++i) many.push_back("192.0.2." + std::to_string(i));
  zone.host("big.example.org", many).host("backup.example.org", {"198.51.100.1"});
  const auto result = plan(mx({{10, "big.example.org"}, {20, "backup.example.org"}}));
  EXPECT_EQ(result.candidates.size(), 20u);
  EXPECT_EQ(zone.looked_up.count("backup.example.org"), 0u) << "no lookups once the plan is full";
}

TEST_F(MxPlanTest, mx_hosts_are_capped_at_max_hosts) {
  std::vector<MxRecord> records;
  for (int i = 0; i < 15; ++i) {
    const std::string name = "mx" + std::to_string(i) + ".example.org";
    records.push_back({static_cast<std::uint16_t>(i), name});
    zone.host(name, {"192.0.2." + std::to_string(i + 1)});
  }
  options.max_hosts = 3;
  const auto result = plan(mx(records));
  EXPECT_EQ(order(result), (std::vector<std::string>{"mx0.example.org 192.0.2.1", "mx1.example.org 192.0.2.2",
                                                     "mx2.example.org 192.0.2.3"}));
}

TEST_F(MxPlanTest, an_address_shared_by_two_mx_hosts_is_tried_once) {
  zone.host("mx1.example.org", {"192.0.2.1"}).host("mx2.example.org", {"192.0.2.1", "192.0.2.2"});
  const auto result = plan(mx({{10, "mx1.example.org"}, {20, "mx2.example.org"}}));
  EXPECT_EQ(order(result), (std::vector<std::string>{"mx1.example.org 192.0.2.1", "mx2.example.org 192.0.2.2"}));
}

TEST_F(MxPlanTest, a_host_listed_twice_keeps_its_best_preference) {
  zone.host("mx.example.org", {"192.0.2.1"}).host("other.example.org", {"192.0.2.2"});
  const auto result = plan(mx({{30, "mx.example.org"}, {20, "other.example.org"}, {10, "mx.example.org"}}));
  EXPECT_EQ(order(result), (std::vector<std::string>{"mx.example.org 192.0.2.1", "other.example.org 192.0.2.2"}));
}

TEST_F(MxPlanTest, an_ip_address_as_mx_target_is_skipped_without_a_lookup) {
  zone.host("mx.example.org", {"192.0.2.1"});
  const auto result = plan(mx({{5, "198.51.100.7"}, {10, "mx.example.org"}}));
  EXPECT_EQ(order(result), (std::vector<std::string>{"mx.example.org 192.0.2.1"}));
  EXPECT_EQ(zone.looked_up.count("198.51.100.7"), 0u);
  EXPECT_EQ(plan(mx({{5, "198.51.100.7"}})).verdict, Verdict::unroutable);
}

TEST_F(MxPlanTest, a_cname_mx_target_is_used_under_its_mx_name) {
  AddressAnswer via_cname = addresses({"192.0.2.1"});
  via_cname.canonical_name = "real.example.net";
  zone.host("alias.example.org", HostAddresses{via_cname, addresses({})});
  const auto result = plan(mx({{10, "alias.example.org"}}));
  ASSERT_EQ(result.candidates.size(), 1u);
  EXPECT_EQ(result.candidates[0].host, "alias.example.org");
  EXPECT_EQ(result.candidates[0].canonical_host, "real.example.net");
}

TEST_F(MxPlanTest, names_are_compared_case_insensitively) {
  zone.host("mx.example.org", {"192.0.2.1"});
  const auto result = plan(mx({{10, "MX.Example.ORG"}}));
  EXPECT_EQ(order(result), (std::vector<std::string>{"mx.example.org 192.0.2.1"}));
}

TEST_F(MxPlanTest, this_server_as_mx_drops_itself_and_every_mx_not_better) {
  options.local_names = {"petrel.example.net"};
  zone.host("primary.example.org", {"192.0.2.1"}).host("peer.example.org", {"192.0.2.2"}).host("last.example.org", {"192.0.2.3"});
  const auto result = plan(mx({{10, "primary.example.org"}, {20, "Petrel.example.net"}, {20, "peer.example.org"},
                               {30, "last.example.org"}}));
  ASSERT_EQ(result.verdict, Verdict::deliver);
  EXPECT_EQ(order(result), (std::vector<std::string>{"primary.example.org 192.0.2.1"}));
}

TEST_F(MxPlanTest, this_server_as_best_mx_is_a_routing_loop) {
  options.local_names = {"petrel.example.net"};
  zone.host("backup.example.org", {"192.0.2.2"});
  EXPECT_EQ(plan(mx({{10, "petrel.example.net"}, {20, "backup.example.org"}})).verdict, Verdict::routing_loop);
  EXPECT_EQ(plan(mx_failed(Outcome::nodata), "petrel.example.net").verdict, Verdict::routing_loop);
}

TEST_F(MxPlanTest, the_mx_answers_dnssec_status_is_kept_for_dane) {
  zone.host("mx.example.org", {"192.0.2.1"});
  EXPECT_EQ(plan(mx({{10, "mx.example.org"}}, Dnssec::secure)).mx_dnssec, Dnssec::secure);
  EXPECT_EQ(plan(mx({{10, "mx.example.org"}})).mx_dnssec, Dnssec::insecure);
}

TEST(MxHostsStep, gives_the_hosts_to_look_up_before_any_address_lookup) {
  std::mt19937_64 rng{1};
  const auto step = mx_hosts("example.org", mx({{20, "b.example.org"}, {10, "a.example.org"}}), PlanOptions{}, rng);
  ASSERT_FALSE(step.verdict);
  ASSERT_EQ(step.hosts.size(), 2u);
  EXPECT_EQ(step.hosts[0].name, "a.example.org");
  EXPECT_EQ(step.hosts[1].name, "b.example.org");
}

}  // namespace
}  // namespace petrel::dns

namespace petrel::dns {
namespace {

// DANE (RFC 7672 §2.2.1, §2.2.2) needs the MX answer's and each address
// answer's DNSSEC status: both are carried into the plan.
TEST_F(MxPlanTest, the_plan_keeps_the_dnssec_status_of_the_mx_and_of_each_address) {
  AddressAnswer secure = addresses({"192.0.2.1"});
  secure.dnssec = Dnssec::secure;
  zone.host("mx1.example.org", HostAddresses{secure, addresses({})}).host("mx2.example.org", {"192.0.2.2"});
  const auto result = plan(mx({{10, "mx1.example.org"}, {20, "mx2.example.org"}}, Dnssec::secure));
  ASSERT_EQ(result.verdict, Verdict::deliver);
  EXPECT_EQ(result.mx_dnssec, Dnssec::secure);
  ASSERT_EQ(result.candidates.size(), 2u);
  EXPECT_EQ(result.candidates[0].address_dnssec, Dnssec::secure);
  EXPECT_EQ(result.candidates[1].address_dnssec, Dnssec::insecure);
}

}  // namespace
}  // namespace petrel::dns
