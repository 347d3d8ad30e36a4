// Limits that protect the server: command line length (RFC 5321 §4.5.3.1.4),
// endless lines, the error budget, and timeouts (§4.5.3.2).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "session_harness.hpp"

// The largest single allocation made while `g_tracking` is on: a session that
// buffered an endless line would have to ask for ever larger blocks.
namespace {
std::atomic<bool> g_tracking{false};
std::atomic<std::size_t> g_largest_allocation{0};
}  // namespace

// GCC at -O2 pairs these malloc/free calls with new/delete and warns; the
// pairing is ours and consistent.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t n) {
  if (g_tracking.load(std::memory_order_relaxed)) {
    std::size_t seen = g_largest_allocation.load(std::memory_order_relaxed);
    while (n > seen && !g_largest_allocation.compare_exchange_weak(seen, n)) {
    }
  }
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace petrel::smtp {
namespace {

using testing::Dialogue;
using testing::parse_replies;

TEST(Limits, command_line_of_512_octets_is_the_limit) {
  Dialogue d;
  const std::string at_limit = "NOOP " + std::string(505, 'x') + "\r\n";  // 512 with CRLF
  ASSERT_EQ(at_limit.size(), 512u);
  EXPECT_EQ(d.send(at_limit).statuses(), "250 2.0.0");
  const std::string over = "NOOP " + std::string(506, 'x') + "\r\n";
  const auto r = d.send(over);
  EXPECT_EQ(r.statuses(), "500 5.5.2");
  EXPECT_EQ(r[0].text(), "Line too long");
  EXPECT_EQ(d.send("NOOP\r\n").statuses(), "250 2.0.0");
}

TEST(Limits, overlong_lines_of_every_verb_but_mail_and_rcpt_are_500) {
  Dialogue d;
  d.ehlo();
  const std::string padding(600, 'x');
  EXPECT_EQ(d.send("EHLO " + padding + "\r\nVRFY " + padding + "\r\nHELP " + padding + "\r\n").statuses(),
            "500 5.5.2 | 500 5.5.2 | 500 5.5.2");
}

TEST(Limits, mail_and_rcpt_may_be_longer_for_their_parameters) {
  Dialogue d;
  d.ehlo();
  const std::string local(64, 'l');
  std::string domain(180, 'd');
  for (std::size_t i = 60; i < domain.size(); i += 61) domain[i] = '.';
  const std::string mail = "MAIL FROM:<" + local + "@" + domain + "> SIZE=100 BODY=8BITMIME RET=FULL ENVID=" +
                           std::string(100, 'e') + "\r\n";
  const std::string rcpt = "RCPT TO:<" + local + "@" + domain + "> NOTIFY=SUCCESS,FAILURE,DELAY ORCPT=rfc822;" +
                           std::string(450, 'o') + "\r\n";
  ASSERT_GT(rcpt.size(), 512u);
  EXPECT_EQ(d.send(mail).statuses(), "250 2.1.0");
  // the policy refuses the domain, but the line itself was read and parsed
  EXPECT_EQ(d.send(rcpt).statuses(), "554 5.7.1");
}

TEST(Limits, mail_longer_than_512_plus_1024_is_500) {
  Dialogue d;
  d.ehlo();
  const std::string padded = "MAIL FROM:<a@example.test>" + std::string(1600, ' ') + "SIZE=1\r\n";
  EXPECT_EQ(d.send(padded).statuses(), "500 5.5.2");
  // A padded line within the allowance is fine.
  EXPECT_EQ(d.send("MAIL FROM:<a@example.test>" + std::string(1000, ' ') + "SIZE=1\r\n").statuses(), "250 2.1.0");
}

TEST(Limits, overlong_line_split_over_reads_is_refused_once) {
  Dialogue d;
  d.ehlo();
  const std::string line = "MAIL FROM:<a@example.test>" + std::string(3000, ' ') + "SIZE=1\r\nNOOP\r\n";
  EXPECT_EQ(d.send(line, 100).statuses(), "500 5.5.2 | 250 2.0.0");
}

TEST(Limits, endless_line_is_not_buffered_and_ends_in_421) {
  SessionOptions options;
  options.hostname = "mx.example.test";
  Dialogue d(options);
  ServerSession& s = d.session();
  const std::string piece(64 * 1024, 'A');
  std::size_t fed = 0;
  std::size_t largest_output = 0;
  g_largest_allocation = 0;
  for (int i = 0; i < 160 && s.need() == ServerSession::Need::input; ++i) {  // 10 MiB
    g_tracking = true;
    fed += s.feed(piece);
    g_tracking = false;
    largest_output = std::max(largest_output, s.output().size());
  }
  EXPECT_LT(g_largest_allocation.load(), 4096u) << "the session buffers the endless line";
  EXPECT_LT(largest_output, 1024u);
  const auto r = parse_replies(s.output());
  ASSERT_GE(r.size(), 2u);
  EXPECT_EQ(r.front().status(), "500 5.5.2");
  EXPECT_EQ(r.back().status(), "421 4.7.0");
  EXPECT_EQ(s.need(), ServerSession::Need::close);
  EXPECT_LT(fed, 10u * 1024 * 1024);
  EXPECT_EQ(s.stats().close_reason, "too many errors");
}

TEST(Limits, endless_line_in_one_big_read_is_not_copied) {
  Dialogue d;
  ServerSession& s = d.session();
  const std::string piece(4 * 1024 * 1024, 'A');
  g_largest_allocation = 0;
  g_tracking = true;
  for (int i = 0; i < 3 && s.need() == ServerSession::Need::input; ++i) s.feed(piece);
  g_tracking = false;
  EXPECT_LT(g_largest_allocation.load(), 4096u) << "the session buffers the endless line";
}

TEST(Limits, endless_line_byte_at_a_time_ends_in_421) {
  Dialogue d;
  const auto r = d.send(std::string(200 * 1024, 'A'), 1);
  ASSERT_GE(r.size(), 2u);
  EXPECT_EQ(r.front().status(), "500 5.5.2");
  EXPECT_EQ(r.back().status(), "421 4.7.0");
  EXPECT_EQ(d.need(), ServerSession::Need::close);
}

TEST(Limits, max_errors_ends_in_421_and_close) {
  SessionOptions options;
  options.limits.max_errors = 3;
  Dialogue d(options);
  EXPECT_EQ(d.send("FOO\r\nRCPT TO:<a@example.test>\r\nEHLO\r\nNOOP\r\n").statuses(),
            "500 5.5.2 | 503 5.5.1 | 501 5.5.4 | 421 4.7.0");
  EXPECT_EQ(d.need(), ServerSession::Need::close);
  EXPECT_EQ(d.session().stats().errors, 3u);
  EXPECT_EQ(d.session().stats().close_reason, "too many errors");
}

TEST(Limits, default_error_budget_is_20) {
  Dialogue d;
  std::string probes;
  for (int i = 0; i < 25; ++i) probes += "FROB\r\n";
  const auto r = d.send(probes);
  ASSERT_EQ(r.size(), 21u);
  EXPECT_EQ(r[19].status(), "500 5.5.2");
  EXPECT_EQ(r[20].status(), "421 4.7.0");
}

TEST(Limits, successful_commands_do_not_spend_the_error_budget) {
  SessionOptions options;
  options.limits.max_errors = 2;
  Dialogue d(options);
  std::string wire = "EHLO c\r\n";
  for (int i = 0; i < 50; ++i) wire += "NOOP\r\nVRFY x\r\nRSET\r\n";
  d.send(wire);
  EXPECT_EQ(d.need(), ServerSession::Need::input);
  EXPECT_EQ(d.session().stats().errors, 0u);
}

TEST(Limits, bdat_out_of_sequence_spends_the_error_budget_too) {
  SessionOptions options;
  options.limits.max_errors = 3;
  Dialogue d(options);
  d.ehlo();
  EXPECT_EQ(d.send("BDAT 0\r\nBDAT 0\r\nBDAT 2\r\nxyNOOP\r\n").statuses(), "503 5.5.1 | 503 5.5.1 | 503 5.5.1 | 421 4.7.0");
  EXPECT_EQ(d.need(), ServerSession::Need::close);
}

TEST(Limits, timeout_is_421_and_close) {
  SessionOptions options;
  options.hostname = "mx.example.test";
  Dialogue d(options);
  d.ehlo();
  d.session().timed_out();
  const auto r = parse_replies(d.session().output());
  EXPECT_EQ(r.statuses(), "421 4.4.2");
  EXPECT_EQ(r[0].text(), "mx.example.test Timeout exceeded, closing connection");
  EXPECT_EQ(d.need(), ServerSession::Need::close);
  EXPECT_EQ(d.session().stats().close_reason, "timeout");
  d.session().output().clear();
  d.session().timed_out();
  EXPECT_TRUE(d.session().output().empty());
}

TEST(Limits, timeout_during_data_is_421_and_nothing_is_stored) {
  Dialogue d;
  d.send("EHLO c\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\nhalf a mess");
  d.session().timed_out();
  EXPECT_EQ(parse_replies(d.session().output()).statuses(), "421 4.4.2");
  EXPECT_EQ(d.need(), ServerSession::Need::close);
  EXPECT_EQ(d.store_requests, 0);
}

TEST(Limits, read_timeout_is_data_timeout_only_while_reading_data) {
  SessionOptions options;
  options.limits.command_timeout = std::chrono::seconds(300);
  options.limits.data_timeout = std::chrono::seconds(180);
  Dialogue d(options);
  EXPECT_EQ(d.session().read_timeout(), std::chrono::seconds(300));
  d.send("EHLO c\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n");
  EXPECT_EQ(d.session().read_timeout(), std::chrono::seconds(300));
  d.send("DATA\r\n");
  EXPECT_EQ(d.session().read_timeout(), std::chrono::seconds(180));
  d.send("text\r\n");
  EXPECT_EQ(d.session().read_timeout(), std::chrono::seconds(180));
  d.send(".\r\n");
  EXPECT_EQ(d.session().read_timeout(), std::chrono::seconds(300));
}

}  // namespace
}  // namespace petrel::smtp

namespace petrel::smtp {
namespace {

// The server's per-line deadline (slowloris defence) keys off this.
TEST(Limits, receiving_command_is_true_only_while_a_line_is_incomplete) {
  testing::Dialogue d;
  EXPECT_FALSE(d.session().receiving_command());
  d.send("EHL");
  EXPECT_TRUE(d.session().receiving_command());
  d.send("O client.test\r\n");
  EXPECT_FALSE(d.session().receiving_command());
  d.send("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\nhalf a li");
  EXPECT_FALSE(d.session().receiving_command());  // message text, not a command
  EXPECT_TRUE(d.session().receiving_message());
}

}  // namespace
}  // namespace petrel::smtp
