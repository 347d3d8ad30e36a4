// resolve_destination end to end: the MX rules over real answers from
// dnsmasq serving the test zone (dnsmasq.hpp).
#include "dns/destination.hpp"

#include <memory>

#include "resolver_harness.hpp"

namespace petrel::dns {
namespace {

using testing::Dnsmasq;
using testing::options_for;
using testing::run_lookup;

std::vector<std::string> order(const DeliveryPlan& plan) {
  std::vector<std::string> out;
  for (const auto& c : plan.candidates) out.push_back(c.host + " " + c.address.str());
  return out;
}

class DestinationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PETREL_REQUIRE_DNSMASQ();
    dnsmasq = std::make_unique<Dnsmasq>();
    resolver = std::make_unique<UnboundResolver>(io, options_for(dnsmasq->upstream()));
  }

  DeliveryPlan destination(const std::string& domain) {
    auto plan = run_lookup<DeliveryPlan>(
        io, [&](auto done) { resolve_destination(*resolver, domain, options, done); });
    EXPECT_TRUE(plan) << "no plan for " << domain;
    return plan.value_or(DeliveryPlan{});
  }

  boost::asio::io_context io;
  std::unique_ptr<Dnsmasq> dnsmasq;
  std::unique_ptr<UnboundResolver> resolver;
  PlanOptions options;
};

TEST_F(DestinationTest, two_mx_hosts_in_preference_order_ipv6_first) {
  const auto plan = destination("two.test");
  ASSERT_EQ(plan.verdict, Verdict::deliver) << plan.reason;
  EXPECT_EQ(order(plan), (std::vector<std::string>{"mx1.two.test 127.0.0.2", "mx2.two.test fd00::3",
                                                   "mx2.two.test 127.0.0.3"}));
  EXPECT_FALSE(plan.implicit_mx);
}

TEST_F(DestinationTest, ipv4_only_leaves_out_the_ipv6_address) {
  options.order = AddressOrder::ipv4_only;
  EXPECT_EQ(order(destination("two.test")),
            (std::vector<std::string>{"mx1.two.test 127.0.0.2", "mx2.two.test 127.0.0.3"}));
}

TEST_F(DestinationTest, a_domain_without_mx_is_its_own_implicit_mx) {
  const auto plan = destination("implicit.test");
  ASSERT_EQ(plan.verdict, Verdict::deliver) << plan.reason;
  EXPECT_TRUE(plan.implicit_mx);
  EXPECT_EQ(order(plan), (std::vector<std::string>{"implicit.test 127.0.0.4"}));
}

TEST_F(DestinationTest, an_mx_host_without_address_is_skipped) {
  const auto plan = destination("deadfirst.test");
  ASSERT_EQ(plan.verdict, Verdict::deliver) << plan.reason;
  EXPECT_EQ(order(plan), (std::vector<std::string>{"mx.deadfirst.test 127.0.0.5"}));
  ASSERT_FALSE(plan.notes.empty());
  EXPECT_NE(plan.notes[0].find("nowhere.deadfirst.test"), std::string::npos) << plan.notes[0];
}

TEST_F(DestinationTest, null_mx_is_refused) {
  EXPECT_EQ(destination("nullmx.test").verdict, Verdict::null_mx);
}

TEST_F(DestinationTest, a_domain_that_does_not_exist_is_refused) {
  EXPECT_EQ(destination("nx.test").verdict, Verdict::no_such_domain);
}

TEST_F(DestinationTest, a_cname_mx_target_is_followed) {
  const auto plan = destination("cnamemx.test");
  ASSERT_EQ(plan.verdict, Verdict::deliver) << plan.reason;
  ASSERT_EQ(plan.candidates.size(), 1u);
  EXPECT_EQ(plan.candidates[0].host, "alias.test");
  EXPECT_EQ(plan.candidates[0].canonical_host, "mx1.two.test");
  EXPECT_EQ(plan.candidates[0].address.str(), "127.0.0.2");
}

TEST_F(DestinationTest, an_ip_address_as_mx_target_is_unroutable) {
  EXPECT_EQ(destination("iplit.test").verdict, Verdict::unroutable);
}

TEST_F(DestinationTest, this_server_as_best_mx_is_a_routing_loop) {
  options.local_names = {"mx1.two.test"};
  EXPECT_EQ(destination("two.test").verdict, Verdict::routing_loop);
}

TEST(DestinationFailures, an_unanswered_mx_lookup_is_a_temporary_failure) {
  testing::SilentServer silent;
  boost::asio::io_context io;
  auto resolver_options = options_for(silent.upstream());
  resolver_options.query_timeout = std::chrono::milliseconds(300);
  UnboundResolver resolver(io, resolver_options);
  auto plan = run_lookup<DeliveryPlan>(io, [&](auto done) { resolve_destination(resolver, "two.test", {}, done); });
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->verdict, Verdict::temporary_failure);
  EXPECT_NE(plan->reason.find("timed out"), std::string::npos) << plan->reason;
}

// A resolver that answers from a table, to show the interface is enough for
// resolve_destination (and how a queue manager test could fake DNS).
class TableResolver final : public Resolver {
 public:
  explicit TableResolver(boost::asio::io_context& io) : io_(io) {}
  void lookup_mx(std::string_view, Callback<MxAnswer> done) override {
    MxAnswer answer;
    answer.outcome = Outcome::ok;
    answer.records = {{10, "mx.example.org"}};
    later(std::move(done), std::move(answer));
  }
  void lookup_a(std::string_view, Callback<AddressAnswer> done) override {
    AddressAnswer answer;
    answer.outcome = Outcome::ok;
    answer.records = {*IpAddress::parse("192.0.2.1")};
    later(std::move(done), std::move(answer));
  }
  void lookup_aaaa(std::string_view, Callback<AddressAnswer> done) override {
    AddressAnswer answer;
    answer.outcome = Outcome::nodata;
    later(std::move(done), std::move(answer));
  }
  void lookup_tlsa(std::string_view, Callback<TlsaAnswer> done) override { later(std::move(done), TlsaAnswer{}); }
  void lookup_txt(std::string_view, Callback<TxtAnswer> done) override { later(std::move(done), TxtAnswer{}); }
  void lookup_ptr(const IpAddress&, Callback<PtrAnswer> done) override { later(std::move(done), PtrAnswer{}); }

 private:
  template <class A>
  void later(Callback<A> done, A answer) {
    boost::asio::post(io_, [done = std::move(done), answer = std::move(answer)]() mutable { done(std::move(answer)); });
  }
  boost::asio::io_context& io_;
};

TEST(DestinationWithAnyResolver, works_over_the_resolver_interface) {
  boost::asio::io_context io;
  TableResolver resolver(io);
  std::optional<DeliveryPlan> plan;
  resolve_destination(resolver, "example.org", {}, [&](DeliveryPlan p) { plan = std::move(p); });
  EXPECT_FALSE(plan) << "the plan must not come from inside the call";
  io.run_for(std::chrono::seconds(5));
  ASSERT_TRUE(plan);
  EXPECT_EQ(order(*plan), (std::vector<std::string>{"mx.example.org 192.0.2.1"}));
}

}  // namespace
}  // namespace petrel::dns
