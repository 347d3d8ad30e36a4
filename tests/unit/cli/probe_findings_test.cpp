// petrel probe's pure parts: the grading of observations, the words for
// EHLO extensions and failed connections, the exit status, TARGET parsing.
#include "cli/probe_findings.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "cli/probe_command.hpp"

namespace petrel::cli {
namespace {

constexpr std::int64_t kNow = 1'700'000'000;

smtp::ServerReply reply(int code, std::vector<std::string> lines = {"ok"}) {
  smtp::ServerReply r;
  r.code = code;
  r.lines = std::move(lines);
  return r;
}

Exchange exchange(std::string command, int code) { return Exchange{std::move(command), reply(code)}; }

// A host that answered and took EHLO; tests change what they are about.
HostObservation greeted() {
  HostObservation h;
  h.host = "mx.example.test";
  h.address = "192.0.2.1";
  h.connect = StepResult{true, NetError::none, "", 1.0};
  h.greeting = StepResult{true, NetError::none, "", 2.0};
  h.greeting_reply = reply(220, {"mx.example.test ESMTP"});
  h.ehlo = Exchange{"EHLO probe", reply(250, {"mx.example.test", "SIZE 1000", "STARTTLS"})};
  h.capabilities = smtp::parse_capabilities(*h.ehlo.reply);
  return h;
}

const Finding* find(const std::vector<Finding>& findings, const std::string& id) {
  const auto it = std::find_if(findings.begin(), findings.end(), [&](const Finding& f) { return f.id == id; });
  return it == findings.end() ? nullptr : &*it;
}

Grade grade_of(const HostObservation& h, const std::string& id) {
  const auto findings = grade_host(h, kNow, false);
  const Finding* f = find(findings, id);
  EXPECT_NE(f, nullptr) << "no finding " << id;
  return f != nullptr ? f->grade : Grade::info;
}

TEST(ProbeExtensions, are_explained_in_plain_words) {
  EXPECT_EQ(explain_extension("SIZE 52428800"), "accepts messages up to 50 MiB (RFC 1870)");
  EXPECT_EQ(explain_extension("SIZE"), "accepts messages of any size (it announces no fixed limit) (RFC 1870)");
  EXPECT_EQ(explain_extension("pipelining"), "can take several commands at once (RFC 2920)");
  EXPECT_EQ(explain_extension("AUTH PLAIN LOGIN"), "lets users log in, with PLAIN, LOGIN (RFC 4954)");
  EXPECT_EQ(explain_extension("AUTH=LOGIN"), "lets users log in, with LOGIN (RFC 4954)");
  EXPECT_NE(explain_extension("REQUIRETLS"), "");
  EXPECT_NE(explain_extension("ATRN"), "");
  EXPECT_EQ(explain_extension("X-EXPS GSSAPI"), "");  // unknown: shown raw
}

TEST(ProbeExtensions, sizes_are_human) {
  EXPECT_EQ(human_size(999), "999 octets");
  EXPECT_EQ(human_size(1536), "1.5 KiB");
  EXPECT_EQ(human_size(10u << 20), "10 MiB");
}

TEST(ProbeGrading, refused_connection_fails_and_says_nothing_listens) {
  HostObservation h;
  h.host = h.address = "192.0.2.1";
  h.connect = StepResult{true, NetError::refused, "Connection refused", 0.1};
  const auto findings = grade_host(h, kNow, false);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].grade, Grade::fail);
  EXPECT_NE(findings[0].detail.find("Nothing listens"), std::string::npos);
  // When another MX took the connection, one dead MX is only a warning.
  EXPECT_EQ(grade_host(h, kNow, true)[0].grade, Grade::warn);
}

TEST(ProbeGrading, connect_timeout_on_25_suggests_587_and_another_network) {
  const std::string advice = connect_advice(NetError::timeout, 25);
  EXPECT_NE(advice.find("filtered"), std::string::npos);
  EXPECT_NE(advice.find("587"), std::string::npos);
  EXPECT_EQ(connect_advice(NetError::timeout, 587).find("587"), std::string::npos);
}

TEST(ProbeGrading, connect_timeout_on_another_port_still_suggests_587_and_another_network) {
  const std::string advice = connect_advice(NetError::timeout, 2525);
  EXPECT_NE(advice.find("filtered"), std::string::npos);
  EXPECT_NE(advice.find("--port 587"), std::string::npos);
  EXPECT_NE(advice.find("another network"), std::string::npos);
  EXPECT_NE(connect_advice(NetError::timeout, 587).find("another network"), std::string::npos);
}

TEST(ProbeGrading, a_reset_before_the_greeting_is_called_a_reset) {
  HostObservation h = greeted();
  h.greeting_reply.reset();
  h.greeting = StepResult{true, NetError::reset, "read: Connection reset by peer", 0.1};
  const auto findings = grade_host(h, kNow, false);
  ASSERT_NE(find(findings, "greeting"), nullptr);
  EXPECT_EQ(find(findings, "greeting")->grade, Grade::fail);
  EXPECT_NE(find(findings, "greeting")->title.find("reset the connection"), std::string::npos);
}

TEST(ProbeGrading, a_reset_in_answer_to_ehlo_is_no_answer_not_a_refusal) {
  HostObservation h = greeted();
  h.ehlo = Exchange{"EHLO probe", std::nullopt};
  h.capabilities = {};
  h.lost = "after EHLO: reset (read: Connection reset by peer)";
  h.lost_error = NetError::reset;
  const auto findings = grade_host(h, kNow, false);
  ASSERT_NE(find(findings, "ehlo"), nullptr);
  EXPECT_EQ(find(findings, "ehlo")->grade, Grade::fail);
  EXPECT_NE(find(findings, "ehlo")->title.find("No answer to EHLO: the server reset"), std::string::npos);
  ASSERT_NE(find(findings, "connection_lost"), nullptr);
  EXPECT_NE(find(findings, "connection_lost")->title.find("reset"), std::string::npos);
}

TEST(ProbeGrading, greeting_never_sent_is_a_tarpit) {
  HostObservation h = greeted();
  h.greeting_reply.reset();
  h.greeting = StepResult{true, NetError::timeout, "no reply", 2000};
  const auto findings = grade_host(h, kNow, false);
  const Finding* f = find(findings, "greeting");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->grade, Grade::fail);
  EXPECT_NE(f->title.find("never sent its greeting"), std::string::npos);
}

TEST(ProbeGrading, a_421_greeting_means_this_client_is_refused) {
  HostObservation h = greeted();
  h.greeting_reply = reply(421, {"go away"});
  const auto findings = grade_host(h, kNow, false);
  EXPECT_EQ(find(findings, "greeting")->grade, Grade::fail);
  EXPECT_NE(find(findings, "greeting")->title.find("refuses this client"), std::string::npos);
  EXPECT_EQ(find(findings, "ehlo"), nullptr);  // nothing after a refused greeting
}

TEST(ProbeGrading, helo_fallback_is_a_warning) {
  HostObservation h = greeted();
  h.ehlo = exchange("EHLO probe", 502);
  h.helo = exchange("HELO probe", 250);
  h.capabilities = {};
  EXPECT_EQ(grade_of(h, "ehlo"), Grade::warn);
}

TEST(ProbeGrading, different_vrfy_answers_are_user_enumeration) {
  HostObservation h = greeted();
  h.vrfy_postmaster = exchange("VRFY postmaster", 250);
  h.vrfy_random = exchange("VRFY x", 550);
  EXPECT_EQ(grade_of(h, "vrfy_enumeration"), Grade::warn);
  h.vrfy_random = exchange("VRFY x", 250);
  EXPECT_EQ(grade_of(h, "vrfy_enumeration"), Grade::pass);
}

TEST(ProbeGrading, turn_accepted_fails) {
  HostObservation h = greeted();
  h.turn = exchange("TURN", 250);
  EXPECT_EQ(grade_of(h, "turn"), Grade::fail);
  h.turn = exchange("TURN", 502);
  EXPECT_EQ(grade_of(h, "turn"), Grade::pass);
}

TEST(ProbeGrading, open_relay_fails_and_a_refused_rcpt_passes) {
  HostObservation h = greeted();
  h.relay_mail = exchange("MAIL FROM:<a@example.com>", 250);
  h.relay_rcpt = exchange("RCPT TO:<relay-test@example.org>", 250);
  EXPECT_EQ(grade_of(h, "open_relay"), Grade::fail);
  h.relay_rcpt = exchange("RCPT TO:<relay-test@example.org>", 554);
  EXPECT_EQ(grade_of(h, "open_relay"), Grade::pass);
  h.relay_mail = exchange("MAIL FROM:<a@example.com>", 550);
  EXPECT_EQ(grade_of(h, "open_relay"), Grade::info);
}

TEST(ProbeGrading, oversized_mail_from_must_be_refused) {
  HostObservation h = greeted();
  h.size_tried = 1001;
  h.size_mail = exchange("MAIL FROM:<a@example.com> SIZE=1001", 250);
  EXPECT_EQ(grade_of(h, "size"), Grade::fail);
  h.size_mail = exchange("MAIL FROM:<a@example.com> SIZE=1001", 552);
  EXPECT_EQ(grade_of(h, "size"), Grade::pass);
}

TEST(ProbeGrading, pipelining_needs_both_replies) {
  HostObservation h = greeted();
  h.pipelining.tested = true;
  h.pipelining.replies = {reply(250)};
  EXPECT_EQ(grade_of(h, "pipelining"), Grade::fail);
  h.pipelining.replies.push_back(reply(250));
  EXPECT_EQ(grade_of(h, "pipelining"), Grade::pass);
}

TEST(ProbeGrading, reverse_dns_is_compared_with_the_greeting_name) {
  HostObservation h = greeted();
  h.ptr_looked_up = true;
  h.ptr_names = {"MX.example.test."};
  EXPECT_EQ(grade_of(h, "reverse_dns"), Grade::pass);
  h.ptr_names = {"other.example.test"};
  EXPECT_EQ(grade_of(h, "reverse_dns"), Grade::warn);
  h.ptr_names.clear();
  EXPECT_EQ(grade_of(h, "reverse_dns"), Grade::warn);
}

TEST(ProbeGrading, tls_certificate_checks) {
  HostObservation h = greeted();
  StartTlsObservation s;
  s.command = exchange("STARTTLS", 220);
  TlsDetails tls;
  tls.version = "TLSv1.3";
  tls.chain_verified = false;
  tls.verify_error = "self-signed certificate";
  tls.name_matches = true;
  tls.not_before = kNow - 86'400;
  tls.not_after = kNow + 5 * 86'400;
  s.tls = tls;
  h.starttls = s;
  const auto findings = grade_host(h, kNow, false);
  EXPECT_EQ(find(findings, "starttls")->grade, Grade::pass);
  EXPECT_EQ(find(findings, "certificate_chain")->grade, Grade::warn);
  EXPECT_EQ(find(findings, "certificate_name")->grade, Grade::pass);
  EXPECT_EQ(find(findings, "certificate_expiry")->grade, Grade::warn);
  h.starttls->tls->not_after = kNow - 86'400;
  EXPECT_EQ(grade_of(h, "certificate_expiry"), Grade::fail);
}

TEST(ProbeGrading, no_starttls_warns_and_a_failed_handshake_fails) {
  HostObservation h = greeted();
  h.capabilities.starttls = false;
  EXPECT_EQ(grade_of(h, "starttls"), Grade::warn);
  h.capabilities.starttls = true;
  h.starttls = StartTlsObservation{};
  h.starttls->command = exchange("STARTTLS", 220);
  h.starttls->error = "handshake failed";
  EXPECT_EQ(grade_of(h, "starttls"), Grade::fail);
}

TEST(ProbeGrading, exit_status_follows_the_worst_finding) {
  ProbeObservation p;
  p.hosts.push_back(greeted());
  EXPECT_EQ(exit_status(p, {Finding{"a", Grade::pass}}), kExitAllPass);
  EXPECT_EQ(exit_status(p, {Finding{"a", Grade::pass}, Finding{"b", Grade::warn}}), kExitWarnings);
  EXPECT_EQ(exit_status(p, {Finding{"b", Grade::warn}, Finding{"c", Grade::fail}}), kExitFailures);
  p.hosts[0].greeting_reply.reset();
  EXPECT_EQ(exit_status(p, {Finding{"c", Grade::fail}}), kExitNoConnection);
}

TEST(ProbeGrading, null_mx_and_implicit_mx_are_called_out) {
  ProbeObservation p;
  p.dns.by_mx = true;
  p.dns.domain = "example.test";
  p.dns.null_mx = true;
  EXPECT_EQ(grade(p, kNow).at(0).grade, Grade::fail);
  p.dns.null_mx = false;
  p.dns.implicit_mx = true;
  EXPECT_EQ(grade(p, kNow).at(0).grade, Grade::warn);
}

TEST(ProbeTarget, domains_and_hosts) {
  auto t = parse_probe_target("example.org");
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->domain);
  t = parse_probe_target("postmaster@Example.org.");
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->domain);
  EXPECT_EQ(t->name, "Example.org");
  t = parse_probe_target("mx.example.org:587");
  ASSERT_TRUE(t);
  EXPECT_FALSE(t->domain);
  EXPECT_EQ(t->port, 587);
  t = parse_probe_target("192.0.2.1");
  ASSERT_TRUE(t);
  EXPECT_FALSE(t->domain);
  EXPECT_FALSE(t->port);
  t = parse_probe_target("[2001:db8::1]:25");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->name, "2001:db8::1");
  EXPECT_EQ(t->port, 25);
  t = parse_probe_target("2001:db8::1");
  ASSERT_TRUE(t);
  EXPECT_FALSE(t->domain);
  EXPECT_FALSE(parse_probe_target("host:99999"));
  EXPECT_FALSE(parse_probe_target("host:"));
  EXPECT_FALSE(parse_probe_target(""));
}

}  // namespace
}  // namespace petrel::cli

namespace petrel::cli {
namespace {

// DANE (RFC 7672): the TLSA lookup and the certificate check, graded.
HostObservation with_tlsa(dns::Outcome outcome, dns::Dnssec dnssec) {
  HostObservation h = greeted();
  h.dane.looked_up = true;
  h.dane.applies = true;
  h.dane.tlsa.outcome = outcome;
  h.dane.tlsa.dnssec = dnssec;
  if (outcome == dns::Outcome::ok) {
    h.dane.tlsa.records.push_back({3, 1, 1, std::vector<std::uint8_t>(32, 1)});
    h.dane.usable = h.dane.tlsa.records;
  }
  return h;
}

TEST(ProbeDane, a_matching_certificate_passes_and_a_mismatch_fails) {
  HostObservation h = with_tlsa(dns::Outcome::ok, dns::Dnssec::secure);
  h.dane.checked = true;
  h.dane.matched = true;
  h.dane.match = "TLSA 3 1 1";
  EXPECT_EQ(grade_of(h, "dane"), Grade::pass);
  h.dane.matched = false;
  EXPECT_EQ(grade_of(h, "dane"), Grade::fail);
}

TEST(ProbeDane, no_tlsa_and_insecure_are_information_and_bogus_fails) {
  EXPECT_EQ(grade_of(with_tlsa(dns::Outcome::nodata, dns::Dnssec::secure), "dane"), Grade::info);
  HostObservation insecure = with_tlsa(dns::Outcome::ok, dns::Dnssec::insecure);
  insecure.dane.applies = false;
  EXPECT_EQ(grade_of(insecure, "dane"), Grade::info);
  EXPECT_EQ(grade_of(with_tlsa(dns::Outcome::temporary_failure, dns::Dnssec::bogus), "dane"), Grade::fail);
}

TEST(ProbeDane, nothing_is_said_without_a_validating_resolver) {
  const auto findings = grade_host(greeted(), kNow, false);
  EXPECT_EQ(find(findings, "dane"), nullptr);
}

}  // namespace
}  // namespace petrel::cli
