#include <utility>  // Boost 1.74's Asio needs std::exchange

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <map>
#include <optional>
#include <set>

#include "auth_checks/checker.hpp"

namespace petrel::auth_checks {
namespace {

namespace asio = boost::asio;

// TXT records by name, answered on the io_context as UnboundResolver
// does (never inside the call); names in `silent` are never answered,
// names in `failing` get a temporary failure; anything else is NXDOMAIN.
class FakeResolver final : public dns::Resolver {
 public:
  explicit FakeResolver(asio::io_context& io) : io_(io) {}

  std::map<std::string, std::vector<std::string>> txt;
  std::set<std::string> silent, failing;
  std::vector<std::string> asked;

  void lookup_txt(std::string_view name, dns::Callback<dns::TxtAnswer> done) override {
    const std::string n(name);
    asked.push_back(n);
    if (silent.count(n)) return;
    dns::TxtAnswer a;
    if (failing.count(n)) {
      a.outcome = dns::Outcome::temporary_failure;
    } else if (auto it = txt.find(n); it != txt.end()) {
      a.outcome = dns::Outcome::ok;
      for (const auto& t : it->second) a.records.push_back({{t}});
    } else {
      a.outcome = dns::Outcome::nxdomain;
    }
    asio::post(io_, [done = std::move(done), a]() { done(a); });
  }
  void lookup_mx(std::string_view, dns::Callback<dns::MxAnswer> done) override { nodata(std::move(done)); }
  void lookup_a(std::string_view, dns::Callback<dns::AddressAnswer> done) override { nodata(std::move(done)); }
  void lookup_aaaa(std::string_view, dns::Callback<dns::AddressAnswer> done) override { nodata(std::move(done)); }
  void lookup_tlsa(std::string_view, dns::Callback<dns::TlsaAnswer> done) override { nodata(std::move(done)); }
  void lookup_ptr(const dns::IpAddress&, dns::Callback<dns::PtrAnswer> done) override { nodata(std::move(done)); }

 private:
  template <class A>
  void nodata(dns::Callback<A> done) {
    asio::post(io_, [done = std::move(done)]() {
      A a;
      a.outcome = dns::Outcome::nodata;
      done(a);
    });
  }
  asio::io_context& io_;
};

const std::string kMessage = "From: Alice <alice@sub.example.test>\r\nSubject: hi\r\n\r\nHello.\r\n";

struct Harness {
  asio::io_context io;
  FakeResolver dns{io};
  std::optional<Verdict> verdict;

  Verdict check(std::string mail_from, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    Options o;
    o.policy.authserv_id = "mx.example.net";
    o.timeout = timeout;
    Checker checker(io, dns, o);
    checker.check({"192.0.2.7", "client.example", std::move(mail_from), kMessage, 1'800'000'000},
                  [this](Verdict v) { verdict = std::move(v); });
    EXPECT_FALSE(verdict) << "done must not be called inside check()";
    io.run_for(std::chrono::seconds(10));
    EXPECT_TRUE(verdict);
    return verdict.value_or(Verdict{});
  }
};

TEST(Checker, SpfPassAndDmarcFromTheOrganizationalDomain) {
  Harness r;
  r.dns.txt["sub.example.test"] = {"v=spf1 ip4:192.0.2.0/24 -all"};
  r.dns.txt["_dmarc.example.test"] = {"v=DMARC1; p=reject; sp=quarantine"};
  const Verdict v = r.check("alice@sub.example.test");
  EXPECT_EQ(v.summary, "spf=pass dkim=none dmarc=pass arc=none");
  EXPECT_EQ(v.action, Action::accept);
  // The From domain's own record first, then its organizational domain's (RFC 7489 §6.6.3).
  const auto& asked = r.dns.asked;
  const auto own = std::find(asked.begin(), asked.end(), "_dmarc.sub.example.test");
  const auto org = std::find(asked.begin(), asked.end(), "_dmarc.example.test");
  ASSERT_NE(own, asked.end());
  ASSERT_NE(org, asked.end());
  EXPECT_LT(own, org);
}

TEST(Checker, ASubdomainFailureGetsTheSubdomainPolicy) {
  Harness r;
  r.dns.txt["sub.example.test"] = {"v=spf1 -all"};
  r.dns.txt["_dmarc.example.test"] = {"v=DMARC1; p=reject; sp=quarantine"};
  const Verdict v = r.check("alice@sub.example.test");
  EXPECT_EQ(v.summary, "spf=fail dkim=none dmarc=fail arc=none");
  EXPECT_EQ(v.action, Action::quarantine);
}

TEST(Checker, DnsFailuresAreTemperrorNeverFail) {
  Harness r;
  r.dns.failing = {"sub.example.test", "_dmarc.sub.example.test"};
  const Verdict v = r.check("alice@sub.example.test");
  EXPECT_EQ(v.summary, "spf=temperror dkim=none dmarc=temperror arc=none");
  EXPECT_EQ(v.action, Action::accept);
}

TEST(Checker, LookupsNotAnsweredInTimeAreTemperror) {
  Harness r;
  r.dns.silent = {"sub.example.test", "_dmarc.sub.example.test"};
  const auto started = std::chrono::steady_clock::now();
  const Verdict v = r.check("alice@sub.example.test", std::chrono::milliseconds(50));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  EXPECT_EQ(v.summary, "spf=temperror dkim=none dmarc=temperror arc=none");
  EXPECT_NE(v.header.find("timed out"), std::string::npos) << v.header;
}

TEST(Checker, TheNullSenderIsCheckedByItsHeloName) {
  Harness r;
  r.dns.txt["client.example"] = {"v=spf1 ip4:192.0.2.7 -all"};
  const Verdict v = r.check("");
  EXPECT_NE(v.header.find("spf=pass"), std::string::npos);
  EXPECT_NE(v.header.find("smtp.helo=client.example"), std::string::npos);
}

}  // namespace
}  // namespace petrel::auth_checks
