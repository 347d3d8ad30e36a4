#include <utility>  // Boost 1.74's Asio needs std::exchange

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "auth_checks/answer_cache.hpp"

namespace petrel::auth_checks {
namespace {

namespace asio = boost::asio;

// Answers every TXT lookup with `next`, counting the lookups.
class Upstream final : public dns::Resolver {
 public:
  explicit Upstream(asio::io_context& io) : io_(io) {}
  dns::TxtAnswer next;
  int asked = 0;

  void lookup_txt(std::string_view, dns::Callback<dns::TxtAnswer> done) override {
    ++asked;
    asio::post(io_, [done = std::move(done), a = next]() { done(a); });
  }
  void lookup_mx(std::string_view, dns::Callback<dns::MxAnswer>) override {}
  void lookup_a(std::string_view, dns::Callback<dns::AddressAnswer>) override {}
  void lookup_aaaa(std::string_view, dns::Callback<dns::AddressAnswer>) override {}
  void lookup_tlsa(std::string_view, dns::Callback<dns::TlsaAnswer>) override {}
  void lookup_ptr(const dns::IpAddress&, dns::Callback<dns::PtrAnswer>) override {}

 private:
  asio::io_context& io_;
};

dns::TxtAnswer answer(dns::Outcome outcome, int ttl, std::string text = "v=spf1 -all") {
  dns::TxtAnswer a;
  a.outcome = outcome;
  a.ttl = std::chrono::seconds(ttl);
  if (outcome == dns::Outcome::ok) a.records.push_back({{std::move(text)}});
  return a;
}

std::string ask(asio::io_context& io, AnswerCache& cache, std::string_view name) {
  std::string got = "(none)";
  cache.lookup_txt(name, [&got](dns::TxtAnswer a) { got = a.ok() ? a.records.at(0).joined() : "no record"; });
  EXPECT_EQ(got, "(none)") << "answered inside the lookup call";
  io.restart();
  io.run();
  return got;
}

TEST(AnswerCache, KeepsAnAnswerForItsTtlWhateverTheNamesCase) {
  asio::io_context io;
  Upstream up(io);
  AnswerCache cache(io, up);
  up.next = answer(dns::Outcome::ok, 300);
  EXPECT_EQ(ask(io, cache, "Example.TEST."), "v=spf1 -all");
  up.next = answer(dns::Outcome::ok, 300, "changed");
  EXPECT_EQ(ask(io, cache, "example.test"), "v=spf1 -all");
  EXPECT_EQ(up.asked, 1);
  EXPECT_EQ(cache.hits(), 1u);
}

TEST(AnswerCache, NeverKeepsFailuresNorTtlZero) {
  asio::io_context io;
  Upstream up(io);
  AnswerCache cache(io, up);
  up.next = answer(dns::Outcome::temporary_failure, 300);
  EXPECT_EQ(ask(io, cache, "a.test"), "no record");
  up.next = answer(dns::Outcome::ok, 0);
  EXPECT_EQ(ask(io, cache, "a.test"), "v=spf1 -all");
  EXPECT_EQ(ask(io, cache, "a.test"), "v=spf1 -all");
  EXPECT_EQ(up.asked, 3);
}

TEST(AnswerCache, KeepsNegativeAnswersAndStaysBounded) {
  asio::io_context io;
  Upstream up(io);
  AnswerCache cache(io, up, 2);
  up.next = answer(dns::Outcome::nxdomain, 60);
  EXPECT_EQ(ask(io, cache, "a.test"), "no record");
  EXPECT_EQ(ask(io, cache, "a.test"), "no record");
  EXPECT_EQ(up.asked, 1);
  ask(io, cache, "b.test");
  ask(io, cache, "c.test");  // full: emptied, then c kept
  ask(io, cache, "a.test");
  EXPECT_EQ(up.asked, 4);
}

}  // namespace
}  // namespace petrel::auth_checks
