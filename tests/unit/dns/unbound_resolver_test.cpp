// UnboundResolver against a real dnsmasq on loopback serving the test zone
// (dnsmasq.hpp), and against servers that fail or never answer.
#include "dns/unbound_resolver.hpp"

#include <algorithm>
#include <memory>

#include "resolver_harness.hpp"

namespace petrel::dns {
namespace {

using testing::Dnsmasq;
using testing::options_for;
using testing::run_lookup;

class UnboundResolverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PETREL_REQUIRE_DNSMASQ();
    dnsmasq = std::make_unique<Dnsmasq>();
    resolver = std::make_unique<UnboundResolver>(io, options_for(dnsmasq->upstream()));
  }

  MxAnswer mx(const std::string& name) {
    auto answer = run_lookup<MxAnswer>(io, [&](auto done) { resolver->lookup_mx(name, done); });
    EXPECT_TRUE(answer) << "no answer for MX " << name;
    return answer.value_or(MxAnswer{});
  }
  AddressAnswer a(const std::string& name) {
    auto answer = run_lookup<AddressAnswer>(io, [&](auto done) { resolver->lookup_a(name, done); });
    EXPECT_TRUE(answer) << "no answer for A " << name;
    return answer.value_or(AddressAnswer{});
  }
  AddressAnswer aaaa(const std::string& name) {
    auto answer = run_lookup<AddressAnswer>(io, [&](auto done) { resolver->lookup_aaaa(name, done); });
    EXPECT_TRUE(answer) << "no answer for AAAA " << name;
    return answer.value_or(AddressAnswer{});
  }

  boost::asio::io_context io;
  std::unique_ptr<Dnsmasq> dnsmasq;
  std::unique_ptr<UnboundResolver> resolver;
};

TEST_F(UnboundResolverTest, mx_records_come_with_their_preferences_and_ttl) {
  MxAnswer answer = mx("two.test");
  ASSERT_EQ(answer.outcome, Outcome::ok) << answer.error;
  std::sort(answer.records.begin(), answer.records.end(),
            [](const MxRecord& x, const MxRecord& y) { return x.preference < y.preference; });
  EXPECT_EQ(answer.records, (std::vector<MxRecord>{{10, "mx1.two.test"}, {20, "mx2.two.test"}}));
  EXPECT_GT(answer.ttl.count(), 0);
  EXPECT_LE(answer.ttl.count(), 300);
  EXPECT_EQ(answer.dnssec, Dnssec::insecure);
}

TEST_F(UnboundResolverTest, a_and_aaaa_records) {
  const AddressAnswer v4 = a("mx2.two.test");
  ASSERT_EQ(v4.outcome, Outcome::ok) << v4.error;
  ASSERT_EQ(v4.records.size(), 1u);
  EXPECT_EQ(v4.records[0].str(), "127.0.0.3");
  const AddressAnswer v6 = aaaa("mx2.two.test");
  ASSERT_EQ(v6.outcome, Outcome::ok) << v6.error;
  ASSERT_EQ(v6.records.size(), 1u);
  EXPECT_EQ(v6.records[0].str(), "fd00::3");
}

TEST_F(UnboundResolverTest, a_name_without_the_type_asked_is_nodata) {
  EXPECT_EQ(mx("implicit.test").outcome, Outcome::nodata);
  EXPECT_EQ(aaaa("mx1.two.test").outcome, Outcome::nodata);
}

TEST_F(UnboundResolverTest, a_name_that_does_not_exist_is_nxdomain) {
  EXPECT_EQ(mx("nx.test").outcome, Outcome::nxdomain);
  EXPECT_EQ(a("nowhere.deadfirst.test").outcome, Outcome::nxdomain);
}

TEST_F(UnboundResolverTest, null_mx_target_is_the_root) {
  const MxAnswer answer = mx("nullmx.test");
  ASSERT_EQ(answer.outcome, Outcome::ok) << answer.error;
  EXPECT_EQ(answer.records, (std::vector<MxRecord>{{0, "."}}));
}

TEST_F(UnboundResolverTest, a_cname_is_followed_and_reported) {
  const AddressAnswer answer = a("alias.test");
  ASSERT_EQ(answer.outcome, Outcome::ok) << answer.error;
  ASSERT_EQ(answer.records.size(), 1u);
  EXPECT_EQ(answer.records[0].str(), "127.0.0.2");
  EXPECT_EQ(answer.canonical_name, "mx1.two.test");
}

TEST_F(UnboundResolverTest, tlsa_record_for_dane) {
  auto answer = run_lookup<TlsaAnswer>(io, [&](auto done) { resolver->lookup_tlsa("_25._tcp.mx1.two.test", done); });
  ASSERT_TRUE(answer);
  ASSERT_EQ(answer->outcome, Outcome::ok) << answer->error;
  ASSERT_EQ(answer->records.size(), 1u);
  EXPECT_EQ(answer->records[0].usage, 3);
  EXPECT_EQ(answer->records[0].selector, 1);
  EXPECT_EQ(answer->records[0].matching_type, 1);
  EXPECT_EQ(answer->records[0].data, (std::vector<std::uint8_t>{0xaa, 0xbb, 0xcc, 0xdd}));
}

TEST_F(UnboundResolverTest, txt_record_strings_and_their_concatenation) {
  auto answer = run_lookup<TxtAnswer>(io, [&](auto done) { resolver->lookup_txt("_mta-sts.two.test", done); });
  ASSERT_TRUE(answer);
  ASSERT_EQ(answer->outcome, Outcome::ok) << answer->error;
  ASSERT_EQ(answer->records.size(), 1u);
  EXPECT_EQ(answer->records[0].strings, (std::vector<std::string>{"v=STSv1; ", "id=20240101"}));
  EXPECT_EQ(answer->records[0].joined(), "v=STSv1; id=20240101");
}

TEST_F(UnboundResolverTest, ptr_record_for_an_address) {
  auto answer = run_lookup<PtrAnswer>(
      io, [&](auto done) { resolver->lookup_ptr(*IpAddress::parse("127.0.0.2"), done); });
  ASSERT_TRUE(answer);
  ASSERT_EQ(answer->outcome, Outcome::ok) << answer->error;
  EXPECT_EQ(answer->records, (std::vector<std::string>{"mx1.two.test"}));
}

TEST_F(UnboundResolverTest, lookups_run_concurrently_and_each_callback_comes_once) {
  int calls = 0;
  std::vector<std::string> hosts;
  for (const char* name : {"mx1.two.test", "mx2.two.test", "implicit.test", "mx.deadfirst.test", "nx.test"}) {
    resolver->lookup_a(name, [&, name = std::string(name)](AddressAnswer answer) {
      ++calls;
      if (answer.ok()) hosts.push_back(name + "=" + answer.records[0].str());
    });
  }
  EXPECT_EQ(calls, 0) << "a callback must not run inside the lookup call";
  EXPECT_EQ(resolver->outstanding(), 5u);
  io.run_for(std::chrono::seconds(10));  // returns once nothing is outstanding
  EXPECT_EQ(calls, 5);
  std::sort(hosts.begin(), hosts.end());
  EXPECT_EQ(hosts, (std::vector<std::string>{"implicit.test=127.0.0.4", "mx.deadfirst.test=127.0.0.5",
                                             "mx1.two.test=127.0.0.2", "mx2.two.test=127.0.0.3"}));
  EXPECT_EQ(resolver->outstanding(), 0u);
}

TEST_F(UnboundResolverTest, answers_are_cached_for_their_ttl) {
  ASSERT_EQ(a("mx1.two.test").outcome, Outcome::ok);
  dnsmasq.reset();  // the server is gone; the cache still answers
  const AddressAnswer again = a("mx1.two.test");
  ASSERT_EQ(again.outcome, Outcome::ok) << again.error;
  EXPECT_EQ(again.records[0].str(), "127.0.0.2");
}

TEST_F(UnboundResolverTest, destroying_the_resolver_drops_outstanding_callbacks) {
  bool called = false;
  resolver->lookup_mx("two.test", [&](MxAnswer) { called = true; });
  resolver.reset();
  io.restart();
  io.run_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(called);
}

TEST(UnboundResolverFailures, an_unanswered_query_times_out_as_a_temporary_failure) {
  testing::SilentServer silent;
  boost::asio::io_context io;
  auto options = options_for(silent.upstream());
  options.query_timeout = std::chrono::milliseconds(500);
  UnboundResolver resolver(io, options);
  const auto started = std::chrono::steady_clock::now();
  auto answer = run_lookup<MxAnswer>(io, [&](auto done) { resolver.lookup_mx("two.test", done); });
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->outcome, Outcome::temporary_failure);
  EXPECT_EQ(answer->error, "timed out");
  EXPECT_LT(took, std::chrono::seconds(3));
  EXPECT_EQ(resolver.outstanding(), 0u);
}

TEST(UnboundResolverFailures, run_returns_once_the_last_lookup_has_timed_out) {
  testing::SilentServer silent;
  boost::asio::io_context io;
  auto options = options_for(silent.upstream());
  options.query_timeout = std::chrono::milliseconds(200);
  UnboundResolver resolver(io, options);
  int calls = 0;
  resolver.lookup_a("mx1.two.test", [&](AddressAnswer) { ++calls; });
  resolver.lookup_a("mx2.two.test", [&](AddressAnswer) { ++calls; });
  const auto started = std::chrono::steady_clock::now();
  io.run_for(std::chrono::seconds(5));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
  EXPECT_EQ(calls, 2);
}

TEST(UnboundResolverFailures, servfail_is_a_temporary_failure) {
  testing::ServfailServer failing;
  boost::asio::io_context io;
  UnboundResolver resolver(io, options_for(failing.upstream()));
  auto answer = run_lookup<MxAnswer>(io, [&](auto done) { resolver.lookup_mx("two.test", done); });
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->outcome, Outcome::temporary_failure);
  EXPECT_EQ(answer->error, "SERVFAIL");
  EXPECT_GE(failing.queries(), 1);
}

TEST(UnboundResolverOptions, rejects_an_upstream_that_is_not_an_address) {
  boost::asio::io_context io;
  ResolverOptions options;
  options.dnssec = DnssecMode::off;
  for (const char* bad : {"dns.example:53", "127.0.0.1:0", "127.0.0.1:99999", "[::1", "127.0.0.1:53x"}) {
    options.upstream = bad;
    EXPECT_THROW(UnboundResolver(io, options), std::runtime_error) << bad;
  }
  for (const char* good : {"127.0.0.1", "127.0.0.1:5353", "::1", "[::1]:5353"}) {
    options.upstream = good;
    EXPECT_NO_THROW(UnboundResolver(io, options)) << good;
  }
}

TEST(UnboundResolverOptions, dnssec_on_without_a_trust_anchor_fails_to_start) {
  boost::asio::io_context io;
  ResolverOptions options;
  options.upstream = "127.0.0.1:53";
  options.dnssec = DnssecMode::on;
  options.trust_anchor_file = "/nonexistent/root.key";
  EXPECT_THROW(UnboundResolver(io, options), std::runtime_error);
  options.dnssec = DnssecMode::if_trust_anchor;
  EXPECT_FALSE(UnboundResolver(io, options).validating());
}

}  // namespace
}  // namespace petrel::dns
