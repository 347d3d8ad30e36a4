// `petrel mx`'s pure half: the verdict, reverse DNS, MTA-STS and TLSA
// readings, and the text and JSON it prints, over reports made up in the
// test: no resolver, no network.
#include "cli/mx_report.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

#include <nlohmann/json.hpp>

namespace petrel::cli {
namespace {

using dns::Outcome;

template <class Record>
dns::Answer<Record> answer(std::vector<Record> records) {
  dns::Answer<Record> a;
  a.outcome = records.empty() ? Outcome::nodata : Outcome::ok;
  a.records = std::move(records);
  return a;
}

template <class Record>
dns::Answer<Record> failed(Outcome outcome, std::string error = "") {
  dns::Answer<Record> a;
  a.outcome = outcome;
  a.error = std::move(error);
  return a;
}

dns::IpAddress ip(const char* text) { return *dns::IpAddress::parse(text); }

dns::AddressAnswer addresses(std::vector<const char*> texts) {
  std::vector<dns::IpAddress> out;
  for (const char* t : texts) out.push_back(ip(t));
  return answer(std::move(out));
}

// An address whose PTR names resolve to `forward` (the same for each name).
MxAddress address(const char* text, std::vector<std::string> ptr_names, std::vector<const char*> forward) {
  MxAddress a{ip(text), answer(ptr_names), {}};
  for (const auto& name : ptr_names) a.reverse.push_back({name, addresses(forward)});
  return a;
}

MxHostReport host(std::uint16_t preference, std::string name, std::vector<const char*> v4) {
  MxHostReport h;
  h.preference = preference;
  h.name = std::move(name);
  h.a = addresses(v4);
  h.aaaa = addresses({});
  for (const char* a : v4) h.addresses.push_back(address(a, {h.name}, {a}));
  return h;
}

dns::TxtAnswer txt(std::vector<std::vector<std::string>> records) {
  std::vector<dns::TxtRecord> out;
  for (auto& strings : records) out.push_back({std::move(strings)});
  return answer(std::move(out));
}

MxReport two_mx() {
  MxReport r;
  r.query = r.domain = "two.test";
  r.mx = answer(std::vector<dns::MxRecord>{{20, "mx2.two.test"}, {10, "mx1.two.test"}});
  r.hosts = {host(10, "mx1.two.test", {"192.0.2.1"}), host(20, "mx2.two.test", {"192.0.2.2"})};
  r.mta_sts = failed<dns::TxtRecord>(Outcome::nxdomain);
  return r;
}

MxReport null_mx() {
  MxReport r;
  r.query = r.domain = "nullmx.test";
  r.mx = answer(std::vector<dns::MxRecord>{{0, "."}});
  return r;
}

// What print_mx_report() writes; a memory stream is no terminal, so no colour.
std::string text_of(const MxReport& r) {
  char* buffer = nullptr;
  std::size_t size = 0;
  std::FILE* stream = open_memstream(&buffer, &size);
  print_mx_report(r, stream);
  std::fclose(stream);
  std::string out(buffer, size);
  std::free(buffer);
  return out;
}

TEST(MxDomain, converts_u_labels_and_takes_the_domain_of_an_address) {
  EXPECT_EQ(mx_domain("Bücher.Example."), "xn--bcher-kva.example");
  EXPECT_EQ(mx_domain("Alice@Example.ORG"), "example.org");
}

TEST(MxTargets, lists_hosts_by_preference_then_name_every_time) {
  const auto mx = answer(std::vector<dns::MxRecord>{{20, "b.test"}, {10, "z.test"}, {20, "a.test"}});
  const dns::MxHosts targets = mx_targets("d.test", mx);
  ASSERT_EQ(targets.hosts.size(), 3u);
  EXPECT_EQ(targets.hosts[0].name, "z.test");
  EXPECT_EQ(targets.hosts[1].name, "a.test");
  EXPECT_EQ(targets.hosts[2].name, "b.test");
}

TEST(MxVerdict, two_mx_hosts_deliver_to_the_preferred_one_and_exit_0) {
  const MxReport r = two_mx();
  const dns::DeliveryPlan plan = mx_verdict(r);
  EXPECT_EQ(plan.verdict, dns::Verdict::deliver);
  EXPECT_EQ(mx_exit_status(plan), kMxFound);
  EXPECT_EQ(mx_summary(r, plan), "mail for two.test goes to mx1.two.test (preference 10) first");
}

TEST(MxVerdict, null_mx_accepts_no_mail_and_exits_1) {
  const MxReport r = null_mx();
  const dns::DeliveryPlan plan = mx_verdict(r);
  EXPECT_EQ(plan.verdict, dns::Verdict::null_mx);
  EXPECT_EQ(mx_exit_status(plan), kMxNoMail);
  EXPECT_NE(mx_summary(r, plan).find("accepts no mail"), std::string::npos);
}

TEST(MxVerdict, nxdomain_and_temporary_failure_are_told_apart_and_exit_2) {
  MxReport r;
  r.query = r.domain = "nx.test";
  r.mx = failed<dns::MxRecord>(Outcome::nxdomain);
  dns::DeliveryPlan plan = mx_verdict(r);
  EXPECT_EQ(mx_exit_status(plan), kMxDnsFailure);
  EXPECT_NE(mx_summary(r, plan).find("does not exist"), std::string::npos);

  r.mx = failed<dns::MxRecord>(Outcome::temporary_failure, "SERVFAIL");
  plan = mx_verdict(r);
  EXPECT_EQ(mx_exit_status(plan), kMxDnsFailure);
  EXPECT_NE(mx_summary(r, plan).find("SERVFAIL"), std::string::npos);
  EXPECT_NE(mx_summary(r, plan).find("try again"), std::string::npos);
}

TEST(MxVerdict, no_mx_but_an_address_is_the_implicit_mx) {
  MxReport r;
  r.query = r.domain = "implicit.test";
  r.mx = failed<dns::MxRecord>(Outcome::nodata);
  r.hosts = {host(0, "implicit.test", {"192.0.2.4"})};
  const dns::DeliveryPlan plan = mx_verdict(r);
  EXPECT_EQ(plan.verdict, dns::Verdict::deliver);
  EXPECT_TRUE(plan.implicit_mx);
  EXPECT_NE(mx_summary(r, plan).find("implicit MX, RFC 5321"), std::string::npos);
  EXPECT_NE(text_of(r).find("implicit"), std::string::npos);
}

TEST(MxVerdict, no_mx_host_with_an_address_exits_1_and_each_is_flagged) {
  MxReport r = two_mx();
  for (auto& h : r.hosts) {
    h.a = failed<dns::IpAddress>(Outcome::nodata);
    h.addresses.clear();
  }
  const dns::DeliveryPlan plan = mx_verdict(r);
  EXPECT_EQ(plan.verdict, dns::Verdict::unroutable);
  EXPECT_EQ(mx_exit_status(plan), kMxNoMail);
  EXPECT_EQ(host_problem(r.hosts[0]), "this MX has no address; senders skip it");
  EXPECT_NE(text_of(r).find("this MX has no address; senders skip it"), std::string::npos);
}

TEST(MxVerdict, a_host_whose_lookup_failed_is_retried_not_skipped) {
  MxReport r = two_mx();
  r.hosts[0].a = failed<dns::IpAddress>(Outcome::temporary_failure, "timed out");
  r.hosts[0].addresses.clear();
  EXPECT_EQ(host_problem(r.hosts[0]), "its address lookup failed (timed out); senders try again later");
  EXPECT_EQ(mx_verdict(r).verdict, dns::Verdict::deliver);  // mx2 still has an address
}

TEST(ReverseDns, tells_confirmed_unconfirmed_missing_and_unknown_apart) {
  EXPECT_EQ(reverse_status(address("192.0.2.1", {"mx.test"}, {"192.0.2.1"})), Rdns::confirmed);
  EXPECT_EQ(reverse_status(address("192.0.2.1", {"liar.test"}, {"192.0.2.99"})), Rdns::unconfirmed);
  EXPECT_EQ(reverse_status(address("192.0.2.1", {"a.test", "b.test"}, {"192.0.2.1"})), Rdns::confirmed);

  MxAddress none{ip("192.0.2.1"), failed<std::string>(Outcome::nxdomain), {}};
  EXPECT_EQ(reverse_status(none), Rdns::no_ptr);
  MxAddress broken{ip("192.0.2.1"), failed<std::string>(Outcome::temporary_failure, "SERVFAIL"), {}};
  EXPECT_EQ(reverse_status(broken), Rdns::unknown);
  MxAddress forward_broken = address("192.0.2.1", {"mx.test"}, {});
  forward_broken.reverse[0].forward = failed<dns::IpAddress>(Outcome::temporary_failure);
  EXPECT_EQ(reverse_status(forward_broken), Rdns::unknown);
}

TEST(MtaSts, reads_the_one_sts_record_and_its_id) {
  const MtaSts sts = mta_sts_record(txt({{"v=spf1 -all"}, {"v=STSv1; ", "id=20240101"}}));
  EXPECT_EQ(sts.state, MtaSts::State::published);
  EXPECT_EQ(sts.record, "v=STSv1; id=20240101");
  EXPECT_EQ(sts.id, "20240101");
}

TEST(MtaSts, none_without_an_sts_record_unknown_when_the_lookup_failed) {
  EXPECT_EQ(mta_sts_record(failed<dns::TxtRecord>(Outcome::nxdomain)).state, MtaSts::State::none);
  EXPECT_EQ(mta_sts_record(txt({{"something else"}})).state, MtaSts::State::none);
  EXPECT_EQ(mta_sts_record(failed<dns::TxtRecord>(Outcome::temporary_failure, "SERVFAIL")).state,
            MtaSts::State::unknown);
}

TEST(MtaSts, two_records_or_a_bad_id_make_it_invalid) {
  EXPECT_EQ(mta_sts_record(txt({{"v=STSv1; id=1"}, {"v=STSv1; id=2"}})).state, MtaSts::State::invalid);
  EXPECT_EQ(mta_sts_record(txt({{"v=STSv1; id=not-alnum"}})).state, MtaSts::State::invalid);
  EXPECT_EQ(mta_sts_record(txt({{"v=STSv1;"}})).problem, "the record has no id field");
  EXPECT_EQ(mta_sts_record(txt({{"v=STSv10; id=1"}})).state, MtaSts::State::invalid);
}

TEST(Tlsa, names_usage_selector_and_matching_type) {
  EXPECT_EQ(tlsa_meaning({3, 1, 1, {}}), "DANE-EE, SPKI, SHA2-256");
  EXPECT_EQ(tlsa_meaning({2, 0, 2, {}}), "DANE-TA, Cert, SHA2-512");
  EXPECT_EQ(tlsa_meaning({9, 0, 0, {}}), "unassigned 9, Cert, Full");
}

TEST(MxText, shows_hosts_in_preference_order_with_reverse_names_and_no_colour_off_a_terminal) {
  MxReport r = two_mx();
  r.hosts[1].addresses[0] = address("192.0.2.2", {"liar.test"}, {"192.0.2.99"});
  r.hosts[0].tlsa = answer(std::vector<dns::TlsaRecord>{{3, 1, 1, {0xaa, 0xbb}}});
  r.mta_sts = txt({{"v=STSv1; id=abc"}});
  const std::string text = text_of(r);
  EXPECT_LT(text.find("mx1.two.test"), text.find("mx2.two.test"));
  EXPECT_NE(text.find("(forward-confirmed)"), std::string::npos);
  EXPECT_NE(text.find("liar.test (does not resolve back"), std::string::npos);
  EXPECT_NE(text.find("_25._tcp.mx1.two.test: 3 1 1 aabb (DANE-EE, SPKI, SHA2-256)"), std::string::npos);
  EXPECT_NE(text.find("policy id abc"), std::string::npos);
  EXPECT_EQ(text.find('\033'), std::string::npos);
}

TEST(MxText, with_validation_each_address_and_tlsa_answer_has_its_dnssec_status) {
  MxReport r = two_mx();
  r.validating = true;
  r.mx.dnssec = dns::Dnssec::secure;
  r.hosts[0].a.dnssec = dns::Dnssec::secure;
  r.hosts[0].tlsa = answer(std::vector<dns::TlsaRecord>{{3, 1, 1, {0xaa}}});
  r.hosts[0].tlsa.dnssec = dns::Dnssec::secure;
  r.hosts[1].tlsa = answer(std::vector<dns::TlsaRecord>{{3, 1, 1, {0xbb}}});
  const std::string text = text_of(r);
  EXPECT_NE(text.find("2 MX records, DNSSEC secure"), std::string::npos);
  const std::string heading = text.substr(text.find("PREF"), text.find('\n', text.find("PREF")) - text.find("PREF"));
  EXPECT_TRUE(heading.ends_with("DNSSEC")) << heading;
  EXPECT_NE(text.find("192.0.2.1"), std::string::npos);
  EXPECT_NE(text.find("DNSSEC secure: DANE applies"), std::string::npos);
  EXPECT_NE(text.find("not DNSSEC-secure: senders ignore it (RFC 7672)"), std::string::npos);
}

TEST(MxText, null_mx_is_said_in_words) {
  const std::string text = text_of(null_mx());
  EXPECT_NE(text.find("null MX: accepts no mail"), std::string::npos);
  EXPECT_NE(text.find("nullmx.test accepts no mail: it publishes a null MX (RFC 7505)"), std::string::npos);
}

TEST(MxJson, carries_the_documented_fields) {
  MxReport r = two_mx();
  r.query = "Two.Test";
  const auto doc = nlohmann::json::parse(mx_report_json(r));
  EXPECT_EQ(doc["query"], "Two.Test");
  EXPECT_EQ(doc["domain"], "two.test");
  EXPECT_EQ(doc["resolver"], "system");
  EXPECT_EQ(doc["verdict"], "deliver");
  EXPECT_EQ(doc["exit_status"], 0);
  EXPECT_EQ(doc["implicit_mx"], false);
  EXPECT_EQ(doc["dnssec_validation"], false);
  EXPECT_EQ(doc["mx"]["outcome"], "ok");
  ASSERT_EQ(doc["hosts"].size(), 2u);
  const auto& first = doc["hosts"][0];
  EXPECT_EQ(first["name"], "mx1.two.test");
  EXPECT_EQ(first["preference"], 10);
  EXPECT_EQ(first["addresses"][0]["address"], "192.0.2.1");
  EXPECT_EQ(first["addresses"][0]["rdns"], "confirmed");
  EXPECT_EQ(first["addresses"][0]["reverse"][0]["forward_confirmed"], true);
  EXPECT_EQ(first["tlsa"]["name"], "_25._tcp.mx1.two.test");
  EXPECT_EQ(doc["mta_sts"]["state"], "none");
}

TEST(MxJson, temporary_failure_outcome_is_one_word) {
  MxReport r;
  r.query = r.domain = "broken.test";
  r.mx = failed<dns::MxRecord>(Outcome::temporary_failure, "SERVFAIL");
  const auto doc = nlohmann::json::parse(mx_report_json(r));
  EXPECT_EQ(doc["mx"]["outcome"], "temporary_failure");
  EXPECT_EQ(doc["mx"]["error"], "SERVFAIL");
  EXPECT_EQ(doc["verdict"], "temporary_failure");
  EXPECT_EQ(doc["exit_status"], 2);
}

}  // namespace
}  // namespace petrel::cli
